#!/usr/bin/env python3
"""Float64 reference forward pass of DeepSeek-V2 ("deepseek_v2") and DeepSeek-V3
("deepseek_v3", also Moonlight's and Kimi-K2's layout).

The sibling of deepseek_ref.py (whose ops, weights reader and intervention rules it
shares), written from transformers 5.24's modeling_deepseek_v2.py / modeling_deepseek_v3.py
and DeepSeek's papers, op for op and with no nn.Module:

- multi-head latent attention, computed the plain way: every head's no-RoPE key and value
  are kv_b_proj of the normed latent, concatenated with the one RoPE key all heads share
  (the engine folds the query into the latent instead; the two agree to rounding);
- RoPE on interleaved pairs (x0, x1), (x2, x3), ... (V3 with rope_interleave false:
  rotate-half), YaRN's frequencies and its cos/sin factor, and its mscale^2 on the
  softmax scale;
- the gate: softmax (V2) or sigmoid (V3) scores; the selection scores (V3: plus
  e_score_correction_bias); groups ranked by their best (V2 group_limited_greedy) or the sum
  of their two best (V3 noaux_tc) selection scores, topk_group kept; the top k within them;
  weights from the unbiased scores, renormalised (V3, norm_topk_prob), times
  routed_scaling_factor.

Interventions are deepseek_ref's plus "select_without_bias" (V3: rank the raw scores)
and "no_group_limit" (every group reachable). A disabled expert neither ranks its group
nor is chosen; should the kept groups hold fewer than k selectable experts, the
next-ranked groups are kept too (as engine/cpu/expert_choice.h).

    deepseek_v2_v3_ref.py MODEL_DIR --tokens 1 45 300 [--interventions '{"no_group_limit": true}']
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
import deepseek_ref as ref  # noqa: E402
import st_io  # noqa: E402

DT = ref.DT


@dataclass
class Config:
    family: str
    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    moe_intermediate_size: int
    n_routed_experts: int
    n_shared_experts: int
    num_experts_per_tok: int
    first_k_dense_replace: int
    moe_layer_freq: int
    norm_topk_prob: bool
    tie_word_embeddings: bool
    rms_norm_eps: float
    rope_theta: float
    q_lora_rank: int | None
    kv_lora_rank: int
    qk_nope_head_dim: int
    qk_rope_head_dim: int
    v_head_dim: int
    rope_interleave: bool
    yarn: dict[str, Any] | None  # rope_scaling / rope_parameters of type "yarn"
    topk_method: str  # greedy, group_limited_greedy, noaux_tc
    n_group: int
    topk_group: int
    routed_scaling_factor: float

    def is_moe_layer(self, i: int) -> bool:
        return i >= self.first_k_dense_replace and i % self.moe_layer_freq == 0

    def moe_layers(self) -> list[int]:
        return [i for i in range(self.num_hidden_layers) if self.is_moe_layer(i)]

    @property
    def grouped(self) -> bool:
        return self.topk_method != "greedy" and self.n_group > 1


def load_config(model_dir: str) -> Config:
    with open(os.path.join(model_dir, "config.json")) as f:
        c: dict[str, Any] = json.load(f)
    family = c.get("model_type")
    if family not in ("deepseek_v2", "deepseek_v3"):
        raise ValueError(f"{model_dir}: model_type {family!r} is not deepseek_v2 or deepseek_v3")
    rope = dict(c.get("rope_parameters") or c.get("rope_scaling") or {})
    kind = rope.get("rope_type", rope.get("type", "default"))
    if kind not in ("default", "yarn"):
        raise ValueError(f"rope type {kind!r} is not supported here")
    v3 = family == "deepseek_v3"
    return Config(
        family=family, vocab_size=c["vocab_size"], hidden_size=c["hidden_size"],
        num_hidden_layers=c["num_hidden_layers"], num_attention_heads=c["num_attention_heads"],
        intermediate_size=c["intermediate_size"], moe_intermediate_size=c["moe_intermediate_size"],
        n_routed_experts=c["n_routed_experts"], n_shared_experts=c.get("n_shared_experts") or 0,
        num_experts_per_tok=c["num_experts_per_tok"],
        first_k_dense_replace=c.get("first_k_dense_replace", 0), moe_layer_freq=c.get("moe_layer_freq", 1),
        norm_topk_prob=bool(c.get("norm_topk_prob", v3)) and v3,
        tie_word_embeddings=bool(c.get("tie_word_embeddings", False)),
        rms_norm_eps=float(c.get("rms_norm_eps", 1e-6)),
        rope_theta=float(rope.get("rope_theta", c.get("rope_theta", 10000.0))),
        q_lora_rank=c.get("q_lora_rank"), kv_lora_rank=c["kv_lora_rank"],
        qk_nope_head_dim=c["qk_nope_head_dim"], qk_rope_head_dim=c["qk_rope_head_dim"],
        v_head_dim=c["v_head_dim"], rope_interleave=bool(c.get("rope_interleave", True)),
        yarn=rope if kind == "yarn" else None,
        topk_method="noaux_tc" if v3 else c.get("topk_method", "greedy"),
        n_group=c.get("n_group") or 1, topk_group=c.get("topk_group") or 1,
        routed_scaling_factor=float(c.get("routed_scaling_factor", 1.0)))


def expected_shapes(cfg: Config) -> dict[str, list[int]]:
    h, H = cfg.hidden_size, cfg.num_attention_heads
    qk = cfg.qk_nope_head_dim + cfg.qk_rope_head_dim
    shapes = {"model.embed_tokens.weight": [cfg.vocab_size, h], "model.norm.weight": [h]}
    if not cfg.tie_word_embeddings:
        shapes["lm_head.weight"] = [cfg.vocab_size, h]

    def mlp(prefix: str, width: int) -> None:
        shapes.update({f"{prefix}.gate_proj.weight": [width, h], f"{prefix}.up_proj.weight": [width, h],
                       f"{prefix}.down_proj.weight": [h, width]})

    for i in range(cfg.num_hidden_layers):
        p, a = f"model.layers.{i}", f"model.layers.{i}.self_attn"
        shapes[f"{p}.input_layernorm.weight"] = [h]
        shapes[f"{p}.post_attention_layernorm.weight"] = [h]
        if cfg.q_lora_rank:
            shapes[f"{a}.q_a_proj.weight"] = [cfg.q_lora_rank, h]
            shapes[f"{a}.q_a_layernorm.weight"] = [cfg.q_lora_rank]
            shapes[f"{a}.q_b_proj.weight"] = [H * qk, cfg.q_lora_rank]
        else:
            shapes[f"{a}.q_proj.weight"] = [H * qk, h]
        shapes[f"{a}.kv_a_proj_with_mqa.weight"] = [cfg.kv_lora_rank + cfg.qk_rope_head_dim, h]
        shapes[f"{a}.kv_a_layernorm.weight"] = [cfg.kv_lora_rank]
        shapes[f"{a}.kv_b_proj.weight"] = [H * (cfg.qk_nope_head_dim + cfg.v_head_dim), cfg.kv_lora_rank]
        shapes[f"{a}.o_proj.weight"] = [h, H * cfg.v_head_dim]
        if cfg.is_moe_layer(i):
            shapes[f"{p}.mlp.gate.weight"] = [cfg.n_routed_experts, h]
            if cfg.family == "deepseek_v3":
                shapes[f"{p}.mlp.gate.e_score_correction_bias"] = [cfg.n_routed_experts]
            for e in range(cfg.n_routed_experts):
                mlp(f"{p}.mlp.experts.{e}", cfg.moe_intermediate_size)
            if cfg.n_shared_experts:
                mlp(f"{p}.mlp.shared_experts", cfg.moe_intermediate_size * cfg.n_shared_experts)
        else:
            mlp(f"{p}.mlp", cfg.intermediate_size)
    return shapes


def unfuse(raw: dict, cfg: Config) -> dict:
    """transformers 5's fused experts ([E, 2I, h] gate_up, [E, h, I] down) as per-expert tensors."""
    out = dict(raw)
    for i in cfg.moe_layers():
        p = f"model.layers.{i}.mlp.experts"
        if f"{p}.gate_up_proj" not in raw:
            continue
        gate_up, down = out.pop(f"{p}.gate_up_proj")[1], out.pop(f"{p}.down_proj")[1]
        width = cfg.moe_intermediate_size
        for e in range(cfg.n_routed_experts):
            out[f"{p}.{e}.gate_proj.weight"] = (None, gate_up[e, :width])
            out[f"{p}.{e}.up_proj.weight"] = (None, gate_up[e, width:])
            out[f"{p}.{e}.down_proj.weight"] = (None, down[e])
    return out


