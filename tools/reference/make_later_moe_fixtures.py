#!/usr/bin/env python3
"""Checkpoints and goldens of the later MoE families, from transformers' own classes.

    make_later_moe_fixtures.py MODELS_DIR GOLDEN_DIR

The sibling of make_t5_fixtures.py (same venv, same golden schema, same reseeding
until no top-k decision is a near-tie) for families whose layers are not all MoE:
each routing entry names its layer's index among all layers.

- `qwen3moe-t5`: Qwen3MoeForCausalLM with per-head q/k norms, a head_dim that is not
  hidden_size / num_attention_heads, a dense layer by mlp_only_layers and
  norm_topk_prob; saved by default (`rope_parameters`, `num_local_experts`, per-expert
  tensors);
- `qwen3moe-t5-fused`: the same model saved with `save_original_format=False` (fused
  experts) and config.json in the hub's spelling (`num_experts`, top-level `rope_theta`).
"""

from __future__ import annotations

import json
import sys

import torch
from transformers import Qwen3MoeConfig

from make_t5_fixtures import COMMON, MIN_GAP, hf_golden, load_hf, make_fixtures, old_spelling

FAMILIES = {
    "qwen3moe": (Qwen3MoeConfig, dict(num_hidden_layers=3, head_dim=12, intermediate_size=40,
                                      moe_intermediate_size=20, num_experts=8, num_experts_per_tok=3,
                                      norm_topk_prob=True, mlp_only_layers=[1],
                                      rope_parameters={"rope_type": "default",
                                                       "rope_theta": 123456.0})),
}


def hub_spelling(config_path: str) -> None:
    """The older spelling of make_t5_fixtures.old_spelling, and the hub's name of the expert count."""
    old_spelling(config_path)
    with open(config_path) as f:
        config = json.load(f)
    if "num_local_experts" in config:
        config["num_experts"] = config.pop("num_local_experts")
    with open(config_path, "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")


def golden(model_dir: str, name: str, tokens: list[int]) -> dict:
    model = load_hf(model_dir)
    routers = []  # (layer index, router output), in the order the forward runs them
    for index, layer in enumerate(model.model.layers):
        if hasattr(layer.mlp, "gate") and not hasattr(layer.mlp, "gate_proj"):
            layer.mlp.gate.register_forward_hook(
                lambda m, i, o, index=index: routers.append((index, o)))
    with torch.no_grad():
        logits = model(torch.tensor([tokens])).logits[0]
    k = model.config.num_experts_per_tok
    routing = [[] for _ in tokens]
    for index, (router_logits, weights, ids) in routers:
        scores = torch.softmax(router_logits.double(), dim=-1)
        for t in range(len(tokens)):
            s = scores[t].sort(descending=True).values
            if s[k - 1] - s[k] < MIN_GAP:
                raise ValueError(f"near-tie at position {t}, layer {index}")
            routing[t].append({"layer": index, "ids": ids[t].tolist(),
                               "weights": weights[t].double().tolist(), "scores": scores[t].tolist()})
    return hf_golden(model, name, tokens, logits, routing)


def main() -> None:
    configs = {family: config_class(**{**COMMON, **options})
               for family, (config_class, options) in FAMILIES.items()}
    make_fixtures(sys.argv[1], sys.argv[2], configs, hub_spelling, golden)


if __name__ == "__main__":
    main()
