#!/usr/bin/env python3
"""An MoE checkpoint as llama.cpp's GGUF: DeepSeekMoE (HF `model_type: deepseek`) as
architecture `deepseek`, Mixtral as `llama` with experts, Qwen2-MoE as `qwen2moe`, OLMoE
as `olmoe`.

    convert_to_gguf.py MODEL_DIR OUT.gguf --outtype f32|f16|q8_0|q4_0

Needs PyPI's `gguf` (0.19.0 tested). Written from the facts of llama.cpp's
convert_hf_to_gguf.py (DeepseekModel, LlamaModel, Qwen2MoeModel, OlmoeModel) and gguf-py's
tensor names, so that moescope reads what people download:

- metadata `deepseek.*`: block_count, context_length, embedding_length,
  feed_forward_length, attention.head_count(_kv), attention.layer_norm_rms_epsilon,
  rope.freq_base, rope.dimension_count, rope.scaling.type (none, or linear with
  rope.scaling.factor), leading_dense_block_count, vocab_size, expert_count,
  expert_used_count, expert_shared_count, expert_feed_forward_length,
  expert_weights_scale 1.0; expert_weights_norm only when norm_topk_prob (llama.cpp's
  own converter does not write it for `deepseek`); tokenizer.ggml.bos/eos_token_id;
- the other architectures: the same attention and expert keys; qwen2moe also
  expert_feed_forward_length and expert_shared_feed_forward_length, olmoe
  attention.clamp_kqv when clip_qkv is set (llama and olmoe experts are
  feed_forward_length wide);
- q_proj and k_proj rows permuted per head into the interleaved RoPE layout (deepseek and
  llama, whose llama.cpp RoPE is the interleaved one; qwen2moe and olmoe keep HF's rows);
- Mixtral's block_sparse_moe.gate / experts.E.w1, w2, w3 as ffn_gate_inp /
  ffn_{gate,down,up}_exps; Qwen2-MoE's q/k/v biases as attn_{q,k,v}.bias, its shared
  expert as ffn_*_shexp and shared_expert_gate as ffn_gate_inp_shexp; OLMoE's q_norm and
  k_norm as attn_q_norm and attn_k_norm;
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
    "self_attn.q_proj.bias": "attn_q.bias",
    "self_attn.k_proj.bias": "attn_k.bias",
    "self_attn.v_proj.bias": "attn_v.bias",
    "self_attn.q_norm.weight": "attn_q_norm.weight",
    "self_attn.k_norm.weight": "attn_k_norm.weight",
    "block_sparse_moe.gate.weight": "ffn_gate_inp.weight",
    "mlp.shared_expert.gate_proj.weight": "ffn_gate_shexp.weight",
    "mlp.shared_expert.up_proj.weight": "ffn_up_shexp.weight",
    "mlp.shared_expert.down_proj.weight": "ffn_down_shexp.weight",
    "mlp.shared_expert_gate.weight": "ffn_gate_inp_shexp.weight",
}
# HF model_type -> (llama.cpp architecture, q/k rows permuted, experts' folder, names of
# the gate, up and down projections)
ARCHITECTURES = {
    "deepseek": ("deepseek", True, "mlp.experts.", ("gate_proj", "up_proj", "down_proj")),
    "mixtral": ("llama", True, "block_sparse_moe.experts.", ("w1", "w3", "w2")),
    "qwen2_moe": ("qwen2moe", False, "mlp.experts.", ("gate_proj", "up_proj", "down_proj")),
    "olmoe": ("olmoe", False, "mlp.experts.", ("gate_proj", "up_proj", "down_proj")),
}
TOP = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
       "lm_head.weight": "output.weight"}


def permute(w: np.ndarray, heads: int) -> np.ndarray:
    """HF's rotate-half rows of each head into llama.cpp's interleaved order."""
    return w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def add(w: GGUFWriter, name: str, x: np.ndarray, outtype: str) -> None:
    x = x.astype(np.float32)
    if x.ndim == 1 or "ffn_gate_inp" in name or outtype == "f32":
        w.add_tensor(name, x)
    elif outtype in ("q8_0", "q4_0") and x.shape[-1] % 32 == 0:
        qtype = T.Q8_0 if outtype == "q8_0" else T.Q4_0
        w.add_tensor(name, quants.quantize(x, qtype), raw_dtype=qtype)
    else:
        w.add_tensor(name, x.astype(np.float16))


def rope(c: dict) -> tuple[float, dict]:
    """rope_theta and the scaling, as config.json spells them (rope_parameters in transformers 5)."""
    params = c.get("rope_parameters") or {}
    scaling = dict(c.get("rope_scaling") or {})
    if params.get("rope_type", "default") != "default":
        scaling = {"type": params["rope_type"], "factor": params["factor"]}
    return params.get("rope_theta", c.get("rope_theta", 10000.0)), scaling


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("out")
    ap.add_argument("--outtype", choices=["f32", "f16", "q8_0", "q4_0"], required=True)
    args = ap.parse_args()
    c = json.loads((Path(args.model_dir) / "config.json").read_text())
    arch, permuted, experts_at, projs = ARCHITECTURES[c["model_type"]]
    assert c.get("moe_layer_freq", 1) == 1, "llama.cpp's deepseek has no moe_layer_freq"
    assert c.get("decoder_sparse_step", 1) == 1 and not c.get("mlp_only_layers"), "every layer MoE"
    tensors = {name: array for name, (_, array) in st_io.read_dir(args.model_dir).items()}
    heads, kv_heads = c["num_attention_heads"], c.get("num_key_value_heads", c["num_attention_heads"])
    n_experts = c.get("n_routed_experts") or c.get("num_local_experts") or c["num_experts"]

    w = GGUFWriter(args.out, arch, use_temp_file=False)
    a = arch + "."
    w.add_uint32(a + "block_count", c["num_hidden_layers"])
    w.add_uint32(a + "context_length", c["max_position_embeddings"])
    w.add_uint32(a + "embedding_length", c["hidden_size"])
    w.add_uint32(a + "feed_forward_length", c["intermediate_size"])
    w.add_uint32(a + "attention.head_count", heads)
    w.add_uint32(a + "attention.head_count_kv", kv_heads)
    w.add_float32(a + "attention.layer_norm_rms_epsilon", c.get("rms_norm_eps", 1e-6))
    theta, scaling = rope(c)
    w.add_float32(a + "rope.freq_base", theta)
    w.add_uint32(a + "rope.dimension_count", c["hidden_size"] // heads)
    w.add_string(a + "rope.scaling.type", scaling.get("type", "none"))
    if scaling.get("type") == "linear":
        w.add_float32(a + "rope.scaling.factor", scaling["factor"])
    w.add_uint32(a + "vocab_size", c["vocab_size"])
    w.add_uint32(a + "expert_count", n_experts)
    w.add_uint32(a + "expert_used_count", c["num_experts_per_tok"])
    if arch == "deepseek":
        w.add_uint32(a + "leading_dense_block_count", c.get("first_k_dense_replace", 0))
        w.add_uint32(a + "expert_feed_forward_length", c["moe_intermediate_size"])
        w.add_float32(a + "expert_weights_scale", 1.0)
        w.add_uint32(a + "expert_shared_count", c.get("n_shared_experts", 0))
        if c.get("norm_topk_prob"):
            w.add_bool(a + "expert_weights_norm", True)
    if arch == "qwen2moe":
        w.add_uint32(a + "expert_feed_forward_length", c["moe_intermediate_size"])
        w.add_uint32(a + "expert_shared_feed_forward_length", c["shared_expert_intermediate_size"])
    if arch == "olmoe" and c.get("clip_qkv"):
        w.add_float32(a + "attention.clamp_kqv", c["clip_qkv"])
    w.add_uint32("tokenizer.ggml.bos_token_id", c["bos_token_id"])
    w.add_uint32("tokenizer.ggml.eos_token_id", c["eos_token_id"])

    for name in sorted(tensors):
        if name in TOP:
            add(w, TOP[name], tensors[name], args.outtype)
            continue
        m = re.fullmatch(r"model\.layers\.(\d+)\.(.+)", name)
        layer, rest = int(m.group(1)), m.group(2)
        if rest.startswith(experts_at):
            if rest.startswith(experts_at + "0."):
                proj = rest.split(".")[-2]  # gate_proj, w1, ...
                stacked = np.stack([tensors[f"model.layers.{layer}.{experts_at}{e}.{proj}.weight"]
                                    for e in range(n_experts)])
                kind = ("gate", "up", "down")[projs.index(proj)]
                add(w, f"blk.{layer}.ffn_{kind}_exps.weight", stacked, args.outtype)
            continue
        x = tensors[name]
        if permuted and rest == "self_attn.q_proj.weight":
            x = permute(x, heads)
        elif permuted and rest == "self_attn.k_proj.weight":
            x = permute(x, kv_heads)
        add(w, f"blk.{layer}.{PER_LAYER[rest]}", x, args.outtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main()
