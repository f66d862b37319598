#!/usr/bin/env bash
# cli_test.sh RLHF PYTHON WORKDIR [GPT2_DIR]: the rlhf CLI end to end, then its error paths.
# GPT2_DIR (GPT-2's vocab.json + merges.txt, the project's data/gpt2) adds a BPE model.
set -u
RLHF=$1
PY=$2
W=$3
GPT2=${4:-}
rm -rf "$W" && mkdir -p "$W/run" "$W/logs" && cd "$W/run" || exit 2

failures=0
bad() { echo "FAIL: $*"; failures=$((failures + 1)); }

# ok NAME CMD...: must exit 0; stdout in NAME.out, stderr in NAME.err.
ok() {
  local name=$1; shift
  "$@" >"$name.out" 2>"$name.err"
  local rc=$?
  if [ $rc -ne 0 ]; then bad "$name: exit $rc: $(cat "$name.err")"; else echo "ok   $name"; fi
}
# The bad-input catalogue: every `fails` below is one case. `fails NAME PATTERN CMD...` asserts
#   - exit code 1;
#   - exactly one stderr line, "rlhf: ...", containing PATTERN (the file, line, field or option);
#   - no new, removed or changed file anywhere under the work directory (the output directories
#     included). The one exception is a run directory's .lock, which records the PID of the
#     last process to take the lock. (FAILS_SKIP_SNAPSHOT=1 skips this check, for the one case
#     where another run writes the work directory at the same time.)
# Its stdout and stderr go to ../logs/NAME.out and .err, outside the snapshot.
catalogue=0
snapshot() {
  find . -name .lock -prune -o \( -type d -printf 'd %p\n' \) -o -printf 'f %p %s %T@\n' | LC_ALL=C sort
}
fails() {
  local name=$1 pattern=$2; shift 2
  local before after
  before=$(snapshot)
  "$@" >"../logs/$name.out" 2>"../logs/$name.err"
  local rc=$?
  after=$(snapshot)
  local err; err=$(cat "../logs/$name.err")
  catalogue=$((catalogue + 1))
  if [ $rc -ne 1 ]; then bad "$name: exit $rc, expected 1 ($err)"; return; fi
  if [ "$(wc -l <"../logs/$name.err")" -ne 1 ]; then bad "$name: stderr is not one line: $err"; return; fi
  case "$err" in "rlhf: "*) ;; *) bad "$name: stderr does not start with 'rlhf: ': $err"; return ;; esac
  case "$err" in *"$pattern"*) ;; *) bad "$name: stderr lacks '$pattern': $err"; return ;; esac
  if [ -z "${FAILS_SKIP_SNAPSHOT:-}" ] && [ "$before" != "$after" ]; then
    bad "$name: the work directory changed: $(diff <(echo "$before") <(echo "$after") | grep '^[<>]' | head -3 | tr '\n' ' ')"
    return
  fi
  echo "ok   $name: $err"
}
# jsonl FILE N CHECK: FILE holds N lines, each a JSON object; CHECK is a Python expression on `r`.
jsonl() {
  "$PY" - "$@" <<'PYEOF' || bad "jsonl $1"
import json, sys
path, n, check = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lines = open(path, encoding="utf-8").read().splitlines()
assert len(lines) == n, f"{path}: {len(lines)} lines, expected {n}"
for i, line in enumerate(lines, 1):
    r = json.loads(line)
    assert eval(check), f"{path}:{i}: {check} is false for {line}"
PYEOF
}
no_dir() { if [ -e "$1" ]; then bad "$1 exists after a failing command"; fi; }

# --help of every subcommand.
for sub in "" init sft generate logprobs reward score ppo tokenize; do
  ok "help_${sub:-main}" "$RLHF" $sub --help
done

# Data: a small prompt/completion set.
"$PY" - <<'PYEOF'
import json, random
random.seed(0)
names = ["the cat", "a dog", "my bird", "one fish", "her hat", "his car"]
with open("sft.jsonl", "w") as f:
    for i in range(96):
        a = random.choice(names)
        f.write(json.dumps({"prompt": f"Q: where is {a}?", "completion": f" A: {a} is here."}) + "\n")
with open("prompts.jsonl", "w") as f:
    f.write(json.dumps({"prompt": "Q: where is the cat?"}) + "\n")
    f.write(json.dumps({"prompt": "Q:"}) + "\n")
with open("score.jsonl", "w") as f:
    f.write(json.dumps({"text": "Q: where is a dog? A: a dog is here."}) + "\n")
    f.write(json.dumps({"prompt": "Q: where is a dog?", "completion": " A: a dog is here."}) + "\n")
    f.write(json.dumps({"tokens": [81, 58, 32, 256]}) + "\n")
PYEOF
echo '{"vocab_size": 257, "n_positions": 64, "n_embd": 32, "n_layer": 2, "n_head": 2}' >config.json

# ---- The happy path.
ok init "$RLHF" init --config config.json --out m0 --seed 1 --tokenizer bytes
[ -f m0/config.json ] && [ -f m0/model.safetensors ] || bad "init: no checkpoint in m0"
ok sft "$RLHF" sft --model m0 --data sft.jsonl --out m1 --steps 30 --batch-size 8 --micro-batch-size 4 \
  --lr 3e-3 --warmup 5 --eval-every 15 --log-every 5 --val-fraction 0.1 --seed 2
for f in config.json model.safetensors metrics.jsonl checkpoint-30/model.safetensors checkpoint-30/optimizer.safetensors \
  checkpoint-30/trainer_state.json checkpoint-30/checkpoint.json; do
  [ -f "m1/$f" ] || bad "sft: m1/$f missing"
