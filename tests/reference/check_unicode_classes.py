#!/usr/bin/env python3
"""Checks include/rlhf/data/unicode_tables.hpp against Hugging Face `tokenizers` on every code
point: the class (letter, number, space, other) each one has in GPT-2's pre-tokenisation pattern,
as the ByteLevel pre-tokenizer's regex engine sees it. Prints the code points that differ.

  /tmp/venv-tok/bin/python tests/reference/check_unicode_classes.py   (about 30 s)

A code point c is classed by which neighbour it joins in one piece: c + "a" (letter run),
c + "1" (number run), c + "!" (run of other), c + "\\t" (whitespace run). The ASCII space joins
all four (it may lead a word) and is space.
"""
import pathlib
import re
import sys

from tokenizers import pre_tokenizers

ROOT = pathlib.Path(__file__).resolve().parents[2]


def table():
    text = (ROOT / "include/rlhf/data/unicode_tables.hpp").read_text()
    version = re.search(r'unicode_tables_version = "([^"]+)"', text).group(1)
    cls = {}
    for first, last, c in re.findall(r"\{0x([0-9A-F]+), 0x([0-9A-F]+), ([LNS])\}", text):
        for cp in range(int(first, 16), int(last, 16) + 1):
            cls[cp] = c
    return version, cls


def main():
    version, ours = table()
    pt = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    joins = lambda s: len(pt.pre_tokenize_str(s)) == 1
    diffs = []
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:  # surrogates are not text
            continue
        c = chr(cp)
        if cp == 0x20:
            hf = "S"
        else:
            hf = "".join(k for k, n in (("L", "a"), ("N", "1"), ("O", "!"), ("S", "\t")) if joins(c + n))
        if hf != ours.get(cp, "O"):
            diffs.append((cp, hf, ours.get(cp, "O")))
    for cp, hf, mine in diffs[:50]:
        print(f"U+{cp:04X}: tokenizers {hf!r}, unicode_tables.hpp {mine!r}")
    print(f"Unicode {version} tables: {len(diffs)} code points differ from tokenizers")
    sys.exit(1 if diffs else 0)


if __name__ == "__main__":
    main()
