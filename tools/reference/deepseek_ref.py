#!/usr/bin/env python3
"""PyTorch reference forward pass of the supported MoE families, float64:
DeepSeekMoE (HF model_type "deepseek"), Mixtral ("mixtral"), Qwen2-MoE /
Qwen1.5-MoE ("qwen2_moe") and OLMoE ("olmoe").

This is the oracle of the C++ CPU engine: small, readable, no nn.Module. It
follows Hugging Face's modeling_deepseek.py (deepseek-moe-16b),
modeling_mixtral.py, modeling_qwen2_moe.py and modeling_olmoe.py op for op; the
families share one forward pass and differ only in the small hooks marked
"family:" (config fields, tensor names, q/k/v shaping, top-k normalisation, the
shared expert's gate). Everything is computed in float64 on weights upcast from
their stored dtype, so the only differences against an f32 engine are the
engine's own rounding.

    deepseek_ref.py MODEL_DIR --tokens 1 45 300 [--interventions '{"top_k": 3}'] [--json out.json]

Interventions (same dict as in the golden files):
    {"disabled": [[layer, expert], ...],   # layer -1 = every MoE layer
     "shared_disabled": [layer, ...],      # -1 = every MoE layer
     "top_k": null | int}                  # overrides num_experts_per_tok
A disabled expert only leaves the top-k *selection*: the softmax scores are
still computed over all routed experts and reported unchanged.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from dataclasses import dataclass, field
from typing import Any

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402

DT = torch.float64
Weights = dict[str, torch.Tensor]


# ----------------------------------------------------------------------------- config


@dataclass
class Config:
    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    intermediate_size: int
    moe_intermediate_size: int
    n_routed_experts: int  # 0 = no MoE layers
    n_shared_experts: int
    num_experts_per_tok: int
    first_k_dense_replace: int
    moe_layer_freq: int
    norm_topk_prob: bool
    tie_word_embeddings: bool
    rope_theta: float
    rope_linear_factor: float  # 1.0 = no scaling
    rms_norm_eps: float
    # family: everything below defaults to DeepSeekMoE
    family: str = "deepseek"
    shared_width: int = 0  # the shared experts as one MLP; deepseek: moe_intermediate_size * n_shared
    shared_gated: bool = False  # qwen2_moe: shared output * sigmoid(shared_expert_gate x)
    norm_single_expert: bool = False  # renormalise at k == 1 too (all but deepseek)
    decoder_sparse_step: int = 1  # qwen2_moe
    mlp_only_layers: tuple[int, ...] = ()  # qwen2_moe
    qkv_bias: bool = False  # qwen2_moe
    qk_norm: bool = False  # olmoe
    clip_qkv: float | None = None  # olmoe

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads

    def is_moe_layer(self, i: int) -> bool:
        return (self.n_routed_experts > 0 and i >= self.first_k_dense_replace and i % self.moe_layer_freq == 0
                and (i + 1) % self.decoder_sparse_step == 0 and i not in self.mlp_only_layers)

    # family: tensor names inside model.layers.N
    @property
    def moe_block(self) -> str:
        return "block_sparse_moe" if self.family == "mixtral" else "mlp"

    @property
    def expert_proj(self) -> tuple[str, str, str]:
        """(gate, up, down) projection names of a routed expert."""
        return ("w1", "w3", "w2") if self.family == "mixtral" else ("gate_proj", "up_proj", "down_proj")

    @property
    def shared_prefix(self) -> str:
        return "shared_expert" if self.family == "qwen2_moe" else "shared_experts"

    def moe_layers(self) -> list[int]:
        return [i for i in range(self.num_hidden_layers) if self.is_moe_layer(i)]


def load_config(model_dir: str) -> Config:
    with open(os.path.join(model_dir, "config.json")) as f:
        c: dict[str, Any] = json.load(f)
    family = c.get("model_type")
    if family not in FAMILY_FIELDS:
        raise ValueError(f"{model_dir}/config.json: model_type {family!r} is not one of {sorted(FAMILY_FIELDS)}")
    if c.get("scoring_func", "softmax") != "softmax" or c.get("hidden_act", "silu") != "silu":
        raise ValueError("only scoring_func 'softmax' and hidden_act 'silu' are supported")
    if c.get("attention_bias", False) or c.get("pretraining_tp", 1) != 1:
        raise ValueError("attention_bias and pretraining_tp > 1 are not supported")
    heads = c["num_attention_heads"]
    if c.get("head_dim") not in (None, c["hidden_size"] // heads):
        raise ValueError("head_dim other than hidden_size / num_attention_heads is not supported")
    window = c.get("sliding_window") if family == "mixtral" or c.get("use_sliding_window") else None
    if window is not None and window < c.get("max_position_embeddings", 2048):
        raise ValueError("sliding-window attention is not supported")
    factor = 1.0
    if c.get("rope_scaling"):
        kind = c["rope_scaling"].get("type", c["rope_scaling"].get("rope_type"))
        if kind != "linear":
            raise ValueError(f"rope_scaling type {kind!r} is not supported (linear only)")
        factor = float(c["rope_scaling"]["factor"])
    eps, theta = {"mixtral": (1e-5, 1e6), "olmoe": (1e-5, 1e4)}.get(family, (1e-6, 1e4))
    common = dict(
        vocab_size=c["vocab_size"],
        hidden_size=c["hidden_size"],
        num_hidden_layers=c["num_hidden_layers"],
        num_attention_heads=heads,
        num_key_value_heads=c.get("num_key_value_heads") or heads,
        intermediate_size=c["intermediate_size"],
        num_experts_per_tok=c.get("num_experts_per_tok") or 0,
        tie_word_embeddings=bool(c.get("tie_word_embeddings", False)),
        rope_theta=float(c.get("rope_theta", theta)),
        rope_linear_factor=factor,
        rms_norm_eps=float(c.get("rms_norm_eps", eps)),
        family=family,
    )
    return Config(**common, **FAMILY_FIELDS[family](c))


# family: how each config.json spells the MoE (and family-specific attention) fields
FAMILY_FIELDS: dict[str, Any] = {
    "deepseek": lambda c: dict(
        moe_intermediate_size=c.get("moe_intermediate_size", 0),
        n_routed_experts=c.get("n_routed_experts") or 0,
        n_shared_experts=c.get("n_shared_experts") or 0,
        shared_width=c.get("moe_intermediate_size", 0) * (c.get("n_shared_experts") or 0),
        first_k_dense_replace=c.get("first_k_dense_replace", 0),
        moe_layer_freq=c.get("moe_layer_freq", 1),
        norm_topk_prob=bool(c.get("norm_topk_prob", False))),
    "mixtral": lambda c: dict(  # experts as wide as intermediate_size; top-k always renormalised
        moe_intermediate_size=c["intermediate_size"], n_routed_experts=c["num_local_experts"],
        n_shared_experts=0, first_k_dense_replace=0, moe_layer_freq=1,
        norm_topk_prob=True, norm_single_expert=True),
    "qwen2_moe": lambda c: dict(
        moe_intermediate_size=c["moe_intermediate_size"], n_routed_experts=c["num_experts"],
        n_shared_experts=1, shared_width=c["shared_expert_intermediate_size"], shared_gated=True,
        first_k_dense_replace=0, moe_layer_freq=1, decoder_sparse_step=c.get("decoder_sparse_step", 1),
        mlp_only_layers=tuple(c.get("mlp_only_layers") or ()), qkv_bias=bool(c.get("qkv_bias", True)),
        norm_topk_prob=bool(c.get("norm_topk_prob", False)), norm_single_expert=True),
    "olmoe": lambda c: dict(
        moe_intermediate_size=c["intermediate_size"], n_routed_experts=c["num_experts"],
        n_shared_experts=0, first_k_dense_replace=0, moe_layer_freq=1, qk_norm=True,
        clip_qkv=c.get("clip_qkv"), norm_topk_prob=bool(c.get("norm_topk_prob", False)),
        norm_single_expert=True),
}


# ----------------------------------------------------------------------------- weights


def expected_shapes(cfg: Config) -> dict[str, list[int]]:
    """Every tensor the model needs, with its [out, in] shape."""
    h, d = cfg.hidden_size, cfg.head_dim
    shapes = {"model.embed_tokens.weight": [cfg.vocab_size, h], "model.norm.weight": [h]}
    if not cfg.tie_word_embeddings:
        shapes["lm_head.weight"] = [cfg.vocab_size, h]

    def mlp(prefix: str, width: int, names: tuple[str, str, str] = ("gate_proj", "up_proj", "down_proj")) -> None:
        gate, up, down = names
        shapes.update({f"{prefix}.{gate}.weight": [width, h], f"{prefix}.{up}.weight": [width, h],
                       f"{prefix}.{down}.weight": [h, width]})

    for i in range(cfg.num_hidden_layers):
        p = f"model.layers.{i}"
        shapes[f"{p}.input_layernorm.weight"] = [h]
        shapes[f"{p}.post_attention_layernorm.weight"] = [h]
        shapes[f"{p}.self_attn.q_proj.weight"] = [cfg.num_attention_heads * d, h]
        shapes[f"{p}.self_attn.k_proj.weight"] = [cfg.num_key_value_heads * d, h]
        shapes[f"{p}.self_attn.v_proj.weight"] = [cfg.num_key_value_heads * d, h]
        shapes[f"{p}.self_attn.o_proj.weight"] = [h, cfg.num_attention_heads * d]
        if cfg.qkv_bias:
            shapes[f"{p}.self_attn.q_proj.bias"] = [cfg.num_attention_heads * d]
            shapes[f"{p}.self_attn.k_proj.bias"] = [cfg.num_key_value_heads * d]
            shapes[f"{p}.self_attn.v_proj.bias"] = [cfg.num_key_value_heads * d]
        if cfg.qk_norm:
            shapes[f"{p}.self_attn.q_norm.weight"] = [cfg.num_attention_heads * d]
            shapes[f"{p}.self_attn.k_norm.weight"] = [cfg.num_key_value_heads * d]
        if cfg.is_moe_layer(i):
            b = f"{p}.{cfg.moe_block}"
            shapes[f"{b}.gate.weight"] = [cfg.n_routed_experts, h]
            for e in range(cfg.n_routed_experts):
                mlp(f"{b}.experts.{e}", cfg.moe_intermediate_size, cfg.expert_proj)
            if cfg.n_shared_experts > 0:
                mlp(f"{b}.{cfg.shared_prefix}", cfg.shared_width)
            if cfg.shared_gated:
                shapes[f"{b}.shared_expert_gate.weight"] = [1, h]
        else:
            mlp(f"{p}.mlp", cfg.intermediate_size)
    return shapes


def load_weights(model_dir: str, cfg: Config) -> Weights:
    """All tensors upcast to float64, shapes checked against the config."""
    return checked_weights(st_io.read_dir(model_dir), expected_shapes(cfg), model_dir)


def checked_weights(raw: dict, shapes: dict[str, list[int]], model_dir: str) -> Weights:
    """The tensors `shapes` names, from st_io's (dtype, array) pairs, upcast to float64."""
    w: Weights = {}
    for name, shape in shapes.items():
        if name not in raw:
            raise ValueError(f"{model_dir}: missing tensor {name}")
        arr = raw[name][1]
        if list(arr.shape) != shape:
            raise ValueError(f"{model_dir}: {name} has shape {list(arr.shape)}, expected {shape}")
        w[name] = torch.from_numpy(arr).to(DT)
    return w