done
[ -e m1/checkpoint-15 ] && bad "sft: the older checkpoint-15 was not pruned"
cmp -s m1/model.safetensors m1/checkpoint-30/model.safetensors || bad "sft: m1/model.safetensors is not the newest checkpoint's"
grep -q "eval/loss" sft.out || bad "sft: no progress line with eval/loss"
jsonl m1/metrics.jsonl 7 '"train/loss" in r and r["step"] >= 1'
# The loss went down (first record vs last).
"$PY" -c '
import json,sys
r=[json.loads(l) for l in open("m1/metrics.jsonl")]
assert r[-1]["train/loss"] < r[0]["train/loss"] - 0.5, (r[0]["train/loss"], r[-1]["train/loss"])
assert r[-1]["step"] == 30 and "eval/loss" in r[-1]
' || bad "sft: metrics"
ok sft_resume "$RLHF" sft --model m0 --data sft.jsonl --out m1 --steps 35 --batch-size 8 --micro-batch-size 4 \
  --lr 3e-3 --warmup 5 --eval-every 15 --log-every 5 --val-fraction 0.1 --seed 2 --resume
grep -q "resumed from m1 at step 30" sft_resume.out || bad "sft_resume: did not resume at step 30"
grep -q '"step": 35' m1/checkpoint-35/trainer_state.json || bad "sft_resume: no checkpoint-35 at step 35"
fails sft_exists "use --resume" "$RLHF" sft --model m0 --data sft.jsonl --out m1 --steps 5
# Resume checks what it resumes: another learning rate, or other data of the same size, is refused.
fails sft_resume_other_lr 'the run being resumed had --lr = 0.003, this one has 0.001' \
  "$RLHF" sft --model m0 --data sft.jsonl --out m1 --steps 40 --batch-size 8 --micro-batch-size 4 \
  --lr 1e-3 --warmup 5 --eval-every 15 --log-every 5 --val-fraction 0.1 --seed 2 --resume
sed 's/the cat/the cot/' sft.jsonl >sft_other.jsonl
fails sft_resume_other_data 'the run being resumed had --data = "fnv1a64:' \
  "$RLHF" sft --model m0 --data sft_other.jsonl --out m1 --steps 40 --batch-size 8 --micro-batch-size 4 \
  --lr 3e-3 --warmup 5 --eval-every 15 --log-every 5 --val-fraction 0.1 --seed 2 --resume
fails sft_out_empty '--out must name a directory, got ""' "$RLHF" sft --model m0 --data sft.jsonl --out "" --steps 5
# One writer per --out: a second run on a directory in use fails at once, naming the holder's
# PID, and the first run goes on undisturbed.
"$RLHF" sft --model m0 --data sft.jsonl --out busy --steps 150 --batch-size 8 --eval-every 50 --log-every 50 \
  --val-fraction 0.1 --seed 2 >busy.out 2>busy.err &
busy_pid=$!
for _ in $(seq 1 400); do [ -f busy/.lock ] && break; sleep 0.02; done
FAILS_SKIP_SNAPSHOT=1 fails sft_busy "busy: in use by another run (process $busy_pid holds busy/.lock)" \
  "$RLHF" sft --model m0 --data sft.jsonl --out busy --steps 5 --resume
wait $busy_pid && ok_busy=1 || ok_busy=0
[ $ok_busy -eq 1 ] || bad "sft_busy: the first run failed: $(cat busy.err)"
jsonl busy/metrics.jsonl 4 '"train/loss" in r'

ok generate "$RLHF" generate --model m1 --prompt "Q: where is the cat?" --prompt "Q: a" --max-new-tokens 16 \
  --temperature 0.8 --top-k 20 --top-p 0.95 --seed 3
jsonl generate.out 2 'isinstance(r["completion"], str) and 1 <= r["tokens"] <= 16 and r["logprob"] < 0'
ok generate_file "$RLHF" generate --model m1 --prompts prompts.jsonl --temperature 0 --max-new-tokens 8
jsonl generate_file.out 2 'r["prompt"].startswith("Q:") and r["tokens"] <= 8'
ok generate_again "$RLHF" generate --model m1 --prompts prompts.jsonl --temperature 0 --max-new-tokens 8
cmp -s generate_file.out generate_again.out || bad "generate: greedy output differs between two runs"

ok logprobs "$RLHF" logprobs --model m1 --data score.jsonl
jsonl logprobs.out 3 'len(r["tokens"]) == len(r["logprobs"]) > 0 and abs(sum(r["logprobs"]) - r["sum"]) < 1e-6 and all(x <= 0 for x in r["logprobs"])'
# {"prompt", "completion"} scores the completion's tokens: the tail of the {"text"} record's.
"$PY" -c '
import json
a, b, c = [json.loads(l) for l in open("logprobs.out")]
n = len(b["tokens"])
assert n == len(" A: a dog is here.") and a["tokens"][-n:] == b["tokens"], (a, b)
assert max(abs(x - y) for x, y in zip(a["logprobs"][-n:], b["logprobs"])) < 1e-5
assert c["tokens"] == [58, 32, 256]
' || bad "logprobs: prompt/completion vs text"

ok tokenize "$RLHF" tokenize --model m1 --text "héllo, world"
"$PY" -c 'import json; assert json.load(open("tokenize.out")) == list("héllo, world".encode())' || bad "tokenize: ids"
ok tokenize_decode "$RLHF" tokenize --tokenizer bytes --text "a<|endoftext|>b" --decode
jsonl tokenize_decode.out 1 'r["ids"] == [97, 256, 98] and r["text"] == "a<|endoftext|>b" and r["round_trip"]'
printf 'line one\nline two\n' >text.txt
ok tokenize_file "$RLHF" tokenize --model m1 --file text.txt --decode
jsonl tokenize_file.out 1 'r["text"] == "line one\nline two\n"'
ok tokenize_ids "$RLHF" tokenize --model m1 --ids "[104, 105, 256]"
jsonl tokenize_ids.out 1 'r["text"] == "hi<|endoftext|>"'

# ---- Reward model: K-wise rankings from the SFT model m1, then scores.
# The labeler prefers completions with more "!": K = 4 completions per prompt, ranked by that.
"$PY" - <<'PYEOF'
import json, random
random.seed(1)
with open("rank.jsonl", "w") as f:
    for i in range(40):
        counts = random.sample(range(6), 4)
        comps = [" A: here" + "!" * c for c in counts]
        ranking = [1 + sum(d > c for d in counts) for c in counts]
        f.write(json.dumps({"prompt": "Q: where?", "completions": comps, "ranking": ranking}) + "\n")
