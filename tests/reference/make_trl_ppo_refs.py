#!/usr/bin/env python3
"""Reference values for PPO's building blocks, from TRL's own functions (trl 0.8.6 PPOTrainer).

Writes tests/data/trl_ppo_refs.json. The C++ test suite only reads that JSON; this script is the
only thing that needs TRL. Run it in a virtual environment outside the repository that uses
Debian's PyTorch (python3-torch 1.13; never torch from PyPI). These versions were used:

    trl 0.8.6, transformers 4.36.2, accelerate 0.30.1, datasets 2.19.1, pyarrow 16.1.0,
    torch 1.13.0a0+gitunknown (Debian 12 python3-torch), numpy 1.24.2 (Debian), Python 3.11.2

    apt-get install -y python3-torch python3-venv
    /usr/bin/python3 -m venv --system-site-packages /opt/venv-trl
    printf 'torch==1.13.0a0+gitunknown\\nnumpy==1.24.2\\n' > /tmp/constraints.txt   # keep Debian's
    /opt/venv-trl/bin/pip install -c /tmp/constraints.txt 'trl==0.8.6' 'transformers==4.36.2' \\
        'accelerate==0.30.1' 'datasets==2.19.1' 'pyarrow==16.1.0' 'pandas==2.2.2' rich
    /opt/venv-trl/bin/python tests/reference/make_trl_ppo_refs.py

TRL's methods are called unbound, e.g. PPOTrainer.loss(stub, ...), on a stub `self` that carries
exactly the attributes the method reads (the script checks this against inspect.getsource). All
tensors are float64; inputs are multiples of 1/256 (exact in float and double) unless said
otherwise, drawn with torch.manual_seed. Every tensor is stored as nested lists of doubles (masks
too, as 0.0/1.0), shape [B=4, T=7] unless said otherwise. Two masks are used:
  "right": responses of different lengths, zeros at the end of rows 1-3 (row 0 full);
  "left":  row 2 has zeros at the start (left padding), rows 1 and 3 zeros at the end.

Sections of the JSON and the TRL function that produced each field
------------------------------------------------------------------
masked_stats[] (trl.core):
  masked_mean            = trl.core.masked_mean(values, mask)          sum(v*m) / sum(m)
  masked_mean_axis1      = trl.core.masked_mean(values, mask, axis=1)  per row, [B]
  masked_var_unbiased    = trl.core.masked_var(values, mask, unbiased=True)
  masked_var_biased      = trl.core.masked_var(values, mask, unbiased=False)
      var_b = masked_mean((v - masked_mean(v))^2);  unbiased = var_b * n/(n-1), n = sum(m)
      (Bessel's correction over ALL unmasked elements of the whole tensor, not per row.)
  masked_whiten_shift_mean     = trl.core.masked_whiten(values, mask, shift_mean=True)
  masked_whiten_no_shift_mean  = trl.core.masked_whiten(values, mask, shift_mean=False)
      (v - mean) * rsqrt(var_unbiased + 1e-8)  [+ mean when shift_mean=False], with the
      masked mean/var but applied to EVERY element: masked positions are not zeroed.

gae[] (trl.PPOTrainer.compute_advantages(stub, values_in, rewards_in, mask)), config fields
gamma, lam, whiten_rewards (False except one case):
  values       TRL's returned values = values_in * mask (masked FIRST; rewards too)
  advantages   TRL's returned advantages, masked_whiten(A, mask) (shift_mean=True, unbiased
               var, eps 1e-8; masked positions keep their non-zero whitened values)
  returns      TRL's returned returns = A + values, with the UN-whitened A
  advantages_unwhitened  A before whitening: the same TRL call with trl.trainer.ppo_trainer.
               masked_whiten patched to the identity for that call (asserted equal to a
               reimplementation of TRL's loop):
                 for t = T-1 .. 0:  next = values[:, t+1] if t < T-1 else 0
                                     delta = rewards[:, t] + gamma*next - values[:, t]
                                     A_t = delta + gamma*lam*A_{t+1}      (A_T = 0)
               The loop runs over all T positions; masking is only through values*mask and
               rewards*mask. So after the last real token next value = 0 and trailing masked
               positions have A = 0; a leading masked position (left padding) gets
               A = gamma*V_{t+1} + gamma*lam*A_{t+1} != 0 (it is excluded from the whitening
               statistics by the mask, but whitened and returned like the rest).
  whiten_rewards=True first replaces rewards by masked_whiten(rewards*mask, mask, shift_mean=False).

compute_rewards[] (trl.PPOTrainer.compute_rewards(stub, scores, logprobs, ref_logprobs, masks);
stub.kl_ctl.value = kl_coef = 0.05, stub.config.kl_penalty):
  kls                per-token penalty from PPOTrainer._kl_penalty:
                       "kl":   logprob - ref_logprob            (k1)
                       "abs":  |logprob - ref_logprob|
                       "mse":  0.5 * (logprob - ref_logprob)^2
                       "full": F.kl_div(ref_logprob, logprob, log_target=True).sum(-1)
                               = sum_v exp(logp) * (logp - logp_ref): here logprobs and
                               ref_logprobs are full log-softmax distributions [B, T, V=5]
                               (not quantised) and kls is [B, T]
  non_score_rewards  -kl_coef * kls, at EVERY position (masked ones included; GAE masks them)
  rewards            non_score_rewards with scores[b] added at index mask[b].nonzero()[-1], the
                     last position whose mask is non-zero (score_index[b] records it)

ppo_loss[] (trl.PPOTrainer.loss(stub, old_logprobs, values, logits, vpreds, logprobs, mask,
advantages, returns); config cliprange 0.2, cliprange_value 0.2, vf_coef 0.1, ratio_threshold 10):
  ratio = exp(logprobs - old_logprobs)
  pg_loss      = masked_mean(max(-A*ratio, -A*clamp(ratio, 0.8, 1.2)), mask)   (1st return value)
  vpredclipped = clip(vpreds, values - 0.2, values + 0.2)   (values = the OLD values)
  vf_loss      = 0.5 * masked_mean(max((vpreds-R)^2, (vpredclipped-R)^2), mask)  (stats loss/value)
  vf_loss_scaled = vf_coef * vf_loss                                            (2nd return value)
  loss_total   = pg_loss + vf_coef * vf_loss                                    (stats loss/total)
  stats: every entry of TRL's returned flattened stats dict, e.g.
    policy/clipfrac = masked_mean(pg_losses2 > pg_losses): the fraction where the CLIPPED term
                      is strictly larger (is the one the max picks), not where ratio is outside
                      [1-eps, 1+eps]
    val/clipfrac    = masked_mean(vf_losses2 > vf_losses1), same idea
    policy/approxkl = 0.5 * masked_mean((logprobs - old_logprobs)^2)
    policy/policykl = masked_mean(old_logprobs - logprobs)
    policy/entropy  = masked_mean(entropy_from_logits(logits)),  logits [B, T, V=5]
    policy/advantages_mean = masked_mean(advantages); returns/mean, returns/var, val/mean,
    val/var (masked_var, unbiased), val/vpred = masked_mean(vpreds),
    val/error = masked_mean((vpreds - R)^2)  (no 0.5); policy/advantages and policy/ratio are
    the full [B, T] tensors. If masked_mean(ratio) > ratio_threshold TRL zeroes all three
    losses (not exercised: the ratios here stay near 1).
  dpg_loss_dlogprobs  autograd of pg_loss w.r.t. logprobs
  dvf_loss_dvpreds    autograd of the UNscaled vf_loss w.r.t. vpreds (TRL's loss called again
                      with vf_coef = 1.0, whose 2nd return value is then vf_loss itself)
  dvf_loss_scaled_dvpreds  autograd of TRL's 2nd return value (vf_coef * vf_loss)
  logprobs are old_logprobs + N(0, 0.35) and vpreds values + N(0, 0.35), so some ratios and some
  values get clipped (counts in n_ratio_outside_clip / n_value_outside_clip, masked positions).

adaptive_kl (trl.trainer.utils.AdaptiveKLController(0.2, target=6, horizon=10000)):
  update(current, n_steps): e = clip(current/target - 1, -0.2, 0.2); value *= 1 + e*n_steps/horizon.
  `values_after` is the controller's value after each update, applied in sequence. (In
  PPOTrainer.step TRL calls update(mean over the batch of sum over tokens of kls*mask,
  batch_size * num_processes).)

logits_functions (trl.core): logits [2, 3, 5], labels [2, 3], temperature 0.7 applied by dividing
the logits BEFORE the call (TRL's PPOTrainer does not apply it inside these functions):
  logprobs      = trl.core.logprobs_from_logits(logits / T, labels)   log_softmax gathered
  logprobs_full = trl.core.logprobs_from_logits(logits / T, labels, gather=False)
  entropy       = trl.core.entropy_from_logits(logits / T) = logsumexp(z) - sum(softmax(z)*z)
"""
import inspect
import json
import math
import os
import re
import types

