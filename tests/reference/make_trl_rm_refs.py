#!/usr/bin/env python3
"""Reference values for the pairwise reward-model loss, from TRL's own RewardTrainer.compute_loss.

Writes tests/data/trl_reward_loss_refs.json. The C++ test suite only reads that JSON; this script
is the only thing that needs TRL. Run it in a virtual environment outside the repository that
uses Debian's PyTorch (python3-torch 1.13; never torch from PyPI). These versions were used:

    trl 0.8.6, transformers 4.36.2, accelerate 0.30.1, datasets 2.19.1, pyarrow 16.1.0,
    torch 1.13.0a0+gitunknown (Debian 12 python3-torch), numpy 1.24.2 (Debian), Python 3.11.2

    apt-get install -y python3-torch python3-venv
    /usr/bin/python3 -m venv --system-site-packages /opt/venv-trl
    printf 'torch==1.13.0a0+gitunknown\\nnumpy==1.24.2\\n' > /tmp/constraints.txt   # keep Debian's
    /opt/venv-trl/bin/pip install -c /tmp/constraints.txt 'trl==0.8.6' 'transformers==4.36.2' \\
        'accelerate==0.30.1' 'datasets==2.19.1' 'pyarrow==16.1.0' 'pandas==2.2.2' rich
    /opt/venv-trl/bin/python tests/reference/make_trl_rm_refs.py

(Without the constraints pip replaces torch and numpy with PyPI's: accelerate >= 1.3 wants a newer
torch, and pyarrow >= 17 / datasets >= 3 want numpy 2, which Debian's torch 1.13 cannot import.)

What is computed
----------------
Every loss is TRL's code path: trl.RewardTrainer.compute_loss(stub, model, inputs,
return_outputs=True), called unbound with a stub `self` (it reads only
`self.use_reward_data_collator`) and a stub model that returns {"logits": rewards} for the
input_ids tensor it is given (the chosen and the rejected ids are distinct tensors). In float64,
TRL 0.8.6 computes

    loss = -logsigmoid(r_chosen - r_rejected [- margin]).mean()          (mean over the pairs)

The gradients dloss_dchosen / dloss_drejected are torch.autograd.grad of that loss with respect to
the reward tensors the stub model returned, i.e. -sigmoid(-(c - r - m)) / N and its negative.

Conventions and caveats:
  * Rewards are passed as 1-D tensors [N]. A real TRL 0.8.6 reward model
    (AutoModelForSequenceClassification, num_labels=1) returns logits [N, 1], while the collator's
    margin is [N]: `[N,1] - [N,1] - [N]` broadcasts to [N, N] and the margin case then averages
    over all N*N (pair, margin) combinations -- a TRL 0.8.6 bug (newer TRL squeezes the logits to
    [N] first). The stored margin case is therefore the per-pair math: [N] rewards and [N] margins.
    The script prints what the [N, 1] shapes would give, for the record only.
  * Centring: TRL 0.8.6 has no `center_rewards_coefficient` (it arrived in TRL PR #1932, Aug
    2024, TRL >= 0.10, which needs a newer torch/transformers than Debian's). The centring case
    takes TRL 0.8.6's compute_loss and adds the term exactly as TRL main writes it
    (huggingface/trl trl/trainer/reward_trainer.py, commit 00b6d2b4442a2809672182b1cb2d12fe9ccae0b1):
        loss += center_rewards_coefficient * torch.mean((rewards_chosen + rewards_rejected) ** 2)
    i.e. the mean over pairs of (r_c + r_r)^2, not the mean over the 2N rewards of r^2.
  * Inputs are multiples of 1/256 (exact in float and double); rewards ~ N(0, std 2), margins ~
    U(0, 1), seeded with torch.manual_seed. Everything is float64.
  * The large-difference case (|c - r| = 1e4 and 50) is finite in TRL: torch's logsigmoid is
    computed stably (min(x, 0) - log1p(exp(-|x|))): the loss is 2512.5 (terms of 1e4, 0, 50 and
    ~2e-22), and dloss/dchosen = -sigmoid(-(c - r))/N is -0.0 at +1e4, -2.41e-23 at +50 and
    -1/N = -0.125 at -1e4 and -50. The script checks this and would otherwise fall back to
    torch.nn.functional.logsigmoid directly (recorded in the case's "source").

JSON layout: {"trl_version", "torch_version", "transformers_version", "dtype", "notes",
"cases": [{"name", "source", "chosen", "rejected", "margin" (or null), "center_coefficient"
(or null), "loss", "dloss_dchosen", "dloss_drejected"}]}. Numbers are JSON doubles that
round-trip exactly.
"""
import json
import math
import os
import types

