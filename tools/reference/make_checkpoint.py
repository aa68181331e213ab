#!/usr/bin/env python3
"""Build a random-weight MoE checkpoint in the exact Hugging Face layout.

    make_checkpoint.py OUT_DIR --preset dense-lead-f32 [--tokenizer tokenizer.model]
    make_checkpoint.py OUT_DIR --hidden-size 128 --num-hidden-layers 4 ... --dtype bf16 --shards 2
    make_checkpoint.py OUT_DIR --family mixtral --n-routed-experts 8 ...

--family picks the layout: deepseek (every field of deepseek-moe-16b's config),
mixtral (Mixtral-8x7B's fields, block_sparse_moe.experts.E.w1/w2/w3), qwen2_moe
(Qwen1.5-MoE-A2.7B's fields, a gated shared expert, q/k/v biases) or olmoe
(OLMoE-1B-7B's fields, q/k norms). Writes config.json, model.safetensors or N
shards + model.safetensors.index.json,
generation_config.json, and with --tokenizer a copy of tokenizer.model plus
tokenizer_config.json. Only numpy is needed.

Weights are drawn per tensor from numpy's PCG64 seeded with (seed, crc32(name)),
so a tensor's values depend only on the seed, its name and its shape: changing
one option does not reshuffle unrelated tensors. Scales keep activations O(1):
linear layers ~ N(0, 1/fan_in), embeddings ~ N(0, 1), norms ~ 1 + N(0, 0.1^2),
and the router is `router_gain` times sharper than 1/sqrt(hidden) so that
routing scores are far from uniform and near-ties are rare.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import shutil
import sys
import zlib
from dataclasses import dataclass

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402

DTYPES = {"f32": ("F32", "float32"), "f16": ("F16", "float16"), "bf16": ("BF16", "bfloat16")}


@dataclass
class Spec:
    """Everything that defines a checkpoint. Field names double as CLI options."""

    vocab_size: int = 512
    hidden_size: int = 64
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    num_key_value_heads: int = 0  # 0 = same as num_attention_heads
    intermediate_size: int = 128
    moe_intermediate_size: int = 32
    n_routed_experts: int = 8
    n_shared_experts: int = 1
    num_experts_per_tok: int = 2
    first_k_dense_replace: int = 1
    moe_layer_freq: int = 1
    norm_topk_prob: bool = False
    tie_word_embeddings: bool = False
    rope_theta: float = 10000.0
    rope_scaling_factor: float = 0.0  # > 0: rope_scaling {"type": "linear", "factor": f}
    rms_norm_eps: float = 1e-6
    max_position_embeddings: int = 4096
    bos_token_id: int = 1
    eos_token_id: int = 2
    dtype: str = "f32"  # f32 | f16 | bf16
    shards: int = 1
    seed: int = 1234
    router_gain: float = 2.0
    family: str = "deepseek"  # deepseek | mixtral | qwen2_moe | olmoe
    # family-specific (ignored by the others)
    shared_expert_intermediate_size: int = 0  # qwen2_moe
    decoder_sparse_step: int = 1  # qwen2_moe
    mlp_only_layers: str = ""  # qwen2_moe, comma-separated layer indices
    clip_qkv: float = 0.0  # olmoe; 0 = null

    def kv_heads(self) -> int:
        return self.num_key_value_heads or self.num_attention_heads

    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads

    def mlp_only(self) -> list[int]:
        return [int(x) for x in self.mlp_only_layers.split(",") if x.strip()]

    def is_moe_layer(self, i: int) -> bool:
        if self.family == "qwen2_moe":
            return self.n_routed_experts > 0 and (i + 1) % self.decoder_sparse_step == 0 and i not in self.mlp_only()
        if self.family in ("mixtral", "olmoe"):
            return True
        return self.n_routed_experts > 0 and i >= self.first_k_dense_replace and i % self.moe_layer_freq == 0


# Test-fixture shapes (see make_fixtures.sh) and one larger model for benchmarks.
PRESETS: dict[str, dict[str, object]] = {
    "dense-lead-f32": dict(
        vocab_size=512, hidden_size=64, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=4,
        intermediate_size=96, n_routed_experts=16, moe_intermediate_size=32, n_shared_experts=2,
        num_experts_per_tok=4, first_k_dense_replace=1, moe_layer_freq=1, norm_topk_prob=False,
        dtype="f32", shards=1, seed=1001,
    ),
    "normtopk-bf16-sharded": dict(
        vocab_size=512, hidden_size=64, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
        intermediate_size=80, n_routed_experts=8, moe_intermediate_size=24, n_shared_experts=1,
        num_experts_per_tok=2, first_k_dense_replace=1, moe_layer_freq=2, norm_topk_prob=True,
        tie_word_embeddings=True, rope_theta=500000.0, dtype="bf16", shards=2, seed=2002,
    ),
    "nodense-f16": dict(
        vocab_size=512, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2,
        intermediate_size=64, n_routed_experts=12, moe_intermediate_size=16, n_shared_experts=2,
        num_experts_per_tok=3, first_k_dense_replace=0, moe_layer_freq=1, norm_topk_prob=False,
        rope_scaling_factor=2.0, dtype="f16", shards=1, seed=3003,
    ),
    # The other families (docs/FAMILIES.md). Mixtral: GQA, bf16 in 3 shards; experts are
    # intermediate_size wide.
    "mixtral-bf16-sharded": dict(
        family="mixtral", vocab_size=512, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, intermediate_size=48, n_routed_experts=8, num_experts_per_tok=2,
        rope_theta=1e6, rms_norm_eps=1e-5, dtype="bf16", shards=3, seed=5005,
    ),
    # Qwen2-MoE: layer 1 dense (mlp_only_layers), gated shared expert, q/k/v biases, raw top-k weights.
    "qwen2moe-f32": dict(
        family="qwen2_moe", vocab_size=512, hidden_size=64, num_hidden_layers=3, num_attention_heads=4,
        num_key_value_heads=4, intermediate_size=96, n_routed_experts=12, moe_intermediate_size=24,
        num_experts_per_tok=4, shared_expert_intermediate_size=64, mlp_only_layers="1", norm_topk_prob=False,
        rope_theta=1e6, dtype="f32", shards=1, seed=6006,
    ),
    # OLMoE: q/k norms, clip_qkv (null on the hub; set here so the clamp is exercised), f16.
    "olmoe-f16": dict(
        family="olmoe", vocab_size=512, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=4, intermediate_size=32, n_routed_experts=16, num_experts_per_tok=4,
        norm_topk_prob=False, clip_qkv=2.0, rms_norm_eps=1e-5, dtype="f16", shards=1, seed=7007,
    ),
    # ~0.61 B parameters, ~1.2 GB in bf16: big enough for throughput measurements.
    "bench-medium-bf16": dict(
        vocab_size=32000, hidden_size=1024, num_hidden_layers=8, num_attention_heads=16,
        num_key_value_heads=16, intermediate_size=2816, n_routed_experts=64, moe_intermediate_size=352,
        n_shared_experts=2, num_experts_per_tok=6, first_k_dense_replace=1, moe_layer_freq=1,
        dtype="bf16", shards=4, seed=4004,
    ),
}


def config_json(spec: Spec) -> dict[str, object]:
    return {"deepseek": deepseek_config, "mixtral": mixtral_config, "qwen2_moe": qwen2_moe_config,
            "olmoe": olmoe_config}[spec.family](spec)


def llama_like_fields(spec: Spec) -> dict[str, object]:
    """Fields the Llama-derived configs of Mixtral, Qwen2-MoE and OLMoE all have."""
    return {
        "attention_dropout": 0.0, "bos_token_id": spec.bos_token_id, "eos_token_id": spec.eos_token_id,
        "hidden_act": "silu", "hidden_size": spec.hidden_size, "initializer_range": 0.02,
        "intermediate_size": spec.intermediate_size, "max_position_embeddings": spec.max_position_embeddings,
        "num_attention_heads": spec.num_attention_heads, "num_experts_per_tok": spec.num_experts_per_tok,
        "num_hidden_layers": spec.num_hidden_layers, "num_key_value_heads": spec.kv_heads(),
        "output_router_logits": False, "rms_norm_eps": spec.rms_norm_eps, "rope_theta": spec.rope_theta,
        "tie_word_embeddings": spec.tie_word_embeddings, "torch_dtype": DTYPES[spec.dtype][1],
        "use_cache": True, "vocab_size": spec.vocab_size,
    }


def mixtral_config(spec: Spec) -> dict[str, object]:
    """The fields of mistralai/Mixtral-8x7B-v0.1's config.json."""
    return {**llama_like_fields(spec), "architectures": ["MixtralForCausalLM"], "model_type": "mixtral",
            "num_local_experts": spec.n_routed_experts, "router_aux_loss_coef": 0.02, "sliding_window": None,
            "transformers_version": "4.36.0.dev0"}


