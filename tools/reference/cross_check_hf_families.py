#!/usr/bin/env python3
"""Optional: cross-check deepseek_ref.py against transformers' own Mixtral,
Qwen2-MoE and OLMoE code.

    cross_check_hf_families.py MODEL_DIR [MODEL_DIR ...]

Needs `transformers` with all three families and a torch it accepts: with this
project's torch 1.13, transformers 4.45 to 4.49 (4.49.0 tested; 4.50 and
later fail to import their MoE models on torch 1.13). Install it in a venv outside the
repository, e.g.

    /usr/bin/python3 -m venv --system-site-packages /work/venv-hf
    /work/venv-hf/bin/pip install 'transformers==4.49.0'
    /work/venv-hf/bin/python tools/reference/cross_check_hf_families.py tests/fixtures/models/mixtral-bf16-sharded ...

Each checkpoint is loaded with AutoModelForCausalLM.from_pretrained (float64,
eager attention), which also proves that our tensor names, shapes and
config.json fields are the ones transformers reads: from_pretrained reports
missing or unexpected tensors, and we fail on any. The logits of the fixture's
golden tokens are compared with the reference's, and the experts HF chooses
(torch.topk of the softmax of each router's output, captured with a forward
hook, exactly as the HF MoE blocks compute it) with the reference's ids.

HF computes the router softmax in float32 (`dtype=torch.float`) and RoPE
tables in float32, so agreement is ~1e-7 relative, not bit-exact. Not part of
the fixture pipeline: fixtures need no transformers.
"""

from __future__ import annotations

import os
import sys

import torch
import transformers
from transformers import AutoModelForCausalLM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deepseek_ref as ref  # noqa: E402
import make_golden  # noqa: E402

TOL = 1e-5


def router_modules(model: torch.nn.Module, cfg: ref.Config) -> list[torch.nn.Module]:
    """The router Linear of every MoE layer, in layer order."""
    block = "block_sparse_moe" if cfg.family == "mixtral" else "mlp"
    return [getattr(model.model.layers[i], block).gate for i in cfg.moe_layers()]


def check(model_dir: str) -> None:
    cfg = ref.load_config(model_dir)
    tokens = make_golden.fixture_tokens(os.path.basename(os.path.normpath(model_dir)), cfg.vocab_size)
    model, info = AutoModelForCausalLM.from_pretrained(
        model_dir, torch_dtype=torch.float64, attn_implementation="eager", output_loading_info=True)
    problems = {k: v for k, v in info.items() if v}
    if problems:
        raise SystemExit(f"{model_dir}: transformers loaded it with {problems}")
    captured: list[torch.Tensor] = []
    for gate in router_modules(model, cfg):
        gate.register_forward_hook(lambda _m, _i, out: captured.append(out.detach()))
    with torch.no_grad():
        hf_logits = model(torch.tensor([tokens])).logits[0].double()

    ours = ref.forward(ref.load_model(model_dir), tokens)
    rel = float((ours.logits - hf_logits).norm() / hf_logits.norm())
    same_ids = True
    for j, router_logits in enumerate(captured):  # one [T, n_experts] per MoE layer
        probs = torch.softmax(router_logits.view(len(tokens), -1), dim=1, dtype=torch.float)
        hf_ids = torch.topk(probs, cfg.num_experts_per_tok, dim=-1).indices.tolist()
        same_ids &= all(ours.routing[t][j].ids == hf_ids[t] for t in range(len(tokens)))
    print(f"{model_dir} ({cfg.family}, transformers {transformers.__version__}): "
          f"logits rel err vs HF {rel:.2e}, routing ids identical at {len(tokens)} positions x "
          f"{len(captured)} MoE layers: {same_ids}")
    if rel > TOL or not same_ids:
        raise SystemExit("MISMATCH")


def main() -> None:
    # HF builds its causal mask with torch.full(..., finfo(dtype).min) in the
    # default dtype, which overflows for float64 models unless that is float64.
    torch.set_default_dtype(torch.float64)
    for d in sys.argv[1:]:
        check(d)


if __name__ == "__main__":
    main()