import torch
import torch.nn.functional as F
import transformers
import trl
from trl import RewardTrainer

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, "..", "data", "trl_reward_loss_refs.json"))
DTYPE = torch.float64
# The centring line of TRL main, quoted above; applied on top of TRL 0.8.6's compute_loss.
TRL_MAIN_COMMIT = "00b6d2b4442a2809672182b1cb2d12fe9ccae0b1"


def q(t):
    """Multiples of 1/256: exact in float and double, short in JSON."""
    return torch.round(t * 256.0) / 256.0


class StubRewardModel:
    """Returns the given rewards for the input_ids tensor it is called with (keyed by identity)."""

    def __init__(self, table):
        self.table = table  # list of (ids_tensor, rewards_tensor)

    def __call__(self, input_ids, attention_mask=None, return_dict=True):
        for ids, rewards in self.table:
            if ids is input_ids:
                return {"logits": rewards}
        raise KeyError("unknown input_ids")


def has_center_coefficient():
    import inspect
    return "center_rewards_coefficient" in inspect.getsource(RewardTrainer.compute_loss)


def trl_loss(chosen, rejected, margin=None, center=None, reward_shape=None):
    """TRL's compute_loss on the given rewards; returns (loss, d/dchosen, d/drejected, source)."""
    n = chosen.numel()
    rc = chosen.clone().to(DTYPE)
    rr = rejected.clone().to(DTYPE)
    if reward_shape is not None:
        rc, rr = rc.reshape(reward_shape), rr.reshape(reward_shape)
    rc.requires_grad_(True)
    rr.requires_grad_(True)
    ids_c = torch.arange(n).reshape(n, 1)
    ids_r = torch.arange(n, 2 * n).reshape(n, 1)
    inputs = {
        "input_ids_chosen": ids_c,
        "attention_mask_chosen": torch.ones_like(ids_c),
        "input_ids_rejected": ids_r,
        "attention_mask_rejected": torch.ones_like(ids_r),
    }
    if margin is not None:
        inputs["margin"] = margin.clone().to(DTYPE)
    stub = types.SimpleNamespace(
        use_reward_data_collator=True,
        args=types.SimpleNamespace(center_rewards_coefficient=center),
    )
    model = StubRewardModel([(ids_c, rc), (ids_r, rr)])
    loss, outputs = RewardTrainer.compute_loss(stub, model, inputs, return_outputs=True)
    assert outputs["rewards_chosen"] is rc and outputs["rewards_rejected"] is rr
    source = f"trl {trl.__version__} RewardTrainer.compute_loss"
    if center is not None and not has_center_coefficient():
        # TRL main's line (commit TRL_MAIN_COMMIT), verbatim in meaning:
        loss = loss + center * torch.mean((outputs["rewards_chosen"] + outputs["rewards_rejected"]) ** 2)
        source += f" + centring term of trl main {TRL_MAIN_COMMIT[:12]}: c*mean((r_c + r_r)**2)"
    if not torch.isfinite(loss):
        # Fallback that the brief asks for; not taken with torch 1.13 (checked in main()).
        d = rc - rr - (inputs["margin"] if margin is not None else 0.0)
        loss = -F.logsigmoid(d).mean()
        source = "torch.nn.functional.logsigmoid (TRL gave a non-finite loss)"
    gc, gr = torch.autograd.grad(loss, [rc, rr])
    return loss.detach(), gc.reshape(-1), gr.reshape(-1), source


def by_hand(chosen, rejected, margin=None, center=None):
    """Independent check: mean softplus(-(c - r - m)) (+ c * mean((c + r)^2))."""
    total = 0.0
    n = len(chosen)
    for i in range(n):
        d = chosen[i] - rejected[i] - (margin[i] if margin is not None else 0.0)
        total += max(-d, 0.0) + math.log1p(math.exp(-abs(d)))  # softplus(-d)
    loss = total / n
    if center is not None:
        loss += center * sum((c + r) ** 2 for c, r in zip(chosen, rejected)) / n
    return loss