with open("pairs.jsonl", "w") as f:
    for i in range(12):
        f.write(json.dumps({"prompt": "Q:", "chosen": " yes!!", "rejected": " no", "margin": 0.5}) + "\n")
with open("to_score.jsonl", "w") as f:
    f.write(json.dumps({"prompt": "Q: where?", "completion": " A: here!!!!!"}) + "\n")
    f.write(json.dumps({"prompt": "Q: where?", "completion": " A: here"}) + "\n")
PYEOF
ok reward "$RLHF" reward --model m1 --data rank.jsonl --out rm --steps 40 --batch-size 8 --lr 2e-3 --warmup 4 \
  --eval-every 20 --log-every 10 --val-fraction 0.2 --seed 4
for f in config.json model.safetensors metrics.jsonl checkpoint-40/optimizer.safetensors checkpoint-40/trainer_state.json; do
  [ -f "rm/$f" ] || bad "reward: rm/$f missing"
done
grep -q "eval/accuracy" reward.out || bad "reward: no progress line with eval/accuracy"
"$PY" -c '
import json
r = [json.loads(l) for l in open("rm/metrics.jsonl")]
last = r[-1]
assert last["step"] == 40 and last["eval/accuracy"] >= 0.9, last
assert all(k in last for k in ("train/loss", "train/margin", "train/rewards_std", "train/comparisons_per_second"))
c = json.load(open("rm/config.json"))
assert c["architectures"] == ["GPT2ForSequenceClassification"] and c["reward_gain"] > 0, c
' || bad "reward: metrics or config"
ok score "$RLHF" score --model rm --data to_score.jsonl
jsonl score.out 2 'isinstance(r["score"], float) and isinstance(r["reward"], float)'
"$PY" -c '
import json
a, b = [json.loads(l) for l in open("score.out")]
assert a["score"] > b["score"], (a, b)
' || bad "score: the preferred completion does not score higher"
ok reward_resume "$RLHF" reward --model m1 --data rank.jsonl --out rm --steps 45 --batch-size 8 --lr 2e-3 --warmup 4 \
  --eval-every 20 --log-every 10 --val-fraction 0.2 --seed 4 --resume
grep -q "resumed from rm at step 40" reward_resume.out || bad "reward_resume: did not resume at step 40"
ok reward_pairs "$RLHF" reward --model m1 --data pairs.jsonl --out rm_pairs --steps 3 --batch-size 4 --val-fraction 0.25 \
  --center-coefficient 0.01 --normalize-data to_score.jsonl
grep -q "normalised on 2 reference completions" reward_pairs.out || bad "reward_pairs: --normalize-data not used"
{ head -2 rank.jsonl; echo '{"prompt": "Q:", "completions": ["a", "b", "c"], "ranking": [1, 2]}'; } >bad_rank.jsonl
fails reward_bad_ranking 'bad_rank.jsonl:3: field "ranking" has 2 ranks for 3 completions' \
  "$RLHF" reward --model m1 --data bad_rank.jsonl --out bad_rm1
no_dir bad_rm1
echo '{"prompt": "Q:", "completions": ["a", "b"], "ranking": [1, 5]}' >bad_rank2.jsonl
fails reward_rank_range 'bad_rank2.jsonl:1: field "ranking": rank 5 of completion 1 is outside [1, 2]' \
  "$RLHF" reward --model m1 --data bad_rank2.jsonl --out bad_rm2
no_dir bad_rm2
fails reward_missing "nope.jsonl: no such file" "$RLHF" reward --model m1 --data nope.jsonl --out bad_rm3
no_dir bad_rm3
fails score_not_rm "m1: not a reward model" "$RLHF" score --model m1 --data to_score.jsonl
echo '{"prompt": "Q:", "completion": ""}' >empty_completion.jsonl
fails score_empty 'empty_completion.jsonl:1: field "completion" is empty' "$RLHF" score --model rm --data empty_completion.jsonl

# ---- PPO of m1 against the reward model rm, then resumed.
ok ppo "$RLHF" ppo --policy m1 --reward rm --prompts prompts.jsonl --out ppo --iterations 4 --batch-size 4 \
  --mini-batch-size 2 --ppo-epochs 2 --max-new-tokens 8 --temperature 0.9 --lr 1e-4 --save-every 2 --seed 5
for f in metrics.jsonl policy/config.json policy/model.safetensors value/config.json value/model.safetensors \
  checkpoint-4/trainer_state.json checkpoint-4/policy/optimizer.safetensors checkpoint-4/value/optimizer.safetensors; do
  [ -f "ppo/$f" ] || bad "ppo: ppo/$f missing"
done
jsonl ppo/metrics.jsonl 4 'all(k in r for k in ("objective/kl", "objective/kl_coef", "objective/entropy", "objective/scores", "objective/rlhf_reward", "policy/loss", "policy/clipfrac", "policy/approxkl", "value/loss", "value/clipfrac", "value/explained_variance", "returns/mean", "returns/var", "ptx/loss", "response/length", "response/eos_rate", "time/generation", "time/update", "tokens/s")) and r["policy/first_ratio_error"] < 1e-4'
ok ppo_resume "$RLHF" ppo --policy m1 --reward rm --prompts prompts.jsonl --out ppo --iterations 6 --batch-size 4 \
  --mini-batch-size 2 --ppo-epochs 2 --max-new-tokens 8 --temperature 0.9 --lr 1e-4 --save-every 2 --seed 5 --resume
