#!/usr/bin/env bash
# pipeline_test.sh RLHF PYTHON WORKDIR CONFIG: `rlhf pipeline` end to end on a very small config
# (tests/cli/pipeline_tiny.json):
#   1. config errors (unknown key, wrong type, missing file) fail with exit 1, a message that
#      names the key, and no run directory;
#   1b. --print-config prints the whole config, even with --backend cuda on a machine without one;
#   2. a whole run writes every stage's outputs and a report, and PPO's gold score beats SFT's;
#   3. a rerun skips every finished stage;
#   4. a run stopped by SIGINT in the middle of PPO exits 130 after a checkpoint, and the rerun
#      resumes PPO from that iteration (no iteration logged twice) and ends with the same policy,
#      bit for bit, as the run that was never stopped.
# Needs only python3 at run time. About a minute on 2 cores.
set -u
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
RLHF=$1
PY=$2
W=$3
CONFIG=$4
abs() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
case "$RLHF" in */*) RLHF=$(abs "$RLHF") ;; esac
CONFIG=$(abs "$CONFIG")
rm -rf "$W" && mkdir -p "$W" && cd "$W" || exit 2

failures=0
bad() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok   $*"; }

# 1. Config errors. Each config is the tiny one with one change, written into the work
# directory with its relative paths made absolute (they are relative to the config's directory).
variant() {  # variant NAME PYTHON-EXPRESSION-ON-c
  "$PY" - "$CONFIG" "$2" >"$W/$1.json" <<'PYEOF'
import json, os, sys
c = json.load(open(sys.argv[1]))
base = os.path.dirname(sys.argv[1])
for section in ("data", "labeler"):
    for k, v in c.get(section, {}).items():
        if isinstance(v, str) and v and not os.path.isabs(v):
            c[section][k] = os.path.normpath(os.path.join(base, v))
exec(sys.argv[2])
json.dump(c, sys.stdout)
PYEOF
}
expect_error() {  # expect_error NAME EXPRESSION MESSAGE
  variant "$1" "$2"
  "$RLHF" pipeline --config "$W/$1.json" --out "$W/run_$1" >"$1.out" 2>"$1.err"
  local rc=$?
  if [ $rc -ne 1 ]; then bad "$1: exit $rc, expected 1"; return; fi
  if ! grep -qF -- "$3" "$1.err"; then bad "$1: stderr lacks '$3': $(cat "$1.err")"; return; fi
  if [ -e "$W/run_$1" ]; then bad "$1: left a run directory behind"; return; fi
  ok "$1: $(cat "$1.err")"
}
expect_error unknown_key 'c["ppo"]["kl_cof"] = 0.1' 'unknown key "ppo.kl_cof"'
expect_error wrong_type 'c["sft"]["steps"] = "many"' 'key "sft.steps" must be an integer'
expect_error missing_file 'c["data"]["sft"] = "no/such/file.jsonl"' 'data.sft: '
expect_error bad_value 'c["collect"]["max_k"] = 12' 'max_k'
expect_error too_long 'c["model"]["n_positions"] = 40; c["sft"]["max_length"] = 32' "exceed the model's context of 40"
expect_error sft_too_long 'c["model"]["n_positions"] = 40' "sft.max_length 48 exceeds the model's context, model.n_positions 40"
"$RLHF" pipeline --config "$W/no_such_config.json" --out "$W/run_none" >none.out 2>none.err
[ $? -eq 1 ] && grep -q "no such config file" none.err && ok "missing config: $(cat none.err)" || bad "missing config file: $(cat none.err)"

# --print-config runs no model: on any backend, with every default filled in and nothing written.
"$RLHF" --backend cuda pipeline --config "$CONFIG" --print-config >printed.json 2>printed.err
rc=$?
if [ $rc -eq 0 ] && "$PY" -c '
import json, sys
c = json.load(open("printed.json"))
assert all(k in c for k in ("model", "sft", "collect", "reward", "ppo", "eval")), list(c)
assert c["ppo"]["kl_coef"] == json.load(open(sys.argv[1]))["ppo"]["kl_coef"]
' "$CONFIG"; then ok "print-config"; else bad "print-config: exit $rc: $(cat printed.err)"; fi

# 2. A whole run.
t0=$(date +%s)
"$RLHF" pipeline --config "$CONFIG" --out run >run.out 2>run.err
rc=$?
echo "whole run: exit $rc in $(($(date +%s) - t0)) s"
[ $rc -eq 0 ] || { bad "pipeline: exit $rc: $(tail -5 run.err)"; echo "$failures failure(s)"; exit 1; }
for f in config.json report.md sft/config.json sft/model.safetensors sft/metrics.jsonl sft/log.txt sft/stage.json \
  collect/comparisons.jsonl collect/stage.json reward/config.json reward/model.safetensors reward/metrics.jsonl \
  reward/stage.json ppo/policy/model.safetensors ppo/value/model.safetensors ppo/metrics.jsonl ppo/stage.json \
  eval/results.json eval/samples.jsonl eval/stage.json plots/ppo.tsv; do
  [ -s "run/$f" ] || bad "run/$f missing or empty"
done
if command -v gnuplot >/dev/null 2>&1; then
  for f in plots/ppo_curves.png plots/overoptimization.png; do [ -s "run/$f" ] || bad "run/$f missing"; done
fi
grep -q "Win rate of PPO over SFT" run.out || bad "the report table was not printed"
"$PY" - run "$CONFIG" <<'PYEOF' || bad "run outputs"
import json, sys
d = sys.argv[1]
config = json.load(open(sys.argv[2]))
r = json.load(open(f"{d}/eval/results.json"))
print(f"  gold SFT {r['sft']['gold_mean']:.3f}  PPO {r['ppo']['gold_mean']:.3f}  win rate {r['win_rate']:.3f}  "
      f"KL(PPO||SFT) {r['ppo']['kl_mean']:.2f}  KL(SFT||SFT) {r['sft']['kl_mean']:.2g}")
assert r["ppo"]["gold_mean"] > r["sft"]["gold_mean"], "PPO's gold score does not exceed SFT's"
assert abs(r["sft"]["kl_mean"]) < 1e-3, "the SFT policy's KL to itself is not 0"
rows = [json.loads(l) for l in open(f"{d}/collect/comparisons.jsonl")]
assert rows and all(set(x) == {"prompt", "completions", "ranking"} for x in rows), "comparisons are not K-wise records"
# K in [min_k, max_k]; fewer when a sample was empty (EOS at once) and left out.
k_max = config["collect"]["max_k"]
assert all(2 <= len(x["completions"]) <= k_max and sorted(x["ranking"]) == list(range(1, len(x["ranking"]) + 1)) for x in rows)
its = [json.loads(l)["iteration"] for l in open(f"{d}/ppo/metrics.jsonl")]
assert its == list(range(1, config["ppo"]["iterations"] + 1)), its
assert "objective/gold" in json.loads(open(f"{d}/ppo/metrics.jsonl").readline())
PYEOF

# 3. A rerun skips every stage.
"$RLHF" pipeline --config "$CONFIG" --out run >rerun.out 2>rerun.err || bad "rerun: $(tail -3 rerun.err)"
n=$(grep -c "done before, skipped" rerun.out)
[ "$n" -eq 5 ] && ok "rerun skipped all 5 stages" || bad "rerun skipped $n stages, not 5: $(cat rerun.out)"

# A different config in the same directory is refused, naming the key.
variant other 'c["ppo"]["kl_coef"] = 0.5'
"$RLHF" pipeline --config other.json --out run >other.out 2>other.err
rc=$?
[ $rc -eq 1 ] && grep -q 'ppo.kl_coef' other.err && ok "other config refused: $(cat other.err)" || bad "other config: exit $rc: $(cat other.err)"

# 4. Stopped in the middle of PPO, then resumed: a copy of the run without its PPO and eval
# stages reruns those two; SIGINT arrives once PPO has saved its first checkpoint.
cp -r run stop
rm -rf stop/ppo stop/eval stop/report.md stop/plots
"$RLHF" pipeline --config "$CONFIG" --out stop >stop.out 2>stop.err &
pid=$!
for _ in $(seq 1 600); do
  compgen -G "stop/ppo/checkpoint-*" >/dev/null && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.05
done
kill -INT $pid 2>/dev/null
wait $pid
rc=$?
if [ $rc -ne 130 ]; then
  bad "stopped run: exit $rc, expected 130: $(tail -3 stop.err)"
else
  ok "stopped run: exit 130: $(cat stop.err)"
  [ -f stop/ppo/stage.json ] && bad "the stopped PPO stage is marked done"
  "$RLHF" pipeline --config "$CONFIG" --out stop >resume.out 2>resume.err || bad "resume: $(tail -3 resume.err)"
  grep -q "resumed PPO at iteration" resume.out && ok "$(grep -m1 'resumed PPO' resume.out)" || bad "PPO did not resume"
  "$PY" - "$CONFIG" <<'PYEOF' || bad "resumed metrics"
import json, sys
n = json.load(open(sys.argv[1]))["ppo"]["iterations"]
its = [json.loads(l)["iteration"] for l in open("stop/ppo/metrics.jsonl")]
assert its == list(range(1, n + 1)), its
PYEOF
  [ -f stop/eval/stage.json ] || bad "the resumed run did not finish"
  # Resumed PPO continues bit for bit: the same final policy as the run never stopped.
  cmp -s run/ppo/policy/model.safetensors stop/ppo/policy/model.safetensors &&
    ok "the resumed policy equals the uninterrupted one bit for bit" || bad "the resumed policy differs from the uninterrupted one"
fi

if [ $failures -ne 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "all pipeline checks passed"