def make_case(name, chosen, rejected, margin=None, center=None):
    loss, gc, gr, source = trl_loss(chosen, rejected, margin, center)
    c, r = chosen.tolist(), rejected.tolist()
    m = margin.tolist() if margin is not None else None
    expect = by_hand(c, r, m, center)
    assert math.isfinite(loss.item()), name
    assert abs(loss.item() - expect) <= 1e-12 * max(1.0, abs(expect)), (name, loss.item(), expect)
    # Gradient by hand: d/dc = -sigmoid(-(c - r - m)) / N (+ 2 c (c + r) / N), d/dr = ...
    n = len(c)
    for i in range(n):
        d = c[i] - r[i] - (m[i] if m is not None else 0.0)
        s = math.exp(-d) / (1.0 + math.exp(-d)) if d >= 0 else 1.0 / (1.0 + math.exp(d))  # sigmoid(-d)
        cen = 2.0 * center * (c[i] + r[i]) / n if center is not None else 0.0
        assert abs(gc[i].item() - (-s / n + cen)) <= 1e-15, (name, i)
        assert abs(gr[i].item() - (s / n + cen)) <= 1e-15, (name, i)
    print(f"{name:24s} loss {loss.item():.17g}  (by hand {expect:.17g})  [{source}]")
    return {
        "name": name,
        "source": source,
        "chosen": c,
        "rejected": r,
        "margin": m,
        "center_coefficient": center,
        "loss": loss.item(),
        "dloss_dchosen": gc.tolist(),
        "dloss_drejected": gr.tolist(),
    }


def main():
    torch.set_num_threads(1)
    print(f"trl {trl.__version__}, transformers {transformers.__version__}, torch {torch.__version__}")
    print("TRL compute_loss has center_rewards_coefficient:", has_center_coefficient())
    cases = []

    torch.manual_seed(20240601)
    n = 16
    chosen = q(2.0 * torch.randn(n, dtype=DTYPE))
    rejected = q(2.0 * torch.randn(n, dtype=DTYPE))
    cases.append(make_case("pairwise", chosen, rejected))

    torch.manual_seed(20240602)
    chosen = q(2.0 * torch.randn(n, dtype=DTYPE))
    rejected = q(2.0 * torch.randn(n, dtype=DTYPE))
    margin = q(torch.rand(n, dtype=DTYPE))
    cases.append(make_case("pairwise_margin", chosen, rejected, margin=margin))
    # For the record: TRL 0.8.6 with a real reward model's [N, 1] logits and the collator's [N]
    # margin broadcasts to [N, N]. Printed, not stored.
    bad, _, _, _ = trl_loss(chosen, rejected, margin, reward_shape=(n, 1))
    print(f"  (with [N,1] rewards TRL 0.8.6 would broadcast the margin to [N,N] and give {bad.item():.17g})")

    torch.manual_seed(20240603)
    chosen = q(2.0 * torch.randn(n, dtype=DTYPE))
    rejected = q(2.0 * torch.randn(n, dtype=DTYPE))
    cases.append(make_case("pairwise_center_0.01", chosen, rejected, center=0.01))

    # Large differences: c - r = +1e4, -1e4, +50, -50, with offsets so r_c + r_r is not 0.
    chosen = torch.tensor([5000.0, -5000.0, 25.0, -25.0, 10003.5, -3.25, 60.0, -40.5], dtype=DTYPE)
    rejected = torch.tensor([-5000.0, 5000.0, -25.0, 25.0, 3.5, 9996.75, 10.0, 9.5], dtype=DTYPE)
    diffs = (chosen - rejected).tolist()
    assert diffs == [1e4, -1e4, 50.0, -50.0, 1e4, -1e4, 50.0, -50.0], diffs
    cases.append(make_case("large_differences", chosen, rejected))

    doc = {
        "trl_version": trl.__version__,
        "torch_version": torch.__version__,
        "transformers_version": transformers.__version__,
        "dtype": "float64",
        "notes": [
            "loss = -mean(logsigmoid(c - r - m)); gradients by torch autograd through TRL's compute_loss",
            "rewards passed as [N] tensors; TRL 0.8.6 with [N,1] logits broadcasts an [N] margin to [N,N]",
            "TRL 0.8.6 has no center_rewards_coefficient: the centring case adds TRL main's "
            f"c*mean((r_c + r_r)**2) (commit {TRL_MAIN_COMMIT}) to 0.8.6's compute_loss",
        ],
        "cases": cases,
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print("wrote", os.path.relpath(OUT), os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
