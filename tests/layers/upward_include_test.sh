#!/usr/bin/env bash
# scripts/check_layers.sh must catch what it is for: on a copy of include/ with one header made to
# include a layer above it, and one data header made to pull in the CPU kernels, it must fail and
# name both; on the untouched copy it must pass.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
check=$here/scripts/check_layers.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$here/include" "$work/include"

"$check" "$work/include" >/dev/null || { echo "FAIL: the untouched headers do not pass"; exit 1; }

sed -i '0,/#include "rlhf\/core\/error.hpp"/s//#include "rlhf\/core\/error.hpp"\n#include "rlhf\/train\/ppo.hpp"/' "$work/include/rlhf/core/shape.hpp"
sed -i 's|#include "rlhf/backend/cpu/tag.hpp"|#include "rlhf/backend/cpu.hpp"|' "$work/include/rlhf/data/batch.hpp"
grep -q 'rlhf/train/ppo.hpp' "$work/include/rlhf/core/shape.hpp" || { echo "FAIL: could not plant the upward include"; exit 1; }
grep -q 'rlhf/backend/cpu.hpp' "$work/include/rlhf/data/batch.hpp" || { echo "FAIL: could not plant the kernel include"; exit 1; }

rc=0
out=$("$check" "$work/include" 2>&1) || rc=$?
echo "$out"
[[ $rc == 1 ]] || { echo "FAIL: check_layers.sh exited $rc, not 1"; exit 1; }
grep -q 'core/shape.hpp:[0-9]*: core includes rlhf/train/ppo.hpp (train is above core)' <<<"$out" ||
  { echo "FAIL: the upward include is not named"; exit 1; }
grep -q 'data/batch.hpp:[0-9]*: data includes rlhf/backend/cpu.hpp (from backend/, data may include only a tag.hpp)' <<<"$out" ||
  { echo "FAIL: the kernel include is not named"; exit 1; }
echo "ok: both planted includes were caught"