grep -q "resumed from ppo at iteration 4" ppo_resume.out || bad "ppo_resume: did not resume at iteration 4"
jsonl ppo/metrics.jsonl 6 'r["iteration"] >= 1'
ok generate_ppo "$RLHF" generate --model ppo/policy --prompt "Q:" --max-new-tokens 4
fails ppo_out_empty '--out must name a directory, got ""' "$RLHF" ppo --policy m1 --reward rm --prompts prompts.jsonl --out ""
fails ppo_not_rm "m1: not a reward model" "$RLHF" ppo --policy m1 --reward m1 --prompts prompts.jsonl --out bad_ppo1
no_dir bad_ppo1
echo '{"text": "Q:"}' >bad_prompts.jsonl
fails ppo_bad_prompts 'bad_prompts.jsonl:1: unknown field "text"' "$RLHF" ppo --policy m1 --reward rm --prompts bad_prompts.jsonl --out bad_ppo2
no_dir bad_ppo2
fails ppo_long_prompt "new tokens exceed the model's context of 64" "$RLHF" ppo --policy m1 --reward rm --prompts prompts.jsonl \
  --out bad_ppo3 --max-new-tokens 60
no_dir bad_ppo3
fails ppo_estimator 'unknown KL estimator "k2"' "$RLHF" ppo --policy m1 --reward rm --prompts prompts.jsonl --out bad_ppo4 --kl-estimator k2
no_dir bad_ppo4

# ---- Backend and precision. bf16 on the CPU rounds every matmul's operands (emulated): its greedy
# log-probs are near fp32's but not equal. --backend cuda runs on a GPU when this build has the
# CUDA backend and the machine one; otherwise it fails up front, writing nothing.
ok logprobs_bf16 "$RLHF" --precision bf16 logprobs --model m1 --data score.jsonl
ok logprobs_bf16_after "$RLHF" logprobs --model m1 --data score.jsonl --precision bf16
cmp -s logprobs_bf16.out logprobs_bf16_after.out || bad "--precision before and after the subcommand differ"
"$PY" -c '
import json
a = [json.loads(l) for l in open("logprobs.out")]
b = [json.loads(l) for l in open("logprobs_bf16.out")]
d = max(abs(x - y) for r, s in zip(a, b) for x, y in zip(r["logprobs"], s["logprobs"]))
assert 0 < d < 0.05, d
' || bad "logprobs --precision bf16: not within bf16 rounding of fp32"
ok sft_bf16 "$RLHF" sft --model m0 --data sft.jsonl --out m_bf16 --steps 4 --batch-size 8 --precision bf16 --seed 2
jsonl m_bf16/metrics.jsonl 2 'r["step"] in (1, 4) and r["train/loss"] < 6'
fails precision_fp16 "--precision: fp16 not in {fp32,tf32,bf16}" "$RLHF" --precision fp16 logprobs --model m1 --data score.jsonl
if [ "${RLHF_CLI_CUDA_BUILT:-0}" = 1 ] && command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
  ok logprobs_cuda "$RLHF" --backend cuda logprobs --model m1 --data score.jsonl
  "$PY" -c '
import json
a = [json.loads(l) for l in open("logprobs.out")]
b = [json.loads(l) for l in open("logprobs_cuda.out")]
assert max(abs(x - y) for r, s in zip(a, b) for x, y in zip(r["logprobs"], s["logprobs"])) < 1e-4
' || bad "logprobs --backend cuda: differs from the CPU"
elif [ "${RLHF_CLI_CUDA_BUILT:-0}" = 1 ]; then
  fails sft_cuda_no_gpu "--backend cuda: no CUDA device or driver on this machine" \
    "$RLHF" --backend cuda sft --model m0 --data sft.jsonl --out bad_cuda --steps 2
  no_dir bad_cuda
else
  fails sft_cuda_not_built "this rlhf was built without the CUDA backend" \
    "$RLHF" --backend cuda sft --model m0 --data sft.jsonl --out bad_cuda --steps 2
  no_dir bad_cuda
fi

if [ "${RLHF_CLI_CUDA_BUILT:-0}" = 1 ]; then
  # The CUDA runtime and cuBLAS are the module rlhf_cuda.so's, loaded for --backend cuda only:
  # rlhf itself does not link them, and without its module it says what is missing.
  cuda_libraries=$(ldd "$RLHF" | grep -E 'libcudart|libcublas' | tr '\n' ' ')
  [ -z "$cuda_libraries" ] && echo "ok   rlhf_loads_no_cuda_library" || bad "rlhf links the CUDA libraries itself: $cuda_libraries"
  mkdir -p ../alone && cp "$RLHF" ../alone/rlhf
  fails cuda_module_missing "--backend cuda: cannot load the CUDA backend" \
    ../alone/rlhf --backend cuda sft --model m0 --data sft.jsonl --out bad_cuda --steps 2
  no_dir bad_cuda
fi

# ---- A GPT-2 BPE model: the tokenizer files travel with the checkpoint.
if [ -n "$GPT2" ] && [ -f "$GPT2/vocab.json" ]; then
  echo '{"vocab_size": 50257, "n_positions": 32, "n_embd": 16, "n_layer": 1, "n_head": 2}' >bpe_config.json
  ok init_bpe "$RLHF" init --config bpe_config.json --out bpe --tokenizer "gpt2:$GPT2"
  cmp -s "$GPT2/vocab.json" bpe/vocab.json && cmp -s "$GPT2/merges.txt" bpe/merges.txt || bad "init_bpe: tokenizer files not copied"
  ok tokenize_bpe "$RLHF" tokenize --model bpe --text "Hello world<|endoftext|>" --decode
  jsonl tokenize_bpe.out 1 'r["ids"] == [15496, 995, 50256] and r["round_trip"]'
  ok generate_bpe "$RLHF" generate --model bpe --prompt "Hello" --max-new-tokens 4 --seed 1
  jsonl generate_bpe.out 1 'r["prompt"] == "Hello" and 1 <= r["tokens"] <= 4'
  fails init_bpe_vocab "has 50257 tokens" "$RLHF" init --config config.json --out bad_bpe --tokenizer "gpt2:$GPT2"
  no_dir bad_bpe
fi

