#!/usr/bin/env python3
"""Regenerates data/fortunes/ from Debian's fortune files (python3 standard library only).

    sudo apt-get install fortunes fortunes-min      # Debian 12: 1:1.99.1-7.3
    python3 data/fortunes/make_fortunes.py [--src /usr/share/games/fortunes] [--out data/fortunes]

Reads the fortune files listed in SOURCES (see README.md for why these and not the others),
splits them into entries at lines holding a single "%", cleans and filters the entries, drops
duplicates, orders them by a seeded hash (the same order on every machine and Python version),
splits them 90/5/5 and writes:

    train.jsonl, validation.jsonl, test.jsonl   {"prompt": first 3 words, "completion": " " + the rest}
    train_text.jsonl                            {"text": ...}, the entries of train.jsonl
    prompts.jsonl                               {"prompt": ...}, the prompts of test.jsonl

The output is the same bytes on every run. Prints what it kept and dropped.
"""

import argparse
import hashlib
import json
import os
import re
import sys
from collections import Counter

# The fortune files used, all from the original BSD fortune database (the fortune-mod
# reorganisation listed in /usr/share/doc/fortunes/cookie-files.gz). fortunes-min ships
# fortunes, literature and riddles; fortunes ships the rest.
SOURCES = [
    "art", "computers", "cookie", "definitions", "drugs", "education", "food", "fortunes",
    "goedel", "humorists", "kids", "law", "linuxcookie", "literature", "love", "magic",
    "medicine", "men-women", "miscellaneous", "news", "people", "pets", "platitudes",
    "politics", "riddles", "science", "sports", "wisdom", "work",
]
# Installed but not used (README.md gives the reasons).
EXCLUDED = [
    "ascii-art", "translate-me",                                   # not English prose
    "songs-poems", "startrek", "zippy", "tao", "pratchett",        # whole works / one copyrighted work
    "debian", "knghtbrd", "linux", "paradoxum", "perl", "disclaimer",  # later additions, no licence of their own
    "ethnic",                                                      # content: jokes about ethnic groups
]

SEED = 20240601
MIN_CHARS = 20
MAX_CHARS = 300
PROMPT_WORDS = 3
VAL_FRACTION = 0.05
TEST_FRACTION = 0.05

ALLOWED = re.compile(r"^[\x20-\x7e]*$")  # printable ASCII after whitespace is collapsed
ART = re.compile(r"([-=_|<>#*~+/\\^])\1{3,}")  # "=====", "||||", "----", "<<<<": drawings and rulers


def entries(path):
    """The entries of one fortune file: the text between lines that hold a single '%'."""
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        text = raw.decode("utf-8", errors="replace")  # entries with non-ASCII are dropped below
    current = []
    for line in text.split("\n"):
        if line.rstrip("\r") == "%":
            yield "\n".join(current)
            current = []
        else:
            current.append(line)
    yield "\n".join(current)


def clean(entry):
    """One line of text: the entry's lines stripped and joined with single spaces.

    The files wrap lines at ~72 columns, so a line break is almost never meaningful; joined,
    an attribution reads "... text. -- Author, "Title"". Tabs, runs of spaces and the
    indentation all become one space.
    """
    lines = [" ".join(line.split()) for line in entry.split("\n")]
    return " ".join(line for line in lines if line)


def reason_to_drop(text):
    if not text:
        return "empty"
    if not ALLOWED.match(text):
        return "non-ASCII or control characters"
    if len(text) < MIN_CHARS:
        return f"shorter than {MIN_CHARS} characters"
    if len(text) > MAX_CHARS:
        return f"longer than {MAX_CHARS} characters"
    if ART.search(text):
        return "drawing or ruler (a run of one punctuation character)"
    if sum(c.isalpha() or c == " " for c in text) < 0.75 * len(text):
        return "less than 75% letters and spaces (code, numbers, symbols)"
    if len(text.split(" ")) <= PROMPT_WORDS:
        return f"{PROMPT_WORDS} words or fewer"
    return None


def dedup_key(text):
    """Case-insensitive, punctuation- and spacing-insensitive."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


def order_key(text):
    return hashlib.sha256(f"{SEED}:{text}".encode("ascii")).hexdigest()


def write_jsonl(path, records):
    with open(path, "w", encoding="ascii", newline="\n") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=True) + "\n")
    return os.path.getsize(path)


def split_record(text):
    words = text.split(" ")
    prompt = " ".join(words[:PROMPT_WORDS])
    completion = " " + " ".join(words[PROMPT_WORDS:])
    assert prompt + completion == text
    return {"prompt": prompt, "completion": completion}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src", default="/usr/share/games/fortunes", help="the installed fortune files")
    ap.add_argument("--out", default=here, help="output directory (default: this script's)")
    args = ap.parse_args()

    missing = [s for s in SOURCES if not os.path.isfile(os.path.join(args.src, s))]
    if missing:
        sys.exit(f"make_fortunes.py: {args.src}: missing {', '.join(missing)} "
                 "(apt-get install fortunes fortunes-min)")

    kept = {}  # dedup key -> text (first seen, in SOURCES order)
    dropped = Counter()
    per_source = []
    for name in SOURCES:
        n_in = n_kept = 0
        for entry in entries(os.path.join(args.src, name)):
            text = clean(entry)
            if not text:
                continue  # the empty piece before a leading "%" or after the last one
            n_in += 1
            why = reason_to_drop(text)
            if why is None and dedup_key(text) in kept:
                why = "duplicate"
            if why is not None:
                dropped[why] += 1
                continue
            kept[dedup_key(text)] = text
            n_kept += 1
        per_source.append((name, n_in, n_kept))

    texts = sorted(kept.values(), key=order_key)
    n = len(texts)
    n_val = round(n * VAL_FRACTION)
    n_test = round(n * TEST_FRACTION)
    train = texts[: n - n_val - n_test]
    validation = texts[n - n_val - n_test : n - n_test]
    test = texts[n - n_test :]

    os.makedirs(args.out, exist_ok=True)
    sizes = {
        "train.jsonl": write_jsonl(os.path.join(args.out, "train.jsonl"), map(split_record, train)),
        "validation.jsonl": write_jsonl(os.path.join(args.out, "validation.jsonl"), map(split_record, validation)),
        "test.jsonl": write_jsonl(os.path.join(args.out, "test.jsonl"), map(split_record, test)),
        "train_text.jsonl": write_jsonl(os.path.join(args.out, "train_text.jsonl"), ({"text": t} for t in train)),
        "prompts.jsonl": write_jsonl(os.path.join(args.out, "prompts.jsonl"),
                                     ({"prompt": split_record(t)["prompt"]} for t in test)),
    }

    print(f"{'file':<14} {'entries':>7} {'kept':>6}")
    for name, n_in, n_kept in per_source:
        print(f"{name:<14} {n_in:>7} {n_kept:>6}")
    total_in = sum(x[1] for x in per_source)
    print(f"{'total':<14} {total_in:>7} {n:>6}")
    print("dropped:")
    for why, count in sorted(dropped.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {count:>6}  {why}")
    chars = sum(len(t) for t in texts)
    print(f"kept {n} entries, {chars} characters (mean {chars / n:.1f}); "
          f"train {len(train)}, validation {len(validation)}, test {len(test)}")
    for name, size in sizes.items():
        print(f"  {name:<17} {size:>9} bytes")
    print(f"  {'total':<17} {sum(sizes.values()):>9} bytes")


if __name__ == "__main__":
    main()