def qwen2_moe_config(spec: Spec) -> dict[str, object]:
    """The fields of Qwen/Qwen1.5-MoE-A2.7B's config.json."""
    return {**llama_like_fields(spec), "architectures": ["Qwen2MoeForCausalLM"], "model_type": "qwen2_moe",
            "decoder_sparse_step": spec.decoder_sparse_step, "max_window_layers": spec.num_hidden_layers,
            "mlp_only_layers": spec.mlp_only(), "moe_intermediate_size": spec.moe_intermediate_size,
            "norm_topk_prob": spec.norm_topk_prob, "num_experts": spec.n_routed_experts,
            "router_aux_loss_coef": 0.001, "shared_expert_intermediate_size": spec.shared_expert_intermediate_size,
            "sliding_window": spec.max_position_embeddings, "use_sliding_window": False,
            "transformers_version": "4.39.0.dev0"}


def olmoe_config(spec: Spec) -> dict[str, object]:
    """The fields of allenai/OLMoE-1B-7B-0924's config.json."""
    return {**llama_like_fields(spec), "architectures": ["OlmoeForCausalLM"], "model_type": "olmoe",
            "attention_bias": False, "clip_qkv": spec.clip_qkv or None, "norm_topk_prob": spec.norm_topk_prob,
            "num_experts": spec.n_routed_experts, "pad_token_id": 1, "rope_scaling": None,
            "router_aux_loss_coef": 0.01, "transformers_version": "4.43.0.dev0"}


