# shellcheck shell=bash
# Sourced by run.sh and run_gpt.sh: runtime_env PROGRAM exports the runtime settings that PROGRAM
# (one of our benchmarks) ends up running with, so that the PyTorch peer, on the same OpenBLAS and
# libgomp, runs under the same ones (include/rlhf/backend/cpu/fast_runtime.hpp):
#   OPENBLAS_CORETYPE  the kernels OpenBLAS uses (our programs replace a fallback to Prescott on a
#                      CPU newer than the OpenBLAS)
#   OMP_WAIT_POLICY    PASSIVE, which our programs choose with the pthreads OpenBLAS (Debian's)
runtime_env() {
  if [[ -z ${OPENBLAS_CORETYPE:-} ]]; then
    local core
    core=$(OPENBLAS_VERBOSE=2 "$1" --benchmark_list_tests 2>&1 >/dev/null | sed -n 's/^Core: //p' | tail -n 1)
    [[ -n $core ]] && export OPENBLAS_CORETYPE=$core
  fi
  export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
  echo "runtime: OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-auto} OMP_WAIT_POLICY=$OMP_WAIT_POLICY for every program of this run" >&2
}
