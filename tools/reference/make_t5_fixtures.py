#!/usr/bin/env python3
"""Checkpoints as transformers 5 writes them, with goldens from transformers' own forward.

    make_t5_fixtures.py MODELS_DIR GOLDEN_DIR

Needs PyPI's torch and transformers >= 5 (in a venv outside the repository):

    python3 -m venv /tmp/hf5 && /tmp/hf5/bin/pip install torch transformers safetensors
    /tmp/hf5/bin/python tools/reference/make_t5_fixtures.py tests/fixtures/models tests/fixtures/golden

For Mixtral, Qwen2-MoE and OLMoE it builds a small random model with the family's
transformers 5 config class (a RoPE base no family defaults to; linear scaling
for Mixtral and OLMoE) and saves it twice with `save_pretrained`:

- `<family>-t5`: as saved by default: config.json with `rope_parameters`, per-expert tensors;
- `<family>-t5-fused`: `save_original_format=False`, the fused expert tensors
  transformers 5 holds in memory (`mlp.experts.gate_up_proj`, `mlp.experts.down_proj`),
  with config.json rewritten to the older spelling (top-level `rope_theta`, `rope_scaling`).

Each folder gets a golden file in the schema of make_golden.py from transformers'
own forward in float64 (eager attention): logits, and per MoE layer the router's
scores (softmax of its logits), the ids and weights the router returned (HF computes
these in float32), the shared-expert gate for Qwen2-MoE, and a greedy continuation
("greedy": the argmax continuation, one whole-sequence forward per token). The weights are reseeded
until no top-k decision is a near-tie. Versions are recorded in the golden files.
"""

from __future__ import annotations

import json
import os
import shutil
import sys

import torch
import transformers
from transformers import AutoModelForCausalLM, MixtralConfig, OlmoeConfig, Qwen2MoeConfig

N_TOKENS = 12
N_GREEDY = 8
MIN_GAP = 1e-4  # between the k-th and (k+1)-th router score (HF's router runs in float32)
COMMON = dict(vocab_size=96, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, max_position_embeddings=256, bos_token_id=1,
              eos_token_id=2, pad_token_id=None, tie_word_embeddings=False)
FAMILIES = {
    "mixtral": (MixtralConfig, dict(intermediate_size=40, num_local_experts=6, num_experts_per_tok=2,
                                    rope_parameters={"rope_type": "linear", "rope_theta": 31337.0,
                                                     "factor": 2.0})),
    "qwen2moe": (Qwen2MoeConfig, dict(intermediate_size=48, moe_intermediate_size=24,
                                      shared_expert_intermediate_size=40, num_experts=8,
                                      num_experts_per_tok=3, norm_topk_prob=False,
                                      rope_parameters={"rope_type": "default",
                                                       "rope_theta": 271828.0})),
    "olmoe": (OlmoeConfig, dict(intermediate_size=24, num_experts=8, num_experts_per_tok=2,
                                clip_qkv=3.0, rope_parameters={"rope_type": "linear",
                                                                "rope_theta": 4242.0, "factor": 4.0})),
}


def randomise(model: torch.nn.Module, seed: int) -> None:
    """Weights large enough that routing is decisive and logits are O(1)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1:  # biases
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p.shape[-1]
                scale = 3.0 if name.endswith("mlp.gate.weight") else 1.0
                p.copy_(scale * torch.randn(p.shape, generator=g) / fan_in ** 0.5)


def old_spelling(config_path: str) -> None:
    """config.json as transformers 4 wrote it: top-level rope_theta and rope_scaling."""
    with open(config_path) as f:
        config = json.load(f)
    rope = config.pop("rope_parameters")
    config["rope_theta"] = rope["rope_theta"]
    config["rope_scaling"] = ({"type": "linear", "factor": rope["factor"]}
                              if rope["rope_type"] == "linear" else None)
    with open(config_path, "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")


def load_hf(model_dir: str) -> torch.nn.Module:
    """transformers' own model in float64, eager attention and experts; no tensor left over."""
    model, info = AutoModelForCausalLM.from_pretrained(
        model_dir, dtype=torch.float64, attn_implementation="eager",
        experts_implementation="eager", output_loading_info=True)
    if any(info.values()):
        raise SystemExit(f"{model_dir}: transformers loaded it with {info}")
    return model.eval()


