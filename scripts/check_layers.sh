#!/usr/bin/env bash
# The library's layers, lowest first. A header may include headers of its own layer and of the
# layers below it, never one above: core knows nothing of kernels, data nothing of models, and so
# on up to train. This list is the one place the order is written (docs/architecture.md shows it).
#
#   scripts/check_layers.sh [INCLUDE_DIR]     (default: include/ of this checkout)
#
# Prints each include that points up, as FILE:LINE: LAYER includes HEADER (LAYER above), and
# exits 1 if there is one.
set -euo pipefail

layers=(
  core     # tensors, shapes, errors, the Backend concept, Philox, field names
  files    # files on disk: atomic writes, directory locks, digests, JSON text
  backend  # the backends' memory and kernels (cpu, cuda, thrust_omp)
  data     # tokenizers, datasets, JSONL, labelers, rankings
  loss     # Bradley-Terry, PPO's losses
  nn       # layers and models (GPT, the reward model)
  optim    # AdamW, clipping, schedules
  generate # the KV-cached sampler
  io       # checkpoints: safetensors, GPT-2 configs, the reward head
  train    # trainers, collection, evaluation, the pipeline
)
# The layers between backend and nn hold no computation of their own: from backend/ they may
# name a backend (its tag.hpp, and the precision that tag carries), not pull in its kernels.
tag_only=(data loss)
tag_header='^backend/([a-z_]+/tag|precision)\.hpp$'

# Headers outside any layer directory: version.hpp sits at the bottom, rlhf.hpp (everything) at the top.
declare -A rank=([version.hpp]=0 [rlhf.hpp]=${#layers[@]})
for i in "${!layers[@]}"; do rank[${layers[$i]}]=$i; done

root=${1:-"$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/include"}
root=${root%/}
[[ -d $root/rlhf ]] || { echo "check_layers.sh: $root/rlhf: no such directory" >&2; exit 2; }

# layer_of PATH_UNDER_rlhf: the first component (a layer directory) or the file name at the top.
layer_of() { local p=$1; [[ $p == */* ]] && echo "${p%%/*}" || echo "$p"; }

violations=0
while IFS= read -r -d '' file; do
  rel=${file#"$root"/rlhf/}
  own=$(layer_of "$rel")
  if [[ -z ${rank[$own]+x} ]]; then
    echo "$file: in no layer (add its directory to scripts/check_layers.sh)"
    violations=$((violations + 1))
    continue
  fi
  while IFS=: read -r line header; do
    target=$(layer_of "$header")
    if [[ -z ${rank[$target]+x} ]]; then
      echo "$file:$line: includes rlhf/$header, which is in no layer"
      violations=$((violations + 1))
    elif ((rank[$target] > rank[$own])); then
      echo "$file:$line: $own includes rlhf/$header ($target is above $own)"
      violations=$((violations + 1))
    elif [[ $target == backend && " ${tag_only[*]} " == *" $own "* && ! $header =~ $tag_header ]]; then
      echo "$file:$line: $own includes rlhf/$header (from backend/, $own may include only a tag.hpp)"
      violations=$((violations + 1))
    fi
  done < <(grep -noE '^[[:space:]]*#[[:space:]]*include[[:space:]]*["<]rlhf/[^">]+' "$file" |
             sed -E 's|^([0-9]+):.*rlhf/|\1:|')
done < <(find "$root/rlhf" -type f \( -name '*.hpp' -o -name '*.cuh' -o -name '*.h' \) -print0 | sort -z)

if ((violations)); then
  echo "check_layers.sh: $violations include(s) against the layer order (lowest first): ${layers[*]}" >&2
  exit 1
fi
echo "check_layers.sh: every include points down (${layers[*]})"