import torch
import torch.nn.functional as F
import transformers
import trl
import trl.trainer.ppo_trainer as ppo_module
from trl import PPOTrainer
from trl.core import entropy_from_logits, logprobs_from_logits, masked_mean, masked_var, masked_whiten
from trl.trainer.utils import AdaptiveKLController

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, "..", "data", "trl_ppo_refs.json"))
DTYPE = torch.float64
B, T, V = 4, 7, 5

MASKS = {
    "right": [[1, 1, 1, 1, 1, 1, 1],
              [1, 1, 1, 1, 1, 0, 0],
              [1, 1, 1, 0, 0, 0, 0],
              [1, 1, 1, 1, 1, 1, 0]],
    "left": [[1, 1, 1, 1, 1, 1, 1],
             [1, 1, 1, 1, 0, 0, 0],
             [0, 0, 1, 1, 1, 1, 1],
             [1, 1, 1, 1, 1, 1, 0]],
}


def q(t):
    """Multiples of 1/256: exact in float and double, short in JSON."""
    return torch.round(t * 256.0) / 256.0


def mask_tensor(name):
    return torch.tensor(MASKS[name], dtype=DTYPE)


def L(t):
    """Nested lists of doubles (or a plain double for a 0-d tensor)."""
    if isinstance(t, torch.Tensor):
        t = t.detach().to(torch.float64)
        return t.item() if t.dim() == 0 else t.tolist()
    return float(t)


