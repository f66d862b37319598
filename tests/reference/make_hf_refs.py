#!/usr/bin/env python3
"""Reference checkpoints and logits from Hugging Face transformers, for tests/unit/test_checkpoint.cpp.

The two directions of checkpoint compatibility, each with transformers' own fp32 logits:

  (a) transformers -> rlhf++: a tiny GPT2LMHeadModel (vocab 64, context 16, width 32, 2 layers,
      4 heads; seeded random weights, LayerNorm gains and biases perturbed away from 1 and 0, so a
      swapped or ignored tensor shows) saved with save_pretrained(safe_serialization=True):
        tests/data/hf_tiny_gpt2/                 config.json, model.safetensors, generation_config.json
        tests/data/hf_tiny_gpt2_logits.json      its logits for a fixed batch of ids
  (b) rlhf++ -> transformers: the checkpoint that rlhf::io::save_gpt writes for the model of
      tests/reference/our_tiny_gpt2.hpp, loaded with GPT2LMHeadModel.from_pretrained:
        tests/data/ours_tiny_gpt2/               written by the C++ program rlhf_write_our_checkpoint
        tests/data/ours_tiny_gpt2_hf_logits.json transformers' logits for it

The unit tests load (a) and compare logits, and rebuild (b) from its seed, check that save_gpt
still writes exactly the committed bytes and that our logits equal transformers'. So the test suite
needs no PyPI package; only this script does. Run it in a virtual environment outside the repo
(Debian's python3-torch 1.13 serves as torch; transformers 4.36.2 is the last to support it well):

    /usr/bin/python3 -m venv --system-site-packages /tmp/venv-hf
    /tmp/venv-hf/bin/pip install 'transformers==4.36.2' safetensors
    cmake --build build --target rlhf_write_our_checkpoint
    /tmp/venv-hf/bin/python tests/reference/make_hf_refs.py --writer build/tests/rlhf_write_our_checkpoint

Without --writer, (b) loads the committed tests/data/ours_tiny_gpt2 as it is.
Logits are stored as {"ids": [[...]], "shape": [B, T, V], "logits": [flat row-major floats]}.
"""
import argparse
import json
import os
import shutil
import subprocess

import torch
import transformers
from safetensors.torch import load_file
from transformers import GPT2Config, GPT2LMHeadModel

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.normpath(os.path.join(HERE, "..", "data"))


def fixed_ids(vocab_size, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, vocab_size, (2, 10), generator=g)


def write_logits(path, ids, logits):
    logits = logits.detach().to(torch.float32)
    doc = {
        "ids": ids.tolist(),
        "shape": list(logits.shape),
        # 9 significant digits round-trip a float32 exactly.
        "logits": [float("%.9g" % v) for v in logits.reshape(-1).tolist()],
        "transformers": transformers.__version__,
        "torch": torch.__version__,
    }
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print("wrote", os.path.relpath(path), tuple(logits.shape))


def make_hf_checkpoint():
    torch.manual_seed(1234)
    config = GPT2Config(vocab_size=64, n_positions=16, n_embd=32, n_layer=2, n_head=4,
                        initializer_range=0.2,  # logits of order 1, so 1e-4 is a tight bound
                        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                        bos_token_id=63, eos_token_id=63)
    model = GPT2LMHeadModel(config).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(".bias"):
                p.copy_(0.1 * torch.randn_like(p))
            elif ".ln_" in name or name.startswith("transformer.ln_f"):
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
    out = os.path.join(DATA, "hf_tiny_gpt2")
    shutil.rmtree(out, ignore_errors=True)
    model.save_pretrained(out, safe_serialization=True)
    print("wrote", os.path.relpath(out), sorted(os.listdir(out)))
    print("  tensors:", list(load_file(os.path.join(out, "model.safetensors")).keys())[:4], "...")

    ids = fixed_ids(config.vocab_size, 7)
    with torch.no_grad():
        logits = model(ids).logits
    write_logits(os.path.join(DATA, "hf_tiny_gpt2_logits.json"), ids, logits)


def load_our_checkpoint(writer):
    out = os.path.join(DATA, "ours_tiny_gpt2")
    if writer:
        shutil.rmtree(out, ignore_errors=True)
        subprocess.run([writer, out], check=True)
    model, info = GPT2LMHeadModel.from_pretrained(out, output_loading_info=True)
    model.eval()
    # Every tensor of the file must have been used and every parameter of the model loaded.
    problems = {k: v for k, v in info.items() if v}
    if problems:
        raise SystemExit(f"transformers did not load {out} cleanly: {problems}")
    stored = load_file(os.path.join(out, "model.safetensors"))
    for name, p in model.transformer.named_parameters():
        if not torch.equal(p.detach(), stored[name]):
            raise SystemExit(f"transformers holds a different {name} than {out}/model.safetensors")
    if not torch.equal(model.lm_head.weight, model.transformer.wte.weight):
        raise SystemExit("lm_head is not tied to wte")

    ids = fixed_ids(model.config.vocab_size, 11)
    with torch.no_grad():
        logits = model(ids).logits
    write_logits(os.path.join(DATA, "ours_tiny_gpt2_hf_logits.json"), ids, logits)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writer", help="the rlhf_write_our_checkpoint program; rewrites tests/data/ours_tiny_gpt2")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"transformers {transformers.__version__}, torch {torch.__version__}")
    make_hf_checkpoint()
    load_our_checkpoint(args.writer)


if __name__ == "__main__":
    main()
