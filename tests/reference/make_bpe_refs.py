#!/usr/bin/env python3
"""Reference tokenisation for tests/unit/test_tokenizers.cpp: GPT-2's byte-level BPE as Hugging
Face's `tokenizers` computes it, with GPT-2's own files (data/gpt2/vocab.json, merges.txt).

  python3 -m venv /tmp/venv-tok && /tmp/venv-tok/bin/pip install tokenizers
  /tmp/venv-tok/bin/python tests/reference/make_bpe_refs.py extract   # the texts (optional)
  /tmp/venv-tok/bin/python tests/reference/make_bpe_refs.py ids       # the reference ids

`extract` copies whole fortune-cookie entries from Debian's fortunes packages (apt-get install
fortunes fortunes-min fortunes-it fortunes-es fortunes-eo) into
tests/data/bpe/<lang>.txt, byte for byte (tests/data/bpe/README.md: sources and licences).
`ids` tokenises each text as one string and writes <lang>.ids (whitespace-separated ids), and
tokenises the hand-picked edge cases below into edge_cases.json.
"""
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests/data/bpe"
FORTUNES = pathlib.Path("/usr/share/games/fortunes")

# name -> (fortune files, in order; byte budget). Whole entries are taken until the budget.
CORPORA = {
    "en": (["fortunes", "wisdom", "literature"], 150_000),  # fortunes-min, fortunes (BSD)
    "it": (["it/paolotedeschi"], 40_000),                   # fortunes-it (public domain)
    "es": (["es/sabiduria.fortunes"], 40_000),              # fortunes-es (quotes: public domain)
    "eo": (["eo/proverbaro"], 25_000),                      # fortunes-eo (Zamenhof, public domain)
}

EOT = "<|endoftext|>"

# (text, how special tokens are treated): "parse" = <|endoftext|> is id 50256, "as_text" = plain text.
EDGE_CASES = [
    ("", "parse"),
    (" ", "parse"),
    ("a", "parse"),
    ("Hello world", "parse"),
    (" Hello world", "parse"),
    ("I'm sure we'll see they've done it, didn't you? I'd say it's John's.", "parse"),
    ("'s 't 're 've 'm 'll 'd", "parse"),
    ("'S 'T 'RE 'VE 'M 'LL 'D I'M WE'LL", "parse"),
    ("''s '''re rock'n'roll 'tis o'clock", "parse"),
    ("it's", "parse"),
    ("'", "parse"),
    ("'l 'r 'v", "parse"),
    ("a  b   c    d", "parse"),
    ("trailing spaces   ", "parse"),
    ("   leading spaces", "parse"),
    ("tab\tseparated\t\tvalues\t", "parse"),
    ("line one\nline two\n\nline four\n", "parse"),
    ("windows\r\nline\r\n\r\nends\r\n", "parse"),
    ("mixed \t\n \r\n  \t x", "parse"),
    ("\n\n\n", "parse"),
    (" \n", "parse"),
    ("\u00a0nbsp\u00a0 \u2003em\u3000ideographic\u2028line\u2029para\u0085nel\u000b\u000c", "parse"),
    ("digits 0 12 345 6789 1234567890 3.14159 1,000,000 -42 +7 1e10", "parse"),
    ("phone: 555-0100, year 2024, version v1.2.3", "parse"),
    ("superscripts x\u00b2 \u00bd \u2162 \u0663\u0664 \u0968 \uff11\uff12", "parse"),
    ("emoji 😀😃 👍🏽 👨‍👩‍👧‍👦 🇩🇪 ❤️ 🎉!", "parse"),
    ("CJK 你好，世界！ 日本語のテキスト 한국어 텍스트", "parse"),
    ("combining e\u0301 a\u0308 n\u0303 \u0915\u094d\u0937 \u05e9\u05c1\u05b8", "parse"),
    ("mixed scripts: Straße, naïve café, Ελληνικά, русский, עברית, العربية, हिन्दी, ไทย", "parse"),
    ("punctuation!!! ??? ... --- (parens) [brackets] {braces} <angles> @#$%^&*_=+|\\/~`", "parse"),
    ("quotes “curly” ‘single’ «guillemets» „low“", "parse"),
    ("code: for (int i = 0; i < n; ++i) { x[i] += y[i]; }", "parse"),
    ("url https://example.com/path?q=1&r=two#frag email a.b@c.org", "parse"),
    ("control \x00\x01\x07\x1b[31mred\x1b[0m \x7f", "parse"),
    (EOT, "parse"),
    (EOT + EOT, "parse"),
    ("Hello" + EOT + " world", "parse"),
    ("end of text." + EOT, "parse"),
    (EOT + "The start", "parse"),
    ("a <|endoftext|> b", "parse"),
    ("<|endoftext|", "parse"),
    ("<|endoftext|>", "as_text"),
    ("Hello<|endoftext|> world", "as_text"),
    ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "parse"),
    ("supercalifragilisticexpialidocious antidisestablishmentarianism", "parse"),
    ("=" * 40 + " " + "-" * 33, "parse"),
    ("                                                                x", "parse"),
    ("é" * 30 + "中" * 30, "parse"),
]


