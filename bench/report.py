#!/usr/bin/env python3
"""Markdown table from the JSON that bench/run.sh collects (standard library only).

  python3 bench/report.py [--clock real|cpu] RESULTS_DIR

RESULTS_DIR holds bench_kernels.json (required), and if present bench_kernels_eigen.json,
bench_eigen_gemm.json (Google Benchmark JSON, --benchmark_format=json) and torch_peer.json
(bench/torch_peer.py), limits.json (bench/run_limits.sh). With repetitions the median aggregate
is used, else the single run. Columns: ours (FLOP/s or bytes/s counter), PyTorch (same
convention), ours / PyTorch (> 1: we are faster), % of limit (FLOP/s over the machine's best
sgemm, bytes/s over its STREAM triad), and for matmuls ours as % of raw OpenBLAS sgemm at the same shape (forward: one sgemm;
backward: the same two sgemm calls as our backward) and of Eigen's own GEMM.
--clock cpu rescales the Google Benchmark counters from real time to the main thread's CPU time
(for THREADS=1 runs on a busy machine; torch_peer.py must then have run with --clock cpu too).
"""
import json
import os
import re
import sys


def load_gbench(path, clock="real"):
    """name -> {"flops": FLOP/s or None, "bytes": bytes/s or None, "time": seconds}, in run order."""
    if not os.path.exists(path) or os.path.getsize(path) == 0:  # absent, or FILTER matched nothing
        return {}, {}
    with open(path) as f:
        doc = json.load(f)
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
    medians, singles = {}, {}
    for b in doc.get("benchmarks", []):
        name = b.get("run_name", b["name"])
        if name.endswith("/real_time"):
            name = name[: -len("/real_time")]
        # The counters are rates over real time (UseRealTime); with clock == "cpu" rescale them to
        # the CPU time of the main thread.
        f = b["real_time"] / b["cpu_time"] if clock == "cpu" and b.get("cpu_time") else 1.0
        row = {"flops": b["FLOP/s"] * f if "FLOP/s" in b else None,
               "bytes": b["bytes/s"] * f if "bytes/s" in b else None,
               "time": b["real_time" if clock == "real" else "cpu_time"] * scale[b.get("time_unit", "ns")]}
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                medians[name] = row
        elif name not in singles:  # the first repetition when there are no aggregates
            singles[name] = row
    merged = dict(singles)
    merged.update(medians)
    order = list(dict.fromkeys(list(singles) + list(medians)))
    return {k: merged[k] for k in order}, doc.get("context", {})


def load_torch(path):
    if not os.path.exists(path):
        return {}, {}
    with open(path) as f:
        doc = json.load(f)
    out = {}
    for b in doc["benchmarks"]:
        s = b["seconds"]
        out[b["name"]] = {"flops": b["flops"] / s if b.get("flops") else None,
                          "bytes": b["bytes"] / s if b.get("bytes") else None, "time": s}
    return out, doc.get("context", {})


OP_ORDER = ["matmul", "attention", "layernorm", "gelu", "cross_entropy", "logprob", "entropy"]
GEMM_ORDER = ["qkv", "attn_proj", "fc", "fc_proj", "lm_head"]


def row_key(name):
    """Canonical table order (random interleaving shuffles the JSON): op group, shape, direction."""
    op, _, shape = name.partition("/")
    base = op.rsplit("_", 1)[0] if op.endswith(("_forward", "_backward")) else op
    group = OP_ORDER.index(base) if base in OP_ORDER else len(OP_ORDER)
    direction = 1 if op.endswith("_backward") else 0
    nums = [int(x) for x in re.findall(r"\d+", shape)]
    if base == "matmul":  # label:MxKxN -> by M, then the layer's position in the block
        label = shape.partition(":")[0]
        skey = (nums[0] if nums else 0, GEMM_ORDER.index(label) if label in GEMM_ORDER else 99)
    else:
        skey = tuple(nums)
    return (group, base, skey, direction, name)


def rate(row):
    if row is None:
        return None, ""
    if row.get("flops"):
        return row["flops"] / 1e9, "GFLOP/s"
    if row.get("bytes"):
        return row["bytes"] / 1e9, "GB/s"
    return None, ""


def fmt(x, digits=1):
    return "–" if x is None else f"{x:.{digits}f}"


