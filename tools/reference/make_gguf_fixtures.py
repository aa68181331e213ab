#!/usr/bin/env python3
"""A small GGUF file written by gguf-py's own GGUFWriter, for the parser's tests.

    make_gguf_fixtures.py OUT_DIR        # tests/fixtures/gguf

Needs PyPI's `gguf` (0.19.0 tested). `types.gguf` (version 3) holds one metadata value
of every GGUF value type, arrays of integers and of strings, general.alignment 64, and
a tensor of every ggml type the engine reads: F32, F16, BF16 [2, 3] holding
0, 0.5, ..., 2.5; Q8_0 and Q4_0 [2, 64] quantized by gguf.quants from seeded normal
values; Q4_K and Q6_K [1, 1024] of random blocks (make_quant_fixtures.random_blocks).
`types.values.f32` holds every tensor's values (gguf.quants.dequantize for the
quantized ones) in that order, little-endian float32. Deterministic.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import GGUFValueType as V
from gguf import GGUFWriter, quants
from make_quant_fixtures import random_blocks


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    w = GGUFWriter(out / "types.gguf", "test", use_temp_file=False)
    w.add_custom_alignment(64)
    w.add_key_value("test.u8", 200, V.UINT8)
    w.add_key_value("test.i8", -100, V.INT8)
    w.add_key_value("test.u16", 60000, V.UINT16)
    w.add_key_value("test.i16", -30000, V.INT16)
    w.add_key_value("test.u32", 4000000000, V.UINT32)
    w.add_key_value("test.i32", -2000000000, V.INT32)
    w.add_key_value("test.f32", 0.25, V.FLOAT32)
    w.add_key_value("test.bool", True, V.BOOL)
    w.add_key_value("test.string", "héllo", V.STRING)
    w.add_key_value("test.u64", 2**63 + 5, V.UINT64)
    w.add_key_value("test.i64", -(2**62), V.INT64)
    w.add_key_value("test.f64", 1e100, V.FLOAT64)
    w.add_array("test.ints", [1, -2, 3])
    w.add_array("test.strings", ["a", "", "ccc"])

    rng = np.random.default_rng(5)
    small = (np.arange(6, dtype=np.float32) * 0.5).reshape(2, 3)
    w.add_tensor("f32", small)
    w.add_tensor("f16", small.astype(np.float16))
    w.add_tensor("bf16", quants.quantize(small, T.BF16), raw_dtype=T.BF16)
    values = [small.reshape(-1)] * 3
    for name, qtype in [("q8_0", T.Q8_0), ("q4_0", T.Q4_0)]:
        q = quants.quantize(rng.normal(0.0, 0.1, (2, 64)).astype(np.float32), qtype)
        w.add_tensor(name, q, raw_dtype=qtype)
        values.append(quants.dequantize(q, qtype).reshape(-1))
    for name, qtype in [("q4_k", T.Q4_K), ("q6_k", T.Q6_K)]:  # gguf-py cannot quantize these
        q = random_blocks(rng, qtype).reshape(1, -1)
        w.add_tensor(name, q, raw_dtype=qtype)
        values.append(quants.dequantize(q, qtype).reshape(-1))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    (out / "types.values.f32").write_bytes(np.concatenate(values).astype("<f4").tobytes())


if __name__ == "__main__":
    main()