@dataclass
class Model:
    cfg: Config
    w: Weights


def load_model(model_dir: str) -> Model:
    cfg = load_config(model_dir)
    return Model(cfg, load_weights(model_dir, cfg))


# ----------------------------------------------------------------------------- ops


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    """x: [T, hidden]; x * rsqrt(mean(x^2) + eps) * w."""
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def linear(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """y = W x for each row of x; W: [out, in], x: [T, in] -> [T, out]."""
    return x @ weight.T


def silu_mlp(x: torch.Tensor, w: Weights, prefix: str,
             names: tuple[str, str, str] = ("gate_proj", "up_proj", "down_proj")) -> torch.Tensor:
    """down(silu(gate x) * up x); used for dense layers, routed and shared experts.
    names: the (gate, up, down) projections, Mixtral's experts call them (w1, w3, w2)."""
    gate, up, down = names
    g = linear(x, w[f"{prefix}.{gate}.weight"])
    u = linear(x, w[f"{prefix}.{up}.weight"])
    return linear(torch.nn.functional.silu(g) * u, w[f"{prefix}.{down}.weight"])


def rope_cos_sin(cfg: Config, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin tables [T, head_dim] for rotate-half RoPE over the full head dim.

    inv_freq[i] = theta^(-2i/d); linear scaling divides the positions.
    """
    d = cfg.head_dim
    inv_freq = 1.0 / (cfg.rope_theta ** (torch.arange(0, d, 2, dtype=DT) / d))  # [d/2]
    t = positions.to(DT) / cfg.rope_linear_factor
    freqs = torch.outer(t, inv_freq)  # [T, d/2]
    emb = torch.cat([freqs, freqs], dim=-1)  # [T, d]: same angle for i and i + d/2
    return emb.cos(), emb.sin()


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


def shape_qkv(cfg: Config, w: Weights, p: str, q: torch.Tensor, k: torch.Tensor,
              v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """family: steps between the projections and RoPE, in HF's order: q/k/v biases
    (qwen2_moe), RMSNorm over the whole q and k projections (olmoe), clamping (olmoe)."""
    if cfg.qkv_bias:
        q = q + w[f"{p}.self_attn.q_proj.bias"]
        k = k + w[f"{p}.self_attn.k_proj.bias"]
        v = v + w[f"{p}.self_attn.v_proj.bias"]
    if cfg.qk_norm:
        q = rms_norm(q, w[f"{p}.self_attn.q_norm.weight"], cfg.rms_norm_eps)
        k = rms_norm(k, w[f"{p}.self_attn.k_norm.weight"], cfg.rms_norm_eps)
    if cfg.clip_qkv is not None:
        q, k, v = (t.clamp(-cfg.clip_qkv, cfg.clip_qkv) for t in (q, k, v))
    return q, k, v


def attention(cfg: Config, w: Weights, p: str, x: torch.Tensor) -> torch.Tensor:
    """Causal (grouped-query) self-attention over the whole sequence; x: [T, hidden]."""
    T, H, KV, d = x.shape[0], cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
    q = linear(x, w[f"{p}.self_attn.q_proj.weight"])  # [T, H * d]
    k = linear(x, w[f"{p}.self_attn.k_proj.weight"])  # [T, KV * d]
    v = linear(x, w[f"{p}.self_attn.v_proj.weight"])  # [T, KV * d]
    q, k, v = shape_qkv(cfg, w, p, q, k, v)
    q, k, v = q.view(T, H, d), k.view(T, KV, d), v.view(T, KV, d)

    cos, sin = rope_cos_sin(cfg, torch.arange(T))  # [T, d]
    cos, sin = cos[:, None, :], sin[:, None, :]
    q = q * cos + rotate_half(q) * sin
    k = k * cos + rotate_half(k) * sin

    # query head h reads kv head h // (H / KV)
    group = H // KV
    k = k.repeat_interleave(group, dim=1)  # [T, H, d]
    v = v.repeat_interleave(group, dim=1)

    att = torch.einsum("thd,shd->hts", q, k) / math.sqrt(d)  # [H, T(query), T(key)]
    future = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    att = att.masked_fill(future, float("-inf")).softmax(dim=-1)
    out = torch.einsum("hts,shd->thd", att, v).reshape(T, H * d)
    return linear(out, w[f"{p}.self_attn.o_proj.weight"])


# ----------------------------------------------------------------------------- MoE


@dataclass
class Interventions:
    disabled: list[tuple[int, int]] = field(default_factory=list)  # (layer or -1, expert)
    shared_disabled: list[int] = field(default_factory=list)  # layer or -1
    top_k: int | None = None

    @staticmethod
    def from_dict(d: dict[str, Any] | None) -> "Interventions":
        d = d or {}
        return Interventions(
            disabled=[(int(l), int(e)) for l, e in d.get("disabled", [])],
            shared_disabled=[int(l) for l in d.get("shared_disabled", [])],
            top_k=d.get("top_k"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {"disabled": [list(p) for p in self.disabled], "shared_disabled": list(self.shared_disabled),
                "top_k": self.top_k}

    def disabled_in(self, layer: int) -> set[int]:
        return {e for l, e in self.disabled if l in (-1, layer)}

    def shared_off(self, layer: int) -> bool:
        return -1 in self.shared_disabled or layer in self.shared_disabled

    def validate(self, cfg: Config) -> None:
        moe = set(cfg.moe_layers())
        for l, e in self.disabled:
            if l != -1 and l not in moe:
                raise ValueError(f"disabled expert ({l}, {e}): layer {l} is not a MoE layer")
            if not 0 <= e < cfg.n_routed_experts:
                raise ValueError(f"disabled expert ({l}, {e}): no such expert")
        for l in self.shared_disabled:
            if l != -1 and l not in moe:
                raise ValueError(f"shared_disabled layer {l} is not a MoE layer")
        k = self.k(cfg)
        for l in moe:
            if not 0 < k <= cfg.n_routed_experts - len(self.disabled_in(l)):
                raise ValueError(f"layer {l}: top_k {k} but only "
                                 f"{cfg.n_routed_experts - len(self.disabled_in(l))} experts enabled")

    def k(self, cfg: Config) -> int:
        return self.top_k if self.top_k is not None else cfg.num_experts_per_tok


@dataclass
class Route:
    """Routing of one token in one MoE layer."""
    layer: int
    ids: list[int]  # chosen experts, best first
    weights: list[float]  # gate weight of each chosen expert
    scores: list[float]  # softmax over all routed experts (unmasked)
    shared_gate: float | None = None  # qwen2_moe: sigmoid(shared_expert_gate x), even when switched off

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"layer": self.layer, "ids": self.ids, "weights": self.weights, "scores": self.scores}
        if self.shared_gate is not None:
            d["shared_gate"] = self.shared_gate
        return d


def select_experts(scores: torch.Tensor, k: int, disabled: set[int], cfg: Config) -> tuple[list[int], list[float]]:
    """Top-k of one token's scores [n_routed], skipping disabled experts.

    Order: higher score first, equal scores -> lower expert id first.
    Weights are the chosen probabilities; with norm_topk_prob they are divided
    by their sum + 1e-20 (family: DeepSeek's HF code only when k > 1 and with
    the epsilon; the others always and without it, which no float64 sum of
    top-k probabilities can tell apart).
    """
    s = scores.tolist()
    eligible = [e for e in range(len(s)) if e not in disabled]
    ids = sorted(eligible, key=lambda e: (-s[e], e))[:k]
    weights = [s[e] for e in ids]
    if cfg.norm_topk_prob and (k > 1 or cfg.norm_single_expert):
        denom = sum(weights) + 1e-20
        weights = [x / denom for x in weights]
    return ids, weights


def moe(cfg: Config, w: Weights, p: str, layer: int, x: torch.Tensor, iv: Interventions) -> tuple[torch.Tensor, list[Route]]:
    """MoE FFN for x: [T, hidden] -> ([T, hidden], one Route per token)."""
    b = f"{p}.{cfg.moe_block}"
    scores = linear(x, w[f"{b}.gate.weight"]).softmax(dim=-1)  # [T, n_routed]
    disabled, k = iv.disabled_in(layer), iv.k(cfg)
    out = torch.zeros_like(x)
    # family: qwen2_moe scales its shared expert by sigmoid(shared_expert_gate x), [T, 1]
    gate = torch.sigmoid(linear(x, w[f"{b}.shared_expert_gate.weight"])) if cfg.shared_gated else None
    routes: list[Route] = []
    for t in range(x.shape[0]):
        ids, weights = select_experts(scores[t], k, disabled, cfg)
        for e, g in zip(ids, weights):
            out[t] += g * silu_mlp(x[t : t + 1], w, f"{b}.experts.{e}", cfg.expert_proj)[0]
        routes.append(Route(layer, ids, weights, scores[t].tolist(),
                            None if gate is None else float(gate[t, 0])))
    if cfg.n_shared_experts > 0 and not iv.shared_off(layer):
        shared = silu_mlp(x, w, f"{b}.{cfg.shared_prefix}")
        out = out + (shared if gate is None else gate * shared)
    return out, routes


# ----------------------------------------------------------------------------- model


@dataclass
class Result:
    logits: torch.Tensor  # [T, vocab] float64
    routing: list[list[Route]]  # [T][MoE layer, in layer order]


def forward(model: Model, tokens: list[int], interventions: dict[str, Any] | Interventions | None = None) -> Result:
    """Run the whole sequence (positions 0..T-1) with a causal mask."""
    cfg, w = model.cfg, model.w
    iv = interventions if isinstance(interventions, Interventions) else Interventions.from_dict(interventions)
    iv.validate(cfg)
    if any(not 0 <= t < cfg.vocab_size for t in tokens):
        raise ValueError("token id out of range")

    x = w["model.embed_tokens.weight"][torch.tensor(tokens)]  # [T, hidden]
    routing: list[list[Route]] = [[] for _ in tokens]
    for i in range(cfg.num_hidden_layers):
        p = f"model.layers.{i}"
        x = x + attention(cfg, w, p, rms_norm(x, w[f"{p}.input_layernorm.weight"], cfg.rms_norm_eps))
        hn = rms_norm(x, w[f"{p}.post_attention_layernorm.weight"], cfg.rms_norm_eps)
        if cfg.is_moe_layer(i):
            y, routes = moe(cfg, w, p, i, hn, iv)
            for t, r in enumerate(routes):
                routing[t].append(r)
        else:
            y = silu_mlp(hn, w, f"{p}.mlp")
        x = x + y
    x = rms_norm(x, w["model.norm.weight"], cfg.rms_norm_eps)
    head = w["model.embed_tokens.weight"] if cfg.tie_word_embeddings else w["lm_head.weight"]
    return Result(linear(x, head), routing)


# ----------------------------------------------------------------------------- CLI


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir")
    ap.add_argument("--tokens", type=int, nargs="+", required=True)
    ap.add_argument("--interventions", default=None, help="JSON dict, see module docstring")
    ap.add_argument("--json", help="write logits and routing to this file")
    args = ap.parse_args()

    model = load_model(args.model_dir)
    res = forward(model, args.tokens, json.loads(args.interventions) if args.interventions else None)
    for t, tok in enumerate(args.tokens):
        top = res.logits[t].topk(5)
        print(f"pos {t} token {tok}: top logits {[(int(i), round(float(v), 4)) for v, i in zip(*top)]}")
        for r in res.routing[t]:
            print(f"    layer {r.layer}: ids {r.ids} weights {[round(x, 4) for x in r.weights]}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"tokens": args.tokens, "logits": res.logits.tolist(),
                       "routing": [[r.to_dict() for r in rs] for rs in res.routing]}, f)


if __name__ == "__main__":
    main()
