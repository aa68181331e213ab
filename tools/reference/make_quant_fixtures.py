#!/usr/bin/env python3
"""Golden dequantizations of llama.cpp's block formats, made by gguf-py itself.

    make_quant_fixtures.py OUT_DIR        # tests/fixtures/quant

Needs PyPI's `gguf` (0.19.0 tested: `/tmp/hf5/bin/pip install gguf`). For each of
Q8_0, Q4_0, Q4_K and Q6_K it writes

- `<type>.blocks`: raw blocks: random bytes, with every f16 scale field overwritten by
  a random finite f16 (a few of them subnormal or zero), so every bit pattern of the
  quantized values and sub-scales occurs; and, for Q8_0 and Q4_0, blocks that
  `gguf.quants.quantize` made from random normal weights (what a converter writes);
- `<type>.f32`: `gguf.quants.dequantize` of those blocks, little-endian float32.

Deterministic (fixed seed): a rerun writes the same bytes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import quants

# Byte offsets of the f16 fields inside a block (ggml-common.h).
SCALE_FIELDS = {T.Q8_0: [0], T.Q4_0: [0], T.Q4_K: [0, 2], T.Q6_K: [208]}
RANDOM_BLOCKS = {T.Q8_0: 16, T.Q4_0: 16, T.Q4_K: 4, T.Q6_K: 4}
QUANTIZED_ROWS = {T.Q8_0: 4, T.Q4_0: 4}  # rows of 64 weights run through gguf's quantizer


def random_f16(rng: np.random.Generator, n: int) -> np.ndarray:
    values = rng.normal(0.0, 0.05, n).astype(np.float16)
    values[rng.random(n) < 0.15] = np.float16(rng.uniform(-6e-5, 6e-5))  # subnormal
    values[rng.random(n) < 0.05] = np.float16(0.0)
    return values


def random_blocks(rng: np.random.Generator, qtype: T) -> np.ndarray:
    _, block_bytes = quants.GGML_QUANT_SIZES[qtype]
    n = RANDOM_BLOCKS[qtype]
    blocks = rng.integers(0, 256, (n, block_bytes), dtype=np.uint8)
    for offset in SCALE_FIELDS[qtype]:
        blocks[:, offset : offset + 2] = random_f16(rng, n).view(np.uint8).reshape(n, 2)
    return blocks.reshape(-1)


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20240616)
    for qtype in SCALE_FIELDS:
        raw = random_blocks(rng, qtype)
        if qtype in QUANTIZED_ROWS:
            weights = rng.normal(0.0, 0.1, (QUANTIZED_ROWS[qtype], 64)).astype(np.float32)
            raw = np.concatenate([raw, quants.quantize(weights, qtype).reshape(-1)])
        values = quants.dequantize(raw, qtype).astype("<f4").reshape(-1)
        assert np.isfinite(values).all()
        name = qtype.name.lower()
        (out / f"{name}.blocks").write_bytes(raw.tobytes())
        (out / f"{name}.f32").write_bytes(values.tobytes())
        print(f"{name}: {values.size} values")


if __name__ == "__main__":
    main()
