#!/usr/bin/env python3
"""Expected encodings of the fixture tokenizer, produced by the spm_encode CLI.

    make_tokenizer_cases.py tests/fixtures/tokenizer/tokenizer.model OUT.json

Writes [{"text": str, "ids": [int], "pieces": [str]}]. spm_encode adds no BOS;
with add_bos_token (tokenizer_config.json) an engine prepends bos id 1 itself.
Texts are single lines because spm_encode reads one sentence per line.
"""

from __future__ import annotations

import json
import subprocess
import sys

TEXTS = [
    "Hello world",
    "The router sends each token to a few experts.",
    "  two leading spaces and  double  spaces",
    "Grüße aus München, die Straße ist schön.",
    "Crème brûlée, Dvořák, Łódź",
    "Order #4471 shipped on 2023-11-05 at 14:32.",
    "def top_k(scores, k): return sorted(scores)[:k]",
    "emoji 😀 and CJK 漢字 fall back to bytes",
    "tab\tseparated\tvalues",
    "x",
]


def encode(model: str, fmt: str) -> list[str]:
    out = subprocess.run(["spm_encode", f"--model={model}", f"--output_format={fmt}"],
                         input="\n".join(TEXTS) + "\n", capture_output=True, text=True, check=True).stdout
    lines = out.split("\n")[: len(TEXTS)]
    assert len(lines) == len(TEXTS), "spm_encode returned fewer lines than texts"
    return lines


def main() -> None:
    model, out_path = sys.argv[1:3]
    ids = encode(model, "id")
    pieces = encode(model, "piece")
    cases = [{"text": t, "ids": [int(x) for x in i.split()], "pieces": p.split(" ")}
             for t, i, p in zip(TEXTS, ids, pieces)]
    for c in cases:
        assert len(c["ids"]) == len(c["pieces"]), c["text"]
    with open(out_path, "w", encoding="utf-8") as f:  # one case per line
        f.write("[\n" + ",\n".join(json.dumps(c, ensure_ascii=False) for c in cases) + "\n]\n")


if __name__ == "__main__":
    main()