def extract():
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (files, budget) in CORPORA.items():
        text = b""
        for f in files:
            data = (FORTUNES / f).read_bytes()
            # Whole entries: cut after a "%" line once the budget is reached.
            pos = 0
            while pos < len(data) and len(text) < budget:
                nl = data.find(b"\n", pos)
                nl = len(data) - 1 if nl < 0 else nl
                line = data[pos:nl + 1]
                text += line
                pos = nl + 1
                if line.rstrip(b"\r\n") == b"%" and len(text) >= budget:
                    break
            if len(text) >= budget:
                break
        text.decode("utf-8")  # HF's tokenizers take only valid UTF-8
        (OUT / f"{name}.txt").write_bytes(text)
        print(f"{name}.txt: {len(text)} bytes from {', '.join(files)}")


def tokenizer(parse_specials):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    tok = Tokenizer(models.BPE.from_file(str(ROOT / "data/gpt2/vocab.json"), str(ROOT / "data/gpt2/merges.txt")))
    # GPT-2's tokenizer.json: ByteLevel pre-tokenizer without a prefix space, GPT-2's regex.
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    if parse_specials:
        tok.add_special_tokens([EOT])
    return tok


def ids():
    import tokenizers
    parse, as_text = tokenizer(True), tokenizer(False)
    assert parse.token_to_id(EOT) == 50256
    total_bytes = total_tokens = 0
    for name in CORPORA:
        text = (OUT / f"{name}.txt").read_bytes().decode("utf-8")
        enc = parse.encode(text).ids
        assert parse.decode(enc) == text
        lines = [" ".join(map(str, enc[i:i + 20])) for i in range(0, len(enc), 20)]
        (OUT / f"{name}.ids").write_text("\n".join(lines) + "\n")
        total_bytes += len(text.encode("utf-8"))
        total_tokens += len(enc)
        print(f"{name}.ids: {len(enc)} tokens for {len(text.encode('utf-8'))} bytes")
    cases = []
    for text, mode in EDGE_CASES:
        tok = parse if mode == "parse" else as_text
        cases.append({"text": text, "specials": mode, "ids": tok.encode(text).ids})
    doc = {
        "made_by": f"tests/reference/make_bpe_refs.py with tokenizers {tokenizers.__version__}",
        "cases": cases,
    }
    (OUT / "edge_cases.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n")
    print(f"edge_cases.json: {len(cases)} cases; texts: {total_tokens} tokens for {total_bytes} bytes")


if __name__ == "__main__":
    if sys.argv[1:] == ["extract"]:
        extract()
    elif sys.argv[1:] == ["ids"]:
        ids()
    else:
        sys.exit(__doc__)
