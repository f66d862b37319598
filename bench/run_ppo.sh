#!/usr/bin/env bash
# PPO iteration benchmark: bench_ppo (ours) and bench/trl_ppo_peer.py (TRL 0.8.6's PPOTrainer on
# PyTorch) in one invocation, then a table of seconds per iteration of each part (generation,
# scoring, update, total), the ratio TRL / ours, and episodes/s of both.
#
#   bench/run_ppo.sh [BUILD_DIR]        (default build/release; needs RLHF_BUILD_BENCH=ON)
#   Environment: THREADS=2, MIN_TIME=2 (ours), PEER_MIN_TIME=10 (TRL),
#                PYTHON=/opt/venv-trl/bin/python (Debian's python3 + torch 1.13 with trl 0.8.6)
#
# The parts are not split at the same place: ours counts the reference's log-probs and the value
# model's values of the rollout in generation, TRL computes them (and the policy's log-probs) at
# the start of step(), i.e. in update. The two "regrouped" rows move TRL's forward passes
# (its own timer, time/ppo/forward_pass) from update to generation for a like-for-like split.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${1:-$here/../build/release}"
threads="${THREADS:-2}"
min_time="${MIN_TIME:-2}"
peer_min_time="${PEER_MIN_TIME:-10}"
python="${PYTHON:-/opt/venv-trl/bin/python}"
out="$build/bench-results"
mkdir -p "$out"
export OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads"
source "$here/runtime_env.sh"
runtime_env "$build/bench/bench_ppo"
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'), threads: $threads, load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$build/bench/bench_ppo" --benchmark_min_time="$min_time" --benchmark_format=console \
  --benchmark_out_format=json --benchmark_out="$out/bench_ppo.json" >&2
"$python" "$here/trl_ppo_peer.py" --threads "$threads" --min-time "$peer_min_time" \
  --out "$out/trl_ppo_peer.json" >&2
python3 - "$out/bench_ppo.json" "$out/trl_ppo_peer.json" <<'PY'
import json, sys
unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
ours = next(b for b in json.load(open(sys.argv[1]))["benchmarks"]
            if b["name"].split("/")[0] == "BM_ppo_iteration" and b.get("run_type", "iteration") == "iteration")
peer_json = json.load(open(sys.argv[2]))
peer = next(b for b in peer_json["benchmarks"] if b["name"] == "BM_ppo_iteration")
o = {"generation": ours["generation_s"], "scoring": ours["scoring_s"], "update": ours["update_s"],
     "total": ours["real_time"] * unit[ours.get("time_unit", "ns")]}
p = {"generation": peer["generation_seconds"], "scoring": peer["scoring_seconds"],
     "update": peer["update_seconds"], "total": peer["seconds"]}
fwd = peer.get("forward_pass_seconds")
rows = list(o)
if fwd is not None:
    o["rollout, regrouped: generation + log-probs/values"] = o["generation"]
    p["rollout, regrouped: generation + log-probs/values"] = p["generation"] + fwd
    o["PPO epochs, regrouped: update - rollout forward passes"] = o["update"]
    p["PPO epochs, regrouped: update - rollout forward passes"] = p["update"] - fwd
    rows = list(o)
ctx = peer_json.get("context", {})
print(f"TRL {ctx.get('trl_version', '?')}, torch {ctx.get('torch_version', '?')}, "
      f"transformers {ctx.get('transformers_version', '?')}, threads {ctx.get('threads', '?')}; "
      f"ours {ours['iterations']} iterations, TRL {peer['iterations']}")
print()
print("| part | ours s/iteration | TRL s/iteration | TRL / ours |")
print("|---|---:|---:|---:|")
for k in rows:
    print(f"| {k} | {o[k]:.4f} | {p[k]:.4f} | {p[k] / o[k]:.2f}x |")
eo = ours["episodes/s"]
ep = peer["episodes"] / peer["seconds"]
print()
print(f"episodes/s: ours {eo:.2f}, TRL {ep:.2f}, ours / TRL {eo / ep:.2f}x")
PY
