# shellcheck shell=bash
# Sourced by run.sh and run_gpt.sh: openblas_env PROGRAM exports the OPENBLAS_CORETYPE that
# PROGRAM (one of our benchmarks) ends up running with. On a CPU newer than the OpenBLAS (Debian
# 12's 0.3.21 on Sapphire/Emerald Rapids) OpenBLAS falls back to its Prescott kernels, 2-3x
# slower; our programs then run themselves again with OPENBLAS_CORETYPE set
# (include/rlhf/backend/cpu/openblas_kernels.hpp). Exporting their choice gives the PyTorch peer,
# which uses the same OpenBLAS, the same kernels.
openblas_env() {
  [[ -n ${OPENBLAS_CORETYPE:-} ]] && return 0
  local core
  core=$(OPENBLAS_VERBOSE=2 "$1" --benchmark_list_tests 2>&1 >/dev/null | sed -n 's/^Core: //p' | tail -n 1)
  if [[ -n $core ]]; then
    export OPENBLAS_CORETYPE=$core
    echo "openblas: $core kernels (OPENBLAS_CORETYPE=$core for every program of this run)" >&2
  fi
}
