#!/usr/bin/env python3
"""Golden logits and routing for the fixture models, from deepseek_ref.py.

    make_golden.py MODELS_DIR GOLDEN_DIR

For every model in FIXTURES writes GOLDEN_DIR/<model>.<case>.json, cases
"plain" (no interventions) and "masked" (interventions derived from the plain
run, see masked_interventions). Schema:

    {"model": str, "case": str, "tokens": [int],
     "interventions": {"disabled": [[layer, expert]], "shared_disabled": [layer], "top_k": null | int},
     "logits": [[float] * vocab] * T,
     "routing": [[{"layer": L, "ids": [int], "weights": [float], "scores": [float]}
                  for each MoE layer in order] for each position]}

Floats are repr() of float64 results (shortest round-trip form). The script
fails if the masked run picks a disabled expert, if masking changes nothing,
or if any top-k decision is a near-tie (gap below MIN_GAP), because the C++
test requires identical expert ids.
"""

from __future__ import annotations

import json
import os
import sys
import zlib
from collections import Counter
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deepseek_ref as ref  # noqa: E402

N_TOKENS = 12
TOKEN_SEED = 20240601
# An f32 engine's scores differ from these float64 ones by ~1e-7; a gap this
# large between neighbouring scores makes its top-k choice unambiguous.
MIN_GAP = 1e-6

# model directory name -> options of its "masked" case
FIXTURES: dict[str, dict[str, Any]] = {
    "dense-lead-f32": {"top_k_plus_one": True},
    "normtopk-bf16-sharded": {"top_k_plus_one": False},
    "nodense-f16": {"top_k_plus_one": False},
    # Mixtral renormalises even a single expert (weight 1.0): top_k 1 shows it.
    "mixtral-bf16-sharded": {"top_k_plus_one": False, "top_k": 1},
    "qwen2moe-f32": {"top_k_plus_one": True},
    "olmoe-f16": {"top_k_plus_one": False},
}


def fixture_tokens(name: str, vocab: int) -> list[int]:
    """~12 pseudo-random ids in [3, vocab): skips unk/bos/eos, fixed per model."""
    rng = np.random.default_rng([TOKEN_SEED, zlib.crc32(name.encode("utf-8"))])
    return [int(t) for t in rng.integers(3, vocab, size=N_TOKENS)]


def masked_interventions(cfg: ref.Config, plain: ref.Result, top_k_plus_one: bool,
                         top_k: int | None = None) -> ref.Interventions:
    """Interventions that visibly change routing, derived from the plain run:
    - first MoE layer: disable the 2 experts most often ranked first there;
    - one expert disabled in every layer (-1): the one chosen most often overall
      (any rank, any MoE layer) among the rest;
    - shared experts off in the last MoE layer (if the model has them);
    - optionally top_k = num_experts_per_tok + 1, or a given top_k.
    Count ties go to the lower expert id.
    """
    layers = cfg.moe_layers()
    first, last = layers[0], layers[-1]
    top1 = Counter(rs[0].ids[0] for rs in plain.routing)  # routes of the first MoE layer
    by_count = sorted(range(cfg.n_routed_experts), key=lambda e: (-top1[e], e))
    first_pair = by_count[:2]
    chosen = Counter(e for rs in plain.routing for r in rs for e in r.ids)
    rest = [e for e in range(cfg.n_routed_experts) if e not in first_pair]
    everywhere = min(rest, key=lambda e: (-chosen[e], e))
    return ref.Interventions(
        disabled=[(first, e) for e in first_pair] + [(-1, everywhere)],
        shared_disabled=[last] if cfg.n_shared_experts > 0 else [],
        top_k=cfg.num_experts_per_tok + 1 if top_k_plus_one else top_k,
    )


def score_gaps(cfg: ref.Config, res: ref.Result, iv: ref.Interventions) -> tuple[float, float]:
    """(smallest gap between the k-th and (k+1)-th eligible score,
        smallest gap between neighbours inside the chosen top-k)."""
    boundary, order = float("inf"), float("inf")
    k = iv.k(cfg)
    for rs in res.routing:
        for r in rs:
            disabled = iv.disabled_in(r.layer)
            s = sorted((x for e, x in enumerate(r.scores) if e not in disabled), reverse=True)
            if k < len(s):
                boundary = min(boundary, s[k - 1] - s[k])
            order = min([order] + [s[j] - s[j + 1] for j in range(k - 1)])
    return boundary, order


def check_masked(cfg: ref.Config, plain: ref.Result, masked: ref.Result, iv: ref.Interventions) -> None:
    for rs in masked.routing:
        for r in rs:
            bad = set(r.ids) & iv.disabled_in(r.layer)
            assert not bad, f"layer {r.layer}: disabled experts {bad} were chosen"
            assert len(r.ids) == iv.k(cfg)
    changed = any(a.ids != b.ids for ra, rb in zip(plain.routing, masked.routing) for a, b in zip(ra, rb))
    assert changed, "masking did not change any routing decision"


def golden_text(model: str, case: str, tokens: list[int], iv: ref.Interventions, res: ref.Result) -> str:
    """JSON with one position per line, so diffs of regenerated goldens stay readable."""
    dump = lambda x: json.dumps(x, separators=(",", ":"))  # noqa: E731  (floats -> repr)
    logits = ",\n".join(dump(row) for row in res.logits.tolist())
    routing = ",\n".join(dump([r.to_dict() for r in rs]) for rs in res.routing)
    return (f'{{"model":{dump(model)},"case":{dump(case)},"tokens":{dump(tokens)},\n'
            f'"interventions":{dump(iv.to_dict())},\n'
            f'"logits":[\n{logits}\n],\n"routing":[\n{routing}\n]}}\n')


def make_model_goldens(models_dir: str, golden_dir: str, name: str, opts: dict[str, Any]) -> None:
    model = ref.load_model(os.path.join(models_dir, name))
    cfg = model.cfg
    tokens = fixture_tokens(name, cfg.vocab_size)
    cases: list[tuple[str, ref.Interventions]] = [("plain", ref.Interventions())]
    plain = ref.forward(model, tokens, cases[0][1])
    iv = masked_interventions(cfg, plain, opts["top_k_plus_one"], opts.get("top_k"))
    masked = ref.forward(model, tokens, iv)
    check_masked(cfg, plain, masked, iv)
    cases.append(("masked", iv))

    for (case, civ), res in zip(cases, [plain, masked]):
        boundary, order = score_gaps(cfg, res, civ)
        print(f"{name}.{case}: min gap k-th/(k+1)-th score {boundary:.3e}, min gap inside top-k {order:.3e}")
        if min(boundary, order) < MIN_GAP:
            raise SystemExit(f"{name}.{case}: near-tie in routing (< {MIN_GAP}); change the model's seed")
        path = os.path.join(golden_dir, f"{name}.{case}.json")
        with open(path, "w", encoding="utf-8") as f:
            f.write(golden_text(name, case, tokens, civ, res))
    print(f"{name}: masked interventions {iv.to_dict()}")


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    models_dir, golden_dir = sys.argv[1:]
    os.makedirs(golden_dir, exist_ok=True)
    for name, opts in FIXTURES.items():
        make_model_goldens(models_dir, golden_dir, name, opts)


if __name__ == "__main__":
    main()
