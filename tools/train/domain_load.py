#!/usr/bin/env python3
"""Per-domain expert load of a trained model on the held-out corpus.

  /usr/bin/python3 tools/train/domain_load.py --model resources/models/deepseekmoe-tiny

For every MoE layer and every domain: the share of the domain's routed slots
(tokens x top-k) that went to each routed expert (a row sums to 100 %), plus
how far that distribution is from uniform (total variation, KL) and from the
other domains (TV to the pooled distribution of the other domains, TV to the
nearest other domain).
"""
import argparse, json, math, os, sys
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from moe import Spm, load_hf_model, read_docs

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DOMAINS = ["en", "bible", "de", "es", "it", "zh", "python", "c", "arith"]


def tv(p, q):
    return 0.5 * float(np.abs(p - q).sum())


def kl(p, q):
    m = p > 0
    return float((p[m] * np.log(p[m] / q[m])).sum())


@torch.no_grad()
def measure(model_dir, heldout_dir, seq=128, max_tokens=None):
    model, cfg = load_hf_model(model_dir, torch.float32)
    sp = Spm(os.path.join(model_dir, "tokenizer.model"))
    E, k = cfg["n_routed_experts"], cfg["num_experts_per_tok"]
    moe_layers = [i for i, b in enumerate(model.layers) if b.is_moe]
    counts = {d: np.zeros((len(moe_layers), E)) for d in DOMAINS}
    halves = {d: np.zeros((2, len(moe_layers), E)) for d in DOMAINS}  # noise baseline
    ntok = {}
    for d in DOMAINS:
        ids = []
        for doc in sp.encode_docs(read_docs(os.path.join(heldout_dir, f"{d}.txt"))):
            ids += [1] + doc + [2]
        if max_tokens:
            ids = ids[:max_tokens]
        ntok[d] = len(ids)
        half = (len(ids) // 2) // (seq * 8) * (seq * 8)
        for s in range(0, len(ids), seq * 8):
            chunk = ids[s:s + seq * 8]
            rows = [chunk[i:i + seq] for i in range(0, len(chunk), seq)]
            for r in rows:  # rows may differ in length at the end; run them one by one if so
                pass
            full = [r for r in rows if len(r) == seq]
            rest = [r for r in rows if len(r) != seq]
            batches = ([torch.tensor(full)] if full else []) + [torch.tensor([r]) for r in rest]
            for b in batches:
                stats = []
                model(b, stats)
                for li, st in enumerate(stats):
                    c = np.bincount(st["ids"].reshape(-1).numpy(), minlength=E)
                    counts[d][li] += c
                    halves[d][0 if s < half else 1][li] += c
    measure.halves = halves
    return cfg, moe_layers, counts, ntok


def analyse(cfg, moe_layers, counts, ntok):
    E = cfg["n_routed_experts"]
    u = np.full(E, 1.0 / E)
    res = {"n_routed_experts": E, "top_k": cfg["num_experts_per_tok"], "tokens": ntok,
           "layers": []}
    for li, L in enumerate(moe_layers):
        share = {d: counts[d][li] / counts[d][li].sum() for d in DOMAINS}
        rows = {}
        for d in DOMAINS:
            others = [o for o in DOMAINS if o != d]
            pooled = sum(counts[o][li] for o in others)
            pooled = pooled / pooled.sum()
            near = min(others, key=lambda o: tv(share[d], share[o]))
            top = np.argsort(-share[d])[:3]
            rows[d] = {"share": [round(float(x), 5) for x in share[d]],
                       "tv_uniform": tv(share[d], u), "kl_uniform": kl(share[d], u),
                       "tv_others_pooled": tv(share[d], pooled),
                       "nearest_domain": near, "tv_nearest": tv(share[d], share[near]),
                       "top3": [[int(e), float(share[d][e])] for e in top]}
            hv = getattr(measure, "halves", None)
            if hv is not None:
                h0, h1 = hv[d][0][li], hv[d][1][li]
                rows[d]["tv_halves"] = tv(h0 / max(h0.sum(), 1), h1 / max(h1.sum(), 1))
        pair = [tv(share[a], share[b]) for i, a in enumerate(DOMAINS) for b in DOMAINS[i + 1:]]
        allp = sum(counts[d][li] for d in DOMAINS); allp = allp / allp.sum()
        res["layers"].append({"layer": L, "domains": rows,
                              "mean_tv_uniform": float(np.mean([rows[d]["tv_uniform"] for d in DOMAINS])),
                              "mean_kl_uniform": float(np.mean([rows[d]["kl_uniform"] for d in DOMAINS])),
                              "mean_tv_others_pooled": float(np.mean([rows[d]["tv_others_pooled"] for d in DOMAINS])),
                              "mean_pairwise_tv": float(np.mean(pair)),
                              "min_pairwise_tv": float(np.min(pair)),
                              "mean_tv_halves": float(np.mean([rows[d].get("tv_halves", float("nan")) for d in DOMAINS])),
                              "pooled_tv_uniform": tv(allp, u)})
    return res


def render(res, name=""):
    E = res["n_routed_experts"]
    out = []
    out.append(f"Per-domain expert load {name}: share of each domain's routed slots (tokens x top-{res['top_k']}) "
               f"per routed expert, in %; uniform = {100 / E:.2f} %.")
    out.append("Held-out tokens per domain: " + ", ".join(f"{d} {n}" for d, n in res["tokens"].items()))
    for lay in res["layers"]:
        out.append("")
        out.append(f"Layer {lay['layer']}: mean TV(domain, uniform) {lay['mean_tv_uniform']:.3f}, "
                   f"mean KL(domain || uniform) {lay['mean_kl_uniform']:.3f} nats, "
                   f"mean TV(domain, other domains pooled) {lay['mean_tv_others_pooled']:.3f}, "
                   f"pairwise TV between domains mean {lay['mean_pairwise_tv']:.3f} / min {lay['min_pairwise_tv']:.3f}, "
                   f"TV(all domains pooled, uniform) {lay['pooled_tv_uniform']:.3f}, "
                   f"noise baseline: mean TV(first half, second half of the same domain) {lay['mean_tv_halves']:.3f}")
        out.append("")
        out.append("| domain | TV unif | KL unif | TV others | nearest (TV) | TV halves | top-3 experts (share %) |")
        out.append("|---|---|---|---|---|---|---|")
        for d, r in lay["domains"].items():
            t3 = ", ".join(f"{e} ({100 * s:.1f})" for e, s in r["top3"])
            out.append(f"| {d} | {r['tv_uniform']:.3f} | {r['kl_uniform']:.3f} | {r['tv_others_pooled']:.3f} | "
                       f"{r['nearest_domain']} ({r['tv_nearest']:.3f}) | {r.get('tv_halves', float('nan')):.3f} | {t3} |")
        out.append("")
        out.append("```")
        out.append("expert  " + " ".join(f"{d:>6s}" for d in res["layers"][0]["domains"]))
        for e in range(E):
            out.append(f"{e:6d}  " + " ".join(f"{100 * lay['domains'][d]['share'][e]:6.1f}"
                                               for d in lay["domains"]))
        out.append("```")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, help="HF model directory")
    ap.add_argument("--heldout", default=os.path.join(ROOT, "tools", "corpus", "heldout"))
    ap.add_argument("--max-tokens", type=int, help="per domain (default: all held-out tokens)")
    ap.add_argument("--json", help="also write the numbers as JSON here")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cfg, moe_layers, counts, ntok = measure(a.model, a.heldout, max_tokens=a.max_tokens)
    res = analyse(cfg, moe_layers, counts, ntok)
    if a.json:
        json.dump(res, open(a.json, "w"), indent=1)
    print(render(res, os.path.basename(os.path.normpath(a.model))))


if __name__ == "__main__":
    main()
