#!/usr/bin/env python3
"""Load balance and held-out loss of deepseekv3-tiny (balanced by its selection bias)
beside deepseekmoe-tiny (balanced by an auxiliary loss), for the model card.

  /usr/bin/python3 tools/train/balance_compare.py --json tools/train/out/balance.json

Every held-out domain (tools/corpus/heldout, windows of 128 tokens as in training) is
run through each model, in float32 from the exported f16 weights; deepseekv3-tiny twice,
as trained and with the raw scores selecting (the bias ignored, moescope's "Select with
the balancing bias" switch off). Per MoE layer: each expert's share of the routed slots
relative to the fair share k/N, the busiest expert's ratio, the coefficient of variation
and the experts under a quarter of their share; and the mean held-out loss.
"""
import argparse, json, os, sys
import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
from moe import Spm, load_hf_model, read_docs  # noqa: E402
from domain_load import DOMAINS  # noqa: E402

SEQ = 128
STARVED = 0.25


@torch.no_grad()
def run(model, windows):
    """Mean loss per domain and routed-slot counts [moe layers, experts] over all windows."""
    moe = [b.mlp for b in model.layers if b.is_moe]
    counts = np.zeros((len(moe), moe[0].E))
    losses = {}
    for dom, rows in windows.items():
        tot, n = 0.0, 0
        for s in range(0, len(rows), 16):
            t = torch.tensor(rows[s:s + 16])
            stats = []
            logits, _, _ = model(t[:, :-1], stats)
            tot += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), t[:, 1:].reshape(-1),
                                   reduction="sum").item()
            n += t[:, 1:].numel()
            for li, st in enumerate(stats):
                counts[li] += np.bincount(st["ids"].reshape(-1).numpy(), minlength=counts.shape[1])
        losses[dom] = tot / n
    return losses, counts


def balance(counts):
    out = []
    for c in counts:
        rel = c / c.mean()
        out.append({"max_ratio": float(rel.max()), "cv": float(rel.std()),
                    "starved": int((rel < STARVED).sum()), "min_ratio": float(rel.min())})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs=2, default=["deepseekv3-tiny", "deepseekmoe-tiny"])
    ap.add_argument("--json", required=True)
    a = ap.parse_args()
    torch.set_num_threads(1)
    result = {}
    for name in a.models:
        model_dir = os.path.join(ROOT, "resources", "models", name)
        model, cfg = load_hf_model(model_dir, torch.float32)
        sp = Spm(os.path.join(model_dir, "tokenizer.model"))
        windows = {}
        for dom in DOMAINS:
            ids = []
            for doc in sp.encode_docs(read_docs(os.path.join(ROOT, "tools", "corpus", "heldout", f"{dom}.txt"))):
                ids += [1] + doc + [2]
            windows[dom] = [ids[i * SEQ:(i + 1) * SEQ + 1] for i in range((len(ids) - 1) // SEQ)]
        conditions = [("as trained", False)]
        if cfg.get("scoring_func") == "sigmoid":
            conditions.append(("without the bias", True))
        for label, raw in conditions:
            for b in model.layers:
                if b.is_moe:
                    b.mlp.select_without_bias = raw
            losses, counts = run(model, windows)
            result[f"{name} · {label}"] = {
                "model": name, "condition": label, "heldout_loss": losses,
                "heldout_loss_mean": sum(losses.values()) / len(losses),
                "layers": [i for i, b in enumerate(model.layers) if b.is_moe],
                "balance": balance(counts), "relative_load": (counts / counts.mean(1, keepdims=True)).round(3).tolist()}
            r = result[f"{name} · {label}"]
            print(f"{name:18s} {label:17s} loss {r['heldout_loss_mean']:.3f}  " +
                  "  ".join(f"L{l}: max {b['max_ratio']:.2f} cv {b['cv']:.2f} starved {b['starved']}"
                            for l, b in zip(r["layers"], r["balance"])), flush=True)
    with open(a.json + ".tmp", "w") as f:
        json.dump(result, f, indent=1, ensure_ascii=False)
    os.replace(a.json + ".tmp", a.json)


if __name__ == "__main__":
    main()