def deepseek_config(spec: Spec) -> dict[str, object]:
    """config.json with every field of deepseek-moe-16b's config (auto_map omitted:
    we ship no remote code)."""
    rope_scaling = {"type": "linear", "factor": spec.rope_scaling_factor} if spec.rope_scaling_factor > 0 else None
    return {
        "architectures": ["DeepseekForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "aux_loss_alpha": 0.001,
        "bos_token_id": spec.bos_token_id,
        "eos_token_id": spec.eos_token_id,
        "first_k_dense_replace": spec.first_k_dense_replace,
        "hidden_act": "silu",
        "hidden_size": spec.hidden_size,
        "initializer_range": 0.02,
        "intermediate_size": spec.intermediate_size,
        "max_position_embeddings": spec.max_position_embeddings,
        "model_type": "deepseek",
        "moe_intermediate_size": spec.moe_intermediate_size,
        "moe_layer_freq": spec.moe_layer_freq,
        "n_routed_experts": spec.n_routed_experts,
        "n_shared_experts": spec.n_shared_experts,
        "norm_topk_prob": spec.norm_topk_prob,
        "num_attention_heads": spec.num_attention_heads,
        "num_experts_per_tok": spec.num_experts_per_tok,
        "num_hidden_layers": spec.num_hidden_layers,
        "num_key_value_heads": spec.kv_heads(),
        "pretraining_tp": 1,
        "rms_norm_eps": spec.rms_norm_eps,
        "rope_scaling": rope_scaling,
        "rope_theta": spec.rope_theta,
        "scoring_func": "softmax",
        "seq_aux": True,
        "tie_word_embeddings": spec.tie_word_embeddings,
        "torch_dtype": DTYPES[spec.dtype][1],
        "transformers_version": "4.36.2",
        "use_cache": True,
        "vocab_size": spec.vocab_size,
    }


def tensor_specs(spec: Spec) -> list[tuple[str, list[int]]]:
    """All tensors with HF names and [out, in] shapes, in file order."""
    h, d = spec.hidden_size, spec.head_dim()
    q_out, kv_out = spec.num_attention_heads * d, spec.kv_heads() * d
    out: list[tuple[str, list[int]]] = [("model.embed_tokens.weight", [spec.vocab_size, h])]

    def mlp(prefix: str, width: int, names: tuple[str, str, str] = ("gate_proj", "up_proj", "down_proj")) -> None:
        gate, up, down = names
        out.extend([(f"{prefix}.{gate}.weight", [width, h]),
                    (f"{prefix}.{up}.weight", [width, h]),
                    (f"{prefix}.{down}.weight", [h, width])])

    fam = spec.family
    block = "block_sparse_moe" if fam == "mixtral" else "mlp"
    expert_names = ("w1", "w3", "w2") if fam == "mixtral" else ("gate_proj", "up_proj", "down_proj")
    expert_width = spec.intermediate_size if fam in ("mixtral", "olmoe") else spec.moe_intermediate_size

    for i in range(spec.num_hidden_layers):
        p = f"model.layers.{i}"
        out.append((f"{p}.input_layernorm.weight", [h]))
        out.extend([(f"{p}.self_attn.q_proj.weight", [q_out, h]),
                    (f"{p}.self_attn.k_proj.weight", [kv_out, h]),
                    (f"{p}.self_attn.v_proj.weight", [kv_out, h]),
                    (f"{p}.self_attn.o_proj.weight", [h, q_out])])
        if fam == "qwen2_moe":
            out.extend([(f"{p}.self_attn.q_proj.bias", [q_out]), (f"{p}.self_attn.k_proj.bias", [kv_out]),
                        (f"{p}.self_attn.v_proj.bias", [kv_out])])
        if fam == "olmoe":
            out.extend([(f"{p}.self_attn.q_norm.weight", [q_out]), (f"{p}.self_attn.k_norm.weight", [kv_out])])
        out.append((f"{p}.post_attention_layernorm.weight", [h]))
        if spec.is_moe_layer(i):
            out.append((f"{p}.{block}.gate.weight", [spec.n_routed_experts, h]))
            for e in range(spec.n_routed_experts):
                mlp(f"{p}.{block}.experts.{e}", expert_width, expert_names)
            if fam == "qwen2_moe":
                mlp(f"{p}.mlp.shared_expert", spec.shared_expert_intermediate_size)
                out.append((f"{p}.mlp.shared_expert_gate.weight", [1, h]))
            elif fam == "deepseek" and spec.n_shared_experts > 0:
                mlp(f"{p}.mlp.shared_experts", spec.moe_intermediate_size * spec.n_shared_experts)
        else:
            mlp(f"{p}.mlp", spec.intermediate_size)
    out.append(("model.norm.weight", [h]))
    if not spec.tie_word_embeddings:
        out.append(("lm_head.weight", [spec.vocab_size, h]))
    return out


def init_tensor(spec: Spec, name: str, shape: list[int]) -> np.ndarray:
    """Deterministic random values for one tensor (float32)."""
    rng = np.random.default_rng([spec.seed, zlib.crc32(name.encode("utf-8"))])
    noise = rng.standard_normal(shape)
    if name.endswith(".bias"):  # q/k/v biases (Qwen2-MoE): small next to the projections
        values = 0.1 * noise
    elif len(shape) == 1:  # RMSNorm weights: around 1 so the norms matter but stay tame
        values = 1.0 + 0.1 * noise
    elif name == "model.embed_tokens.weight":
        values = noise
    elif name.endswith((".mlp.gate.weight", ".block_sparse_moe.gate.weight")):  # router: sharper
        values = noise * (spec.router_gain / math.sqrt(shape[1]))
    else:  # y = W x with W [out, in]: N(0, 1/in) keeps |y| ~ |x|
        values = noise / math.sqrt(shape[1])
    return values.astype(np.float32)


def split_shards(specs: list[tuple[str, list[int]]], n: int, elem: int) -> list[list[tuple[str, list[int]]]]:
    """Split tensors, in order, into n contiguous groups of roughly equal byte size."""
    sizes = [int(np.prod(s)) * elem for _, s in specs]
    total = sum(sizes)
    groups: list[list[tuple[str, list[int]]]] = [[] for _ in range(n)]
    done, g = 0, 0
    for i, (item, size) in enumerate(zip(specs, sizes)):
        remaining_items, remaining_groups = len(specs) - i, n - g
        # move on once this group has its share, but never leave a later group empty
        if groups[g] and g < n - 1 and (done >= total * (g + 1) / n or remaining_items <= remaining_groups - 1):
            g += 1
        groups[g].append(item)
        done += size
    if any(not grp for grp in groups):
        raise ValueError(f"cannot split {len(specs)} tensors into {n} shards")
    return groups


def write_checkpoint(spec: Spec, out_dir: str, tokenizer: str | None = None) -> None:
    validate(spec)
    os.makedirs(out_dir, exist_ok=True)
    st_dtype = DTYPES[spec.dtype][0]
    specs = tensor_specs(spec)

    def make(name: str, shape: list[int]) -> np.ndarray:
        return init_tensor(spec, name, shape)

    # remove files of an earlier layout so the directory is unambiguous
    for f in os.listdir(out_dir):
        if f.endswith(".safetensors") or f == "model.safetensors.index.json":
            os.remove(os.path.join(out_dir, f))
    if spec.shards <= 1:
        st_io.write_file(os.path.join(out_dir, "model.safetensors"), specs, st_dtype, make)
    else:
        weight_map: dict[str, str] = {}
        total = 0
        groups = split_shards(specs, spec.shards, st_io.DTYPE_SIZES[st_dtype])
        for k, group in enumerate(groups):
            fname = f"model-{k + 1:05d}-of-{spec.shards:05d}.safetensors"
            total += st_io.write_file(os.path.join(out_dir, fname), group, st_dtype, make)
            weight_map.update({name: fname for name, _ in group})
        write_json(os.path.join(out_dir, "model.safetensors.index.json"),
                   {"metadata": {"total_size": total}, "weight_map": weight_map})

    write_json(os.path.join(out_dir, "config.json"), config_json(spec))
    write_json(os.path.join(out_dir, "generation_config.json"),
               {"bos_token_id": spec.bos_token_id, "eos_token_id": spec.eos_token_id})
    if tokenizer:
        shutil.copyfile(tokenizer, os.path.join(out_dir, "tokenizer.model"))
        write_json(os.path.join(out_dir, "tokenizer_config.json"), {
            "add_bos_token": True, "add_eos_token": False,
            "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
            "tokenizer_class": "LlamaTokenizer",
        })


def validate(spec: Spec) -> None:
    if spec.family not in ("deepseek", "mixtral", "qwen2_moe", "olmoe"):
        raise ValueError("family must be deepseek, mixtral, qwen2_moe or olmoe")
    if spec.family == "qwen2_moe" and spec.shared_expert_intermediate_size < 1:
        raise ValueError("qwen2_moe needs --shared-expert-intermediate-size >= 1")
    if spec.dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {sorted(DTYPES)}")
    if spec.hidden_size % spec.num_attention_heads or spec.head_dim() % 2:
        raise ValueError("hidden_size must split into heads of even size")
    if spec.num_attention_heads % spec.kv_heads():
        raise ValueError("num_attention_heads must be a multiple of num_key_value_heads")
    if spec.n_routed_experts and not 0 < spec.num_experts_per_tok <= spec.n_routed_experts:
        raise ValueError("num_experts_per_tok must be in [1, n_routed_experts]")
    if spec.moe_layer_freq < 1 or spec.shards < 1:
        raise ValueError("moe_layer_freq and shards must be >= 1")


def write_json(path: str, obj: object) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")


def parse_args(argv: list[str] | None = None) -> tuple[Spec, str, str | None]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--preset", choices=sorted(PRESETS), help="start from a named shape; options override it")
    ap.add_argument("--tokenizer", help="sentencepiece tokenizer.model to copy into the model directory")
    for f in dataclasses.fields(Spec):
        opt = "--" + f.name.replace("_", "-")
        if f.type in ("bool", bool):
            ap.add_argument(opt, action=argparse.BooleanOptionalAction, default=None)
        else:
            kind = {"int": int, "float": float, "str": str}[f.type if isinstance(f.type, str) else f.type.__name__]
            ap.add_argument(opt, type=kind, default=None)
    args = ap.parse_args(argv)
    values: dict[str, object] = dict(PRESETS[args.preset]) if args.preset else {}
    values.update({f.name: getattr(args, f.name) for f in dataclasses.fields(Spec) if getattr(args, f.name) is not None})
    return Spec(**values), args.out_dir, args.tokenizer  # type: ignore[arg-type]


def main() -> None:
    spec, out_dir, tokenizer = parse_args()
    write_checkpoint(spec, out_dir, tokenizer)
    n_params = sum(int(np.prod(s)) for _, s in tensor_specs(spec))
    print(f"{out_dir}: {n_params} parameters, {spec.dtype}, {spec.shards} file(s)")


if __name__ == "__main__":
    main()
