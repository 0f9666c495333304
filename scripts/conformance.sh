#!/usr/bin/env bash
# Conformance sweep: `dl-driver validate` on every upstream workload YAML (DLIO's and MLPerf
# Storage v2's) kept in ../shared/conformance, or in $DL_DRIVER_CONFORMANCE when set.
# Prints one line per file (ok, or the error) and exits non-zero if any file fails.
# Without the folder it says the sweep was skipped and exits 0, so it is safe to call anywhere.
# Uses the release build and only its plugins: run `cargo build --release` first.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

if [ -n "${DL_DRIVER_CONFORMANCE:-}" ]; then
    dir=$DL_DRIVER_CONFORMANCE
    if [ ! -d "$dir" ]; then
        echo "conformance: DL_DRIVER_CONFORMANCE=$dir is not a directory" >&2
        exit 1
    fi
else
    dir=../shared/conformance
    if [ ! -d "$dir" ]; then
        echo "conformance: sweep skipped: $root/$dir does not exist (set DL_DRIVER_CONFORMANCE to use another folder)"
        exit 0
    fi
fi
dir=$(cd "$dir" && pwd)

bin=$root/target/release/dl-driver
if [ ! -x "$bin" ]; then
    echo "conformance: $bin is missing; run cargo build --release first" >&2
    exit 1
fi

mapfile -t files < <(find "$dir" -type f \( -name '*.yaml' -o -name '*.yml' \) | LC_ALL=C sort)
if [ "${#files[@]}" -eq 0 ]; then
    echo "conformance: no YAML files under $dir" >&2
    exit 1
fi

# validate does no I/O, but run it in a scratch directory anyway so relative paths in the
# workloads can never touch the tree.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failed=0
for file in "${files[@]}"; do
    name=${file#"$dir"/}
    if (cd "$scratch" && "$bin" --no-default-plugin-dirs --plugins "$root/target/release" \
        validate "$file" > /dev/null 2> "$scratch/stderr"); then
        printf 'ok    %s\n' "$name"
    else
        failed=$((failed + 1))
        # The error line, without warnings or colour; else the last line of stderr.
        message=$(sed 's/\x1b\[[0-9;]*m//g' "$scratch/stderr" | grep '^error: ' | tail -n 1 || true)
        if [ -z "$message" ]; then
            message=$(sed 's/\x1b\[[0-9;]*m//g' "$scratch/stderr" | tail -n 1)
        fi
        printf 'FAIL  %s: %s\n' "$name" "${message:-exited without a message}"
    fi
done
echo "conformance: $((${#files[@]} - failed)) of ${#files[@]} workloads valid ($dir)"
[ "$failed" -eq 0 ]
