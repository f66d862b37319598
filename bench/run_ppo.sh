#!/usr/bin/env bash
# PPO iteration benchmark: bench_ppo (ours) and bench/trl_ppo_peer.py (TRL's PPOTrainer with a
# separate value model, on current PyTorch) in one invocation, then a table of seconds per
# iteration of each part (generation, scoring, update, total), the ratio TRL / ours, episodes/s,
# the share of the sgemm limit (bench/run_limits.sh) and the peak RSS of both; then the peak RSS of
# one iteration with four GPT-2 124M models, one epoch (BM_ppo_memory_124m and the peer's
# --model 124m: a few minutes each; SKIP_MEMORY=1 leaves it out).
#
#   bench/run_ppo.sh [BUILD_DIR]        (default build/release; needs RLHF_BUILD_BENCH=ON)
#   Environment: THREADS=2, MIN_TIME=2 (ours), PEER_ITERATIONS=6 (TRL, one of them a warm-up),
#                PYTHON (default: the venv of bench/make_peers_venv.sh, made if missing),
#                REUSE_LIMITS=1 to keep BUILD_DIR/bench-results/limits.json instead of measuring
# Both split an iteration at the same places: generation holds the sampling and the rollout's
# forward passes of the reference and the value model, scoring the reward model's.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${1:-$(dirname "$here")/build/release}"
threads="${THREADS:-2}"
min_time="${MIN_TIME:-2}"
peer_iterations="${PEER_ITERATIONS:-6}"
python="${PYTHON:-$("$here/make_peers_venv.sh")}"
out="$build/bench-results"
mkdir -p "$out"
[[ -f $out/limits.json && ${REUSE_LIMITS:-0} == 1 ]] || THREADS=$threads "$here/run_limits.sh" "$build" "$out" >&2
export OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads"
source "$here/runtime_env.sh"
runtime_env "$build/bench/bench_ppo"
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'), threads: $threads, load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
/usr/bin/time -f %M -o "$out/bench_ppo.rss" "$build/bench/bench_ppo" --benchmark_filter='^BM_ppo_iteration' \
  --benchmark_min_time="$min_time" --benchmark_format=console --benchmark_out_format=json \
  --benchmark_out="$out/bench_ppo.json" >&2
"$python" "$here/trl_ppo_peer.py" --threads "$threads" --iterations "$peer_iterations" \
  --out "$out/trl_ppo_peer.json" > /dev/null
rm -f "$out/bench_ppo_memory.rss" "$out/trl_ppo_memory.json"
if [[ ${SKIP_MEMORY:-0} != 1 ]]; then
  /usr/bin/time -f %M -o "$out/bench_ppo_memory.rss" "$build/bench/bench_ppo" --benchmark_filter='^BM_ppo_memory_124m' \
    --benchmark_format=console >&2
  "$python" "$here/trl_ppo_peer.py" --threads "$threads" --model 124m --epochs 1 --iterations 1 \
    --out "$out/trl_ppo_memory.json" > /dev/null
fi
python3 - "$out" <<'PY' | tee "$out/ppo_report.md"
import json, sys
out = sys.argv[1]
unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
ours = next(b for b in json.load(open(f"{out}/bench_ppo.json"))["benchmarks"]
            if b["name"].split("/")[0] == "BM_ppo_iteration" and b.get("run_type", "iteration") == "iteration")
ours_rss = int(open(f"{out}/bench_ppo.rss").read().split()[-1]) * 1024
peer_json = json.load(open(f"{out}/trl_ppo_peer.json"))
peer = peer_json["benchmarks"][0]
limits = json.load(open(f"{out}/limits.json"))
o = {"generation": ours["generation_s"], "scoring": ours["scoring_s"], "update": ours["update_s"],
     "total": ours["real_time"] * unit[ours.get("time_unit", "ns")]}
p = {"generation": peer["generation_seconds"], "scoring": peer["scoring_seconds"],
     "update": peer["update_seconds"], "total": peer["seconds"]}
ctx = peer_json["context"]
print(f"TRL {ctx['trl_version']}, torch {ctx['torch_version']}, transformers {ctx['transformers_version']}, "
      f"threads {ctx['threads']}; ours {ours['iterations']} iterations, TRL {peer['iterations']}; "
      f"sgemm limit {limits['sgemm_flops'] / 1e9:.0f} GFLOP/s ({limits['sgemm_kernel']})")
print()
print("| part | ours s/iteration | TRL s/iteration | TRL / ours |")
print("|---|---:|---:|---:|")
for k in o:
    print(f"| {k} | {o[k]:.4f} | {p[k]:.4f} | {p[k] / o[k]:.2f}x |")
eo, ep = ours["episodes/s"], peer["episodes"] / peer["seconds"]
print()
print(f"episodes/s: ours {eo:.2f}, TRL {ep:.2f}, ours / TRL {eo / ep:.2f}x")
if "FLOP/s" in ours:
    print(f"ours: {ours['FLOP/s'] / 1e9:.0f} GFLOP/s of matmuls, {100 * ours['FLOP/s'] / limits['sgemm_flops']:.0f} % "
          "of the sgemm limit")
print(f"peak RSS: ours {ours_rss / 2**20:.0f} MiB, TRL {peer['peak_rss_bytes'] / 2**20:.0f} MiB, "
      f"ours / TRL {ours_rss / peer['peak_rss_bytes']:.2f}")
try:
    mine = int(open(f"{out}/bench_ppo_memory.rss").read().split()[-1]) * 1024
    theirs = json.load(open(f"{out}/trl_ppo_memory.json"))["benchmarks"][0]["peak_rss_bytes"]
    print(f"peak RSS, four GPT-2 124M models (one iteration, one epoch): ours {mine / 2**20:.0f} MiB, "
          f"TRL {theirs / 2**20:.0f} MiB, ours / TRL {mine / theirs:.2f}")
except FileNotFoundError:
    pass
PY