# ---- Bad input: one line on stderr, exit 1, nothing written.
fails missing_data "nope.jsonl: no such file" "$RLHF" sft --model m0 --data nope.jsonl --out bad_missing
no_dir bad_missing
{ head -3 sft.jsonl; echo '{"prompt": "Q: where is", "completion": '; tail -2 sft.jsonl; } >malformed.jsonl
fails malformed_jsonl "malformed.jsonl:4: malformed JSON" "$RLHF" sft --model m0 --data malformed.jsonl --out bad_malformed
no_dir bad_malformed
{ head -5 sft.jsonl; echo '{"prompt": "Q: where is", "complete": " here"}'; } >unknown.jsonl
fails unknown_field 'unknown.jsonl:6: unknown field "complete"' "$RLHF" sft --model m0 --data unknown.jsonl --out bad_unknown
no_dir bad_unknown
{ head -2 sft.jsonl; echo '{"prompt": "Q: where is"}'; } >missing_field.jsonl
fails missing_field 'missing_field.jsonl:3: missing field "completion"' "$RLHF" sft --model m0 --data missing_field.jsonl --out bad_mf
no_dir bad_mf
fails logprobs_unknown_field 'unknown.jsonl:6: unknown field "complete"' "$RLHF" logprobs --model m1 --data unknown.jsonl
fails generate_missing_prompts "nope.jsonl: no such file" "$RLHF" generate --model m1 --prompts nope.jsonl

echo '{"vocab_size": 257, "n_positions": 64, "n_embed": 32, "n_layer": 2, "n_head": 2}' >typo.json
fails init_unknown_field "typo.json: unknown field 'n_embed'" "$RLHF" init --config typo.json --out bad_init1
no_dir bad_init1
echo '{"vocab_size": 257, "n_positions": 64, "n_layer": 2, "n_head": 2}' >nofield.json
fails init_missing_field "nofield.json: field 'n_embd' is missing" "$RLHF" init --config nofield.json --out bad_init2
no_dir bad_init2
echo '{"vocab_size": 300, "n_positions": 64, "n_embd": 32, "n_layer": 2, "n_head": 2}' >v300.json
fails init_byte_vocab "set vocab_size to 257" "$RLHF" init --config v300.json --out bad_init3
no_dir bad_init3
fails init_missing_config "absent.json: no such file" "$RLHF" init --config absent.json --out bad_init4
no_dir bad_init4

# A checkpoint whose config.json says n_embd 64 over 32-wide weights.
mkdir wrong && cp m1/model.safetensors wrong/ && sed 's/"n_embd": 32/"n_embd": 64/' m1/config.json >wrong/config.json
fails wrong_shape "wrong/model.safetensors: tensor 'wte.weight' has shape [257, 32], expected [257, 64]" \
  "$RLHF" generate --model wrong --prompt hi
fails wrong_shape_sft "has shape" "$RLHF" sft --model wrong --data sft.jsonl --out bad_wrong
no_dir bad_wrong
fails missing_model "absent: no such checkpoint directory" "$RLHF" logprobs --model absent --data score.jsonl

echo '{"tokens": [1, 2, 257]}' >bigtok.jsonl
fails logprobs_beyond_vocab "bigtok.jsonl:1: field \"tokens\": token id 257 at position 2 is outside the vocabulary" \
  "$RLHF" logprobs --model m1 --data bigtok.jsonl
fails tokenize_beyond_vocab "token id 999 at position 1 is outside the vocabulary [0, 257)" \
  "$RLHF" tokenize --model m1 --ids "[5, 999]"
{ head -1 score.jsonl; "$PY" -c 'import json; print(json.dumps({"text": "x" * 80}))'; } >long.jsonl
fails logprobs_too_long "long.jsonl:2: sequence of 80 tokens is longer than the model's context of 64" \
  "$RLHF" logprobs --model m1 --data long.jsonl
fails generate_too_long "--max-new-tokens 100 does not fit: the longest prompt has 2 tokens, the context 64" "$RLHF" generate --model m1 --prompt hi --max-new-tokens 100

# Values checked before any work, each named by its option.
fails generate_tiny_temperature "--temperature 1e-08 is below the floor of 0.01" \
  "$RLHF" generate --model m1 --prompt hi --temperature 1e-8
fails logprobs_tiny_temperature "--temperature 1e-12 is below the floor of 0.01" \
  "$RLHF" logprobs --model m1 --data score.jsonl --temperature 1e-12
fails ppo_ptx_without_coef "--ptx-data needs --ptx-coef > 0" \
  "$RLHF" ppo --policy m1 --reward rm --prompts prompts.jsonl --out bad_ppo3 --ptx-data sft.jsonl
no_dir bad_ppo3
fails init_force_over_run "m1: holds a training run (" "$RLHF" init --config config.json --out m1 --force
# Non-finite weights are refused at load, naming the tensor.
cp -r m1 m_nan
"$PY" - <<'PYEOF'
import json, struct
path = "m_nan/model.safetensors"
data = bytearray(open(path, "rb").read())
n = struct.unpack("<Q", data[:8])[0]
header = json.loads(data[8:8 + n])
name = "h.1.mlp.c_fc.weight" if "h.1.mlp.c_fc.weight" in header else "transformer.h.1.mlp.c_fc.weight"
start = 8 + n + header[name]["data_offsets"][0]
data[start + 4 * 5:start + 4 * 6] = struct.pack("<f", float("nan"))
open(path, "wb").write(bytes(data))
PYEOF
fails nan_weights "model.safetensors: tensor 'h.1.mlp.c_fc.weight' has a non-finite value (nan) at element 5" \
  "$RLHF" generate --model m_nan --prompt hi

