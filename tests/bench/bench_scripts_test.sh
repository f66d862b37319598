#!/usr/bin/env bash
# The benchmark scripts' own arithmetic, without the peers: bench/run_limits.sh on this machine
# (a few milliseconds per measurement) must write limits.json, and bench/gpt_report.py must turn
# known results into the ratios, shares of the limit and RSS ratios they imply.
#   tests/bench/bench_scripts_test.sh BUILD_DIR
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="$1"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
fail() { echo "bench_scripts_test: $*" >&2; exit 1; }

MIN_TIME=0.01 THREADS=1 "$root/bench/run_limits.sh" "$build" "$out" > "$out/limits.md"
python3 - "$out/limits.json" <<'PY' || fail "limits.json: $(cat "$out/limits.json")"
import json, sys
l = json.load(open(sys.argv[1]))
assert l["sgemm_flops"] > 1e9 and l["stream_bytes"] > 1e8, l
assert l["sgemm_kernel"] in l["sgemm_by_kernel"] and l["sgemm_flops"] == max(l["sgemm_by_kernel"].values()), l
PY
grep -q "(the limit)" "$out/limits.md" || fail "the limits table names no limit: $(cat "$out/limits.md")"

# Known results: a limit of 100 GFLOP/s and 10 GB/s; ours twice the eager peer's rate on the 124M
# step at 40 GFLOP/s (40 % of the limit), 1.6 GiB against eager's 2 GiB; 124M generation at
# 10 tokens/s = 4.98 GB/s (50 % of STREAM).
cat > "$out/limits.json" <<'J'
{"sgemm_flops": 1e11, "sgemm_kernel": "k", "stream_bytes": 1e10, "sgemm_by_kernel": {"k": 1e11}}
J
cat > "$out/bench_gpt_BM_train_step_124m.json" <<'J'
{"benchmarks": [{"name": "BM_train_step_124m/min_time:5.000/real_time", "run_type": "iteration",
                 "tokens/s": 200.0, "FLOP/s": 4e10}]}
J
echo 1677722 > "$out/bench_gpt_BM_train_step_124m.rss"
cat > "$out/bench_gpt_BM_generate_124m_P64.json" <<'J'
{"benchmarks": [{"name": "BM_generate_124m_P64/real_time", "run_type": "iteration", "tokens/s": 10.0}]}
J
echo 1000 > "$out/bench_gpt_BM_generate_124m_P64.rss"
cat > "$out/torch_gpt_peer.json" <<'J'
{"context": {"torch": "2.x", "threads": 1, "blas": "mkl"}, "benchmarks": [
 {"name": "BM_train_step_124m", "mode": "eager", "seconds": 2.56, "tokens": 256, "compile_seconds": 0,
  "peak_rss_bytes": 2147483648},
 {"name": "BM_train_step_124m", "mode": "compile", "seconds": 1.28, "tokens": 256, "compile_seconds": 30,
  "peak_rss_bytes": 2147483648},
 {"name": "BM_generate_124m_P64", "mode": "eager", "seconds": 3.2, "tokens": 32, "compile_seconds": 0,
  "peak_rss_bytes": 1048576000}]}
J
python3 "$root/bench/gpt_report.py" "$out" > "$out/report.md"
expect() { grep -qF -- "$1" "$out/report.md" || fail "expected '$1' in: $(cat "$out/report.md")"; }
expect "| BM_train_step_124m | 200 | 100 | 200 | 2.00x | 1.00x | 40 % | 30 | 1638 / 2048 / 2048 | 0.80 |"
expect "| BM_generate_124m_P64 | 10 | 10 | - | 1.00x | - | 50 % | - | 1 / 1000 / - | 0.00 |"
printf '64\t200\t100\t200\t1638' > "$out/expected_row"
grep -q "^$(cat "$out/expected_row")" "$out/scaling.tsv" || fail "scaling.tsv: $(cat "$out/scaling.tsv")"
echo "bench_scripts_test: limits measured, report arithmetic as expected"
