#!/usr/bin/env bash
# sft_fortunes_test.sh RLHF PYTHON WORKDIR DATA_DIR: a tiny byte-level GPT trained with
# `rlhf sft` on the project's English dataset (DATA_DIR/fortunes/train_text.jsonl) learns
# English:
#   1. its final validation loss (nats per target byte, EOS included) is below 0.8 x the
#      cross-entropy of the best byte-unigram model of the same targets;
#   2. of the alphabetic words of 3+ letters that `rlhf generate` writes after test prompts, at
#      least 40 % are in /usr/share/dict/american-english (Debian's wamerican; the check is
#      skipped when the list is absent).
# Needs only python3 at run time. 15-50 s on 2 cores (OMP_NUM_THREADS=2).
# SFT_FORTUNES_STEPS overrides the number of training steps (to see the test fail with few),
# SFT_FORTUNES_DICT the word list.
set -u
# Spinning OpenMP threads on a busy machine make training several times slower (5 minutes
# instead of 50 s, measured on 2 cores beside a compiler): sleep while waiting, unless told
# otherwise.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
RLHF=$1
PY=$2
W=$3
DATA=$4
DICT=${SFT_FORTUNES_DICT:-/usr/share/dict/american-english}
STEPS=${SFT_FORTUNES_STEPS:-1200}
MAX_LENGTH=64
TRAIN="$DATA/fortunes/train_text.jsonl"
PROMPTS="$DATA/fortunes/prompts.jsonl"
abs() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
case "$RLHF" in */*) RLHF=$(abs "$RLHF") ;; esac
TRAIN=$(abs "$TRAIN")
PROMPTS=$(abs "$PROMPTS")
[ -f "$TRAIN" ] && [ -f "$PROMPTS" ] || { echo "FAIL: $TRAIN or $PROMPTS missing"; exit 1; }
rm -rf "$W" && mkdir -p "$W" && cd "$W" || exit 2
start=$(date +%s.%N)

failures=0
bad() { echo "FAIL: $*"; failures=$((failures + 1)); }
# run NAME CMD...: must exit 0; stdout in NAME.out, stderr in NAME.err.
run() {
  local name=$1; shift
  local t0; t0=$(date +%s.%N)
  "$@" >"$name.out" 2>"$name.err"
  local rc=$?
  local dt; dt=$("$PY" -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$t0" "$(date +%s.%N)")
  if [ $rc -ne 0 ]; then bad "$name: exit $rc: $(tail -3 "$name.err")"; return 1; fi
  echo "ok   $name (${dt} s)"
}

# A 2-layer, 64-wide byte-level GPT (0.12 M parameters) on the first 64 bytes of each text
# (~2 epochs). A learning rate of 5e-3 already trains worse.
echo '{"vocab_size": 257, "n_positions": 64, "n_embd": 64, "n_layer": 2, "n_head": 2}' >config.json
run init "$RLHF" init --config config.json --out m0 --seed 1 --tokenizer bytes || exit 1
run sft "$RLHF" sft --model m0 --data "$TRAIN" --out m1 --steps "$STEPS" --batch-size 16 --lr 3e-3 \
  --warmup 30 --max-length $MAX_LENGTH --val-fraction 0.05 --eval-every 0 --eval-max-batches 8 \
  --log-every 200 --seed 2 || exit 1
grep -m1 'examples' sft.out
tail -2 sft.out

# 1. Final validation loss against the byte-unigram baseline: the entropy of the empirical
# distribution of the training targets, made as `rlhf sft` makes them (the bytes after the
# first, then EOS, the whole cut to MAX_LENGTH tokens).
"$PY" - "$TRAIN" m1/metrics.jsonl $MAX_LENGTH >loss.txt <<'PYEOF'
import collections, json, math, sys
train, metrics, max_length = sys.argv[1], sys.argv[2], int(sys.argv[3])
EOS = 256
counts = collections.Counter()
with open(train, encoding="utf-8") as f:
    for line in f:
        seq = list(json.loads(line)["text"].encode("utf-8")) + [EOS]
        counts.update(seq[1:max_length])
n = sum(counts.values())
baseline = -sum(c / n * math.log(c / n) for c in counts.values())
records = [json.loads(l) for l in open(metrics)]
evals = [r for r in records if "eval/loss" in r]
assert evals, "no eval/loss in metrics.jsonl"
final = evals[-1]
print(f"baseline {baseline:.4f} final {final['eval/loss']:.4f} step {final['step']} accuracy {final['eval/token_accuracy']:.4f}")
PYEOF
read -r _ baseline _ val_loss _ step _ accuracy <loss.txt || true
if [ -z "${val_loss:-}" ]; then
  bad "could not read the losses"
else
  echo "byte-unigram baseline ${baseline} nats/byte; final eval/loss ${val_loss} at step ${step} (ratio $("$PY" -c "print(f'{$val_loss / $baseline:.3f}')"), token accuracy ${accuracy})"
  "$PY" -c "import sys; sys.exit(0 if $val_loss < 0.8 * $baseline else 1)" ||
    bad "eval/loss ${val_loss} is not below 0.8 x the unigram baseline ${baseline}"
fi

# 2. Samples after test prompts: the share of their words that are English.
# The first 16 test prompts of at most 20 bytes, so that 44 new bytes fit the context of 64.
"$PY" - "$PROMPTS" >prompts.jsonl <<'PYEOF'
import json, sys
short = [l for l in open(sys.argv[1], encoding="utf-8") if len(json.loads(l)["prompt"].encode()) <= 20]
sys.stdout.write("".join(short[:16]))
PYEOF
run generate "$RLHF" generate --model m1 --prompts prompts.jsonl --max-new-tokens 44 --temperature 0.7 \
  --top-k 40 --seed 3
if [ -s generate.out ]; then
  head -4 generate.out | "$PY" -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    print("  sample:", repr(r["prompt"] + r["completion"]))'
  if [ -f "$DICT" ]; then
    "$PY" - generate.out "$DICT" <<'PYEOF' || bad "too few English words in the samples"
import json, re, sys
samples, dict_path = sys.argv[1], sys.argv[2]
with open(dict_path, encoding="utf-8", errors="replace") as f:
    words = {w.strip().lower() for w in f}
generated = []
for line in open(samples, encoding="utf-8"):
    generated += [w.lower() for w in re.findall(r"[A-Za-z]+", json.loads(line)["completion"]) if len(w) >= 3]
known = sum(w in words for w in generated)
share = known / len(generated) if generated else 0.0
print(f"English words: {known} of {len(generated)} generated words of 3+ letters ({100 * share:.1f} %, need >= 40 %)")
sys.exit(0 if len(generated) >= 30 and share >= 0.4 else 1)
PYEOF
  else
    echo "skip the word check: $DICT absent (Debian package wamerican)"
  fi
fi

echo "seconds: $("$PY" -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$(date +%s.%N)")"
if [ $failures -ne 0 ]; then echo "$failures check(s) failed"; exit 1; fi
echo "all SFT-on-fortunes checks passed"