def check_stub_fields(method, stub):
    """The stub must carry every self.<x> and self.config.<x> the method's source reads."""
    src = inspect.getsource(method)
    used_config = set(re.findall(r"self\.config\.(\w+)", src))
    used_self = set(re.findall(r"self\.(\w+)", src)) - {"config"}
    have_config = set(vars(stub.config))
    missing = used_config - have_config
    missing |= {a for a in used_self if not hasattr(stub, a)}
    assert not missing, (method.__name__, missing)
    extra = have_config - used_config
    return sorted(used_config), sorted(extra)


def make_stub(methods, config, kl_value=None):
    attrs = {m.__name__: m for m in methods}
    stub = type("PPOTrainerStub", (), attrs)()
    stub.config = types.SimpleNamespace(**config)
    if kl_value is not None:
        stub.kl_ctl = types.SimpleNamespace(value=kl_value)
    return stub


# ---------------------------------------------------------------------------------------- stats
def masked_stats_cases():
    torch.manual_seed(101)
    values = q(1.5 * torch.randn(B, T, dtype=DTYPE) + 0.5)
    cases = []
    for mname in MASKS:
        mask = mask_tensor(mname)
        n = mask.sum().item()
        biased = masked_var(values, mask, unbiased=False)
        unbiased = masked_var(values, mask, unbiased=True)
        # by hand
        vals = [v for v, m in zip(values.reshape(-1).tolist(), mask.reshape(-1).tolist()) if m]
        mu = sum(vals) / n
        vb = sum((v - mu) ** 2 for v in vals) / n
        assert abs(masked_mean(values, mask).item() - mu) < 1e-14
        assert abs(biased.item() - vb) < 1e-13 and abs(unbiased.item() - vb * n / (n - 1)) < 1e-13
        w = masked_whiten(values, mask, shift_mean=True)
        assert torch.allclose(w, (values - mu) / math.sqrt(vb * n / (n - 1) + 1e-8), atol=1e-13)
        cases.append({
            "name": f"masked_stats_{mname}",
            "mask_name": mname,
            "mask": L(mask),
            "values": L(values),
            "masked_mean": L(masked_mean(values, mask)),
            "masked_mean_axis1": L(masked_mean(values, mask, axis=1)),
            "masked_var_unbiased": L(unbiased),
            "masked_var_biased": L(biased),
            "masked_whiten_shift_mean": L(w),
            "masked_whiten_no_shift_mean": L(masked_whiten(values, mask, shift_mean=False)),
        })
    return cases