def main():
    args = sys.argv[1:]
    clock = "real"
    if len(args) == 3 and args[0] == "--clock" and args[1] in ("real", "cpu"):
        clock, args = args[1], args[2:]
    if len(args) != 1:
        sys.exit(__doc__)
    d = args[0]
    ours, ctx = load_gbench(os.path.join(d, "bench_kernels.json"), clock)
    ours_eigen, _ = load_gbench(os.path.join(d, "bench_kernels_eigen.json"), clock)
    eigen_gemm, _ = load_gbench(os.path.join(d, "bench_eigen_gemm.json"), clock)
    torch_rows, tctx = load_torch(os.path.join(d, "torch_peer.json"))
    limits_path = os.path.join(d, "limits.json")  # bench/run_limits.sh: the machine's sgemm and STREAM limits
    limits = json.load(open(limits_path)) if os.path.exists(limits_path) else None
    if not ours:
        sys.exit(f"report.py: no results in {d}/bench_kernels.json")

    lines = []
    ctx_path = os.path.join(d, "context.txt")  # written by run.sh: date, CPU, load at each stage
    if os.path.exists(ctx_path):
        with open(ctx_path) as f:
            lines.append("Run: " + "; ".join(line.strip() for line in f if line.strip()) + ".")
    if ctx:
        lines.append(f"Machine: {ctx.get('num_cpus', '?')} CPUs at {ctx.get('mhz_per_cpu', '?')} MHz, "
                     f"load average {', '.join(f'{x:.2f}' for x in ctx.get('load_avg', []))} at start; "
                     f"rlhf matmul path: {ctx.get('rlhf_matmul_path', '?')}.")
    if tctx:
        lines.append(f"PyTorch {tctx.get('torch_version', '?')} with {tctx.get('threads', '?')} threads.")
        if tctx.get("clock", "real") != clock:
            lines.append(f"WARNING: the PyTorch peer timed with the {tctx.get('clock', 'real')} clock, "
                         f"bench_kernels with the {clock} clock: the ratios are not comparable.")
    lines.append("Rates over " + ("real (wall-clock) time." if clock == "real" else
                                  "CPU time (single-threaded run; robust to other load on the machine)."))
    peak_key = "fc:1024x768x3072"
    peaks = []
    for label, table, key in (("OpenBLAS sgemm", ours, "sgemm_openblas"), ("Eigen's own GEMM", eigen_gemm, "sgemm_eigen")):
        row = table.get(f"{key}/{peak_key}")
        if row:
            best = max((v["flops"] for k, v in table.items() if k.startswith(key + "/") and v["flops"]), default=None)
            peaks.append(f"{label} {fmt(row['flops'] / 1e9)} GFLOP/s at 1024×768×3072 "
                         f"(best over the matmul shapes {fmt(best / 1e9)})")
    if peaks:
        lines.append("Reference sgemm: " + "; ".join(peaks) + ".")
    if limits:
        lines.append(f"Limits (bench/run_limits.sh, the same invocation): sgemm {fmt(limits['sgemm_flops'] / 1e9, 0)} "
                     f"GFLOP/s ({limits['sgemm_kernel']}), STREAM triad {fmt(limits['stream_bytes'] / 1e9)} GB/s; "
                     "% of limit: GFLOP/s rows over the sgemm limit, GB/s rows over STREAM.")
    lines.append("")

    has_eigen_path = bool(ours_eigen)
    header = ["op", "shape", "unit", "ours", "PyTorch", "ours / PyTorch", "% of limit", "% of OpenBLAS sgemm",
              "% of Eigen GEMM"]
    if has_eigen_path:
        header.insert(4, "ours, Eigen GEMM")
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join(["---"] * 3 + ["---:"] * (len(header) - 3)) + "|")
    for name in sorted(ours, key=row_key):
        row = ours[name]
        op, _, shape = name.partition("/")
        if op.startswith("sgemm_"):
            continue
        value, unit = rate(row)
        tval, _ = rate(torch_rows.get(name))
        ratio = value / tval if value and tval else None
        pct_blas = pct_eigen = None
        if op.startswith("matmul_"):
            suffix = "_bwd" if op == "matmul_backward" else ""
            ref = ours.get(f"sgemm_openblas{suffix}/{shape}")
            if ref and ref.get("flops") and value:
                pct_blas = 100 * value * 1e9 / ref["flops"]
            ref = eigen_gemm.get(f"sgemm_eigen{suffix}/{shape}")
            if ref and ref.get("flops") and value:
                pct_eigen = 100 * value * 1e9 / ref["flops"]
        pct_limit = None
        if limits and value:
            pct_limit = 100 * value * 1e9 / (limits["sgemm_flops"] if unit == "GFLOP/s" else limits["stream_bytes"])
        cells = [op, shape.replace("x", "×"), unit, fmt(value, 1 if unit == "GFLOP/s" else 2),
                 fmt(tval, 1 if unit == "GFLOP/s" else 2), fmt(ratio, 2) + ("×" if ratio else ""),
                 fmt(pct_limit, 0) + ("%" if pct_limit else ""),
                 fmt(pct_blas, 0) + ("%" if pct_blas else ""), fmt(pct_eigen, 0) + ("%" if pct_eigen else "")]
        if has_eigen_path:
            ev, _ = rate(ours_eigen.get(name))
            cells.insert(4, fmt(ev, 1 if unit == "GFLOP/s" else 2))
        lines.append("| " + " | ".join(cells) + " |")

    # The reference GEMMs themselves, for the record.
    refs = sorted([(k, v) for k, v in ours.items() if k.startswith("sgemm_")] + list(eigen_gemm.items()),
                  key=lambda kv: (kv[0].partition("/")[0], row_key("matmul/" + kv[0].partition("/")[2])))
    if refs:
        lines += ["", "| reference | shape | GFLOP/s |", "|---|---|---:|"]
        for k, v in refs:
            op, _, shape = k.partition("/")
            lines.append(f"| {op} | {shape.replace('x', '×')} | {fmt(v['flops'] / 1e9 if v.get('flops') else None)} |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
