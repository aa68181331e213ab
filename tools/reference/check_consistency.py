#!/usr/bin/env python3
"""Self-check: every golden file reproduces from its checkpoint and is coherent.

    check_consistency.py MODELS_DIR GOLDEN_DIR

For each GOLDEN_DIR/*.json: re-run deepseek_ref on the stored tokens and
interventions and require the same logits (relative error < 1e-12), the same
expert ids, weights and scores. Also checks invariants the C++ tests rely on:
scores sum to 1, ids are ordered by score (ties: lower id), no disabled expert
is chosen, weights sum to 1 under norm_topk_prob, and causality (a prefix of
the tokens gives the same first rows).
"""

from __future__ import annotations

import glob
import json
import math
import os
import sys
from typing import Any

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deepseek_ref as ref  # noqa: E402

TOL = 1e-12


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


def close(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all(math.isclose(x, y, rel_tol=TOL, abs_tol=TOL) for x, y in zip(a, b))


def check_schema(g: dict[str, Any], cfg: ref.Config) -> None:
    assert set(g) == {"model", "case", "tokens", "interventions", "logits", "routing"}, sorted(g)
    assert set(g["interventions"]) == {"disabled", "shared_disabled", "top_k"}
    T = len(g["tokens"])
    assert len(g["logits"]) == T and all(len(row) == cfg.vocab_size for row in g["logits"])
    assert len(g["routing"]) == T
    for rs in g["routing"]:
        assert [r["layer"] for r in rs] == cfg.moe_layers()
        keys = {"layer", "ids", "weights", "scores"} | ({"shared_gate"} if cfg.shared_gated else set())
        assert all(set(r) == keys for r in rs)


def check_invariants(g: dict[str, Any], cfg: ref.Config, iv: ref.Interventions) -> None:
    for rs in g["routing"]:
        for r in rs:
            s, ids = r["scores"], r["ids"]
            assert len(s) == cfg.n_routed_experts and abs(sum(s) - 1.0) < 1e-12
            assert len(ids) == iv.k(cfg) == len(set(ids))
            assert not set(ids) & iv.disabled_in(r["layer"])
            assert all((-s[a], a) < (-s[b], b) for a, b in zip(ids, ids[1:])), "ids not best-first"
            # every enabled expert left out scores no higher than the last one chosen
            left_out = set(range(cfg.n_routed_experts)) - set(ids) - iv.disabled_in(r["layer"])
            assert all(s[e] <= s[ids[-1]] for e in left_out)
            expected = [s[e] for e in ids]
            if cfg.norm_topk_prob and (len(ids) > 1 or cfg.norm_single_expert):
                expected = [x / (sum(s[e] for e in ids) + 1e-20) for x in expected]
            assert close(r["weights"], expected)


def check_file(path: str, models_dir: str, cache: dict[str, ref.Model]) -> None:
    with open(path, encoding="utf-8") as f:
        g = json.load(f)
    name = g["model"]
    if not os.path.isdir(os.path.join(models_dir, name)):
        print(f"--  {os.path.basename(path)}: model {name} is not a fixture (bundled model), skipped")
        return
    if name not in cache:
        cache[name] = ref.load_model(os.path.join(models_dir, name))
    model = cache[name]
    assert os.path.basename(path) == f"{name}.{g['case']}.json", path
    check_schema(g, model.cfg)
    iv = ref.Interventions.from_dict(g["interventions"])
    check_invariants(g, model.cfg, iv)

    res = ref.forward(model, g["tokens"], iv)
    err = rel_err(res.logits, torch.tensor(g["logits"], dtype=ref.DT))
    assert err < TOL, f"logits differ: rel err {err:.3e}"
    for t, (rs, gs) in enumerate(zip(res.routing, g["routing"])):
        for r, gr in zip(rs, gs):
            assert r.ids == gr["ids"], f"pos {t} layer {r.layer}: ids {r.ids} != {gr['ids']}"
            assert close(r.weights, gr["weights"]) and close(r.scores, gr["scores"]), f"pos {t} layer {r.layer}"
            assert r.to_dict().get("shared_gate") == gr.get("shared_gate"), f"pos {t} layer {r.layer}"

    # causality: the first half of the sequence alone gives the same rows
    half = len(g["tokens"]) // 2
    prefix = ref.forward(model, g["tokens"][:half], iv)
    perr = rel_err(prefix.logits, res.logits[:half])
    assert perr < TOL, f"prefix run differs: rel err {perr:.3e}"
    assert [[r.ids for r in rs] for rs in prefix.routing] == [[r.ids for r in rs] for rs in res.routing[:half]]
    print(f"ok  {os.path.basename(path)}: logits rel err {err:.1e}, prefix rel err {perr:.1e}")


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    models_dir, golden_dir = sys.argv[1:]
    files = sorted(glob.glob(os.path.join(golden_dir, "*.json")))
    if not files:
        raise SystemExit(f"no golden files in {golden_dir}")
    cache: dict[str, ref.Model] = {}
    for path in files:
        check_file(path, models_dir, cache)
    print(f"{len(files)} golden files reproduce")


if __name__ == "__main__":
    main()
