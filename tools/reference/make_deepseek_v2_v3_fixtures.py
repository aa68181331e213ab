#!/usr/bin/env python3
"""Checkpoints and goldens of DeepSeek-V2 and DeepSeek-V3, from transformers' own classes.

    make_deepseek_v2_v3_fixtures.py MODELS_DIR GOLDEN_DIR

The sibling of make_later_moe_fixtures.py (same venv, golden schema and reseeding until no
decision is a near-tie), for the families with multi-head latent attention (MLA):

- `deepseekv2-t5`: DeepseekV2ForCausalLM, q_proj (q_lora_rank null), greedy top-k,
  YaRN (factor 4, mscale = mscale_all_dim 0.707 as DeepSeek-V2-Lite), routed_scaling_factor;
- `deepseekv2group-t5`: the low-rank q path (q_lora_rank set) and group_limited_greedy
  (4 groups, 2 kept), default RoPE;
- `deepseekv3-t5`: DeepseekV3ForCausalLM, sigmoid scores, a random e_score_correction_bias
  large enough to change the choice, noaux_tc groups (4 groups, 2 kept), norm_topk_prob,
  routed_scaling_factor 2.5, YaRN with mscale 1.0 / mscale_all_dim 0.8;

each also as `<name>-fused` (fused experts, config.json in the hub's spelling: top-level
rope_theta and rope_scaling with "type"). Routing records add, where the family has them,
"selection_scores" (the scores plus the bias: what the top-k ranks) and "groups" (the
groups kept, ascending); ids are best first by selection score (HF's top-k is unsorted).

The float64 reference (deepseek_v2_v3_ref.py) is cross-checked against every golden
(logits relative error below 1e-5, ids and groups identical) and then writes the
intervention goldens transformers cannot: `deepseekv3-t5.nobias` (select without the
bias), `deepseekv3-t5.nogroups` (no group limit), `deepseekv2group-t5.masked` (group 0
switched off in layer 1, one expert everywhere, the shared experts of layer 2, k = 2);
their records add "plain_ids", the choice without interventions.

Last, `deepseekv3-t5-fused` gains a multi-token-prediction layer as DeepSeek-V3's
checkpoints hold one (`model.layers.3.*`, index num_hidden_layers: eh_proj, enorm, hnorm,
its own attention and MoE), after its golden was made: the engine must not read it.
"""

from __future__ import annotations

import json
import sys

import torch
from safetensors.torch import load_file, save_file
from transformers import DeepseekV2Config, DeepseekV3Config

import deepseek_v2_v3_ref as ref
from make_t5_fixtures import COMMON, MIN_GAP, hf_golden, load_hf, make_fixtures, randomise, write_golden

MLA = dict(num_hidden_layers=3, num_key_value_heads=4, first_k_dense_replace=1,
           intermediate_size=40, moe_intermediate_size=12, n_routed_experts=8, n_shared_experts=1,
           kv_lora_rank=16, qk_nope_head_dim=8, qk_rope_head_dim=4, v_head_dim=6)
YARN = dict(rope_type="yarn", rope_theta=10000.0, factor=4.0, original_max_position_embeddings=64,
            beta_fast=32, beta_slow=1)
FAMILIES = {
    "deepseekv2": (DeepseekV2Config, dict(
        q_lora_rank=None, num_experts_per_tok=2, topk_method="greedy", routed_scaling_factor=1.5,
        rope_parameters={**YARN, "mscale": 0.707, "mscale_all_dim": 0.707})),
    "deepseekv2group": (DeepseekV2Config, dict(
        q_lora_rank=12, num_experts_per_tok=3, topk_method="group_limited_greedy", n_group=4,
        topk_group=2, rope_parameters={"rope_type": "default", "rope_theta": 54321.0})),
    "deepseekv3": (DeepseekV3Config, dict(
        q_lora_rank=12, num_experts_per_tok=3, n_group=4, topk_group=2, norm_topk_prob=True,
        routed_scaling_factor=2.5, rope_parameters={**YARN, "mscale": 1.0, "mscale_all_dim": 0.8})),
}


def randomise_mla(model: torch.nn.Module, seed: int) -> None:
    """make_t5_fixtures' weights; a sigmoid gate a third as steep (its scores would pile up
    near 0 and 1) and a bias on the scale of the gaps between them."""
    randomise(model, seed)
    g = torch.Generator().manual_seed(1000 + seed)
    with torch.no_grad():
        for layer in model.model.layers:
            gate = getattr(layer.mlp, "gate", None)
            if gate is not None and hasattr(gate, "e_score_correction_bias"):
                gate.weight /= 3
                gate.e_score_correction_bias.copy_(0.1 * torch.randn(gate.weight.shape[0], generator=g))