# ------------------------------------------------------------------------------------------ GAE
def gae_by_hand(values, rewards, mask, gamma, lam):
    v = (values * mask).tolist()
    r = (rewards * mask).tolist()
    out = []
    for b in range(len(v)):
        a, row = 0.0, [0.0] * T
        for t in reversed(range(T)):
            nxt = v[b][t + 1] if t < T - 1 else 0.0
            a = r[b][t] + gamma * nxt - v[b][t] + gamma * lam * a
            row[t] = a
        out.append(row)
    return torch.tensor(out, dtype=DTYPE)


def gae_cases():
    torch.manual_seed(202)
    values_in = q(torch.randn(B, T, dtype=DTYPE))
    rewards_in = q(0.5 * torch.randn(B, T, dtype=DTYPE))
    cases = []
    configs = [(1.0, 0.95, False, "right"), (1.0, 0.95, False, "left"),
               (0.99, 0.9, False, "right"), (0.99, 0.9, False, "left"),
               (1.0, 0.95, True, "left")]
    for gamma, lam, whiten_rewards, mname in configs:
        mask = mask_tensor(mname)
        stub = make_stub([], dict(gamma=gamma, lam=lam, whiten_rewards=whiten_rewards))
        check_stub_fields(PPOTrainer.compute_advantages, stub)
        values, advantages, returns = PPOTrainer.compute_advantages(stub, values_in, rewards_in, mask)

        # Un-whitened A: the same TRL call with the advantages' masked_whiten (shift_mean=True)
        # replaced by the identity; the rewards' masked_whiten (shift_mean=False) stays TRL's.
        real = ppo_module.masked_whiten
        ppo_module.masked_whiten = lambda x, m, shift_mean=True: x if shift_mean else real(x, m, shift_mean)
        try:
            _, adv_raw, returns2 = PPOTrainer.compute_advantages(stub, values_in, rewards_in, mask)
        finally:
            ppo_module.masked_whiten = real
        assert torch.equal(returns, returns2)
        assert torch.equal(returns, adv_raw + values)
        assert torch.equal(advantages, masked_whiten(adv_raw, mask))
        if not whiten_rewards:
            hand = gae_by_hand(values_in, rewards_in, mask, gamma, lam)
            assert torch.allclose(adv_raw, hand, atol=1e-14, rtol=0), (gamma, lam, mname)
        name = f"gae_gamma{gamma}_lam{lam}_{mname}" + ("_whiten_rewards" if whiten_rewards else "")
        cases.append({
            "name": name,
            "gamma": gamma,
            "lam": lam,
            "whiten_rewards": whiten_rewards,
            "mask_name": mname,
            "mask": L(mask),
            "values_in": L(values_in),
            "rewards_in": L(rewards_in),
            "values": L(values),
            "advantages": L(advantages),
            "advantages_unwhitened": L(adv_raw),
            "returns": L(returns),
        })
    return cases


# ------------------------------------------------------------------------------ compute_rewards
def compute_rewards_cases():
    kl_coef = 0.05
    torch.manual_seed(303)
    scores = q(torch.randn(B, dtype=DTYPE))
    logprobs = q(-3.0 * torch.rand(B, T, dtype=DTYPE))
    ref_logprobs = q(logprobs - 0.4 * torch.randn(B, T, dtype=DTYPE))
    policy_logits = torch.randn(B, T, V, dtype=DTYPE)
    ref_logits = policy_logits + 0.5 * torch.randn(B, T, V, dtype=DTYPE)
    full_logprobs = F.log_softmax(policy_logits, dim=-1)
    full_ref_logprobs = F.log_softmax(ref_logits, dim=-1)
    cases = []
    for kl_penalty in ["kl", "abs", "mse", "full"]:
        for mname in MASKS:
            mask = mask_tensor(mname)
            stub = make_stub([PPOTrainer._kl_penalty], dict(kl_penalty=kl_penalty), kl_value=kl_coef)
            check_stub_fields(PPOTrainer.compute_rewards, stub)
            check_stub_fields(PPOTrainer._kl_penalty, stub)
            lp, rlp = (full_logprobs, full_ref_logprobs) if kl_penalty == "full" else (logprobs, ref_logprobs)
            rewards, non_score, kls = PPOTrainer.compute_rewards(stub, scores, lp, rlp, mask)
            idx = [int(mask[b].nonzero()[-1]) for b in range(B)]
            # by hand
            d = lp - rlp
            k = {"kl": d, "abs": d.abs(), "mse": 0.5 * d * d,
                 "full": (lp.exp() * d).sum(-1)}[kl_penalty]
            assert torch.allclose(kls, k, atol=1e-15, rtol=0)
            expect = -kl_coef * k
            for b in range(B):
                expect[b, idx[b]] += scores[b]
            assert torch.allclose(rewards, expect, atol=1e-15, rtol=0)
            cases.append({
                "name": f"compute_rewards_{kl_penalty}_{mname}",
                "kl_penalty": kl_penalty,
                "kl_coef": kl_coef,
                "mask_name": mname,
                "scores": L(scores),
                "logprobs": L(lp),
                "ref_logprobs": L(rlp),
                "masks": L(mask),
                "score_index": idx,
                "rewards": L(rewards),
                "non_score_rewards": L(non_score),
                "kls": L(kls),
            })
    return cases