def hf_golden(model: torch.nn.Module, name: str, tokens: list[int], logits: torch.Tensor,
              routing: list) -> dict:
    """The golden record, with the greedy continuation: the argmax of the whole-sequence
    forward, one token at a time."""
    greedy = []
    with torch.no_grad():
        for _ in range(N_GREEDY):
            greedy.append(int(model(torch.tensor([tokens + greedy])).logits[0, -1].argmax()))
    return {"model": name, "case": "plain", "tokens": tokens,
            "interventions": {"disabled": [], "shared_disabled": [], "top_k": None},
            "logits": logits.tolist(), "routing": routing, "greedy": greedy,
            "made_by": f"transformers {transformers.__version__}, torch {torch.__version__}"}


def golden(model_dir: str, name: str, tokens: list[int]) -> dict:
    model = load_hf(model_dir)
    layers = model.model.layers
    routers, shared = [], []
    for layer in layers:
        layer.mlp.gate.register_forward_hook(lambda m, i, o: routers.append(o))
        if hasattr(layer.mlp, "shared_expert_gate"):
            layer.mlp.shared_expert_gate.register_forward_hook(lambda m, i, o: shared.append(o))
    with torch.no_grad():
        logits = model(torch.tensor([tokens])).logits[0]
    k = model.config.num_experts_per_tok
    routing = [[] for _ in tokens]
    for li, (router_logits, weights, ids) in enumerate(routers):
        scores = torch.softmax(router_logits.double(), dim=-1)
        for t in range(len(tokens)):
            s = scores[t].sort(descending=True).values
            if s[k - 1] - s[k] < MIN_GAP:
                raise ValueError(f"near-tie at position {t}, layer {li}")
            entry = {"layer": li, "ids": ids[t].tolist(), "weights": weights[t].double().tolist(),
                     "scores": scores[t].tolist()}
            if shared:
                entry["shared_gate"] = torch.sigmoid(shared[li][t, 0]).item()
            routing[t].append(entry)
    return hf_golden(model, name, tokens, logits, routing)


def write_golden(path: str, g: dict) -> None:
    with open(path, "w") as f:
        json.dump(g, f, separators=(",", ":"))
        f.write("\n")


def make_fixtures(models_dir: str, golden_dir: str, configs: dict, respell, make_golden,
                  randomise_model=randomise) -> None:
    """For each family's config: one random model saved per expert and fused (its
    config.json respelled), with a golden of each; reseeded past near-ties.
    randomise_model(model, seed) draws the weights (default: randomise)."""
    for family, config in configs.items():
        tokens = [int(t) for t in torch.randint(3, COMMON["vocab_size"], (N_TOKENS,),
                                                generator=torch.Generator().manual_seed(7))]
        for seed in range(100):
            model = AutoModelForCausalLM.from_config(config)
            randomise_model(model, seed)
            plain, fused = f"{family}-t5", f"{family}-t5-fused"
            for name in (plain, fused):
                shutil.rmtree(os.path.join(models_dir, name), ignore_errors=True)
            model.save_pretrained(os.path.join(models_dir, plain))
            model.save_pretrained(os.path.join(models_dir, fused), save_original_format=False)
            respell(os.path.join(models_dir, fused, "config.json"))
            try:
                goldens = {name: make_golden(os.path.join(models_dir, name), name, tokens)
                           for name in (plain, fused)}
            except ValueError as e:
                print(f"{family}: seed {seed}: {e}; reseeding")
                continue
            a, b = (goldens[n] for n in (plain, fused))
            if a["logits"] != b["logits"] or a["greedy"] != b["greedy"]:
                raise SystemExit(f"{family}: the two layouts of one model disagree in transformers")
            for name, g in goldens.items():
                write_golden(os.path.join(golden_dir, f"{name}.plain.json"), g)
            print(f"{family}: seed {seed}, greedy {goldens[plain]['greedy']}")
            break
        else:
            raise SystemExit(f"{family}: no seed without near-ties")


def main() -> None:
    configs = {family: config_class(**COMMON, **options)
               for family, (config_class, options) in FAMILIES.items()}
    make_fixtures(sys.argv[1], sys.argv[2], configs, old_spelling, golden)


if __name__ == "__main__":
    main()