# ---- The rest of the bad-input catalogue: options, outputs, data, configs, checkpoints, resume,
# allocations, the pipeline. Each case names what the user typed or the file, line and field.
# Option values, checked as the command line is read or before any file is read.
SFT=("$RLHF" sft --model m0 --data sft.jsonl --out bad_sft)
PPO=("$RLHF" ppo --policy m1 --reward rm --prompts prompts.jsonl --out bad_ppo)
fails sft_lr_inf "--lr: must be finite and > 0, got inf" "${SFT[@]}" --lr inf
fails sft_lr_negative "--lr: must be finite and > 0, got -1" "${SFT[@]}" --lr -1
fails sft_clip_negative "--max-grad-norm: must be finite and >= 0, got -1" "${SFT[@]}" --max-grad-norm -1
fails sft_steps_huge "--steps: must be an integer in [1, 1000000000], got 1e20" "${SFT[@]}" --steps 1e20
fails sft_steps_text "--steps: must be an integer in [1, 1000000000], got abc" "${SFT[@]}" --steps abc
fails sft_steps_zero "--steps: must be an integer in [1, 1000000000], got 0" "${SFT[@]}" --steps 0
fails sft_warmup_negative "--warmup: must be finite and >= 0, got -5" "${SFT[@]}" --warmup -5
fails sft_val_fraction "--val-fraction: must be in [0, 1), got 2" "${SFT[@]}" --val-fraction 2
fails sft_batch_zero "--batch-size must be finite and > 0, got 0" "${SFT[@]}" --batch-size 0
fails sft_micro_batch "--micro-batch-size must lie in [0, --batch-size = 8], got 99" "${SFT[@]}" --batch-size 8 --micro-batch-size 99
fails sft_log_every_zero "--log-every must be finite and > 0, got 0" "${SFT[@]}" --log-every 0
fails sft_eval_every_negative "--eval-every must be >= 0, got -1" "${SFT[@]}" --eval-every -1
fails keep_zero "--keep-checkpoints: Value 0 not in range" "${SFT[@]}" --keep-checkpoints 0
fails unknown_option "The following argument was not expected: --bogus" "${SFT[@]}" --bogus
fails missing_option "--config is required" "$RLHF" init --out bad_init
fails no_subcommand "A subcommand is required" "$RLHF"
fails backend_tpu "--backend: tpu not in {cpu,cuda}" "$RLHF" --backend tpu logprobs --model m1 --data score.jsonl
fails ppo_gamma "--gamma: must be in [0, 1], got 1.5" "${PPO[@]}" --gamma 1.5
fails ppo_kl_coef_negative "--kl-coef: must be finite and >= 0, got -0.1" "${PPO[@]}" --kl-coef -0.1
fails ppo_cliprange_zero "--cliprange: must be finite and > 0, got 0" "${PPO[@]}" --cliprange 0
fails ppo_epochs_zero "--ppo-epochs must be finite and > 0, got 0" "${PPO[@]}" --ppo-epochs 0
fails ppo_mini_batch "--mini-batch-size must divide --batch-size = 4 (every episode in one minibatch per epoch), got 3" \
  "${PPO[@]}" --batch-size 4 --mini-batch-size 3
fails ppo_greedy "--temperature must be > 0 for PPO" "${PPO[@]}" --temperature 0
fails ppo_ptx_coef_without_data "--ptx-coef needs --ptx-data FILE.jsonl" "${PPO[@]}" --ptx-coef 0.5
fails ppo_iterations_huge "--iterations: must be an integer in [1, 1000000000], got 1e12" "${PPO[@]}" --iterations 1e12
fails generate_max_new_zero "--max-new-tokens: must be an integer in [1, 1000000000], got 0" \
  "$RLHF" generate --model m1 --prompt hi --max-new-tokens 0
fails generate_temperature_negative "--temperature must be finite and >= 0, got -1" "$RLHF" generate --model m1 --prompt hi --temperature -1
fails generate_top_p_zero "--top-p must lie in (0, 1], got 0" "$RLHF" generate --model m1 --prompt hi --top-p 0
fails generate_top_k_negative "--top-k must be >= 0, got -3" "$RLHF" generate --model m1 --prompt hi --top-k -3
fails generate_batch_zero "--batch-size must be positive, got 0" "$RLHF" generate --model m1 --prompt hi --batch-size 0
fails generate_empty_prompt "prompt 1 is empty" "$RLHF" generate --model m1 --prompt ""
fails reward_max_length "--max-length 1000 must lie in [2, 64] (the model's context)" \
  "$RLHF" reward --model m1 --data rank.jsonl --out bad_rm --max-length 1000

# Outputs that would overwrite inputs, and models that are not checkpoints.
fails sft_out_is_model "--out m1 is the --model directory" "$RLHF" sft --model m1 --data sft.jsonl --out m1 --steps 1
fails reward_out_is_model "--out rm is the --model directory" "$RLHF" reward --model rm --data rank.jsonl --out rm --steps 1
fails ppo_out_is_policy "--out m1 is the --policy directory" "$RLHF" ppo --policy m1 --reward rm --prompts prompts.jsonl --out m1
fails generate_run_dir "ppo: not a checkpoint directory (no config.json and model.safetensors); did you mean ppo/policy or ppo/value?" \
  "$RLHF" generate --model ppo --prompt hi
mkdir -p empty_dir
fails sft_model_empty_dir "empty_dir: not a checkpoint directory" "$RLHF" sft --model empty_dir --data sft.jsonl --out bad_sft

# Data files.
{ head -1 sft.jsonl; echo '{"prompt": "Q:", "completion": " a", "prompt": "Q: b"}'; } >dup.jsonl
fails jsonl_duplicate_key 'dup.jsonl:2: key "prompt" appears twice' "$RLHF" sft --model m0 --data dup.jsonl --out bad_sft
echo '{"prompt": 7, "completion": " a"}' >number.jsonl
fails jsonl_wrong_type 'number.jsonl:1: field "prompt" must be a string' "$RLHF" sft --model m0 --data number.jsonl --out bad_sft
: >empty.jsonl
fails sft_empty_file "empty.jsonl: no examples" "$RLHF" sft --model m0 --data empty.jsonl --out bad_sft
# A 10 MB line: read whole, and the error names its line and column.
"$PY" -c 'import sys; sys.stdout.write("{\"prompt\": \"Q:\", \"completion\": \"" + "x" * 10_000_000 + "\"\n")' >huge_line.jsonl
fails jsonl_10mb_line "huge_line.jsonl:1: malformed JSON: parse error at column 10000034" \
  "$RLHF" sft --model m0 --data huge_line.jsonl --out bad_sft
