#!/usr/bin/env bash
# Runs every check and test of the workspace, as CI does. Needs the Rust toolchain and
# Python 3 with venv; it makes .venv with the readers the tests check files with (numpy).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r scripts/test-requirements.txt
export DL_DRIVER_PYTHON="$PWD/.venv/bin/python"

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked

# The README's run command, on a scratch copy so the tree stays clean.
cargo build --release --locked
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
(cd "$scratch" && "$OLDPWD/target/release/dl-driver" run "$OLDPWD/configs/quickstart.yaml" > quickstart.log)
grep -q '^\[METRIC\] Training Accelerator Utilization' "$scratch/quickstart.log"
ls "$scratch"/output/quickstart/*/summary.json > /dev/null
echo "quickstart: ok"

# Every DLIO and MLPerf workload of ../shared/conformance validates (skipped when absent).
scripts/conformance.sh
