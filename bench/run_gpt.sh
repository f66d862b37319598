#!/usr/bin/env bash
# Whole-model benchmarks: bench_gpt (ours) and bench/torch_gpt_peer.py (PyTorch eager) in one
# invocation, then a table of tokens/s and the ratio ours / PyTorch.
#
#   bench/run_gpt.sh [BUILD_DIR]        (default build/release; needs RLHF_BUILD_BENCH=ON)
#   Environment: THREADS=2, MIN_TIME=2, PYTHON=/usr/bin/python3 (Debian's python3-torch)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${1:-$here/../build/release}"
threads="${THREADS:-2}"
min_time="${MIN_TIME:-2}"
python="${PYTHON:-/usr/bin/python3}"
out="$build/bench-results"
mkdir -p "$out"
export OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads"
source "$here/runtime_env.sh"
runtime_env "$build/bench/bench_gpt"
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'), threads: $threads, load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$build/bench/bench_gpt" --benchmark_min_time="$min_time" --benchmark_format=console \
  --benchmark_out_format=json --benchmark_out="$out/bench_gpt.json" >&2
"$python" "$here/torch_gpt_peer.py" --threads "$threads" --min-time "$min_time" --out "$out/torch_gpt_peer.json" >&2
python3 - "$out/bench_gpt.json" "$out/torch_gpt_peer.json" <<'PY'
import json, sys
ours = {b["name"].split("/")[0]: b for b in json.load(open(sys.argv[1]))["benchmarks"]}
peer = {b["name"]: b for b in json.load(open(sys.argv[2]))["benchmarks"]}
print("| benchmark | ours tokens/s | PyTorch tokens/s | ours / PyTorch |")
print("|---|---:|---:|---:|")
for name, b in ours.items():
    t = b["tokens/s"]
    p = peer.get(name)
    pt = p["tokens"] / p["seconds"] if p else float("nan")
    print(f"| {name} | {t:,.0f} | {pt:,.0f} | {t / pt:.2f}x |")
PY
