"""Reference values for rlhf::optim::AdamW from torch.optim.AdamW.

Run with Debian's PyTorch (python3-torch):  /usr/bin/python3 tests/reference/make_optim_refs.py
Writes tests/data/adamw_refs.json: five AdamW steps on two tensors, one with weight decay and
one without, with the gradients given at every step.
"""
import json
import math
import pathlib

import torch

torch.manual_seed(0)
decayed = torch.nn.Parameter(torch.tensor([1.0, -2.0, 0.5, 3.0], dtype=torch.float64))
plain = torch.nn.Parameter(torch.tensor([0.25, -0.75, 1.5], dtype=torch.float64))
init = [decayed.detach().tolist(), plain.detach().tolist()]
opt = torch.optim.AdamW(
    [{"params": [decayed], "weight_decay": 0.1}, {"params": [plain], "weight_decay": 0.0}],
    lr=0.05, betas=(0.9, 0.95), eps=1e-8)
steps = []
for t in range(5):
    lr = 0.05 * (t + 1) / 5  # a changing learning rate, as under a schedule
    for group in opt.param_groups:
        group["lr"] = lr
    g1 = [math.sin(1.3 * t + i) for i in range(4)]
    g2 = [math.cos(0.7 * t - i) * 0.1 for i in range(3)]
    decayed.grad = torch.tensor(g1, dtype=torch.float64)
    plain.grad = torch.tensor(g2, dtype=torch.float64)
    opt.step()
    steps.append({"lr": lr, "grads": [g1, g2],
                  "params": [decayed.detach().tolist(), plain.detach().tolist()]})
out = {"torch_version": torch.__version__, "betas": [0.9, 0.95], "eps": 1e-8, "weight_decay": 0.1,
       "init": init, "steps": steps}
path = pathlib.Path(__file__).resolve().parents[1] / "data" / "adamw_refs.json"
path.parent.mkdir(exist_ok=True)
path.write_text(json.dumps(out, indent=1) + "\n")
print("wrote", path)
