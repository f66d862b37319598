#!/usr/bin/env bash
# Makes the virtual environment of the benchmark peers from PyPI: current PyTorch (eager and
# torch.compile), transformers, and TRL (bench/peers/requirements.txt says which versions and why).
#
#   bench/make_peers_venv.sh [VENV]     (default: $PEERS_VENV, else build/peers-venv)
#
# Prints the venv's python on stdout; bench/run_all.sh and the run_*.sh scripts call this when
# PYTHON is not given. Safe to re-run: an existing venv with the pinned versions is kept. About
# 5 GB (PyPI's torch brings the CUDA libraries, unused here), a few minutes on a fresh machine.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${1:-${PEERS_VENV:-$(dirname "$here")/build/peers-venv}}"
requirements="$here/peers/requirements.txt"
stamp="$venv/.requirements"
if [[ -x "$venv/bin/python" && -f "$stamp" ]] && cmp -s "$stamp" "$requirements"; then
  echo "$venv/bin/python"
  exit 0
fi
echo "make_peers_venv: installing $(grep -v '^#' "$requirements" | tr '\n' ' ')into $venv" >&2
python3 -m venv "$venv" >&2
"$venv/bin/python" -m pip install --quiet --upgrade pip >&2
"$venv/bin/python" -m pip install --quiet -r "$requirements" >&2
TRL_EXPERIMENTAL_SILENCE=1 "$venv/bin/python" -c "import torch, transformers, trl; from trl.experimental.ppo import PPOTrainer" >&2
cp "$requirements" "$stamp"
echo "$venv/bin/python"
