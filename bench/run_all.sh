#!/usr/bin/env bash
# Every table of docs/performance.md in one invocation: the machine's limits, the kernels against
# PyTorch (bench/run.sh), the whole model against PyTorch eager and torch.compile (run_gpt.sh) and
# a PPO iteration against TRL (run_ppo.sh). The peers come from the venv that
# bench/make_peers_venv.sh makes from PyPI (made here when missing).
#
#   cmake --preset release && cmake --build --preset release
#   bench/run_all.sh [BUILD_DIR]        (default build/release)
#   Environment: THREADS=2; the scripts' own settings pass through.
# Writes BUILD_DIR/bench-results/all.md (every table) beside each script's own files.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${1:-$(dirname "$here")/build/release}"
out="$build/bench-results"
mkdir -p "$out"
export PYTHON="${PYTHON:-$("$here/make_peers_venv.sh")}"
{
  echo "# rlhf++ benchmarks, $(date -u +%Y-%m-%d), $(lscpu | sed -n 's/^Model name: *//p'), ${THREADS:-2} threads, git $(git -C "$here/.." rev-parse --short HEAD 2>/dev/null || echo '?')"
  echo
  echo "## Limits"
  "$here/run_limits.sh" "$build" "$out"
  echo
  echo "## Kernels"
  "$here/run.sh" "$build" "$out"
  echo
  echo "## Whole model"
  REUSE_LIMITS=1 "$here/run_gpt.sh" "$build"
  echo
  echo "## PPO iteration"
  REUSE_LIMITS=1 "$here/run_ppo.sh" "$build"
} > "$out/all.md.partial"
mv "$out/all.md.partial" "$out/all.md"
cat "$out/all.md"
