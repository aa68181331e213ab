#!/usr/bin/env python3
"""Golden logits + routing of a shipped model, for the C++ engine vs trainer test.

  /usr/bin/python3 tools/train/make_golden.py --model resources/models/deepseekmoe-tiny \
      --out tests/fixtures/golden/deepseekmoe-tiny.plain.json

Computed in float64 from the exported (f16-rounded) weights by the independent
reference tools/reference/deepseek_ref.py (deepseek_v2_v3_ref.py for deepseekv3-tiny), and cross-checked against this
trainer's own model (tools/train/moe.py) run in float64 on the same weights:
logits must agree to 1e-9 and the chosen experts must be identical. The prompt
is the first of PROMPTS whose top-k decisions all have a score gap
(k-th minus (k+1)-th) > MIN_GAP; tokens are BOS + the prompt, cut to N_TOKENS.
"""
import argparse, json, os, sys
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tools", "reference"))
from moe import Spm, load_hf_model  # noqa: E402
import deepseek_ref  # noqa: E402  (read-only use)
import deepseek_v2_v3_ref  # noqa: E402

N_TOKENS = 8
MIN_GAP = 1e-6
PROMPTS = ["The meaning of life is", "def add(a, b):\n    return a + b", "37 + 48 = 85\n12 + 9 = 21",
           "Im Anfang war das Wort", "In the beginning God created"]


def dump(x):
    return json.dumps(x, separators=(",", ":"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--tokens", type=int, default=N_TOKENS)
    a = ap.parse_args()
    name = os.path.basename(os.path.normpath(a.model))
    family = json.load(open(os.path.join(a.model, "config.json")))["model_type"]
    ref = deepseek_v2_v3_ref if family == "deepseek_v3" else deepseek_ref
    model = ref.load_model(a.model)
    cfg = model.cfg
    mine, _ = load_hf_model(a.model, torch.float64)
    sp = Spm(os.path.join(a.model, "tokenizer.model"))
    for prompt in PROMPTS:
        tokens = ([1] + sp.encode_docs([prompt])[0])[:a.tokens]
        res = ref.forward(model, tokens)
        k = cfg.num_experts_per_tok
        def ranked(r):  # what the choice ranks: V3's biased selection scores
            return sorted(getattr(r, "selection_scores", None) or r.scores, reverse=True)
        gap = min(ranked(r)[k - 1] - ranked(r)[k] for rs in res.routing for r in rs)
        # cross-check with the trainer's model
        stats = []
        with torch.no_grad():
            lg, _, _ = mine(torch.tensor([tokens]), stats)
        dl = (lg[0] - res.logits).abs().max().item()
        same_ids = all(stats[li]["ids"][t].tolist() == res.routing[t][li].ids
                       for t in range(len(tokens)) for li in range(len(stats)))
        print(f"prompt {prompt!r}: {len(tokens)} tokens, min top-k gap {gap:.3g}, "
              f"trainer vs reference max |dlogit| {dl:.3g}, same expert ids {same_ids}", file=sys.stderr)
        assert dl < 1e-9 and same_ids, "trainer and reference disagree"
        if gap > MIN_GAP:
            break
    else:
        raise SystemExit("no prompt without near-ties")
    iv = {"disabled": [], "shared_disabled": [], "top_k": None}
    logits = ",\n".join(dump(row) for row in res.logits.tolist())
    routing = ",\n".join(dump([r.to_dict() for r in rs]) for rs in res.routing)
    text = (f'{{"model":{dump(name)},"case":"plain","tokens":{dump(tokens)},\n'
            f'"interventions":{dump(iv)},\n'
            f'"logits":[\n{logits}\n],\n"routing":[\n{routing}\n]}}\n')
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    open(a.out, "w").write(text)
    print(f"wrote {a.out} ({len(text)} bytes), prompt {prompt!r}, tokens {tokens}", file=sys.stderr)


if __name__ == "__main__":
    main()
