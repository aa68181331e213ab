"""Minimal safetensors reader/writer (numpy + struct + json, no extra packages).

File layout (https://github.com/huggingface/safetensors):
    u64 little-endian N | N bytes of JSON header | raw tensor data
The header maps tensor name -> {"dtype", "shape", "data_offsets": [begin, end]}
(offsets relative to the start of the data section) plus an optional
"__metadata__" string map. We pad the header with spaces to a multiple of 8 so
that every tensor starts 8-byte aligned, as the reference implementation does.
"""

from __future__ import annotations

import json
import os
import struct
from typing import Callable, Iterable

import numpy as np

# dtype name in the header -> bytes per element
DTYPE_SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2}


def f32_to_bf16_bits(x: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bit patterns (uint16), round-to-nearest-even.

    bf16 is the upper half of an f32; we add 0x7FFF plus the lowest kept bit
    before truncating, which rounds ties to even. Inputs are finite here.
    """
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return rounded.astype(np.uint16)


def bf16_bits_to_f32(bits: np.ndarray) -> np.ndarray:
    return (bits.astype(np.uint32) << 16).view(np.float32)


def encode(x: np.ndarray, dtype: str) -> bytes:
    """Encode a float array as little-endian bytes of the given safetensors dtype."""
    if dtype == "F64":
        return np.ascontiguousarray(x, dtype="<f8").tobytes()
    if dtype == "F32":
        return np.ascontiguousarray(x, dtype="<f4").tobytes()
    if dtype == "F16":  # numpy's float32 -> float16 cast rounds to nearest even
        return np.ascontiguousarray(x.astype(np.float32).astype("<f2")).tobytes()
    if dtype == "BF16":
        return f32_to_bf16_bits(x.astype(np.float32)).astype("<u2").tobytes()
    raise ValueError(f"unsupported dtype {dtype}")


def decode(raw: bytes, dtype: str, shape: list[int]) -> np.ndarray:
    """Bytes of one tensor -> float array (F64 stays f64, everything else -> f32)."""
    if dtype == "F64":
        return np.frombuffer(raw, dtype="<f8").reshape(shape).copy()
    if dtype == "F32":
        return np.frombuffer(raw, dtype="<f4").reshape(shape).copy()
    if dtype == "F16":
        return np.frombuffer(raw, dtype="<f2").astype(np.float32).reshape(shape)
    if dtype == "BF16":
        return bf16_bits_to_f32(np.frombuffer(raw, dtype="<u2")).reshape(shape)
    raise ValueError(f"unsupported dtype {dtype}")


def write_file(
    path: str,
    specs: Iterable[tuple[str, list[int]]],
    dtype: str,
    make: Callable[[str, list[int]], np.ndarray],
    metadata: dict[str, str] | None = None,
) -> int:
    """Write one safetensors file; tensors are produced lazily by make(name, shape).

    Tensors are written in the order of `specs` (deterministic), so the header
    can be written before any tensor exists and big checkpoints never sit in
    memory all at once. Returns the number of data bytes written.
    """
    specs = list(specs)
    header: dict[str, object] = {"__metadata__": metadata or {"format": "pt"}}
    offset = 0
    for name, shape in specs:
        nbytes = int(np.prod(shape, dtype=np.int64)) * DTYPE_SIZES[dtype]
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    blob = json.dumps(header, separators=(",", ":")).encode("utf-8")
    blob += b" " * ((8 - len(blob) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for name, shape in specs:
            data = encode(make(name, shape), dtype)
            assert len(data) == header[name]["data_offsets"][1] - header[name]["data_offsets"][0]  # type: ignore[index]
            f.write(data)
    return offset


def read_file(path: str) -> dict[str, tuple[str, np.ndarray]]:
    """Read every tensor of one safetensors file: name -> (dtype, float array)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out: dict[str, tuple[str, np.ndarray]] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        out[name] = (info["dtype"], decode(data[begin:end], info["dtype"], info["shape"]))
    return out


def read_dir(model_dir: str) -> dict[str, tuple[str, np.ndarray]]:
    """Read a HF model directory: model.safetensors, or the shards named in
    model.safetensors.index.json (weight_map: tensor name -> shard file)."""
    index = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            weight_map: dict[str, str] = json.load(f)["weight_map"]
        tensors: dict[str, tuple[str, np.ndarray]] = {}
        for shard in sorted(set(weight_map.values())):
            for name, t in read_file(os.path.join(model_dir, shard)).items():
                if weight_map.get(name) != shard:
                    raise ValueError(f"{shard}: tensor {name} not mapped to this shard in the index")
                tensors[name] = t
        missing = set(weight_map) - set(tensors)
        if missing:
            raise ValueError(f"{index}: tensors missing from shards: {sorted(missing)[:5]}")
        return tensors
    return read_file(os.path.join(model_dir, "model.safetensors"))
