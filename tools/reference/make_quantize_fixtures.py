#!/usr/bin/env python3
"""What gguf-py's own quantizer makes of the bundled deepseekmoe-tiny, for test_gguf_export.

    make_quantize_fixtures.py      (from the repository root; needs PyPI's `gguf`, numpy)

Converts resources/models/deepseekmoe-tiny with convert_to_gguf.py (--outtype q8_0 and
q4_0: gguf.quants.quantize of every matrix, llama.cpp's deepseek names, q/k rows
permuted, experts stacked) and writes, per type, every tensor's ggml type, shape
(outermost first) and the SHA-256 of its bytes to
tests/fixtures/gguf/deepseekmoe-tiny.quantized.json: `moescope-cli quantize` must write
the same bytes, tensor for tensor. Deterministic.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from gguf import GGUFReader

ROOT = Path(__file__).resolve().parents[2]


def tensors_of(path: Path) -> dict:
    out = {}
    for t in GGUFReader(path).tensors:
        out[t.name] = {"type": t.tensor_type.name, "shape": [int(d) for d in reversed(t.shape)],
                       "sha256": hashlib.sha256(t.data.tobytes()).hexdigest()}
    return out


def main() -> None:
    model = ROOT / "resources/models/deepseekmoe-tiny"
    fixture = {}
    with tempfile.TemporaryDirectory() as tmp:
        for outtype in ("q8_0", "q4_0"):
            out = Path(tmp) / f"{outtype}.gguf"
            subprocess.run([sys.executable, str(Path(__file__).parent / "convert_to_gguf.py"),
                            str(model), str(out), "--outtype", outtype], check=True)
            fixture[outtype.upper()] = tensors_of(out)
    path = ROOT / "tests/fixtures/gguf/deepseekmoe-tiny.quantized.json"
    path.write_text(json.dumps(fixture, indent=1, sort_keys=True) + "\n")
    print(f"{path}: {sum(len(v) for v in fixture.values())} tensors")


if __name__ == "__main__":
    main()
