#!/usr/bin/env python3
"""The table of bench/run_gpt.sh, from RESULTS_DIR: limits.json, bench_gpt_NAME.json and .rss (ours,
one process per benchmark), torch_gpt_peer.json (PyTorch eager and torch.compile).

  python3 bench/gpt_report.py RESULTS_DIR

Rates are tokens/s; ratios are ours / peer (> 1: we are faster). "% of limit" is the step's
matmul FLOP rate (bench/model_flops.hpp's count, bench_gpt's FLOP/s counter) over the best sgemm
rate of limits.json; for 124M generation, where each new token reads all 124.4 M fp32 weights once,
it is tokens/s x 498 MB over the STREAM triad bandwidth; the tiny generation's weights (3 MB) sit
in cache and it has none. Peak RSS ratios are ours / PyTorch eager (< 1: we use less). Also writes
RESULTS_DIR/scaling.tsv, the rows bench/scaling.gp plots."""
import glob
import json
import os
import re
import sys

GPT2_WEIGHT_BYTES = 124_439_808 * 4  # GPT-2 124M, the LM head tied to the token embedding


def main(out):
    limits = json.load(open(os.path.join(out, "limits.json")))
    ours = {}
    for path in sorted(glob.glob(os.path.join(out, "bench_gpt_*.json"))):
        for b in json.load(open(path))["benchmarks"]:
            if b.get("run_type", "iteration") == "iteration":
                rss = path[:-len(".json")] + ".rss"
                b["peak_rss_bytes"] = int(open(rss).read().split()[-1]) * 1024 if os.path.exists(rss) else None
                ours[b["name"].split("/")[0]] = b
    peer_doc = json.load(open(os.path.join(out, "torch_gpt_peer.json")))
    peer = {(b["name"], b["mode"]): b for b in peer_doc["benchmarks"]}
    order = [b["name"] for b in peer_doc["benchmarks"]]  # bench_gpt's order (the peer keeps it)
    ours = dict(sorted(ours.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order)))
    ctx = peer_doc["context"]
    print(f"PyTorch {ctx['torch']} ({ctx.get('blas', '?')}), threads {ctx['threads']}; "
          f"sgemm limit {limits['sgemm_flops'] / 1e9:.0f} GFLOP/s ({limits['sgemm_kernel']}), "
          f"STREAM triad {limits['stream_bytes'] / 1e9:.1f} GB/s")
    print()
    print("| benchmark | ours tokens/s | eager (SDPA) | torch.compile | ours / eager | ours / compile "
          "| ours % of limit | compile s | peak RSS ours / eager / compile (MiB) | RSS ours / eager |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    def cell(x, spec, suffix=""):
        return "-" if x is None or x != x else f"{x:{spec}}{suffix}"

    for name, b in ours.items():
        rate, rss = b["tokens/s"], b["peak_rss_bytes"]
        e, c = peer.get((name, "eager")), peer.get((name, "compile"))
        er = e["tokens"] / e["seconds"] if e else None
        cr = c["tokens"] / c["seconds"] if c else None
        limit = None
        if "FLOP/s" in b:
            limit = 100 * b["FLOP/s"] / limits["sgemm_flops"]
        elif name.startswith("BM_generate_124m"):
            limit = 100 * rate * GPT2_WEIGHT_BYTES / limits["stream_bytes"]
        mib = lambda v: v / 2**20 if v else None
        cells = [name, cell(rate, ",.0f"), cell(er, ",.0f"), cell(cr, ",.0f"),
                 cell(er and rate / er, ".2f", "x"), cell(cr and rate / cr, ".2f", "x"), cell(limit, ".0f", " %"),
                 cell(c and c["compile_seconds"], ".0f"),
                 " / ".join(cell(mib(v), ".0f") for v in (rss, e and e["peak_rss_bytes"], c and c["peak_rss_bytes"])),
                 cell(rss and e and rss / e["peak_rss_bytes"], ".2f")]
        print("| " + " | ".join(cells) + " |")
    write_scaling(out, ours, peer)


def write_scaling(out, ours, peer):
    """scaling.tsv: one block per curve (train: T; generate: prompt length), blank-line separated."""
    rows = {"train": [], "generate": []}
    for name, b in ours.items():
        m = re.fullmatch(r"BM_train_step_124m(?:_T(\d+))?|BM_generate_124m_P(\d+)", name)
        if not m:
            continue
        kind, x = ("train", int(m.group(1) or 64)) if name.startswith("BM_train") else ("generate", int(m.group(2)))
        e, c = peer.get((name, "eager")), peer.get((name, "compile"))
        rate = lambda p: p["tokens"] / p["seconds"] if p else float("nan")
        rss = lambda v: v / 2**20 if v else float("nan")
        rows[kind].append((x, b["tokens/s"], rate(e), rate(c), rss(b["peak_rss_bytes"]),
                           rss(e and e["peak_rss_bytes"]), rss(c and c["peak_rss_bytes"])))
    with open(os.path.join(out, "scaling.tsv"), "w") as f:
        for kind in ("train", "generate"):
            f.write(f"# {kind}: x ours_tokens_per_s eager compile ours_rss_mib eager compile\n")
            for r in sorted(rows[kind]):
                f.write("\t".join(f"{v:.6g}" for v in r) + "\n")
            f.write("\n\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
