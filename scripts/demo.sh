#!/usr/bin/env bash
# The main job: installs what is missing, builds the `rlhf` tool (release preset) and runs the
# whole pipeline on the default config (configs/default.json: the fortunes data in data/, the
# simulated sentiment labelers): SFT -> collect rankings -> reward model -> PPO -> evaluation.
# Progress is shown per stage; the run ends with the report table. About 6 minutes on 2 cores.
#   scripts/demo.sh [--config FILE] [--out DIR]     (defaults: configs/default.json, runs/demo)
# A rerun skips the stages that finished and resumes one that was interrupted (Ctrl-C saves).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
rlhf_install_packages

config=configs/default.json
out=runs/demo
while (($#)); do
  case "$1" in
    --config) config=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "demo.sh: unknown argument $1 (expected --config FILE or --out DIR)" >&2; exit 2 ;;
  esac
done

cmake --preset release >/dev/null
cmake --build --preset release --target rlhf_cli -j"$(nproc)"
start=$SECONDS
build/release/examples/rlhf pipeline --config "$config" --out "$out"
echo "pipeline: $((SECONDS - start)) s; report in $out/report.md, plots in $out/plots/"
