#!/usr/bin/env python3
"""A DeepSeekMoE checkpoint (HF `model_type: deepseek`) as llama.cpp's `deepseek` GGUF.

    convert_to_gguf.py MODEL_DIR OUT.gguf --outtype f32|f16|q8_0|q4_0

Needs PyPI's `gguf` (0.19.0 tested). Written from the facts of llama.cpp's
convert_hf_to_gguf.py (DeepseekModel), so that moescope reads what people download:

- metadata `deepseek.*`: block_count, context_length, embedding_length,
  feed_forward_length, attention.head_count(_kv), attention.layer_norm_rms_epsilon,
  rope.freq_base, rope.dimension_count, rope.scaling.type (none, or linear with
  rope.scaling.factor), leading_dense_block_count, vocab_size, expert_count,
  expert_used_count, expert_shared_count, expert_feed_forward_length,
  expert_weights_scale 1.0; expert_weights_norm only when norm_topk_prob (llama.cpp's
  own converter does not write it for `deepseek`); tokenizer.ggml.bos/eos_token_id;
- q_proj and k_proj rows permuted per head into the interleaved RoPE layout;
- each layer's routed experts stacked into ffn_{gate,up,down}_exps [experts, rows, cols];
- 1-D tensors and the router (ffn_gate_inp) in F32, the rest in --outtype (a Q8_0 or Q4_0
  matrix whose rows are not whole blocks of 32 falls back to F16, as llama.cpp does).

No tokenizer is written: moescope reads the one in the folder beside the .gguf.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import GGUFWriter, quants

import st_io

PER_LAYER = {
    "input_layernorm.weight": "attn_norm.weight",
    "post_attention_layernorm.weight": "ffn_norm.weight",
    "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.o_proj.weight": "attn_output.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
    "mlp.gate.weight": "ffn_gate_inp.weight",
    "mlp.shared_experts.gate_proj.weight": "ffn_gate_shexp.weight",
    "mlp.shared_experts.up_proj.weight": "ffn_up_shexp.weight",
    "mlp.shared_experts.down_proj.weight": "ffn_down_shexp.weight",
}
TOP = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
       "lm_head.weight": "output.weight"}


def permute(w: np.ndarray, heads: int) -> np.ndarray:
    """HF's rotate-half rows of each head into llama.cpp's interleaved order."""
    return w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def add(w: GGUFWriter, name: str, x: np.ndarray, outtype: str) -> None:
    x = x.astype(np.float32)
    if x.ndim == 1 or name.endswith("ffn_gate_inp.weight") or outtype == "f32":
        w.add_tensor(name, x)
    elif outtype in ("q8_0", "q4_0") and x.shape[-1] % 32 == 0:
        qtype = T.Q8_0 if outtype == "q8_0" else T.Q4_0
        w.add_tensor(name, quants.quantize(x, qtype), raw_dtype=qtype)
    else:
        w.add_tensor(name, x.astype(np.float16))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("out")
    ap.add_argument("--outtype", choices=["f32", "f16", "q8_0", "q4_0"], required=True)
    args = ap.parse_args()
    c = json.loads((Path(args.model_dir) / "config.json").read_text())
    assert c["model_type"] == "deepseek", "only DeepSeekMoE checkpoints"
    assert c.get("moe_layer_freq", 1) == 1, "llama.cpp's deepseek has no moe_layer_freq"
    tensors = {name: array for name, (_, array) in st_io.read_dir(args.model_dir).items()}
    heads, kv_heads = c["num_attention_heads"], c.get("num_key_value_heads", c["num_attention_heads"])

    w = GGUFWriter(args.out, "deepseek", use_temp_file=False)
    a = "deepseek."
    w.add_uint32(a + "block_count", c["num_hidden_layers"])
    w.add_uint32(a + "context_length", c["max_position_embeddings"])
    w.add_uint32(a + "embedding_length", c["hidden_size"])
    w.add_uint32(a + "feed_forward_length", c["intermediate_size"])
    w.add_uint32(a + "attention.head_count", heads)
    w.add_uint32(a + "attention.head_count_kv", kv_heads)
    w.add_float32(a + "attention.layer_norm_rms_epsilon", c.get("rms_norm_eps", 1e-6))
    w.add_float32(a + "rope.freq_base", c.get("rope_theta", 10000.0))
    w.add_uint32(a + "rope.dimension_count", c["hidden_size"] // heads)
    scaling = c.get("rope_scaling") or {}
    w.add_string(a + "rope.scaling.type", scaling.get("type", "none"))
    if scaling.get("type") == "linear":
        w.add_float32(a + "rope.scaling.factor", scaling["factor"])
    w.add_uint32(a + "leading_dense_block_count", c.get("first_k_dense_replace", 0))
    w.add_uint32(a + "vocab_size", c["vocab_size"])
    w.add_uint32(a + "expert_feed_forward_length", c["moe_intermediate_size"])
    w.add_float32(a + "expert_weights_scale", 1.0)
    w.add_uint32(a + "expert_count", c["n_routed_experts"])
    w.add_uint32(a + "expert_shared_count", c.get("n_shared_experts", 0))
    w.add_uint32(a + "expert_used_count", c["num_experts_per_tok"])
    if c.get("norm_topk_prob"):
        w.add_bool(a + "expert_weights_norm", True)
    w.add_uint32("tokenizer.ggml.bos_token_id", c["bos_token_id"])
    w.add_uint32("tokenizer.ggml.eos_token_id", c["eos_token_id"])

    for name in sorted(tensors):
        if name in TOP:
            add(w, TOP[name], tensors[name], args.outtype)
            continue
        m = re.fullmatch(r"model\.layers\.(\d+)\.(.+)", name)
        layer, rest = int(m.group(1)), m.group(2)
        if rest.startswith("mlp.experts."):
            if rest.startswith("mlp.experts.0."):
                proj = rest.split(".")[-2]  # gate_proj
                stacked = np.stack([tensors[f"model.layers.{layer}.mlp.experts.{e}.{proj}.weight"]
                                    for e in range(c["n_routed_experts"])])
                add(w, f"blk.{layer}.ffn_{proj.split('_')[0]}_exps.weight", stacked, args.outtype)
            continue
        x = tensors[name]
        if rest == "self_attn.q_proj.weight":
            x = permute(x, heads)
        elif rest == "self_attn.k_proj.weight":
            x = permute(x, kv_heads)
        add(w, f"blk.{layer}.{PER_LAYER[rest]}", x, args.outtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main()
