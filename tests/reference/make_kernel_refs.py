#!/usr/bin/python3
"""Reference values for the CPU kernels, computed with PyTorch in float64.

Run from the repository root with Debian's PyTorch (python3-torch 1.13; no virtual environment
needed):

    /usr/bin/python3 tests/reference/make_kernel_refs.py

It writes tests/data/kernel_refs.json, which tests/unit/test_kernels_values.cpp reads. The test
suite itself never needs torch: commit the JSON next to this script and regenerate it only when a
kernel's definition changes.

Every case is a small, deterministic problem (torch.manual_seed). Inputs and upstream gradients
are quantised to multiples of 1/256, so they are exactly representable in float and double and
the float kernels are compared against the same problem as the double ones. Each tensor is stored
as {"shape": [...], "data": [flat row-major values]}; integer tensors (ids, targets) hold ints.
Scalars (eps, temperature, n_head, dloss, a reduced loss) are stored as plain numbers.

What each case computes (forward outputs, then the gradients of sum(output * upstream) with
respect to every input, i.e. the vector-Jacobian products that our backward kernels accumulate):

  matmul_*        out = a @ W (+ bias), W in GPT-2's Conv1D layout [K, N] (in_out) or
                  torch.nn.Linear's [N, K] (out_in)
  layernorm       torch.nn.functional.layer_norm, eps 1e-5; mean and rstd = 1/sqrt(var + eps)
  gelu            torch.nn.functional.gelu(approximate='tanh')
  softmax         softmax over the last dimension
  attention_*     causal multi-head self-attention on qkv [B, T, 3C] (q | k | v, heads of size
                  D = C / H, scale 1/sqrt(D)) with a key padding mask; a query that sees no
                  valid key gets zero probabilities and a zero output
  embedding       table[ids]
  cross_entropy   per-token losses logsumexp(z) - z[t], reduced as the mean over unmasked tokens
  logprob         log softmax(z / tau)[t]
  entropy         entropy of softmax(z / tau)
"""
import json
import math
import os

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "kernel_refs.json")


def q(t):
    """Quantise to multiples of 1/256: exact in float and double, short in JSON."""
    return torch.round(t * 256.0) / 256.0


def randn(*shape, scale=1.0):
    return q(torch.randn(*shape) * scale)


def enc(t):
    t = t.detach()
    if t.dtype in (torch.int32, torch.int64):
        data = [int(v) for v in t.reshape(-1).tolist()]
    else:
        data = [float(v) for v in t.to(torch.float64).reshape(-1).tolist()]
    return {"shape": list(t.shape), "data": data}


def grads(outputs_and_upstreams, inputs):
    """VJP: gradients of sum(out * upstream) over the pairs, w.r.t. inputs."""
    total = sum((o * u).sum() for o, u in outputs_and_upstreams)
    return torch.autograd.grad(total, inputs)


def case_matmul(layout, with_bias, M=(2, 3), K=4, N=5):
    a = randn(*M, K).requires_grad_()
    w = randn(*((K, N) if layout == "in_out" else (N, K)), scale=0.5).requires_grad_()
    bias = randn(N).requires_grad_() if with_bias else None
    out = a @ (w if layout == "in_out" else w.t())
    if with_bias:
        out = out + bias
    dout = randn(*out.shape)
    inputs = [a, w] + ([bias] if with_bias else [])
    g = grads([(out, dout)], inputs)
    c = {"layout": layout, "a": enc(a), "w": enc(w), "dout": enc(dout), "out": enc(out), "da": enc(g[0]),
         "dw": enc(g[1])}
    if with_bias:
        c["bias"] = enc(bias)
        c["dbias"] = enc(g[2])
    return c


def case_layernorm():
    C, eps = 8, 1e-5
    x = (randn(2, 3, C, scale=2.0) + q(torch.linspace(-1, 1, C))).requires_grad_()
    w = q(1.0 + 0.3 * torch.randn(C)).requires_grad_()
    b = randn(C, scale=0.3).requires_grad_()
    out = F.layer_norm(x, (C,), w, b, eps)
    mean = x.detach().mean(-1).reshape(-1)
    rstd = 1.0 / torch.sqrt(x.detach().var(-1, unbiased=False).reshape(-1) + eps)
    dout = randn(*out.shape)
    dx, dw, db = grads([(out, dout)], [x, w, b])
    return {"eps": eps, "x": enc(x), "w": enc(w), "b": enc(b), "dout": enc(dout), "out": enc(out),
            "mean": enc(mean), "rstd": enc(rstd), "dx": enc(dx), "dw": enc(dw), "db": enc(db)}


def case_gelu():
    x = torch.cat([q(torch.linspace(-6, 6, 25)), randn(15, scale=2.0)]).reshape(5, 8).requires_grad_()
    out = F.gelu(x, approximate="tanh")
    dout = randn(*out.shape)
    (dx,) = grads([(out, dout)], [x])
    return {"x": enc(x), "dout": enc(dout), "out": enc(out), "dx": enc(dx)}


def case_softmax():
    x = randn(3, 7, scale=2.0)
    x[2] += 30.0  # a shifted row: softmax must subtract the maximum
    x.requires_grad_()
    out = torch.softmax(x, -1)
    dout = randn(*out.shape)
    (dx,) = grads([(out, dout)], [x])
    return {"x": enc(x), "dout": enc(dout), "out": enc(out), "dx": enc(dx)}


