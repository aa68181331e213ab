#!/usr/bin/env python3
"""Optional: cross-check deepseek_ref.py against Hugging Face transformers code.

    cross_check_hf.py MODEL_DIR [MODEL_DIR ...]     (needs `transformers`, e.g. 4.36)

DeepSeekMoE's HF attention, RoPE (incl. linear scaling), RMSNorm and dense MLP
are copies of Llama's, so we build transformers' LlamaForCausalLM from the
checkpoint's config and swap the MoE layers' `mlp` for a small module that
mirrors HF's DeepseekMoE (MoEGate: softmax -> torch.topk -> optional
renormalisation with +1e-20; routed experts weighted and summed; shared experts
added). The state dict loads with strict=True, which also proves that our
tensor names are HF's. Not part of the fixture pipeline: fixtures need no
transformers.

HF computes RoPE tables, RMSNorm and the final logits in float32 even in a
float64 model, so agreement is at ~1e-6 relative, not bit-exact.
"""

from __future__ import annotations

import os
import sys

import torch
from torch import nn
from transformers import LlamaConfig, LlamaForCausalLM
from transformers.models.llama.modeling_llama import LlamaMLP

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deepseek_ref as ref  # noqa: E402
import st_io  # noqa: E402


class HfStyleMoE(nn.Module):
    """Inference path of HF DeepseekMoE, written against LlamaMLP experts."""

    def __init__(self, lcfg: LlamaConfig, cfg: ref.Config):
        super().__init__()
        self.top_k, self.norm = cfg.num_experts_per_tok, cfg.norm_topk_prob
        self.gate = nn.Module()
        self.gate.weight = nn.Parameter(torch.empty(cfg.n_routed_experts, cfg.hidden_size))
        self.experts = nn.ModuleList(
            [LlamaMLP(_with_width(lcfg, cfg.moe_intermediate_size)) for _ in range(cfg.n_routed_experts)])
        self.shared_experts = (LlamaMLP(_with_width(lcfg, cfg.moe_intermediate_size * cfg.n_shared_experts))
                               if cfg.n_shared_experts else None)
        self.last_topk: torch.Tensor | None = None

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        x = hidden.view(-1, hidden.shape[-1])
        scores = nn.functional.linear(x, self.gate.weight).softmax(dim=-1)
        topk_w, topk_idx = torch.topk(scores, k=self.top_k, dim=-1, sorted=True)
        if self.top_k > 1 and self.norm:
            topk_w = topk_w / (topk_w.sum(dim=-1, keepdim=True) + 1e-20)
        self.last_topk = topk_idx
        y = torch.zeros_like(x)
        for t in range(x.shape[0]):
            for j in range(self.top_k):
                y[t] += topk_w[t, j] * self.experts[int(topk_idx[t, j])](x[t : t + 1])[0]
        y = y.view(hidden.shape)
        if self.shared_experts is not None:
            y = y + self.shared_experts(hidden)
        return y


def _with_width(lcfg: LlamaConfig, width: int) -> LlamaConfig:
    c = LlamaConfig(**lcfg.to_dict())
    c.intermediate_size = width
    return c


def build_hf(model_dir: str) -> tuple[LlamaForCausalLM, ref.Config, list[HfStyleMoE]]:
    cfg = ref.load_config(model_dir)
    lcfg = LlamaConfig(
        vocab_size=cfg.vocab_size, hidden_size=cfg.hidden_size, intermediate_size=cfg.intermediate_size,
        num_hidden_layers=cfg.num_hidden_layers, num_attention_heads=cfg.num_attention_heads,
        num_key_value_heads=cfg.num_key_value_heads, rms_norm_eps=cfg.rms_norm_eps, rope_theta=cfg.rope_theta,
        rope_scaling=({"type": "linear", "factor": cfg.rope_linear_factor} if cfg.rope_linear_factor != 1.0 else None),
        tie_word_embeddings=cfg.tie_word_embeddings, max_position_embeddings=4096, hidden_act="silu",
        attention_bias=False, attn_implementation="eager")
    model = LlamaForCausalLM(lcfg)
    moes: list[HfStyleMoE] = []
    for i in cfg.moe_layers():
        m = HfStyleMoE(lcfg, cfg)
        model.model.layers[i].mlp = m
        moes.append(m)
    model = model.double().eval()
    state = {name: torch.from_numpy(arr).double() for name, (_, arr) in st_io.read_dir(model_dir).items()}
    if cfg.tie_word_embeddings:
        state["lm_head.weight"] = state["model.embed_tokens.weight"]
    model.load_state_dict(state, strict=True)
    return model, cfg, moes


def check(model_dir: str, tokens: list[int]) -> None:
    model, cfg, moes = build_hf(model_dir)
    with torch.no_grad():
        hf_logits = model(torch.tensor([tokens])).logits[0].double()
    ours = ref.forward(ref.load_model(model_dir), tokens)
    rel = float((ours.logits - hf_logits).norm() / hf_logits.norm())
    same_ids = all(ours.routing[t][j].ids == moes[j].last_topk[t].tolist()  # type: ignore[index]
                   for t in range(len(tokens)) for j in range(len(moes)))
    print(f"{model_dir}: logits rel err vs HF {rel:.2e}, routing ids identical: {same_ids}")
    if rel > 1e-5 or not same_ids:
        raise SystemExit("MISMATCH")


def main() -> None:
    # HF builds its causal mask with torch.full(..., finfo(dtype).min) in the
    # default dtype, which overflows for float64 models unless that is float64.
    torch.set_default_dtype(torch.float64)
    tokens = [5, 100, 300, 7, 450, 33, 211, 97, 3, 64, 500, 12]
    for d in sys.argv[1:]:
        check(d, tokens)


if __name__ == "__main__":
    main()