"$PY" -c 'import json; print(json.dumps({"text": "x" * 10_000_000}))' >huge_text.jsonl
fails logprobs_10mb_text "huge_text.jsonl:1: sequence of 10000000 tokens is longer than the model's context of 64" \
  "$RLHF" logprobs --model m1 --data huge_text.jsonl
echo '{"prompt": "Q:", "chosen": " a", "rejected": " b", "margin": 1e308}' >margin_huge.jsonl
fails reward_margin_huge 'margin_huge.jsonl:1: field "margin" is 1e+308; it must be within [-10000, 10000]' \
  "$RLHF" reward --model m1 --data margin_huge.jsonl --out bad_rm
echo '{"prompt": "Q:", "chosen": " a", "rejected": " b", "margin": "big"}' >margin_text.jsonl
fails reward_margin_text 'margin_text.jsonl:1: field "margin" must be a number' "$RLHF" reward --model m1 --data margin_text.jsonl --out bad_rm
echo '{"prompt": "Q:", "completions": ["a","b","c","d","e","f","g","h","i","j"], "ranking": [1,2,3,4,5,6,7,8,9,10]}' >k10.jsonl
fails reward_k10 'k10.jsonl:1: field "completions" has 10 completions; K must lie in [2, 9]' "$RLHF" reward --model m1 --data k10.jsonl --out bad_rm
{ head -1 rank.jsonl; head -1 pairs.jsonl; } >mixed.jsonl
fails reward_mixed_formats 'mixed.jsonl:2: a {"prompt", "chosen", "rejected"} record in a file of {"prompt", "completions", "ranking"} records' \
  "$RLHF" reward --model m1 --data mixed.jsonl --out bad_rm
echo '{"prompt": "Q:", "chosen": "", "rejected": " b"}' >chosen_empty.jsonl
fails reward_chosen_empty 'chosen_empty.jsonl:1: field "chosen" is empty' "$RLHF" reward --model m1 --data chosen_empty.jsonl --out bad_rm
# Normalisation statistics that must have a std of 0, refused before training.
head -1 to_score.jsonl >one_text.jsonl
fails reward_normalize_one_text "--normalize-data one_text.jsonl: the rewards are normalised on one text, so their std would be 0" \
  "$RLHF" reward --model m1 --data pairs.jsonl --out bad_rm --steps 2 --normalize-data one_text.jsonl
for i in 1 2 3 4 5 6 7 8; do echo '{"prompt": "Q:", "chosen": " same", "rejected": " same"}'; done >same.jsonl
fails reward_all_same "same.jsonl (its held-out completions; or give --normalize-data): the rewards are normalised on texts that are all the same" \
  "$RLHF" reward --model m1 --data same.jsonl --out bad_rm --steps 2 --val-fraction 0.25
echo '{"prompt": ""}' >empty_prompt.jsonl
fails ppo_empty_prompt 'empty_prompt.jsonl:1: field "prompt" is empty' "$RLHF" ppo --policy m1 --reward rm --prompts empty_prompt.jsonl --out bad_ppo
echo '{"tokens": []}' >no_tokens.jsonl
fails logprobs_no_tokens 'no_tokens.jsonl:1: needs at least 2 tokens' "$RLHF" logprobs --model m1 --data no_tokens.jsonl
fails tokenize_malformed_ids "--ids: not a JSON array of token ids: parse error at column 4" "$RLHF" tokenize --model m1 --ids "[1,"

# Model configs.
echo '{"vocab_size": 257, "n_positions": 64, "n_embd": 32, "n_layer": 2, "n_head": 2, "n_embd": 64}' >dup_config.json
fails init_duplicate_key 'dup_config.json: key "n_embd" appears twice' "$RLHF" init --config dup_config.json --out bad_init
echo '{"vocab_size": 257, "n_positions": 1000000000000, "n_embd": 128, "n_layer": 2, "n_head": 2}' >huge_config.json
fails init_weights_too_big "GPTConfig: the weights need 466 TiB, more than this machine's" \
  "$RLHF" init --config huge_config.json --out bad_init
echo '{"vocab_size": 257, "n_positions": 64, "n_embd": 32, "n_layer": 2, "n_head": 3}' >heads.json
fails init_heads "n_head = 3 does not divide n_embd = 32" "$RLHF" init --config heads.json --out bad_init
echo '{"vocab_size": 257,' >broken.json
fails init_not_json "broken.json: not valid JSON: parse error at line 2, column 1" "$RLHF" init --config broken.json --out bad_init
fails init_exists "m0: already holds a checkpoint (config.json); use --force" "$RLHF" init --config config.json --out m0

# Checkpoints on disk that are damaged.
cp -r m1 m_trunc && truncate -s 2000 m_trunc/model.safetensors
fails truncated_weights "m_trunc/model.safetensors" "$RLHF" generate --model m_trunc --prompt hi
cp -r m1 m_header && printf '\x10\x00\x00\x00\x00\x00\x00\x00not json at all!' >m_header/model.safetensors
fails garbage_header "m_header/model.safetensors: header is not a JSON object" "$RLHF" generate --model m_header --prompt hi
cp -r m1 m_badconfig && echo '{"n_embd": ' >m_badconfig/config.json
fails garbage_config "m_badconfig/config.json: not valid JSON" "$RLHF" generate --model m_badconfig --prompt hi

# Resume refuses a run with other inputs, naming the first difference.
fails sft_resume_fresh "bad_sft: no checkpoint-STEP directory (nothing to --resume)" "${SFT[@]}" --resume
PPO_RUN=(--iterations 6 --batch-size 4 --mini-batch-size 2 --ppo-epochs 2 --max-new-tokens 8 --temperature 0.9 --lr 1e-4
  --save-every 2 --seed 5 --resume)
