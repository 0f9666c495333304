#!/usr/bin/env bash
# Runs every check and test of the workspace, as CI does. Needs the Rust toolchain, Python 3
# with venv, libhdf5-dev, Open MPI (libopenmpi-dev, openmpi-bin), libclang-dev and Azurite
# (.ci/run installs them); it makes .venv with the readers the tests check files with
# (numpy, h5py, tfrecord, Pillow) and the object-store test servers (moto).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r scripts/test-requirements.txt
export DL_DRIVER_PYTHON="$PWD/.venv/bin/python"

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy -p dl-driver --all-targets --features mpi --locked -- -D warnings
cargo test --workspace --locked
# The MPI runs need the binary built with the mpi feature (Open MPI and libclang installed).
cargo test -p dl-driver --features mpi --locked --test cli mpi::

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
