#!/usr/bin/env bash
# clang-tidy over the library's headers (.clang-tidy holds the checks and why each is there),
# through the translation units that instantiate them: src/*.cpp, the compiled library, which
# instantiate the models, trainers and pipeline in float and double on the CPU. Uses a configured
# build's compile_commands.json (default build/release), with the precompiled header taken out of
# each command (GCC's .gch is not Clang's). Prints the findings and exits 1 if there is one.
#
#   scripts/tidy.sh [BUILD_DIR] [FILE...]      (files default: src/*.cpp; about a minute each)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build=${1:-build/release}
shift || true
[[ -f $build/compile_commands.json ]] || {
  echo "tidy: no $build/compile_commands.json (cmake --preset release first)" >&2
  exit 2
}
tool=$(command -v clang-tidy-14 || command -v clang-tidy || true)
[[ -n $tool ]] || {
  echo "tidy: no clang-tidy on the PATH (Debian: apt-get install clang-tidy)" >&2
  exit 2
}
files=("$@")
((${#files[@]})) || mapfile -t files < <(ls src/*.cpp)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$build/compile_commands.json" "$work/compile_commands.json" <<'PYEOF'
import json, shlex, sys
entries = json.load(open(sys.argv[1]))
for e in entries:
    args = shlex.split(e["command"])
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if a == "-include":
            skip = True  # the precompiled header CMake forces in: GCC's, not Clang's
            continue
        if a in ("-Winvalid-pch", "-march=native"):
            continue
        out.append(a)
    e["command"] = shlex.join(out)
json.dump(entries, open(sys.argv[2], "w"))
PYEOF

status=0
for f in "${files[@]}"; do
  echo "==> clang-tidy $f"
  out=$("$tool" -p "$work" --quiet "$f" 2>&1) || status=1
  grep -v -E '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$|^Suppressed [0-9]+ warnings' <<<"$out" || true
done
exit $status