def load_model(model_dir: str) -> ref.Model:
    cfg = load_config(model_dir)
    raw = unfuse(st_io.read_dir(model_dir), cfg)
    return ref.Model(cfg, ref.checked_weights(raw, expected_shapes(cfg), model_dir))


# ----------------------------------------------------------------------------- attention


def yarn_mscale(factor: float, mscale: float) -> float:
    return 1.0 if factor <= 1 else 0.1 * mscale * math.log(factor) + 1.0


def rope_tables(cfg: Config, T: int) -> tuple[torch.Tensor, torch.Tensor]:
    """cos, sin [T, rope_dim / 2]: one angle per pair, YaRN's blend and factor applied."""
    d, base = cfg.qk_rope_head_dim, cfg.rope_theta
    inv = 1.0 / base ** (torch.arange(0, d, 2, dtype=DT) / d)
    factor = 1.0
    y = cfg.yarn
    if y:
        def dim_of(rotations: float) -> float:
            return d * math.log(y["original_max_position_embeddings"] / (rotations * 2 * math.pi)) / (2 * math.log(base))
        low, high = dim_of(y.get("beta_fast") or 32), dim_of(y.get("beta_slow") or 1)
        if y.get("truncate", True):
            low, high = math.floor(low), math.ceil(high)
        low, high = max(low, 0), min(high, d - 1)
        high = high + 0.001 if low == high else high
        ramp = ((torch.arange(d // 2, dtype=DT) - low) / (high - low)).clamp(0, 1)
        inv = inv / y["factor"] * ramp + inv * (1 - ramp)
        factor = y.get("attention_factor") or (
            yarn_mscale(y["factor"], y["mscale"]) / yarn_mscale(y["factor"], y["mscale_all_dim"])
            if y.get("mscale") and y.get("mscale_all_dim") else yarn_mscale(y["factor"], 1.0))
    angles = torch.outer(torch.arange(T, dtype=DT), inv)
    return angles.cos() * factor, angles.sin() * factor


def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, interleaved: bool) -> torch.Tensor:
    """x [T, heads, rope_dim]: pairs (2i, 2i+1) when interleaved, else (i, i + rope_dim/2)."""
    a, b = (x[..., 0::2], x[..., 1::2]) if interleaved else x.chunk(2, dim=-1)
    c, s = cos[:, None, :], sin[:, None, :]
    ra, rb = a * c - b * s, b * c + a * s
    return torch.stack([ra, rb], dim=-1).flatten(-2) if interleaved else torch.cat([ra, rb], dim=-1)


def attention(cfg: Config, w: ref.Weights, p: str, x: torch.Tensor) -> torch.Tensor:
    T, H = x.shape[0], cfg.num_attention_heads
    nope, rope_dim, vd, lora = cfg.qk_nope_head_dim, cfg.qk_rope_head_dim, cfg.v_head_dim, cfg.kv_lora_rank
    a = f"{p}.self_attn"
    if cfg.q_lora_rank:
        q = ref.linear(ref.rms_norm(ref.linear(x, w[f"{a}.q_a_proj.weight"]), w[f"{a}.q_a_layernorm.weight"],
                                    cfg.rms_norm_eps), w[f"{a}.q_b_proj.weight"])
    else:
        q = ref.linear(x, w[f"{a}.q_proj.weight"])
    q = q.view(T, H, nope + rope_dim)
    compressed = ref.linear(x, w[f"{a}.kv_a_proj_with_mqa.weight"])
    latent = ref.rms_norm(compressed[:, :lora], w[f"{a}.kv_a_layernorm.weight"], cfg.rms_norm_eps)
    cos, sin = rope_tables(cfg, T)
    q_pe = rotate(q[..., nope:], cos, sin, cfg.rope_interleave)
    k_pe = rotate(compressed[:, None, lora:], cos, sin, cfg.rope_interleave)  # [T, 1, rope]
    kv = ref.linear(latent, w[f"{a}.kv_b_proj.weight"]).view(T, H, nope + vd)
    keys = torch.cat([kv[..., :nope], k_pe.expand(T, H, rope_dim)], dim=-1)
    queries = torch.cat([q[..., :nope], q_pe], dim=-1)
    scale = (nope + rope_dim) ** -0.5
    if cfg.yarn and cfg.yarn.get("mscale_all_dim"):
        scale *= yarn_mscale(cfg.yarn["factor"], cfg.yarn["mscale_all_dim"]) ** 2
    att = torch.einsum("thd,shd->hts", queries, keys) * scale
    future = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    att = att.masked_fill(future, float("-inf")).softmax(dim=-1)
    out = torch.einsum("hts,shd->thd", att, kv[..., nope:]).reshape(T, H * vd)
    return ref.linear(out, w[f"{a}.o_proj.weight"])


# ----------------------------------------------------------------------------- gate


@dataclass
class Interventions(ref.Interventions):
    select_without_bias: bool = False
    no_group_limit: bool = False

    @staticmethod
    def from_dict(d: dict[str, Any] | None) -> "Interventions":
        d = d or {}
        base = ref.Interventions.from_dict(d)
        return Interventions(base.disabled, base.shared_disabled, base.top_k,
                             bool(d.get("select_without_bias", False)), bool(d.get("no_group_limit", False)))

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "select_without_bias": self.select_without_bias,
                "no_group_limit": self.no_group_limit}


@dataclass
class Route(ref.Route):
    selection_scores: list[float] | None = None  # V3: scores + bias (when it selects)
    groups: list[int] = field(default_factory=list)  # kept groups, ascending

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        if self.selection_scores is not None:
            d["selection_scores"] = self.selection_scores
        if self.groups:
            d["groups"] = self.groups
        return d


def choose(cfg: Config, scores: list[float], bias: list[float] | None, layer: int,
           iv: Interventions) -> Route:
    """One token's choice in one MoE layer (see the module docstring)."""
    n, k = len(scores), iv.k(cfg)
    selection = [s + b for s, b in zip(scores, bias)] if bias and not iv.select_without_bias else None
    sel = selection or scores
    allowed = [e for e in range(n) if e not in iv.disabled_in(layer)]
    groups: list[int] = []
    if cfg.grouped and not iv.no_group_limit:
        size = n // cfg.n_group
        members = {g: sorted((sel[e] for e in allowed if e // size == g), reverse=True) for g in range(cfg.n_group)}
        ranked = sorted((g for g in members if members[g]),
                        key=lambda g: (-sum(members[g][:2 if cfg.topk_method == "noaux_tc" else 1]), g))
        for g in ranked:
            if len(groups) >= cfg.topk_group and sum(len(members[x]) for x in groups) >= k:
                break
            groups.append(g)
        groups.sort()
        allowed = [e for e in allowed if e // size in groups]
    ids = sorted(allowed, key=lambda e: (-sel[e], e))[:k]
    weights = [scores[e] for e in ids]
    if cfg.norm_topk_prob:
        total = sum(weights) + 1e-20
        weights = [x / total for x in weights]
    weights = [x * cfg.routed_scaling_factor for x in weights]
    return Route(layer, ids, weights, scores, None, selection, groups)


def moe(cfg: Config, w: ref.Weights, p: str, layer: int, x: torch.Tensor, iv: Interventions):
    logits = ref.linear(x, w[f"{p}.mlp.gate.weight"])
    v3 = cfg.family == "deepseek_v3"
    scores = logits.sigmoid() if v3 else logits.softmax(dim=-1)
    bias = w[f"{p}.mlp.gate.e_score_correction_bias"].tolist() if v3 else None
    out = torch.zeros_like(x)
    routes = []
    for t in range(x.shape[0]):
        r = choose(cfg, scores[t].tolist(), bias, layer, iv)
        for e, g in zip(r.ids, r.weights):
            out[t] += g * ref.silu_mlp(x[t:t + 1], w, f"{p}.mlp.experts.{e}")[0]
        routes.append(r)
    if cfg.n_shared_experts and not iv.shared_off(layer):
        out = out + ref.silu_mlp(x, w, f"{p}.mlp.shared_experts")
    return out, routes


def forward(model: ref.Model, tokens: list[int], interventions: dict[str, Any] | None = None) -> ref.Result:
    cfg, w = model.cfg, model.w
    iv = Interventions.from_dict(interventions)
    x = w["model.embed_tokens.weight"][torch.tensor(tokens)]
    routing: list[list[Route]] = [[] for _ in tokens]
    for i in range(cfg.num_hidden_layers):
        p = f"model.layers.{i}"
        x = x + attention(cfg, w, p, ref.rms_norm(x, w[f"{p}.input_layernorm.weight"], cfg.rms_norm_eps))
        hn = ref.rms_norm(x, w[f"{p}.post_attention_layernorm.weight"], cfg.rms_norm_eps)
        if cfg.is_moe_layer(i):
            y, routes = moe(cfg, w, p, i, hn, iv)
            for t, r in enumerate(routes):
                routing[t].append(r)
        else:
            y = ref.silu_mlp(hn, w, f"{p}.mlp")
        x = x + y
    x = ref.rms_norm(x, w["model.norm.weight"], cfg.rms_norm_eps)
    head = w["model.embed_tokens.weight"] if cfg.tie_word_embeddings else w["lm_head.weight"]
    return ref.Result(ref.linear(x, head), routing)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir")
    ap.add_argument("--tokens", type=int, nargs="+", required=True)
    ap.add_argument("--interventions", default=None, help="JSON dict, see module docstring")
    args = ap.parse_args()
    res = forward(load_model(args.model_dir), args.tokens,
                  json.loads(args.interventions) if args.interventions else None)
    for t, tok in enumerate(args.tokens):
        print(f"pos {t} token {tok}: argmax {int(res.logits[t].argmax())}")
        for r in res.routing[t]:
            print(f"    layer {r.layer}: ids {r.ids} groups {r.groups} weights {[round(x, 4) for x in r.weights]}")


if __name__ == "__main__":
    main()
