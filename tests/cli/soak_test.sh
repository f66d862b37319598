#!/usr/bin/env bash
# soak_test.sh RLHF PYTHON WORKDIR [ITERATIONS]: a long PPO run of a tiny model, and a run that
# goes non-finite.
#   1. `rlhf ppo --iterations ITERATIONS` (default 1000) with a checkpoint every 50 iterations:
#      it must exit 0 with every metric of every iteration finite, and its resident memory must
#      stay flat: sampled every 20 ms, the median of the last fifth of the run may exceed the
#      median of the second fifth (after warm-up) by at most 3 MiB + 2 %.
#   2. The same run at a learning rate of 1e30 (finite, so accepted): the first update blows the
#      weights up, a later iteration's loss, score or gradient is NaN, and the run must stop
#      with exit 1 and one line naming the iteration, leaving its last committed checkpoint as
#      it was written (the same bytes as an identical run stopped there).
# Prints the figures docs/reliability.md quotes. About 10 s on 2 cores.
set -u
RLHF=$1
PY=$2
W=$3
N=${4:-1000}
rm -rf "$W" && mkdir -p "$W" && cd "$W" || exit 2
failures=0
bad() { echo "FAIL: $*"; failures=$((failures + 1)); }

echo '{"vocab_size": 257, "n_positions": 48, "n_embd": 32, "n_layer": 2, "n_head": 2}' >model.json
"$PY" - <<'PYEOF'
import json, random
random.seed(0)
words = ["good", "bad", "fine", "nice", "poor", "great"]
with open("prompts.jsonl", "w") as f:
    for i in range(32):
        f.write(json.dumps({"prompt": "Q: " + " ".join(random.sample(words, 2)) + "?"}) + "\n")
with open("pairs.jsonl", "w") as f:
    for i in range(32):
        f.write(json.dumps({"prompt": "Q:", "chosen": " " + random.choice(words[:3]), "rejected": " " + random.choice(words[3:])}) + "\n")
PYEOF
"$RLHF" init --config model.json --out m0 --seed 1 --tokenizer bytes >/dev/null || exit 2
"$RLHF" reward --model m0 --data pairs.jsonl --out rm --steps 5 --batch-size 8 --log-every 5 >/dev/null || exit 2
PPO=("$RLHF" ppo --policy m0 --reward rm --prompts prompts.jsonl --batch-size 4 --ppo-epochs 1
  --max-new-tokens 8 --temperature 0.9 --seed 3 --log-every 100)

# 1. The long run, its memory sampled from /proc.
start=$SECONDS
"${PPO[@]}" --out soak --mini-batch-size 2 --iterations "$N" --save-every 50 --keep-checkpoints 2 >soak.out 2>soak.err &
pid=$!
: >rss.txt
while kill -0 "$pid" 2>/dev/null; do
  awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null >>rss.txt
  sleep 0.02
done
wait "$pid"
rc=$?
seconds=$((SECONDS - start))
[ $rc -eq 0 ] || bad "soak: exit $rc: $(tail -2 soak.err)"
"$PY" - "$N" "$seconds" <<'PYEOF' || bad "soak: metrics or memory"
import json, math, statistics, sys
n, seconds = int(sys.argv[1]), int(sys.argv[2])
records = [json.loads(l) for l in open("soak/metrics.jsonl")]
assert len(records) == n, f"{len(records)} metrics records, expected {n}"
for r in records:
    for k, v in r.items():
        assert isinstance(v, (int, float, bool)) and math.isfinite(v), f"iteration {r['iteration']}: {k} = {v}"
rss = [int(x) for x in open("rss.txt") if x.strip()]
assert len(rss) >= 10, f"only {len(rss)} memory samples"
fifth = len(rss) // 5
early, late = statistics.median(rss[fifth:2 * fifth]), statistics.median(rss[-fifth:])
growth = late - early
print(f"soak: {n} PPO iterations in {seconds} s, every metric finite; RSS median {early / 1024:.1f} MiB "
      f"(second fifth) -> {late / 1024:.1f} MiB (last fifth), peak {max(rss) / 1024:.1f} MiB, {len(rss)} samples")
assert growth <= 3 * 1024 + 0.02 * early, f"RSS grew by {growth} KiB"
PYEOF

# 2. A run that goes non-finite stops, naming the iteration; its last checkpoint is intact.
# One minibatch per iteration: iteration 1 updates once and commits; the blow-up shows after.
BLOWUP=(--save-every 1 --lr 1e30 --mini-batch-size 4)
"${PPO[@]}" --out blowup "${BLOWUP[@]}" --iterations 20 >blowup.out 2>blowup.err
rc=$?
err=$(cat blowup.err)
if [ $rc -ne 1 ]; then bad "blowup: exit $rc, expected 1 ($err)"
elif [ "$(wc -l <blowup.err)" -ne 1 ] || ! [[ $err =~ ^rlhf:\ PPO\ iteration\ ([0-9]+):\  ]]; then
  bad "blowup: the error does not name the iteration: $err"
else
  failed_at=${BASH_REMATCH[1]}
  last=$(ls blowup | grep '^checkpoint-' | sed 's/checkpoint-//' | sort -n | tail -1)
  if [ -z "$last" ] || [ "$last" -ne $((failed_at - 1)) ]; then
    bad "blowup: failed at iteration $failed_at but the last checkpoint is ${last:-none}"
  else
    # The same run, asked to stop at that iteration, writes the same checkpoint.
    "${PPO[@]}" --out blowup_ref "${BLOWUP[@]}" --iterations "$last" >/dev/null 2>&1 || bad "blowup_ref failed"
    for f in policy/model.safetensors value/model.safetensors trainer_state.json; do
      cmp -s "blowup/checkpoint-$last/$f" "blowup_ref/checkpoint-$last/$f" || bad "blowup: checkpoint-$last/$f changed"
    done
    ls -a blowup | grep -q 'partial' && bad "blowup: temporaries left: $(ls -a blowup)"
    echo "blowup: $err; checkpoint-$last intact"
  fi
fi

if [ $failures -ne 0 ]; then echo "$failures check(s) failed"; exit 1; fi
echo "soak test passed"
