#!/usr/bin/env python3
"""same_results.py RUN_A RUN_B: two `rlhf pipeline` run directories hold the same results.

Compared byte for byte: every *.safetensors and the models' config.json (the models, their
optimizers), collect/comparisons.jsonl, eval/samples.jsonl, eval/results.json and plots/ppo.tsv.
The run's own config.json is compared with each input file (data.*, labeler.*) named by its
SHA-256 instead of its path, so that two checkouts of the same data compare equal. Compared
without what measures time: report.md (its Stages table's seconds column), each stage.json (its
"seconds"), each metrics.jsonl (the fields time/..., ..._per_second and tokens/s). Not
compared: log.txt (rates and times), checkpoint.json (input digests name absolute paths' files,
already compared through the outputs), plots/*.png and .gp, .lock. Prints each difference and
exits 1 if there is one; it is how docs/development.md checks that a change left the default
pipeline's results as they were:

    build/release/examples/rlhf pipeline --config configs/default.json --out /tmp/after
    scripts/same_results.py /tmp/before /tmp/after
"""
import hashlib
import json
import pathlib
import re
import sys

BYTES = ["collect/comparisons.jsonl", "eval/samples.jsonl", "eval/results.json", "plots/ppo.tsv"]


def is_timing(key):
    return key.startswith("time/") or key.endswith("_per_second") or key == "tokens/s"


def timeless_metrics(path):
    return [{k: v for k, v in json.loads(line).items() if not is_timing(k)} for line in path.read_text().splitlines()]


def inputs_by_content(path):
    """The run's config with each existing input file's path replaced by the file's SHA-256."""
    config = json.loads(path.read_text())
    for section in ("data", "labeler"):
        for key, value in config.get(section, {}).items():
            if isinstance(value, str) and value and pathlib.Path(value).is_file():
                config[section][key] = "sha256:" + hashlib.sha256(pathlib.Path(value).read_bytes()).hexdigest()
    return config


def timeless_report(path):
    # The Stages table: | stage | seconds | summary |
    return re.sub(r"^\| (\w+) \| [0-9.]+ \|", r"| \1 | _ |", path.read_text(), flags=re.M)


def main(a, b):
    a, b = pathlib.Path(a), pathlib.Path(b)
    for run in (a, b):
        if not (run / "report.md").is_file():
            sys.exit(f"same_results: {run} is not a finished pipeline run (no report.md)")
    differences, compared = [], 0

    def check(rel, same):
        nonlocal compared
        compared += 1
        if not (b / rel).exists():
            differences.append(f"{rel}: only in {a}")
        elif not same:
            differences.append(f"{rel}: differs")

    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    for rel in files:
        pa, pb = a / rel, b / rel
        name = rel.name
        if str(rel) == "config.json":
            check(rel, pb.exists() and inputs_by_content(pa) == inputs_by_content(pb))
        elif name.endswith(".safetensors") or name == "config.json" or str(rel) in BYTES:
            check(rel, pb.exists() and pa.read_bytes() == pb.read_bytes())
        elif name == "metrics.jsonl":
            check(rel, pb.exists() and timeless_metrics(pa) == timeless_metrics(pb))
        elif name == "stage.json":
            strip = lambda p: {k: v for k, v in json.loads(p.read_text()).items() if k != "seconds"}
            check(rel, pb.exists() and strip(pa) == strip(pb))
        elif str(rel) == "report.md":
            check(rel, pb.exists() and timeless_report(pa) == timeless_report(pb))
    for rel in sorted(p.relative_to(b) for p in b.rglob("*.safetensors")):
        if not (a / rel).exists():
            differences.append(f"{rel}: only in {b}")
    for d in differences:
        print(d)
    print(f"same_results: {compared} files compared, {len(differences)} differ")
    return 1 if differences else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