def attention(qkv, key_mask, H):
    B, T, C3 = qkv.shape
    C = C3 // 3
    D = C // H
    qh, kh, vh = (t.reshape(B, T, H, D).transpose(1, 2) for t in qkv.split(C, dim=2))  # [B, H, T, D]
    s = qh @ kh.transpose(-1, -2) / math.sqrt(D)  # [B, H, T, T]
    allowed = torch.tril(torch.ones(T, T, dtype=torch.bool)).expand(B, 1, T, T)
    if key_mask is not None:
        allowed = allowed & (key_mask != 0).reshape(B, 1, 1, T)
    row_valid = allowed.any(-1, keepdim=True)  # [B, 1, T, 1]
    # Rows without a valid key: give them finite scores (so softmax and its gradient stay finite),
    # then zero their probabilities.
    s = s.masked_fill(~allowed & row_valid, float("-inf")).masked_fill(~row_valid, 0.0)
    p = torch.softmax(s, -1) * row_valid
    o = (p @ vh).transpose(1, 2).reshape(B, T, C)
    return o, p


def case_attention(B, T, C, H, key_mask, store_att=True):
    qkv = randn(B, T, 3 * C).requires_grad_()
    out, att = attention(qkv, key_mask, H)
    dout = randn(*out.shape)
    (dqkv,) = grads([(out, dout)], [qkv])
    c = {"n_head": H, "qkv": enc(qkv), "dout": enc(dout), "out": enc(out), "dqkv": enc(dqkv)}
    if key_mask is not None:
        c["key_mask"] = enc(key_mask)
    if store_att:
        c["att"] = enc(att)
    return c


def case_embedding():
    V, C = 7, 4
    table = randn(V, C).requires_grad_()
    ids = torch.tensor([[3, 0, 6], [3, 3, 1]], dtype=torch.int32)
    out = table[ids.long()]
    dout = randn(*out.shape)
    (dtable,) = grads([(out, dout)], [table])
    return {"table": enc(table), "ids": enc(ids), "dout": enc(dout), "out": enc(out), "dtable": enc(dtable)}


def case_cross_entropy():
    N, V = 6, 9
    logits = randn(N, V, scale=2.0)
    logits[4] += 40.0
    logits.requires_grad_()
    targets = torch.tensor([2, 8, -100, 0, 5, 5], dtype=torch.int32)  # -100 sits under a 0 in the mask
    mask = torch.tensor([1.0, 1.0, 0.0, 1.0, 1.0, 0.0])
    keep = mask != 0
    safe = torch.where(keep, targets, torch.zeros_like(targets)).long()
    losses = F.cross_entropy(logits, safe, reduction="none") * mask
    lse = torch.logsumexp(logits.detach(), -1) * mask
    loss = losses.sum() / mask.sum()
    ref = F.cross_entropy(logits, torch.where(keep, targets, torch.full_like(targets, -100)).long(), ignore_index=-100)
    assert torch.allclose(loss, ref, rtol=1e-14, atol=0)
    dloss = 0.75
    (dlogits,) = torch.autograd.grad(loss * dloss, [logits])
    return {"logits": enc(logits), "targets": enc(targets), "mask": enc(mask), "dloss": dloss, "losses": enc(losses),
            "lse": enc(lse), "loss": float(loss), "dlogits": enc(dlogits)}


def case_logprob():
    N, V, tau = 5, 9, 0.7
    logits = randn(N, V, scale=2.0).requires_grad_()
    targets = torch.tensor([0, 8, 3, 3, 6], dtype=torch.int32)
    logp_all = torch.log_softmax(logits / tau, -1)
    logp = logp_all.gather(1, targets.long().unsqueeze(1)).squeeze(1)
    lse = torch.logsumexp(logits.detach() / tau, -1)
    dlogp = randn(N)
    (dlogits,) = grads([(logp, dlogp)], [logits])
    return {"temperature": tau, "logits": enc(logits), "targets": enc(targets), "dlogp": enc(dlogp),
            "logp": enc(logp), "lse": enc(lse), "dlogits": enc(dlogits)}


def case_entropy():
    N, V, tau = 5, 9, 1.3
    logits = randn(N, V, scale=2.0)
    logits[3, 2] = -60.0  # a nearly-zero probability
    logits.requires_grad_()
    logp = torch.log_softmax(logits / tau, -1)
    ent = -(logp.exp() * logp).sum(-1)
    lse = torch.logsumexp(logits.detach() / tau, -1)
    dent = randn(N)
    (dlogits,) = grads([(ent, dent)], [logits])
    return {"temperature": tau, "logits": enc(logits), "dentropy": enc(dent), "entropy": enc(ent), "lse": enc(lse),
            "dlogits": enc(dlogits)}


def main():
    torch.manual_seed(20240611)
    cases = {
        "matmul_in_out": case_matmul("in_out", True),
        "matmul_out_in": case_matmul("out_in", True),
        "matmul_out_in_nobias": case_matmul("out_in", False, M=(3,), K=6, N=2),
        "layernorm": case_layernorm(),
        "gelu": case_gelu(),
        "softmax": case_softmax(),
        # batch 0 right-padded, batch 1 left-padded (its first two queries see no valid key)
        "attention_masked": case_attention(2, 5, 8, 2, torch.tensor([[1.0, 1, 1, 1, 0], [0, 0, 1, 1, 1]])),
        "attention_nomask": case_attention(1, 4, 6, 3, None),
        # T > 64 crosses the kernel's row-block boundary; att is left out to keep the file small
        "attention_long": case_attention(1, 67, 4, 2, (torch.arange(67) % 11 != 5).double().reshape(1, 67),
                                         store_att=False),
        "embedding": case_embedding(),
        "cross_entropy": case_cross_entropy(),
        "logprob": case_logprob(),
        "entropy": case_entropy(),
    }
    doc = {
        "generator": "tests/reference/make_kernel_refs.py",
        "torch_version": torch.__version__,
        "dtype": "float64",
        "cases": cases,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {os.path.normpath(OUT)} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