def hub_spelling(config_path: str) -> None:
    """config.json as the hub's DeepSeek checkpoints spell it: top-level rope_theta,
    rope_scaling with "type" (null for default RoPE)."""
    with open(config_path) as f:
        config = json.load(f)
    rope = dict(config.pop("rope_parameters"))
    config["rope_theta"] = rope.pop("rope_theta")
    kind = rope.pop("rope_type")
    config["rope_scaling"] = None if kind == "default" else {"type": kind, **rope}
    with open(config_path, "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")


def ranked(values: list[float]) -> list[int]:
    return sorted(range(len(values)), key=lambda i: (-values[i], i))


def check_gap(values: list[float], keep: int, what: str) -> None:
    s = sorted(values, reverse=True)
    if keep < len(s) and s[keep - 1] - s[keep] < MIN_GAP:
        raise ValueError(f"near-tie in {what}")


def route(gate: torch.nn.Module, logits: torch.Tensor, hf_ids: list[int], hf_weights: list[float],
          cfg, where: str) -> dict:
    """One token's record, recomputed in float64 from the router logits, checked against
    what transformers chose."""
    v3 = hasattr(gate, "e_score_correction_bias")
    scores = (logits.double().sigmoid() if v3 else logits.double().softmax(-1)).tolist()
    selection = ((logits.double().sigmoid() + gate.e_score_correction_bias.double()).tolist()
                 if v3 else scores)
    k, n = cfg.num_experts_per_tok, len(scores)
    entry = {"scores": scores}
    allowed = list(range(n))
    grouped = v3 or cfg.topk_method == "group_limited_greedy"
    if grouped:
        size = n // cfg.n_group
        members = [sorted(selection[g * size:(g + 1) * size], reverse=True) for g in range(cfg.n_group)]
        group_scores = [sum(m[:2]) if v3 else m[0] for m in members]
        check_gap(group_scores, cfg.topk_group, f"group scores at {where}")
        groups = sorted(ranked(group_scores)[:cfg.topk_group])
        allowed = [e for e in allowed if e // size in groups]
        entry["groups"] = groups
    check_gap([selection[e] for e in allowed], k, f"expert scores at {where}")
    ids = sorted(allowed, key=lambda e: (-selection[e], e))[:k]
    if sorted(ids) != sorted(hf_ids):
        raise SystemExit(f"{where}: transformers chose {hf_ids}, the recomputation {ids}")
    entry["ids"] = ids
    entry["weights"] = [hf_weights[hf_ids.index(e)] for e in ids]
    if v3:
        entry["selection_scores"] = selection
    return entry


def golden(model_dir: str, name: str, tokens: list[int]) -> dict:
    model = load_hf(model_dir)
    routers = []  # (layer index, gate, router output), in the order the forward runs them
    for index, layer in enumerate(model.model.layers):
        if hasattr(layer.mlp, "gate") and not hasattr(layer.mlp, "gate_proj"):
            layer.mlp.gate.register_forward_hook(
                lambda m, i, o, index=index: routers.append((index, m, o)))
    with torch.no_grad():
        logits = model(torch.tensor([tokens])).logits[0]
    routing = [[] for _ in tokens]
    for index, gate, (router_logits, weights, ids) in routers:
        for t in range(len(tokens)):
            entry = route(gate, router_logits[t], ids[t].tolist(), weights[t].double().tolist(),
                          model.config, f"position {t}, layer {index}")
            routing[t].append({"layer": index, **entry})
    return hf_golden(model, name, tokens, logits, routing)


INTERVENTIONS = {
    "deepseekv3-t5.nobias": {"select_without_bias": True},
    "deepseekv3-t5.nogroups": {"no_group_limit": True},
    "deepseekv2group-t5.masked": {"disabled": [[1, 0], [1, 1], [-1, 5]], "shared_disabled": [2],
                                  "top_k": 2},
}
REFERENCE_TOLERANCE = 1e-5


def cross_check(models_dir: str, golden_dir: str) -> None:
    """The reference against every golden transformers wrote."""
    for family in FAMILIES:
        for name in (f"{family}-t5", f"{family}-t5-fused"):
            with open(f"{golden_dir}/{name}.plain.json") as f:
                g = json.load(f)
            res = ref.forward(ref.load_model(f"{models_dir}/{name}"), g["tokens"])
            hf = torch.tensor(g["logits"], dtype=torch.float64)
            error = float((res.logits - hf).norm() / hf.norm())
            same = all(r.ids == e["ids"] and r.groups == e.get("groups", [])
                       for rs, es in zip(res.routing, g["routing"]) for r, e in zip(rs, es))
            print(f"{name}: reference vs transformers: logits {error:.2e}, ids and groups identical: {same}")
            if error > REFERENCE_TOLERANCE or not same:
                raise SystemExit(f"{name}: the reference disagrees with transformers")


def decision_gaps(cfg, route, iv) -> list[float]:
    """The margins of one intervened decision: the k-th against the next selectable score
    and, with groups, the last kept group against the next."""
    sel = route.selection_scores or route.scores
    disabled = iv.disabled_in(route.layer)
    size = len(sel) // cfg.n_group
    allowed = [e for e in range(len(sel)) if e not in disabled]
    gaps = []
    if route.groups and len(route.groups) == cfg.topk_group:
        counted = 2 if cfg.topk_method == "noaux_tc" else 1
        score = {g: sum(sorted((sel[e] for e in allowed if e // size == g), reverse=True)[:counted])
                 for g in {e // size for e in allowed}}
        gaps.append(min(score[g] for g in route.groups) -
                    max([score[g] for g in score if g not in route.groups], default=-1e9))
    ranked = sorted((sel[e] for e in allowed if not route.groups or e // size in route.groups), reverse=True)
    k = len(route.ids)
    if k < len(ranked):
        gaps.append(ranked[k - 1] - ranked[k])
    return gaps


def intervention_goldens(models_dir: str, golden_dir: str) -> None:
    for case, interventions in INTERVENTIONS.items():
        name, label = case.split(".")
        with open(f"{golden_dir}/{name}.plain.json") as f:
            plain = json.load(f)
        model = ref.load_model(f"{models_dir}/{name}")
        iv = ref.Interventions.from_dict(interventions)
        res = ref.forward(model, plain["tokens"], interventions)
        unmasked = ref.forward(model, plain["tokens"])
        routing = []
        for rs, us in zip(res.routing, unmasked.routing):
            for r in rs:
                if min(decision_gaps(model.cfg, r, iv), default=1.0) < MIN_GAP:
                    raise SystemExit(f"{case}: a near-tie at layer {r.layer}; choose other interventions")
            routing.append([{**r.to_dict(), "plain_ids": u.ids} for r, u in zip(rs, us)])
        write_golden(f"{golden_dir}/{case}.json", {
            "model": name, "case": label, "tokens": plain["tokens"],
            "interventions": iv.to_dict(), "logits": res.logits.tolist(), "routing": routing,
            "made_by": f"tools/reference/deepseek_v2_v3_ref.py, torch {torch.__version__}"})
        changed = sum(sorted(r.ids) != sorted(u.ids) for rs, us in zip(res.routing, unmasked.routing)
                      for r, u in zip(rs, us))
        print(f"{case}: {changed} of {sum(map(len, res.routing))} decisions changed")


def add_mtp_layer(model_dir: str) -> None:
    """A DeepSeek-V3 MTP layer's tensors, at layer index num_hidden_layers, random."""
    path = f"{model_dir}/model.safetensors"
    tensors = load_file(path)
    with open(f"{model_dir}/config.json") as f:
        config = json.load(f)
    hidden, mtp = config["hidden_size"], f"model.layers.{config['num_hidden_layers']}"
    last = f"model.layers.{config['num_hidden_layers'] - 1}"
    g = torch.Generator().manual_seed(61)
    for name in [n for n in tensors if n.startswith(last + ".")]:  # attention, norms, MoE
        tensors[mtp + name[len(last):]] = torch.randn(tensors[name].shape, generator=g)
    tensors[f"{mtp}.eh_proj.weight"] = torch.randn(hidden, 2 * hidden, generator=g)
    for norm in ("enorm", "hnorm", "shared_head.norm"):
        tensors[f"{mtp}.{norm}.weight"] = torch.ones(hidden)
    save_file(tensors, path, metadata={"format": "pt"})


def main() -> None:
    configs = {family: config_class(**{**COMMON, **MLA, **options})
               for family, (config_class, options) in FAMILIES.items()}
    make_fixtures(sys.argv[1], sys.argv[2], configs, hub_spelling, golden, randomise_mla)
    cross_check(sys.argv[1], sys.argv[2])
    intervention_goldens(sys.argv[1], sys.argv[2])
    add_mtp_layer(f"{sys.argv[1]}/deepseekv3-t5-fused")


if __name__ == "__main__":
    main()
