#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets: tests/fuzz/corpus/<target>/<seed>.

Run from anywhere: python3 tests/fuzz/make_corpus.py. Deterministic; reruns rewrite the same
files (and leave alone any other seed in the folders, e.g. inputs kept from long runs). Seeds
are small and mostly valid, so that the fuzzer starts from inputs that reach deep into each
parser; a few are invalid in one way each.
"""
import json
import math
import shutil
import struct
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CORPUS = HERE / "corpus"


def put(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    (d / name).write_bytes(data)


def first_lines(path, n):
    with open(path, "rb") as f:
        return b"".join(f.readline() for _ in range(n))


# --- safetensors ----------------------------------------------------------------------------
DTYPE = {"F32": ("<f", 4), "F64": ("<d", 8), "F16": ("<e", 2), "I32": ("<i", 4), "I64": ("<q", 8),
         "U8": ("<B", 1), "I8": ("<b", 1), "I16": ("<h", 2), "U16": ("<H", 2), "U32": ("<I", 4),
         "U64": ("<Q", 8), "BOOL": ("<?", 1)}


def safetensors(tensors, metadata=None, pad=True):
    """tensors: [(name, dtype, shape, raw bytes)] in file order."""
    header, offset, data = {}, 0, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def values(dtype, shape, start=0.0):
    n = math.prod(shape)
    if dtype == "BF16":
        return b"".join(struct.pack("<f", start + i * 0.5)[2:] for i in range(n))
    fmt, _ = DTYPE[dtype]
    if fmt[1] in "fde":
        return b"".join(struct.pack(fmt, start + i * 0.25) for i in range(n))
    if fmt[1] == "?":
        return bytes(i % 2 for i in range(n))
    return b"".join(struct.pack(fmt, i % 100) for i in range(n))


def make_safetensors():
    t = "safetensors"
    put(t, "empty_header", safetensors([], metadata=None))
    put(t, "metadata_only", safetensors([], metadata={"format": "pt"}))
    put(t, "f32_2x3", safetensors([("w", "F32", [2, 3], values("F32", [2, 3]))], {"format": "pt"}))
    put(t, "scalar_and_empty", safetensors([("s", "F32", [], values("F32", [])),
                                            ("z", "F32", [0, 4], b""),
                                            ("e", "F16", [0], b"")]))
    put(t, "all_dtypes", safetensors([(d.lower(), d, [3], values(d, [3])) for d in
                                      ["F16", "BF16", "F32", "F64", "I8", "U8", "I16", "U16", "I32", "U32", "I64",
                                       "U64", "BOOL"]] + [("f8", "F8_E4M3", [2], b"\x01\x02"),
                                                          ("f8b", "F8_E5M2", [2], b"\x03\x04")],
                                     {"format": "pt", "note": "every dtype"}))
    put(t, "gpt2_like", safetensors([("wte.weight", "F32", [5, 4], values("F32", [5, 4])),
                                     ("wpe.weight", "F32", [3, 4], values("F32", [3, 4], 1.0)),
                                     ("h.0.ln_1.weight", "F16", [4], values("F16", [4])),
                                     ("h.0.ln_1.bias", "BF16", [4], values("BF16", [4]))], {"format": "pt"}))
    put(t, "unpadded_header", safetensors([("a", "F64", [2], values("F64", [2]))], pad=False))
    # Invalid in one way each: overlap, gap, bytes left over, truncated data.
    ok = safetensors([("a", "F32", [2], values("F32", [2])), ("b", "F32", [2], values("F32", [2]))])
    hdr = {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
           "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}
    text = json.dumps(hdr).encode()
    put(t, "bad_overlap", struct.pack("<Q", len(text)) + text + bytes(12))
    put(t, "bad_trailing", ok + b"\0\0\0\0")
    put(t, "bad_truncated", ok[:-3])
    # The real thing: a tiny GPT-2 written by this library (tests/data), if small.
    for real in ["tests/data/ours_tiny_gpt2/model.safetensors", "tests/data/hf_tiny_gpt2/model.safetensors"]:
        p = ROOT / real
        if p.exists() and p.stat().st_size <= 64 * 1024:
            put(t, "real_" + p.parent.name, p.read_bytes())


# --- config.json ----------------------------------------------------------------------------
def make_gpt2_config():
    t = "gpt2_config"
    for d in ["ours_tiny_gpt2", "hf_tiny_gpt2"]:
        put(t, d + "_config.json", (ROOT / "tests/data" / d / "config.json").read_bytes())
    put(t, "minimal.json", '{"vocab_size": 50, "n_positions": 12, "n_embd": 8, "n_layer": 1, "n_head": 2}')
    put(t, "n_ctx.json", '{"vocab_size": 257, "n_ctx": 64, "n_embd": 16, "n_layer": 2, "n_head": 4,'
                         ' "n_inner": 64, "activation_function": "gelu_pytorch_tanh", "model_type": "gpt2"}')
    put(t, "gpt2_small.json", json.dumps({
        "model_type": "gpt2", "vocab_size": 50257, "n_positions": 1024, "n_embd": 768, "n_layer": 12,
        "n_head": 12, "layer_norm_epsilon": 1e-05, "initializer_range": 0.02, "n_inner": None,
        "tie_word_embeddings": True, "scale_attn_weights": True, "scale_attn_by_inverse_layer_idx": False,
        "add_cross_attention": False, "bos_token_id": 50256, "eos_token_id": 50256}, indent=1))
    put(t, "bad_duplicate.json", '{"vocab_size": 50, "n_positions": 12, "n_embd": 8, "n_layer": 1, '
                                 '"n_head": 2, "n_head": 4}')
    put(t, "bad_activation.json", '{"vocab_size": 50, "n_positions": 12, "n_embd": 8, "n_layer": 1, '
                                  '"n_head": 2, "activation_function": "relu", "n_inner": 31}')


# --- JSONL ----------------------------------------------------------------------------------
def make_jsonl():
    t = "jsonl"
    fortunes = ROOT / "data/fortunes"
    put(t, "sft_prompt_completion.jsonl", first_lines(fortunes / "train.jsonl", 4))
    put(t, "sft_text.jsonl", first_lines(fortunes / "train_text.jsonl", 4))
    put(t, "prompts.jsonl", first_lines(fortunes / "prompts.jsonl", 6))
    put(t, "sft_eos_blank_crlf.jsonl",
        '{"prompt": "Hi", "completion": " there<|endoftext|>"}\r\n\r\n   \n'
        '{"prompt": "", "completion": "x"}\n{"completion": "\\u00e9t\\u00e9 \\ud83d\\ude00", "prompt": "q"}\n')
    put(t, "sft_long.jsonl", json.dumps({"prompt": "p" * 70, "completion": "c"}) + "\n" +
        json.dumps({"text": "t" * 80}) + "\n")
    put(t, "pairwise.jsonl",
        '{"prompt": "The movie was", "chosen": " wonderful.", "rejected": " awful."}\n'
        '{"prompt": "Q: 2+2?", "chosen": " 4", "rejected": " 5", "margin": 1.5}\n'
        '{"prompt": "x", "chosen": "a", "rejected": "b", "margin": null}\n')
    put(t, "kwise.jsonl",
        '{"prompt": "Say", "completions": [" yes", " no", " maybe"], "ranking": [1, 3, 2]}\n'
        '{"prompt": "", "completions": ["a", "b"], "ranking": [2, 1]}\n'
        '{"prompt": "tie", "completions": ["a", "b", "c", "d"], "ranking": [1, 1, 2, 2]}\n')
    put(t, "bad_mixed.jsonl",
        '{"prompt": "a", "chosen": "b", "rejected": "c"}\n'
        '{"prompt": "a", "completions": ["b", "c"], "ranking": [1, 2]}\n')
    put(t, "bad_fields.jsonl", '{"prompt": "a", "complete": "b"}\n{"prompt": 3}\n[1, 2]\n{"prompt": "a"\n')


# --- pipeline config ------------------------------------------------------------------------
def make_pipeline_config():
    t = "pipeline_config"
    put(t, "default.json", (ROOT / "configs/default.json").read_bytes())
    put(t, "pipeline_tiny.json", (ROOT / "tests/cli/pipeline_tiny.json").read_bytes())
    base = json.loads((ROOT / "tests/cli/pipeline_tiny.json").read_text())
    v = json.loads(json.dumps(base))
    v["tokenizer"] = "gpt2:../data/gpt2"
    v["model"] = {"checkpoint": "runs/base"}
    v["data"]["ptx"] = "ptx.jsonl"
    v["ppo"].update({"ptx_coef": 0.5, "kl_estimator": "k3", "adaptive_kl": True, "kl_target": 6.0,
                     "whiten_rewards": True, "top_k": 5, "top_p": 0.9})
    v["labeler"].update({"dictionary_weight": 1.5, "distinct_weight": 0.5, "empty_score": -1.0})
    v["plots"] = False
    put(t, "gpt2_checkpoint_ptx.json", json.dumps(v, indent=1))
    put(t, "minimal.json", json.dumps({"data": {"sft": "s.jsonl", "collect_prompts": "c.jsonl",
                                                "ppo_prompts": "p.jsonl", "eval_prompts": "e.jsonl"},
                                       "labeler": {"afinn": "/abs/afinn.tsv"}}))
    put(t, "bad_unknown_key.json", json.dumps({"data": {"sft": "s"}, "ppo": {"kl_cof": 0.1}}))


# --- trainer_state.json ---------------------------------------------------------------------
def make_trainer_state():
    t = "trainer_state"
    put(t, "sft_state.json", json.dumps({"step": 3, "optimizer_steps": 3, "data_epoch": 0, "data_index": 48,
                                         "seed": 0, "train_examples": 100, "validation_examples": 5}, indent=1) + "\n")
    put(t, "ppo_state.json", json.dumps({"iteration": 7, "kl_coef": 0.29, "policy_optimizer_steps": 28,
                                         "value_optimizer_steps": 28, "data_epoch": 1, "data_index": 12,
                                         "ptx_epoch": 0, "ptx_index": 0, "seed": 0, "train_examples": 100}, indent=1))
    put(t, "minimal.json", '{"step": 0, "seed": 0, "train_examples": 100}')
    put(t, "bad_seed.json", '{"step": 1, "seed": 18446744073709551615, "train_examples": 100}')
    put(t, "bad_types.json", '{"step": 1.0, "seed": -1, "train_examples": "100"}')


# --- GPT-2 BPE ------------------------------------------------------------------------------
def make_bpe():
    t = "bpe"
    texts = {
        "en.txt": "Hello, world! It's a test: don't we'll they've I'm 12345 3.14 $100.\n  Two  spaces\tand tabs.",
        "de.txt": "Größenwahn über Äpfel und Öl; Straße, Fußgänger.",
        "fr.txt": "L'été à Paris : « ça va ? » — oui, très bien.",
        "ru.txt": "Съешь же ещё этих мягких французских булок, да выпей чаю.",
        "zh.txt": "我能吞下玻璃而不伤身体。机器学习与人类反馈强化学习",
        "ja.txt": "私はガラスを食べられます。それは私を傷つけません。カタカナ",
        "ar_he_hi.txt": "أنا قادر على أكل الزجاج  אני יכול לאכול זכוכית  मैं काँच खा सकता हूँ",
        "emoji.txt": "👍🏽 family: 👨‍👩‍👧‍👦 flags 🇩🇪🇯🇵 ✨\u200b\ufeff",
        "code.txt": "int main() {\n    return x->y[0] ** 2; // comment\n}\r\n",
        "special.txt": "a<|endoftext|>b<|endoftext|><|endoftext|><|endoftext",
        "whitespace.txt": "   \n\n\t \u00a0\u3000 x  \n",
    }
    for name, s in texts.items():
        put(t, name, s)
    put(t, "invalid_utf8.bin", b"ok \x80\xbf lone, \xc3 cut, \xe2\x82 cut3, \xf0\x9f\x98 cut4, "
                               b"\xc0\xaf overlong, \xed\xa0\x80 surrogate, \xf5\xff\xfe bad, \x00 nul")
    put(t, "bytes.bin", bytes(range(256)))


def main():
    make_safetensors()
    make_gpt2_config()
    make_jsonl()
    make_pipeline_config()
    make_trainer_state()
    make_bpe()
    total = sum(p.stat().st_size for p in CORPUS.rglob("*") if p.is_file())
    print(f"{CORPUS}: {sum(1 for p in CORPUS.rglob('*') if p.is_file())} seeds, {total} bytes")


if __name__ == "__main__":
    main()