# ------------------------------------------------------------------------------------- PPO loss
def ppo_loss_cases():
    cfg = dict(cliprange=0.2, cliprange_value=0.2, vf_coef=0.1, ratio_threshold=10.0)
    torch.manual_seed(404)
    old_logprobs = q(-(0.2 + 2.8 * torch.rand(B, T, dtype=DTYPE)))
    logprobs_in = q(old_logprobs + 0.35 * torch.randn(B, T, dtype=DTYPE))
    values = q(torch.randn(B, T, dtype=DTYPE))
    vpreds_in = q(values + 0.35 * torch.randn(B, T, dtype=DTYPE))
    returns = q(values + torch.randn(B, T, dtype=DTYPE))
    advantages = q(torch.randn(B, T, dtype=DTYPE))
    logits = q(2.0 * torch.randn(B, T, V, dtype=DTYPE))
    cases = []
    for mname in MASKS:
        mask = mask_tensor(mname)

        def call(vf_coef):
            stub = make_stub([], dict(cfg, vf_coef=vf_coef))
            used, extra = check_stub_fields(PPOTrainer.loss, stub)
            assert not extra, extra
            lp = logprobs_in.clone().requires_grad_(True)
            vp = vpreds_in.clone().requires_grad_(True)
            out = PPOTrainer.loss(stub, old_logprobs, values, logits, vp, lp, mask, advantages, returns)
            return lp, vp, out

        lp, vp, (pg_loss, vf_scaled, stats) = call(cfg["vf_coef"])
        dpg = torch.autograd.grad(pg_loss, lp, retain_graph=True)[0]
        dvf_scaled = torch.autograd.grad(vf_scaled, vp)[0]
        lp1, vp1, (pg1, vf1, stats1) = call(1.0)
        dvf = torch.autograd.grad(vf1, vp1)[0]
        assert torch.equal(pg1, pg_loss) and torch.equal(vf1, stats["loss/value"])

        # by hand
        m = mask
        ratio = torch.exp(logprobs_in - old_logprobs)
        pg = torch.max(-advantages * ratio, -advantages * ratio.clamp(0.8, 1.2))
        assert abs(((pg * m).sum() / m.sum()).item() - pg_loss.item()) < 1e-14
        vclip = torch.max(torch.min(vpreds_in, values + 0.2), values - 0.2)
        vf = 0.5 * (torch.max((vpreds_in - returns) ** 2, (vclip - returns) ** 2) * m).sum() / m.sum()
        assert abs(vf.item() - stats["loss/value"].item()) < 1e-14
        assert abs(stats["policy/approxkl"].item()
                   - 0.5 * (((logprobs_in - old_logprobs) ** 2) * m).sum().item() / m.sum().item()) < 1e-14
        n_ratio_out = int((((ratio < 0.8) | (ratio > 1.2)).double() * m).sum())
        n_value_out = int((((vpreds_in < values - 0.2) | (vpreds_in > values + 0.2)).double() * m).sum())
        assert n_ratio_out > 0 and n_value_out > 0
        assert stats["policy/clipfrac"].item() > 0 and stats["val/clipfrac"].item() > 0
        print(f"  ppo_loss_{mname}: ratio outside clip {n_ratio_out}/{int(m.sum())}, "
              f"clipfrac {stats['policy/clipfrac'].item():.4f}, value outside clip {n_value_out}, "
              f"val/clipfrac {stats['val/clipfrac'].item():.4f}, mean ratio {masked_mean(ratio, m).item():.4f}")
        cases.append({
            "name": f"ppo_loss_{mname}",
            "config": cfg,
            "mask_name": mname,
            "mask": L(mask),
            "old_logprobs": L(old_logprobs),
            "values": L(values),
            "logits": L(logits),
            "vpreds": L(vpreds_in),
            "logprobs": L(logprobs_in),
            "advantages": L(advantages),
            "returns": L(returns),
            "pg_loss": L(pg_loss),
            "vf_loss": L(stats["loss/value"]),
            "vf_loss_scaled": L(vf_scaled),
            "loss_total": L(stats["loss/total"]),
            "stats": {k: L(v) for k, v in stats.items()},
            "dpg_loss_dlogprobs": L(dpg),
            "dvf_loss_dvpreds": L(dvf),
            "dvf_loss_scaled_dvpreds": L(dvf_scaled),
            "n_ratio_outside_clip": n_ratio_out,
            "n_value_outside_clip": n_value_out,
        })
    return cases


