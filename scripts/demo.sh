#!/usr/bin/env bash
# Installs what is missing, builds the release preset's train_toy_transformer example and runs it.
# Arguments are passed on to the example.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
rlhf_install_packages

cmake --preset release
cmake --build --preset release --target train_toy_transformer -j"$(nproc)"
exec build/release/examples/train_toy_transformer "$@"
