#!/usr/bin/env bash
# Runs the fuzz targets for longer than the ctest runs do, and says how many inputs each tried.
#
#   tests/fuzz/run_fuzzers.sh SECONDS [TARGET...]     e.g.  run_fuzzers.sh 600 jsonl bpe
#
# TARGET is a name from corpus/ (safetensors, gpt2_config, jsonl, pipeline_config,
# trainer_state, bpe; with or without the fuzz_ prefix); none: all of them. Configures and builds
# the fuzz preset (build/fuzz) as needed. Each target fuzzes build/fuzz/long/NAME/corpus, which
# starts as a copy of the seeds and keeps what the fuzzer adds, so a rerun continues from there
# (delete the folder to start over). The committed seeds are never modified.
#
# Environment: RLHF_FUZZ_PARALLEL=N runs N targets at a time (default 1); RLHF_FUZZ_ARGS adds
# libFuzzer flags (e.g. "-max_len=1024 -use_value_profile=1"); RLHF_FUZZ_BUILD_DIR (default
# build/fuzz). A crash, sanitizer report, leak, unexpected exception, timeout (10 s) or
# out-of-memory (2048 MB) leaves its input in build/fuzz/long/NAME/artifacts/, the log in
# build/fuzz/long/NAME/log, and makes the script exit 1.
set -euo pipefail
usage() { sed -n '4,5p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
(($# >= 1)) || usage
seconds=$1
shift
[[ $seconds =~ ^[0-9]+$ ]] || usage

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${RLHF_FUZZ_BUILD_DIR:-$root/build/fuzz}
parallel=${RLHF_FUZZ_PARALLEL:-1}
read -r -a extra_args <<<"${RLHF_FUZZ_ARGS:-}"

all=(safetensors gpt2_config jsonl pipeline_config trainer_state bpe)
targets=()
for t in "${@:-${all[@]}}"; do
  t=${t#fuzz_}
  [[ -d $here/corpus/$t ]] || { echo "run_fuzzers.sh: no fuzz target '$t' (known: ${all[*]})" >&2; exit 2; }
  targets+=("$t")
done

# The same sanitizer settings as the ctest runs (CMakeLists.txt), unless the caller set them.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=0:check_initialization_order=1:strict_init_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/tests/lsan.supp:print_suppressions=0}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}

if [[ ! -f $build/CMakeCache.txt ]]; then
  (cd "$root" && cmake --preset fuzz >/dev/null)
fi
cmake --build "$build" --target "${targets[@]/#/fuzz_}"

run_target() {
  local t=$1 dir=$build/long/$1 dict=() rc=0
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp -n "$here/corpus/$t/"* "$dir/corpus/"
  [[ -f $here/dict/$t.dict ]] && dict=(-dict="$here/dict/$t.dict")
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$dir/artifacts/" "${dict[@]}" "${extra_args[@]}" "$dir/corpus" >"$dir/log" 2>&1 || rc=$?
  echo "$rc" >"$dir/rc"
}

echo "fuzzing ${targets[*]} for $seconds s each, $parallel at a time; logs in $build/long/NAME/log"
running=0
for t in "${targets[@]}"; do
  rm -f "$build/long/$t/rc"
  run_target "$t" &
  running=$((running + 1))
  if ((running >= parallel)); then
    wait -n || true
    running=$((running - 1))
  fi
done
wait || true

failed=0
printf '\n%-22s %12s %8s %10s %8s  %s\n' target executions seconds exec/s corpus result
for t in "${targets[@]}"; do
  dir=$build/long/$t
  rc=$(cat "$dir/rc" 2>/dev/null || echo '?')
  runs=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$dir/log" | grep -oE '[0-9]+$' | tail -n 1 || true)
  done_line=$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "$dir/log" | tail -n 1 || true)
  secs=$(sed -nE 's/^Done [0-9]+ runs in ([0-9]+) second.*/\1/p' <<<"$done_line")
  if [[ -z $runs ]]; then  # a crash ends the run before the final stats: the last progress line
    runs=$(grep -oE '^#[0-9]+' "$dir/log" | tail -n 1 | tr -d '#' || true)
  fi
  rate=-
  [[ -n $runs && -n $secs && $secs -gt 0 ]] && rate=$((runs / secs))
  corpus=$(find "$dir/corpus" -type f | wc -l)
  if [[ $rc == 0 ]]; then
    result=ok
  else
    failed=1
    artifact=$(find "$dir/artifacts" -type f -newer "$dir/corpus" 2>/dev/null | head -n 1)
    summary=$(grep -m1 -E '^SUMMARY:|==FUZZ FINDING==|ERROR: libFuzzer' "$dir/log" || true)
    result="FAILED (exit $rc): ${summary:-see $dir/log} ${artifact:+-> $artifact}"
  fi
  printf '%-22s %12s %8s %10s %8s  %s\n' "fuzz_$t" "${runs:-?}" "${secs:-?}" "$rate" "$corpus" "$result"
done
exit "$failed"
