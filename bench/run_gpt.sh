#!/usr/bin/env bash
# Whole-model benchmarks in one invocation: the machine's limits (bench/run_limits.sh), bench_gpt
# (ours) and bench/torch_gpt_peer.py (current PyTorch, eager with SDPA and torch.compile), then a
# table of tokens/s, both ratios, % of the sgemm limit and peak RSS.
#
#   bench/run_gpt.sh [BUILD_DIR]        (default build/release; needs RLHF_BUILD_BENCH=ON)
#   Environment: THREADS=2, MIN_TIME=2, FILTER=regex (benchmark names),
#                PYTHON (default: the venv of bench/make_peers_venv.sh, made if missing)
# Each benchmark runs in a process of its own (ours and the peer's), so that its peak RSS
# (/usr/bin/time's maximum resident set; getrusage in the peer) is its own.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${1:-$(dirname "$here")/build/release}"
threads="${THREADS:-2}"
min_time="${MIN_TIME:-2}"
filter="${FILTER:-.}"
python="${PYTHON:-$("$here/make_peers_venv.sh")}"
out="$build/bench-results"
mkdir -p "$out"
[[ -f $out/limits.json && ${REUSE_LIMITS:-0} == 1 ]] || THREADS=$threads "$here/run_limits.sh" "$build" "$out" >&2
export OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads"
source "$here/runtime_env.sh"
runtime_env "$build/bench/bench_gpt"
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'), threads: $threads, load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
rm -f "$out"/bench_gpt_*.json "$out"/bench_gpt_*.rss
for name in $("$build/bench/bench_gpt" --benchmark_list_tests | sed 's|/.*||' | grep -E -- "$filter"); do
  /usr/bin/time -f %M -o "$out/bench_gpt_$name.rss" "$build/bench/bench_gpt" --benchmark_filter="^$name/" \
    --benchmark_min_time="$min_time" --benchmark_format=console --benchmark_out_format=json \
    --benchmark_out="$out/bench_gpt_$name.json" >&2
done
"$python" "$here/torch_gpt_peer.py" --threads "$threads" --min-time "$min_time" --benchmarks "$filter" \
  --out "$out/torch_gpt_peer.json"
python3 "$here/gpt_report.py" "$out" | tee "$out/gpt_report.md"
if command -v gnuplot > /dev/null && [[ -s $out/scaling.tsv ]]; then
  gnuplot -e "data='$out/scaling.tsv'; out='$out/scaling.png'" "$here/scaling.gp" && echo "plot: $out/scaling.png" >&2
fi
