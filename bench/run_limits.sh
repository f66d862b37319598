#!/usr/bin/env bash
# The machine's limits for docs/performance.md's "% of limit" columns, measured now:
#   sgemm: BM_sgemm_limit (1024 x 768 x 3072) under each kernel set of Debian's OpenBLAS that this
#          CPU runs (OPENBLAS_CORETYPE set for that measurement's process only) and under BLIS
#          (bench_limits_blis, when built), the best kept;
#   stream: BM_stream_triad's bandwidth.
# Each is the best of 5 repetitions: the machine is shared, and a limit is what it can reach.
# Writes OUT_DIR/limits.json {"sgemm_flops", "sgemm_kernel", "stream_bytes", "sgemm_by_kernel"}
# and prints a table.
#
#   bench/run_limits.sh [BUILD_DIR [OUT_DIR]]   (defaults build/release, BUILD_DIR/bench-results)
#   Environment: THREADS=2, MIN_TIME=1
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${1:-$(dirname "$here")/build/release}"
out="${2:-$build/bench-results}"
threads="${THREADS:-2}"
min_time="${MIN_TIME:-1}"
bin="$build/bench/bench_limits"
if [[ ! -x $bin ]]; then
  echo "run_limits.sh: $bin not found (it needs RLHF_BUILD_BENCH=ON and OpenBLAS's cblas.h)" >&2
  exit 1
fi
mkdir -p "$out"
export OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

# OpenBLAS's x86-64 kernel sets, newest first, with the instruction set each needs.
kernels=()
flags=$(grep -m1 '^flags' /proc/cpuinfo)
[[ $flags == *" avx512f "* && $flags == *" avx512bw "* ]] && kernels+=(SkylakeX)
[[ $flags == *" avx2 "* && $flags == *" fma "* ]] && kernels+=(Zen Haswell)
kernels+=(Sandybridge)

run() {  # run NAME PROGRAM FILTER [ENV...]: one run of bench_limits(_blis), its JSON in $out/limits_NAME.json
  local name=$1 program=$2 filter=$3
  shift 3
  env "$@" "$program" --benchmark_filter="$filter" --benchmark_min_time="$min_time" --benchmark_repetitions=5 \
    --benchmark_format=json --benchmark_out_format=json --benchmark_out="$out/limits_$name.json" > /dev/null
}
run as_given "$bin" .  # the STREAM triad once, here: it does not depend on the kernel set
for k in "${kernels[@]}"; do run "openblas_$k" "$bin" BM_sgemm_limit OPENBLAS_CORETYPE="$k" OPENBLAS_VERBOSE=0; done
# BLIS picks its kernels for the CPU itself (bench_limits_blis is built when libblis-openmp-dev is there).
blis=0
if [[ -x $build/bench/bench_limits_blis ]]; then
  run blis "$build/bench/bench_limits_blis" BM_sgemm_limit BLIS_NUM_THREADS="$threads"
  blis=1
fi

python3 - "$out" "${OPENBLAS_CORETYPE:-auto}" "$blis" "${kernels[@]}" <<'PY'
import json, sys
out, given, blis, kernels = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4:]
def best(name, bench, counter):
    """The best of the repetitions: a limit is what the machine reaches, not what it usually does."""
    doc = json.load(open(f"{out}/limits_{name}.json"))
    return max(b[counter] for b in doc["benchmarks"]
               if b["name"].split("/")[0] == bench and b.get("run_type", "iteration") == "iteration")
by = {f"OpenBLAS {k}": best(f"openblas_{k}", "BM_sgemm_limit", "FLOP/s") for k in kernels}
by[f"OpenBLAS as given (OPENBLAS_CORETYPE={given})"] = best("as_given", "BM_sgemm_limit", "FLOP/s")
if blis:
    by["BLIS (its own choice)"] = best("blis", "BM_sgemm_limit", "FLOP/s")
stream = best("as_given", "BM_stream_triad", "bytes/s")
top = max(by, key=by.get)
json.dump({"sgemm_flops": by[top], "sgemm_kernel": top, "stream_bytes": stream, "sgemm_by_kernel": by},
          open(f"{out}/limits.json", "w"), indent=1)
print("| limit | value | kernel |")
print("|---|---:|---|")
for k, v in by.items():
    print(f"| sgemm 1024x768x3072 | {v / 1e9:.0f} GFLOP/s | {k}{' (the limit)' if k == top else ''} |")
print(f"| STREAM triad | {stream / 1e9:.1f} GB/s | |")
PY
