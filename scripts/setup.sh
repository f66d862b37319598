# shellcheck shell=bash
# Sourced by demo.sh and test.sh: installs the Debian packages that building rlhf needs, only
# those that are missing (a machine that has them all runs no apt-get at all).

# clang, libclang-rt-14-dev, libomp-14-dev and llvm are the asan and fuzz presets': Clang with
# libFuzzer and the sanitizer runtimes, Clang's OpenMP, and llvm-symbolizer for the sanitizers'
# stack traces. libblis-openmp-dev is BLIS, measured beside OpenBLAS by bench/run_limits.sh.
RLHF_DEBIAN_PACKAGES=(build-essential cmake ninja-build libeigen3-dev doctest-dev libbenchmark-dev
  nlohmann-json3-dev libopenblas-dev libcli11-dev wamerican gnuplot-nox doxygen clang-format
  clang libclang-rt-14-dev libomp-14-dev llvm libblis-openmp-dev)

rlhf_install_packages() {
  if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "setup: not a Debian system; make sure these (or your system's equivalents) are installed:" >&2
    echo "setup:   ${RLHF_DEBIAN_PACKAGES[*]}" >&2
    return 0
  fi
  local missing=() pkg
  for pkg in "${RLHF_DEBIAN_PACKAGES[@]}"; do
    if [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" != "install ok installed" ]]; then
      missing+=("$pkg")
    fi
  done
  if ((${#missing[@]} == 0)); then
    echo "setup: all ${#RLHF_DEBIAN_PACKAGES[@]} Debian packages present"
    return 0
  fi

  local sudo=()
  if ((EUID != 0)); then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "setup: missing packages: ${missing[*]}" >&2
      echo "setup: not root and no sudo; install them as root with apt-get install" >&2
      return 1
    fi
    sudo=(sudo)
    [[ -t 0 ]] || sudo+=(-n)  # no terminal to ask for a password on: fail rather than hang
  fi
  echo "setup: installing ${missing[*]}"
  local apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600)
  "${apt[@]}" update -qq
  "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}"
}