fails ppo_resume_other_reward 'the run being resumed had --reward = "fnv1a64:' \
  "$RLHF" ppo --policy m1 --reward rm_pairs --prompts prompts.jsonl --out ppo "${PPO_RUN[@]}"
fails ppo_resume_other_policy 'the run being resumed had --policy = "fnv1a64:' \
  "$RLHF" ppo --policy m_bf16 --reward rm --prompts prompts.jsonl --out ppo "${PPO_RUN[@]}"
sed 's/cat/dog/' prompts.jsonl >prompts_other.jsonl
fails ppo_resume_other_prompts 'the run being resumed had --prompts = "fnv1a64:' \
  "$RLHF" ppo --policy m1 --reward rm --prompts prompts_other.jsonl --out ppo "${PPO_RUN[@]}"
sed 's/!/?/' rank.jsonl >rank_other.jsonl
fails reward_resume_other_data 'the run being resumed had --data = "fnv1a64:' \
  "$RLHF" reward --model m1 --data rank_other.jsonl --out rm --steps 50 --batch-size 8 --lr 2e-3 --warmup 4 \
  --eval-every 20 --log-every 10 --val-fraction 0.2 --seed 4 --resume

# Sizes that cannot fit are named before anything is allocated for them.
fails sft_batch_too_big "GPT: the activations of 10000000 sequences of" "${SFT[@]}" --batch-size 10000000

# The pipeline's config file.
PL_DATA='"data": {"sft": "sft.jsonl", "collect_prompts": "prompts.jsonl", "ppo_prompts": "prompts.jsonl", "eval_prompts": "prompts.jsonl"}, "labeler": {"afinn": "config.json"}'
echo "{$PL_DATA, \"ppo\": {\"kl_coef\": 0.1, \"kl_coef\": 0.2}}" >pl_dup.json
fails pipeline_duplicate_key 'pl_dup.json: key "ppo.kl_coef" appears twice' "$RLHF" pipeline --config pl_dup.json --out bad_pl
echo "{$PL_DATA, \"collect\": {\"temperature\": 0}}" >pl_greedy.json
fails pipeline_collect_greedy "pl_greedy.json: collect.temperature must be > 0 to collect comparisons" \
  "$RLHF" pipeline --config pl_greedy.json --out bad_pl
echo "{$PL_DATA, \"sft\": {\"max_length\": 500}}" >pl_length.json
fails pipeline_sft_max_length "pl_length.json: sft.max_length 500 exceeds the model's context, model.n_positions 96" \
  "$RLHF" pipeline --config pl_length.json --out bad_pl
echo "{$PL_DATA, \"sft\": {\"steps\": 0}}" >pl_steps.json
fails pipeline_steps_zero "pl_steps.json: sft.steps must lie in [1, 1000000000], got 0" "$RLHF" pipeline --config pl_steps.json --out bad_pl
echo "{$PL_DATA, \"ppo\": {\"learning_rate\": -1}}" >pl_lr.json
fails pipeline_lr_negative "pl_lr.json: ppo.learning_rate must be finite and > 0, got -1" "$RLHF" pipeline --config pl_lr.json --out bad_pl
fails pipeline_missing_config "absent.json: no such config file" "$RLHF" pipeline --config absent.json --out bad_pl

# A read-only output directory, and a full disk (a small tmpfs), in a private mount namespace.
if unshare -rm true 2>/dev/null; then
  mkdir -p ro
  fails read_only_out "ro/run: cannot create the directory: Read-only file system" \
    unshare -rm sh -c 'mount --bind ro ro && mount -o remount,ro,bind ro && exec "$@"' sh "$RLHF" sft --model m0 --data sft.jsonl --out ro/run --steps 1
  # Room for one checkpoint (about 0.4 MB) but not two: step 1 commits, step 2 fails with ENOSPC.
  mkdir -p full
  unshare -rm sh -c 'mount -t tmpfs -o size=700k tmpfs full && "$@"; rc=$?; tar -C full -cf - . >full.tar; exit $rc' sh \
    "$RLHF" sft --model m0 --data sft.jsonl --out full/run --steps 3 --eval-every 1 --batch-size 4 --seed 2 \
    >../logs/full_disk.out 2>../logs/full_disk.err
  rc=$?
  mkdir -p full_after && tar -C full_after -xf full.tar
  ok full_disk_reference "$RLHF" sft --model m0 --data sft.jsonl --out full_ref --steps 3 --eval-every 1 --batch-size 4 --seed 2
  if [ $rc -ne 1 ]; then bad "full_disk: exit $rc, expected 1 ($(cat ../logs/full_disk.err))"
  elif ! grep -q "No space left on device" ../logs/full_disk.err; then bad "full_disk: $(cat ../logs/full_disk.err)"
  elif ! ls full_after/run | grep -q '^checkpoint-'; then bad "full_disk: no committed checkpoint survived"
  else
    last=$(ls full_after/run | grep '^checkpoint-' | sort -t- -k2 -n | tail -1)
    cmp -s "full_after/run/$last/model.safetensors" "full_ref/$last/model.safetensors" 2>/dev/null ||
      [ ! -d "full_ref/$last" ] || bad "full_disk: $last differs from the same step of an uncrowded run"
    ls -a full_after/run | grep -q 'partial\|tmp' && bad "full_disk: temporaries left: $(ls -a full_after/run)"
    "$PY" -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' full_after/run/metrics.jsonl ||
      bad "full_disk: metrics.jsonl holds a partial line"
    echo "ok   full_disk: $(cat ../logs/full_disk.err); $last intact"
  fi
else
  echo "SKIP read_only_out, full_disk: no private mount namespaces here (unshare -rm)"
fi

echo "bad-input catalogue: $catalogue cases"
[ "$catalogue" -ge 60 ] || bad "the catalogue has $catalogue cases; it must keep at least 60"

if [ $failures -ne 0 ]; then echo "$failures check(s) failed"; exit 1; fi
echo "all CLI checks passed"
