#!/usr/bin/env bash
# Installs what is missing, then builds and tests everything twice over:
#   1. the release preset (GCC): every target, the whole ctest suite (unit + consumer tests);
#   2. the asan preset (Clang): rlhf_unit_tests under AddressSanitizer, LeakSanitizer and UBSan,
#      and the parsers' libFuzzer targets (tests/fuzz), each fuzzed for RLHF_FUZZ_SECONDS (10)
#      seconds from its seed corpus, as one ctest test per target. (One build rather than the
#      fuzz preset's own: its small files fill the time the unit tests' two long ones leave.)
# Prints a summary and exits non-zero if any step failed. Safe to rerun: builds are incremental.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
rlhf_install_packages

jobs=$(nproc)
declare -a summary=()
failed=0
passed_tests=0
failed_tests=0
skipped_tests=0

# step NAME COMMAND...: runs the command, times it and records the outcome.
step() {
  local name=$1 start=$SECONDS rc=0
  shift
  echo
  echo "==> $name"
  "$@" || rc=$?
  if ((rc == 0)); then
    summary+=("ok      $name ($((SECONDS - start)) s)")
  else
    summary+=("FAILED  $name ($((SECONDS - start)) s, exit $rc)")
    failed=1
  fi
  return "$rc"
}

# run_tests PRESET: ctest on the preset; adds its counts to the totals.
run_tests() {
  local log rc=0 line skipped
  log=$(mktemp)
  ctest --preset "$1" -j"$jobs" 2>&1 | tee "$log" || rc=$?
  line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1 || true)
  # ctest counts a skipped test (e.g. the CUDA tests without a GPU) as passed; we do not.
  skipped=$(grep -cE '^\s+[0-9]+ - .* \(Skipped\)$' "$log" || true)
  if [[ $line =~ ([0-9]+)\ tests?\ failed\ out\ of\ ([0-9]+) ]]; then
    failed_tests=$((failed_tests + BASH_REMATCH[1]))
    passed_tests=$((passed_tests + BASH_REMATCH[2] - BASH_REMATCH[1] - skipped))
    skipped_tests=$((skipped_tests + skipped))
  fi
  rm -f "$log"
  return "$rc"
}

for preset in release asan; do
  step "configure $preset" cmake --preset "$preset" &&
    step "build $preset" cmake --build --preset "$preset" -j"$jobs" &&
    step "test $preset" run_tests "$preset" ||
    true
done

echo
echo "==> summary"
printf '  %s\n' "${summary[@]}"
echo "tests: $passed_tests passed, $failed_tests failed, $skipped_tests skipped"
if ((failed)); then
  echo "scripts/test.sh: FAILED" >&2
  exit 1
fi
echo "scripts/test.sh: all passed"
