#!/usr/bin/env bash
# kill_loop_test.sh RLHF PYTHON WORKDIR DATA_DIR [KILLS]: kill -9 at random instants, then
# resume, until each run finishes; every run must end byte-identical to the run never killed.
# Covers `rlhf sft`, `rlhf reward`, `rlhf ppo` (a checkpoint every step or iteration, so kills
# land inside saves) and `rlhf pipeline` (every stage). KILLS (default 32) is the total number
# of kills that land, shared out as 3/8 SFT, 1/4 reward, 1/4 PPO, 1/8 pipeline; each kill is
# followed by a resume, and every third kill the chain is resumed to the end and compared (so a
# kill's damage is caught by the comparison that follows it). The kill instants are drawn uniformly
# over the uninterrupted run's duration, from a seed ($KILL_SEED, default 1). Prints the number
# of kills survived. Needs python3 for the test data only.
set -u
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
RLHF=$1
PY=$2
W=$3
DATA=$4
KILLS=${5:-32}
abs() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
case "$RLHF" in */*) RLHF=$(abs "$RLHF") ;; esac
DATA=$(abs "$DATA")
rm -rf "$W" && mkdir -p "$W" && cd "$W" || exit 2
RANDOM=${KILL_SEED:-1}

failures=0
kills=0
bad() { echo "FAIL: $*"; failures=$((failures + 1)); }

# The data: a tiny byte model, SFT pairs, K-wise rankings, prompts; a pipeline config.
echo '{"vocab_size": 257, "n_positions": 48, "n_embd": 32, "n_layer": 2, "n_head": 2}' >model.json
"$RLHF" init --config model.json --out m0 --seed 1 --tokenizer bytes >/dev/null || exit 2
"$PY" - "$DATA" <<'PYEOF' || exit 2
import json, os, random, sys
random.seed(0)
words = ["cat", "dog", "bird", "fish", "hat", "car", "sun", "tree"]
with open("sft.jsonl", "w") as f:
    for i in range(64):
        a, b = random.choice(words), random.choice(words)
        f.write(json.dumps({"prompt": f"Q: {a}?", "completion": f" A: {a} and {b}."}) + "\n")
with open("rank.jsonl", "w") as f:
    for i in range(48):
        a = random.choice(words)
        f.write(json.dumps({"prompt": f"Q: {a}?", "completions": [f" {a}!", f" {a}.", " no"], "ranking": [1, 2, 3]}) + "\n")
with open("prompts.jsonl", "w") as f:
    for w in words:
        f.write(json.dumps({"prompt": f"Q: {w}?"}) + "\n")
data = sys.argv[1]
config = {
    "seed": 3, "tokenizer": "bytes",
    "model": {"n_positions": 72, "n_embd": 32, "n_layer": 2, "n_head": 2},
    "data": {"sft": f"{data}/fortunes/train.jsonl", "collect_prompts": f"{data}/fortunes/train.jsonl",
             "ppo_prompts": f"{data}/fortunes/validation.jsonl", "eval_prompts": f"{data}/fortunes/prompts.jsonl"},
    "labeler": {"afinn": f"{data}/afinn-165.tsv"},
    "sft": {"steps": 60, "batch_size": 8, "learning_rate": 0.003, "warmup_steps": 5, "max_length": 32,
            "eval_every": 10, "eval_max_batches": 1, "log_every": 20},
    "collect": {"prompts": 40, "min_k": 3, "max_k": 4, "max_new_tokens": 12, "temperature": 0.8, "batch_size": 40},
    "reward": {"steps": 12, "batch_size": 8, "learning_rate": 0.001, "warmup_steps": 2, "eval_every": 3, "log_every": 6},
    "ppo": {"iterations": 8, "batch_size": 8, "mini_batch_size": 4, "ppo_epochs": 2, "max_new_tokens": 12,
            "temperature": 0.8, "kl_coef": 0.3, "learning_rate": 0.0003, "save_every": 1},
    "eval": {"prompts": 16, "max_new_tokens": 12, "temperature": 0.8, "batch_size": 16, "samples_in_report": 2},
}
json.dump(config, open("pipeline.json", "w"))
PYEOF

SFT=(sft --model m0 --data sft.jsonl --steps 40 --batch-size 8 --lr 3e-3 --warmup 4 --eval-every 1 --log-every 20 --val-fraction 0.1 --seed 2)
REWARD=(reward --model m0 --data rank.jsonl --steps 24 --batch-size 8 --lr 2e-3 --warmup 2 --eval-every 1 --log-every 12 --val-fraction 0.2 --seed 4)
PPO=(ppo --policy m0 --reward reference_reward --prompts prompts.jsonl --iterations 10 --batch-size 4 --mini-batch-size 2 --ppo-epochs 2 --max-new-tokens 8 --temperature 0.9 --lr 1e-4 --save-every 1 --log-every 5 --seed 5)
PIPELINE=(pipeline --config pipeline.json)

# The bytes that must match: each run's final models.
fingerprint() {  # fingerprint KIND DIR
  case $1 in
    sft | reward) cat "$2/model.safetensors" ;;
    ppo) cat "$2/policy/model.safetensors" "$2/value/model.safetensors" ;;
    pipeline) cat "$2/sft/model.safetensors" "$2/reward/model.safetensors" "$2/ppo/policy/model.safetensors" \
      "$2/ppo/value/model.safetensors" "$2/eval/samples.jsonl" ;;
  esac | cksum
}

# run_once KIND DIR: runs the command (resuming when DIR holds a checkpoint) in the background;
# sets $pid.
run_once() {
  local kind=$1 dir=$2 resume=()
  local -n cmd=${kind^^}
  if [ "$kind" != pipeline ] && compgen -G "$dir/checkpoint-*" >/dev/null; then resume=(--resume); fi
  "$RLHF" "${cmd[@]}" --out "$dir" "${resume[@]}" >>"$dir.log" 2>&1 &
  pid=$!
}

# finish_and_compare KIND DIR PID LABEL: waits for the run PID (which must exit 0), compares its
# models with the uninterrupted run's and checks that no temporaries are left; then removes DIR so
# that the chain starts again from nothing. Returns 1 on a failure.
finish_and_compare() {
  local kind=$1 dir=$2 rc
  wait "$3"
  rc=$?
  if [ $rc -ne 0 ]; then
    bad "$kind: the resumed run exited $rc $4: $(tail -2 "$dir.log")"
    return 1
  fi
  if [ "$(fingerprint "$kind" "$dir")" != "${reference[$kind]}" ]; then
    bad "$kind: $4 the resumed run differs from the uninterrupted one"
    return 1
  fi
  leftovers=$(find "$dir" -name '.*.tmp-*' -o -name '.checkpoint-*.partial-*' | head -3)
  [ -z "$leftovers" ] || bad "$kind: temporaries left $4: $leftovers"
  rm -rf "$dir" "$dir.log"
}

# chain KIND N: N kills that land, each followed by a resume; every third kill, and after the
# last, the chain is resumed to the end and compared with the reference, then starts again from
# nothing. A run that finishes before its kill (resumed runs get shorter) is compared the same way.
chain() {
  local kind=$1 n=$2 dir="$W/killed_$1" millis=${duration[$1]} landed=0 attempts=0 r
  rm -rf "$dir" "$dir.log"
  while ((landed < n && attempts < 4 * n)); do
    attempts=$((attempts + 1))
    run_once "$kind" "$dir"
    r=$((RANDOM % millis))
    sleep "$(printf '%d.%03d' $((r / 1000)) $((r % 1000)))"
    # A run that already exited (a zombie until waited for) does not count as killed.
    if [ "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" = Z ] || ! kill -9 $pid 2>/dev/null; then
      finish_and_compare "$kind" "$dir" $pid "after $landed kills (it finished before the kill)" || return
      continue
    fi
    wait $pid 2>/dev/null
    landed=$((landed + 1))
    kills=$((kills + 1))
    if ((landed % 3 == 0 || landed == n)); then
      run_once "$kind" "$dir"
      finish_and_compare "$kind" "$dir" $pid "after kill $landed" || return
    fi
  done
  ((landed == n)) || bad "$kind: only $landed of $n kills landed in $attempts runs"
  echo "ok   $kind: $landed kills, every resumed run byte-identical to the uninterrupted one"
}

# The uninterrupted runs, timed: the kill instants are drawn below that duration (50 ms to 30 s).
declare -A reference duration
run_reference() {
  local kind=$1 start ms
  local -n cmd=${kind^^}
  start=$(date +%s%N)
  "$RLHF" "${cmd[@]}" --out "reference_$kind" >"reference_$kind.log" 2>&1 || { bad "$kind: $(tail -2 "reference_$kind.log")"; return 1; }
  ms=$((($(date +%s%N) - start) / 1000000))
  duration[$kind]=$((ms < 50 ? 50 : ms > 30000 ? 30000 : ms))
  reference[$kind]=$(fingerprint "$kind" "reference_$kind")
}
for kind in sft reward ppo pipeline; do run_reference "$kind" || exit 1; done  # ppo scores with reference_reward
echo "uninterrupted runs: sft ${duration[sft]} ms, reward ${duration[reward]} ms, ppo ${duration[ppo]} ms, pipeline ${duration[pipeline]} ms"

chain sft $((KILLS * 3 / 8))
chain reward $((KILLS / 4))
chain ppo $((KILLS / 4))
chain pipeline $((KILLS - KILLS * 3 / 8 - 2 * (KILLS / 4)))

echo "kills survived: $kills"
if [ $failures -ne 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "kill loop: all passed"