# ---------------------------------------------------------------------------------- adaptive KL
def adaptive_kl():
    ctl = AdaptiveKLController(0.2, 6, 10000)
    updates = [(1.0, 256), (10.0, 256), (6.0, 256), (100.0, 256), (0.0, 256), (5.0, 64)]
    out, value = [], 0.2
    for kl, n in updates:
        ctl.update(kl, n)
        e = min(max(kl / 6 - 1, -0.2), 0.2)
        value *= 1 + e * n / 10000
        assert abs(float(ctl.value) - value) < 1e-15
        out.append({"current_kl": kl, "n_steps": n, "value_after": float(ctl.value)})
    return {"init_kl_coef": 0.2, "target": 6.0, "horizon": 10000.0, "updates": out}


# ----------------------------------------------------------------------------- logits functions
def logits_functions():
    torch.manual_seed(505)
    logits = q(2.0 * torch.randn(2, 3, 5, dtype=DTYPE))
    labels = torch.randint(0, 5, (2, 3))
    temp = 0.7
    scaled = logits / temp
    lp = logprobs_from_logits(scaled, labels)
    ent = entropy_from_logits(scaled)
    p = F.softmax(scaled, -1)
    assert torch.allclose(ent, -(p * p.log()).sum(-1), atol=1e-14)
    return {
        "temperature": temp,
        "logits": L(logits),
        "labels": labels.tolist(),
        "logprobs": L(lp),
        "logprobs_full": L(logprobs_from_logits(scaled, labels, gather=False)),
        "entropy": L(ent),
    }


def main():
    torch.set_num_threads(1)
    print(f"trl {trl.__version__}, transformers {transformers.__version__}, torch {torch.__version__}")
    doc = {
        "trl_version": trl.__version__,
        "torch_version": torch.__version__,
        "transformers_version": transformers.__version__,
        "dtype": "float64",
        "notes": [
            "see tests/reference/make_trl_ppo_refs.py's docstring for the TRL function behind each field",
            "masked_var unbiased: times n/(n-1), n = mask.sum() over the whole tensor",
            "masked_whiten: (x - mean) * rsqrt(var_unbiased + 1e-8), masked positions not zeroed",
            "compute_advantages masks values and rewards first; returns = unwhitened A + values",
            "compute_rewards adds the score at mask[b].nonzero()[-1]; non_score_rewards at every position",
            "ppo loss: vf_loss has the 0.5 factor; TRL's 2nd return value is vf_coef * vf_loss",
        ],
        "masks": {k: [[float(x) for x in row] for row in v] for k, v in MASKS.items()},
        "masked_stats": masked_stats_cases(),
        "gae": gae_cases(),
        "compute_rewards": compute_rewards_cases(),
        "ppo_loss": ppo_loss_cases(),
        "adaptive_kl": adaptive_kl(),
        "logits_functions": logits_functions(),
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print("wrote", os.path.relpath(OUT), os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
