#!/usr/bin/env bash
# Kernel benchmarks: our CPU kernels (Google Benchmark), raw OpenBLAS sgemm and Eigen's own GEMM at
# the same shapes, and the PyTorch peer, all in one invocation, then a markdown table.
#
# Usage:
#   cmake --preset release && cmake --build --preset release     # builds bench/ (RLHF_BUILD_BENCH)
#   bench/run.sh [BUILD_DIR [OUT_DIR]]
#     BUILD_DIR  the CMake build directory (default build/release)
#     OUT_DIR    where the JSON and report.md go (default BUILD_DIR/bench-results)
#   Environment:
#     THREADS=2        OpenMP and OpenBLAS threads for our binaries, torch.set_num_threads for the peer
#     REPS=3           Google Benchmark repetitions (the table shows the median)
#     MIN_TIME=0.5     seconds per benchmark run (C++) and per op (PyTorch)
#     FILTER=regex     only benchmarks whose name matches (Google Benchmark's regex; the peer applies
#                      it with Python's re.search, the same for simple patterns such as 'qkv|gelu')
#     PYTHON=...       interpreter with torch (default: the venv of bench/make_peers_venv.sh)
#     SKIP_TORCH=1     no PyTorch peer (the table then has no PyTorch column values)
#     CLOCK=real       real: wall-clock rates (the default, and what to quote). cpu: rates over CPU
#                      time, for a single-threaded comparison on a busy machine (needs THREADS=1)
# Example: THREADS=2 bench/run.sh build/release && cat build/release/bench-results/report.md
# On a busy machine (more runnable threads than cores) OpenMP's default spin-waiting makes every
# short parallel region pay for descheduled threads; OMP_WAIT_POLICY=passive (passed through to both
# our binaries and PyTorch, which uses the same libgomp) gives steadier numbers there.
# The machine is shared: read ratios (ours / PyTorch, % of sgemm), not absolute numbers, and
# re-run on a quiet machine before quoting them. Conventions: docs/performance.md.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
build="${1:-$root/build/release}"
out="${2:-$build/bench-results}"
threads="${THREADS:-2}"
reps="${REPS:-3}"
min_time="${MIN_TIME:-0.5}"
filter="${FILTER:-.}"
python="${PYTHON:-}"  # made below, when the PyTorch peer runs
clock="${CLOCK:-real}"
if [[ "$clock" != real && "$clock" != cpu ]]; then echo "run.sh: CLOCK must be real or cpu" >&2; exit 2; fi
if [[ "$clock" == cpu && "$threads" != 1 ]]; then echo "run.sh: CLOCK=cpu needs THREADS=1" >&2; exit 2; fi

bindir="$build/bench"
if [[ ! -x "$bindir/bench_kernels" ]]; then
  echo "run.sh: $bindir/bench_kernels not found; build with RLHF_BUILD_BENCH=ON first:" >&2
  echo "  cmake --preset release && cmake --build --preset release" >&2
  exit 1
fi
mkdir -p "$out"
export OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads"
source "$here/runtime_env.sh"
runtime_env "$build/bench/bench_kernels"

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "cpu: $(lscpu | sed -n 's/^Model name: *//p') ($(nproc --all) CPUs)"
  echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "threads: $threads  reps: $reps  min_time: $min_time  clock: $clock  OMP_WAIT_POLICY: ${OMP_WAIT_POLICY:-(default)}"
  echo "git: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')"
} > "$out/context.txt"
cat "$out/context.txt" >&2

gbench() {  # binary name
  local bin="$bindir/$1"
  [[ -x "$bin" ]] || return 0
  echo "== $1" >&2
  echo "load before $1: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/context.txt"
  # Random interleaving runs the repetitions of all benchmarks in a shuffled order, so that a burst
  # of load on a shared machine spreads over many benchmarks instead of sinking one.
  "$bin" --benchmark_filter="$filter" --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true \
    --benchmark_enable_random_interleaving=true \
    --benchmark_min_time="$min_time" --benchmark_format=console \
    --benchmark_out_format=json --benchmark_out="$out/$1.json" >&2
}
rm -f "$out"/bench_kernels.json "$out"/bench_kernels_eigen.json "$out"/bench_eigen_gemm.json "$out"/torch_peer.json
gbench bench_kernels
gbench bench_eigen_gemm
gbench bench_kernels_eigen

if [[ "${SKIP_TORCH:-0}" != 1 ]]; then
  [[ -n $python ]] || python=$("$here/make_peers_venv.sh")
  echo "== torch_peer ($python)" >&2
  echo "load before torch_peer: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/context.txt"
  if "$python" -c "import torch" 2>/dev/null; then
    "$python" "$here/torch_peer.py" --threads "$threads" --min-time "$min_time" --filter "${FILTER:-}" --clock "$clock" --out "$out/torch_peer.json"
  else
    echo "run.sh: $python has no torch (bench/make_peers_venv.sh makes a venv that has); no PyTorch column" >&2
  fi
fi

echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/context.txt"
python3 "$here/report.py" --clock "$clock" "$out" | tee "$out/report.md"
echo >&2
echo "results: $out (report.md, *.json, context.txt)" >&2
