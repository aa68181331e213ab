#!/usr/bin/env python3
"""Write resources/models/deepseekv3-tiny/README.md (model card) from its training summary
(tools/train/out/deepseekv3-tiny-full/summary.json), deepseekmoe-tiny's card facts and the
balance comparison (tools/train/balance_compare.py --json tools/train/out/balance.json)."""
import argparse, json, os, sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
from domain_load import DOMAINS  # noqa: E402
from make_card import LICENCES, SAMPLE_PROMPTS, engine_sample, fmt_m  # noqa: E402
from moe import count_params  # noqa: E402

ME, PEER = "deepseekv3-tiny", "deepseekmoe-tiny"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--summary", default=os.path.join(ROOT, "tools", "train", "out", f"{ME}-full", "summary.json"))
    ap.add_argument("--balance", default=os.path.join(ROOT, "tools", "train", "out", "balance.json"))
    ap.add_argument("--cli", default=os.path.join(ROOT, "build", "cli", "moescope-cli"))
    ap.add_argument("--train-command", default="tools/train/train.py --model deepseekv3-tiny --preset full "
                    "--steps 3330 --tokenizer resources/models/deepseekmoe-tiny/tokenizer.model")
    a = ap.parse_args()
    S = json.load(open(a.summary))
    B = json.load(open(a.balance))
    c, p = S["config"], S["preset_values"]
    peer_c = json.load(open(os.path.join(ROOT, "resources", "models", PEER, "config.json")))
    P = {m: count_params(cc) for m, cc in ((ME, c), (PEER, peer_c))}
    trained, raw, peer = B[f"{ME} · as trained"], B[f"{ME} · without the bias"], B[f"{PEER} · as trained"]
    L = []
    w = L.append
    w(f"# {ME}\n")
    w("A tiny Mixture-of-Experts language model in the Hugging Face **DeepSeek-V3** layout "
      "(`model_type: deepseek_v3`), trained from scratch for **moescope**, the MoE explorer, to show what "
      "DeepSeek-V3's *auxiliary-loss-free* load balancing does. It has the experts of "
      f"[`{PEER}`](../{PEER}/README.md) (64 routed x 32 wide + 2 shared, top-6) and saw the same data, "
      "but its router is V3's: sigmoid scores, and a per-expert **bias** that is added to the scores to "
      "choose the top-k (never to weigh the chosen experts) and that training moves to balance the load, "
      "with no balance term in the loss at all.\n")
    w("## Architecture\n")
    w(f"| | {ME} | {PEER} |\n|---|---|---|")
    w(f"| layout | DeepSeek-V3 (`deepseek_v3`) | DeepSeekMoE (`deepseek`) |")
    for label, key in (("hidden size", "hidden_size"), ("layers (1 dense + MoE)", "num_hidden_layers"),
                       ("attention heads", "num_attention_heads"), ("dense FFN width (layer 0)", "intermediate_size"),
                       ("routed experts per MoE layer", "n_routed_experts"),
                       ("routed expert width", "moe_intermediate_size"), ("shared experts", "n_shared_experts"),
                       ("experts per token (top-k)", "num_experts_per_tok"), ("vocabulary", "vocab_size")):
        w(f"| {label} | {c[key]} | {peer_c[key]} |")
    w(f"| attention | multi-head latent attention: latent {c['kv_lora_rank']}, per-head no-RoPE key "
      f"{c['qk_nope_head_dim']} + shared RoPE key {c['qk_rope_head_dim']}, value {c['v_head_dim']}; q without "
      f"the low-rank path | multi-head, head dim {peer_c['hidden_size'] // peer_c['num_attention_heads']} |")
    w("| gate scores | sigmoid (each in 0..1 on its own) | softmax (sum to 1) |")
    w("| top-k ranks | score + `e_score_correction_bias` (one group: `n_group` 1) | score |")
    w("| gate weights | the chosen scores, renormalised to sum 1 (`norm_topk_prob`), x `routed_scaling_factor` 1 "
      "| the chosen probabilities as they are |")
    w("| load balancing | the bias, moved after every step; no balance loss | balance loss, alpha 0.01 |")
    for label, key in (("parameters, total", "total"), ("parameters, active per token", "active"),
                       ("  of which outside embeddings/lm_head, total", "total_no_emb"),
                       ("  of which outside embeddings/lm_head, active", "active_no_emb")):
        w(f"| {label} | {fmt_m(P[ME][key])} | {fmt_m(P[PEER][key])} |")
    size = os.path.getsize(os.path.join(ROOT, "resources", "models", ME, "model.safetensors")) / 2**20
    w(f"| model.safetensors | {size:.1f} MiB (f16; the biases f32) | "
      f"{os.path.getsize(os.path.join(ROOT, 'resources', 'models', PEER, 'model.safetensors')) / 2**20:.1f} MiB (f16) |\n")
    w("The 64 biases (one per routed expert and MoE layer) are buffers, not parameters: no gradient moves "
      "them. Files: `config.json`, `model.safetensors` (HF tensor names, "
      "`model.layers.N.mlp.gate.e_score_correction_bias` in F32 as DeepSeek's checkpoints keep it), "
      f"`tokenizer.model` ({PEER}'s), `tokenizer_config.json`, `generation_config.json`.\n")
    w("## Training\n")
    w(f"- Data and batches: exactly {PEER}'s (the moescope corpus, 9 domains, {p['batch']} rows of {p['seq']} "
      f"tokens per step, batch `step` a pure function of `(seed {S['seed']}, step)`), {S['steps_done']} steps, "
      f"{S['tokens_seen']:,} tokens.")
    w(f"- Optimiser as {PEER}: AdamW, peak LR {p['lr']}, warm-up {p['warmup']}, cosine to 10 %, clipping 1.0. "
      f"One difference: the cosine ran over {S['steps_done']} steps from the start, where {PEER}'s was "
      "re-planned 33 times on the fly from its measured speed (small kinks in its LR curve).")
    w(f"- Load balancing (DeepSeek-V3 paper, section 2.1.2): after every optimiser step, in every MoE layer, "
      f"`bias_i += {p['bias_rate']} * sign(mean load - load_i)` with `load_i` the number of the batch's "
      f"routed slots expert i took. No auxiliary loss (`aux_loss_alpha` 0); V3's small sequence-wise loss is "
      "left out too, so the bias alone balances.")
    w(f"- Hardware and time: 2 CPU cores (no GPU), one thread, {S['wall_seconds'] / 60:.0f} min wall "
      f"including evaluation ({S['tokens_per_second']:.0f} tokens/s), on a machine shared with other builds. "
      "As with its siblings: thousands of times less data than any useful language model; look at its "
      "routing, not its answers.\n")
    w("## Balance without a loss: what the bias does\n")
    w(f"`tools/train/balance_compare.py` runs all held-out text (tools/corpus/heldout, "
      f"windows of 128 tokens) through both models, {ME} also with the bias ignored (moescope's "
      "**Select with the balancing bias** switch off; the gate weights are the same, only the choice "
      "changes). Load = an expert's share of the routed slots relative to the fair share k/N (1 = balanced).\n")
    w("| model, condition | MoE layer | busiest expert / fair share | coefficient of variation | experts under 1/4 of their share |"
      "\n|---|---|---|---|---|")
    for name, r in ((f"{ME}, with the bias (as trained)", trained), (f"{ME}, without the bias", raw),
                    (f"{PEER} (balance loss)", peer)):
        for layer, b in zip(r["layers"], r["balance"]):
            w(f"| {name} | {layer} | {b['max_ratio']:.2f} | {b['cv']:.2f} | {b['starved']} of 64 |")
    cv = {k: sum(b["cv"] for b in r["balance"]) / len(r["balance"]) for k, r in
          (("trained", trained), ("raw", raw), ("peer", peer))}
    starved = sum(b["starved"] for b in raw["balance"])
    w(f"\nReading: with its bias, {ME}'s load is about as even as {PEER}'s (coefficient of variation "
      f"{cv['trained']:.2f} against {cv['peer']:.2f}, mean over layers), with no balance term in its loss. "
      f"With the raw scores selecting it is {cv['raw'] / cv['trained']:.1f}x as uneven ({cv['raw']:.2f}) and "
      f"{starved} expert-layers fall under a quarter of their share: the scores alone would crowd a few "
      f"experts, the bias spreads the tokens. Dropping the bias costs almost no loss here "
      f"({trained['heldout_loss_mean']:.3f} to {raw['heldout_loss_mean']:.3f}); {ME}'s held-out loss is "
      f"{100 * (trained['heldout_loss_mean'] / peer['heldout_loss_mean'] - 1):.1f}% above {PEER}'s, which this "
      "one comparison does not separate from its other differences (MLA, sigmoid gate).\n")
    w("## Held-out loss (cross-entropy per token, nats; f16 exported weights)\n")
    w(f"| domain | {ME} | {ME} without the bias | {PEER} |\n|---|---|---|---|")
    for d in DOMAINS:
        w(f"| {d} | {trained['heldout_loss'][d]:.3f} | {raw['heldout_loss'][d]:.3f} | {peer['heldout_loss'][d]:.3f} |")
    w(f"| **mean** | **{trained['heldout_loss_mean']:.3f}** | **{raw['heldout_loss_mean']:.3f}** | "
      f"**{peer['heldout_loss_mean']:.3f}** |\n")
    w("In moescope: lesson 6, *Balancing without a loss (DeepSeek-V3)*, and the experiment *Balancing "
      "without a loss* (`moescope-cli experiment bias`), which measures the same with the C++ engine.\n")
    w("## Samples (greedy, PyTorch, f16 exported weights, BOS + prompt, 48 new tokens max)\n")
    for dom, s in S["samples"].items():
        w(f"- prompt `{json.dumps(s['prompt'])}`:")
        w("```\n" + s["prompt"] + s["continuation"] + "\n```")
    w("\n## Samples from moescope-cli (temperature 0.7, top-p 0.95, seeds 1-3, 40 new tokens max)\n")
    for prompt in SAMPLE_PROMPTS:
        for seed in (1, 2, 3):
            w("```\n" + engine_sample(a.cli, ME, prompt, seed) + "\n```")
    w("\n## Licences of the training sources\n")
    w(f"As {PEER} (the same corpus):\n")
    w("| domain | source (Debian package) | licence |\n|---|---|---|")
    for d, src, lic in LICENCES:
        w(f"| {d} | {src} | {lic} |")
    w("\n## Reproduce\n")
    w("```\n/usr/bin/python3 tools/corpus/build_corpus.py\n"
      "/usr/bin/python3 tools/train/train.py --prepare --tokenizer resources/models/deepseekmoe-tiny/tokenizer.model\n"
      f"{a.train_command}\n"
      "/usr/bin/python3 tools/train/balance_compare.py --json tools/train/out/balance.json\n"
      "/usr/bin/python3 tools/train/make_golden.py --model resources/models/deepseekv3-tiny "
      "--out tests/fixtures/golden/deepseekv3-tiny.plain.json\n"
      "/usr/bin/python3 tools/train/make_v3_card.py --cli build/cli/moescope-cli\n```\n")
    w("## Limitations\n")
    w("- One run, one seed: how much of the difference to deepseekmoe-tiny is the balancing method and how "
      "much the attention (MLA) and the sigmoid gate is not separated here.\n"
      f"- The bias moves by a fixed {p['bias_rate']} per step; DeepSeek-V3 trained for far more steps, so "
      "its biases had far longer to settle.\n")
    path = os.path.join(ROOT, "resources", "models", ME, "README.md")
    open(path, "w").write("\n".join(L) + "\n")
    print("wrote", path)


if __name__ == "__main__":
    main()
