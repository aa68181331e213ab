#!/usr/bin/env python3
"""Train deepseekmoe-tiny / gshard-tiny / deepseekv3-tiny on the moescope corpus (CPU, PyTorch).

  /usr/bin/python3 tools/train/train.py --prepare            # tokenize corpus -> tools/train/out/data.npz
  /usr/bin/python3 tools/train/train.py --model deepseekmoe-tiny --preset full --time-budget 2400
Both models draw identical batches: batch `step` is a pure function of (seed, step).
"""
import argparse, json, math, os, shutil, sys, time
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from moe import (DeepseekLM, Spm, count_params, hf_state_dict, read_docs, write_safetensors)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CORPUS = os.path.join(ROOT, "tools", "corpus")
OUT = os.path.join(ROOT, "tools", "train", "out")
DOMAINS = ["en", "bible", "de", "es", "it", "zh", "python", "c", "arith"]
TOKENIZER = os.path.join(CORPUS, "out", "tokenizer.model")

PRESETS = {
    # hidden, layers, heads, dense width, expert width w (deepseek), seq, batch, steps
    # bias_rate: deepseek_v3's selection-bias step per training step (the paper's gamma)
    "smoke": dict(hidden=64, layers=3, heads=4, inter=256, w=16, seq=64, batch=9, steps=40,
                  warmup=10, lr=3e-3, bias_rate=1e-3),
    "full": dict(hidden=128, layers=4, heads=4, inter=512, w=32, seq=128, batch=18, steps=3000,
                 warmup=100, lr=3e-3, bias_rate=1e-3),
    "full192": dict(hidden=192, layers=5, heads=6, inter=768, w=48, seq=128, batch=18, steps=3000,
                    warmup=150, lr=2e-3, bias_rate=1e-3),
}


# The fields both layouts write alike: activation, norms, RoPE base, ends, untied head.
SHARED_CONFIG = {
    "hidden_act": "silu",
    "max_position_embeddings": 1024,
    "initializer_range": 0.02,
    "rms_norm_eps": 1e-6,
    "rope_theta": 10000.0,
    "rope_scaling": None,
    "attention_bias": False,
    "attention_dropout": 0.0,
    "tie_word_embeddings": False,
    "use_cache": True,
    "bos_token_id": 1,
    "eos_token_id": 2,
}


def make_config(name, p, vocab):
    if name == "deepseekv3-tiny":
        return make_v3_config(p, vocab)
    ds = name.startswith("deepseek")
    return {
        "architectures": ["DeepseekForCausalLM"],
        "model_type": "deepseek",
        "vocab_size": vocab,
        "hidden_size": p["hidden"],
        "intermediate_size": p["inter"],
        "moe_intermediate_size": p["w"] if ds else 4 * p["w"],
        "num_hidden_layers": p["layers"],
        "num_attention_heads": p["heads"],
        "num_key_value_heads": p["heads"],
        "n_routed_experts": 64 if ds else 16,
        "n_shared_experts": 2 if ds else 0,
        "num_experts_per_tok": 6 if ds else 2,
        "first_k_dense_replace": 1,
        "moe_layer_freq": 1,
        "norm_topk_prob": False,
        "scoring_func": "softmax",
        "aux_loss_alpha": 0.01,
        "seq_aux": False,
        **SHARED_CONFIG,
        "pretraining_tp": 1,
        "torch_dtype": "float16",
    }


def make_v3_config(p, vocab):
    """deepseekmoe-tiny's sizes (64 x 32 routed, 2 shared, top-6, 1 dense layer) in the
    DeepSeek-V3 layout: MLA with a latent of half the hidden size, one group, sigmoid gate
    balanced by the selection bias alone (no auxiliary loss)."""
    heads = p["heads"]
    head_dim = p["hidden"] // heads
    return {
        "architectures": ["DeepseekV3ForCausalLM"],
        "model_type": "deepseek_v3",
        "vocab_size": vocab,
        "hidden_size": p["hidden"],
        "intermediate_size": p["inter"],
        "moe_intermediate_size": p["w"],
        "num_hidden_layers": p["layers"],
        "num_attention_heads": heads,
        "num_key_value_heads": heads,
        "q_lora_rank": None,
        "kv_lora_rank": p["hidden"] // 2,
        "qk_nope_head_dim": head_dim,
        "qk_rope_head_dim": head_dim // 2,
        "v_head_dim": head_dim,
        "rope_interleave": True,
        "n_routed_experts": 64,
        "n_shared_experts": 2,
        "num_experts_per_tok": 6,
        "first_k_dense_replace": 1,
        "moe_layer_freq": 1,
        "n_group": 1,
        "topk_group": 1,
        "topk_method": "noaux_tc",
        "scoring_func": "sigmoid",
        "norm_topk_prob": True,
        "routed_scaling_factor": 1.0,
        "aux_loss_alpha": 0.0,
        **SHARED_CONFIG,
        "torch_dtype": "float16",
    }


def prepare(train_dir, heldout_dir, tokenizer, data_path):
    sp = Spm(tokenizer)
    arrays = {}
    for split, d in (("train", train_dir), ("heldout", heldout_dir)):
        for dom in DOMAINS:
            docs = read_docs(os.path.join(d, f"{dom}.txt"))
            ids = []
            for doc in sp.encode_docs(docs):
                ids += [1] + doc + [2]
            arrays[f"{split}/{dom}"] = np.array(ids, dtype=np.uint16)
            print(f"{split:8s} {dom:7s} {len(ids):9d} tokens", flush=True)
    os.makedirs(os.path.dirname(data_path), exist_ok=True)
    np.savez(data_path, vocab=len(sp.pieces), **arrays)


def load_data(data_path):
    z = np.load(data_path)
    return int(z["vocab"]), {k: z[k] for k in z.files if k != "vocab"}


def get_batch(data, step, seed, batch, seq):
    """Row r of every batch comes from domain r % 9 (balanced); offsets from rng(seed, step)."""
    rng = np.random.default_rng([seed, step])
    rows = []
    for r in range(batch):
        arr = data[f"train/{DOMAINS[r % len(DOMAINS)]}"]
        o = rng.integers(0, len(arr) - seq - 1)
        rows.append(arr[o:o + seq + 1].astype(np.int64))
    x = torch.from_numpy(np.stack(rows))
    return x[:, :-1], x[:, 1:]


def lr_at(step, p, total):
    if step < p["warmup"]:
        return p["lr"] * (step + 1) / p["warmup"]
    t = min(1.0, (step - p["warmup"]) / max(1, total - p["warmup"]))
    return p["lr"] * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))


@torch.no_grad()
def heldout_loss(model, data, seq, max_windows=None):
    model.eval()
    res = {}
    for dom in DOMAINS:
        arr = data[f"heldout/{dom}"].astype(np.int64)
        n = (len(arr) - 1) // seq
        if max_windows:
            n = min(n, max_windows)
        tot, cnt = 0.0, 0
        for s in range(0, n, 16):
            idx = [arr[i * seq:(i + 1) * seq + 1] for i in range(s, min(n, s + 16))]
            t = torch.from_numpy(np.stack(idx)).to(next(model.parameters()).device)
            logits, _, _ = model(t[:, :-1])
            tot += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), t[:, 1:].reshape(-1),
                                   reduction="sum").item()
            cnt += t[:, 1:].numel()
        res[dom] = tot / cnt
    model.train()
    return res


@torch.no_grad()
def greedy(model, ids, n):
    model.eval()
    ids = list(ids)
    for _ in range(n):
        logits, _, _ = model(torch.tensor([ids], device=next(model.parameters()).device))
        nxt = int(logits[0, -1].argmax())
        ids.append(nxt)
        if nxt == 2:
            break
    model.train()
    return ids


PROMPTS = {"en": "The meaning of life is", "python": "def ", "arith": "37 + 48 ="}


def export(model, cfg, out_dir, tokenizer):
    os.makedirs(out_dir, exist_ok=True)
    tensors = hf_state_dict(model)
    write_safetensors(os.path.join(out_dir, "model.safetensors"), tensors, "F16")
    json.dump(cfg, open(os.path.join(out_dir, "config.json"), "w"), indent=2)
    shutil.copy(tokenizer, os.path.join(out_dir, "tokenizer.model"))
    json.dump({"add_bos_token": True, "add_eos_token": False, "bos_token": "<s>",
               "eos_token": "</s>", "unk_token": "<unk>", "tokenizer_class": "LlamaTokenizer",
               "model_max_length": cfg["max_position_embeddings"]},
              open(os.path.join(out_dir, "tokenizer_config.json"), "w"), indent=2)
    json.dump({"bos_token_id": 1, "eos_token_id": 2, "do_sample": False},
              open(os.path.join(out_dir, "generation_config.json"), "w"), indent=2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--prepare", action="store_true")
    ap.add_argument("--train-texts", default=os.path.join(CORPUS, "out"), help="--prepare: training documents")
    ap.add_argument("--heldout-texts", default=os.path.join(CORPUS, "heldout"), help="--prepare: held-out documents")
    ap.add_argument("--tokenizer", default=TOKENIZER)
    ap.add_argument("--data", default=os.path.join(OUT, "data.npz"), help="the tokenized corpus (--prepare writes it)")
    ap.add_argument("--work-dir", help="checkpoints and summary (default tools/train/out/<model>-<preset>)")
    ap.add_argument("--model", choices=["deepseekmoe-tiny", "gshard-tiny", "deepseekv3-tiny"])
    ap.add_argument("--preset", default="full", choices=list(PRESETS))
    ap.add_argument("--steps", type=int)
    ap.add_argument("--time-budget", type=float, default=1e9, help="seconds; stop+save when hit")
    ap.add_argument("--ckpt-every", type=float, default=300, help="seconds")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                    help="cpu or cuda (default: cuda when PyTorch sees a GPU)")
    ap.add_argument("--out-dir", help="HF model dir (default resources/models/<model>)")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--leader", help="follow this model's run (lockstep, same steps and LR plan)")
    ap.add_argument("--plan-margin", type=float, default=0.93,
                    help="leader: fraction of the remaining budget to plan steps into")
    a = ap.parse_args()
    if a.prepare:
        prepare(a.train_texts, a.heldout_texts, a.tokenizer, a.data); return
    t_start = time.time()
    torch.set_num_threads(a.threads)
    p = dict(PRESETS[a.preset])
    if a.steps:
        p["steps"] = a.steps
    vocab, data = load_data(a.data)
    cfg = make_config(a.model, p, vocab)
    torch.manual_seed(a.seed)
    model = DeepseekLM(cfg).to(a.device)
    work = a.work_dir or os.path.join(OUT, f"{a.model}-{a.preset}")
    out_dir = a.out_dir or (os.path.join(ROOT, "resources", "models", a.model) if a.preset == "full"
                            else os.path.join(work, "hf"))
    os.makedirs(work, exist_ok=True)
    decay = [q for n, q in model.named_parameters() if q.dim() >= 2]
    nodecay = [q for n, q in model.named_parameters() if q.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": nodecay, "weight_decay": 0.0}],
                            lr=p["lr"], betas=(0.9, 0.95), eps=1e-8)
    step0, log = 0, []
    plan = {0: p["steps"]}
    ck = os.path.join(work, "ckpt.pt")
    if a.resume and os.path.exists(ck):
        s = torch.load(ck, map_location=a.device)
        model.load_state_dict(s["model"]); opt.load_state_dict(s["opt"])
        step0, log = s["step"], s["log"]
        plan = {int(k): v for k, v in s.get("plan", {0: p["steps"]}).items()}
        print(f"resumed at step {step0}", flush=True)
    pc = count_params(cfg)
    assert pc["total"] == sum(q.numel() for q in model.parameters()), (pc, sum(q.numel() for q in model.parameters()))
    print(json.dumps({"model": a.model, "preset": a.preset, "params": pc, "preset_values": p}), flush=True)
    alpha = cfg["aux_loss_alpha"]
    moe_blocks = [b.mlp for b in model.layers if b.is_moe]
    bias_balanced = cfg.get("scoring_func") == "sigmoid"
    n_moe = cfg["num_hidden_layers"] - cfg["first_k_dense_replace"]
    last_ck, t_train = time.time(), 0.0
    stopped_early = False
    step = step0
    # Lockstep: the leader (slower model) plans the total number of steps from
    # its measured speed and the time budget, and publishes plan entries
    # {from_step: total}; the follower never runs ahead of the leader, uses the
    # same plan, and stops exactly where the leader stops.
    runs = os.path.dirname(os.path.abspath(work))  # the progress files of lock-stepped runs
    prog = os.path.join(runs, f"progress-{a.model}-{a.preset}.json")
    lead_prog = os.path.join(runs, f"progress-{a.leader}-{a.preset}.json") if a.leader else None
    if lead_prog is None and not a.resume:
        json.dump({"done": 0, "stopped": False, "plan": plan}, open(prog, "w"))
    def publish(done, stopped):
        json.dump({"done": done, "stopped": stopped, "plan": plan}, open(prog + ".tmp", "w"))
        os.replace(prog + ".tmp", prog)
    def total_at(s):
        return plan[max(k for k in plan if k <= s)]
    step_times = []
    step = step0
    while True:
        if lead_prog:
            while True:
                try:
                    lp = json.load(open(lead_prog))
                except (OSError, ValueError):
                    lp = None
                if lp and lp["done"] > step:
                    break
                if lp and lp["stopped"] and step >= lp["done"]:
                    break
                if time.time() - t_start > a.time_budget + 900:
                    break
                time.sleep(0.05)
            plan = {int(k): v for k, v in lp["plan"].items()} if lp else plan
            if (lp is None or lp["stopped"] and step >= lp["done"]) or step >= total_at(step):
                stopped_early = lp is None or step < total_at(step)
                break
        else:
            if step >= total_at(step):
                break
            if time.time() - t_start > a.time_budget:
                stopped_early = True
                break
            if step >= 50 and (step - 50) % 100 == 0 and step_times:
                recent = sorted(step_times[-50:])[len(step_times[-50:]) // 2]
                remaining = a.time_budget * a.plan_margin - (time.time() - t_start)
                plan[step] = max(step + 1, min(p["steps"], step + int(remaining / recent)))
                print(f"plan: from step {step} total {plan[step]} (median step {recent:.2f}s)", flush=True)
        t0 = time.time()
        x, y = (t.to(a.device) for t in get_batch(data, step, a.seed, p["batch"], p["seq"]))
        total = total_at(step)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, p, total)
        logits, aux, counts = model(x)
        ce = F.cross_entropy(logits.reshape(-1, vocab), y.reshape(-1))
        loss = ce + alpha * aux
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if bias_balanced:
            for m, c in zip(moe_blocks, counts):
                m.update_bias(c, p["bias_rate"])
        dt = time.time() - t0
        t_train += dt
        step_times.append(dt)
        if not lead_prog:
            publish(step + 1, False)
        if step % 10 == 0:
            maxload = max((c.max().item() * c.numel() / c.sum().item()) for c in counts)
            rec = {"step": step, "ce": round(ce.item(), 4), "aux": round(aux.item() / n_moe, 4),
                   "max_load_ratio": round(maxload, 2), "lr": round(lr_at(step, p, total), 6), "total": total,
                   "tok_s": round(x.numel() / dt, 1), "elapsed": round(time.time() - t_start, 1)}
            log.append(rec)
            print(json.dumps(rec), flush=True)
        if time.time() - last_ck > a.ckpt_every:
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step + 1,
                        "log": log, "plan": plan}, ck + ".tmp")
            os.replace(ck + ".tmp", ck)
            export(model, cfg, out_dir, a.tokenizer)
            last_ck = time.time()
            print(f"checkpoint at step {step + 1}", flush=True)
        step += 1
    steps_done = step
    if not lead_prog:
        publish(steps_done, True)
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": steps_done, "log": log},
               ck + ".tmp")
    os.replace(ck + ".tmp", ck)
    export(model, cfg, out_dir, a.tokenizer)
    wall = time.time() - t_start
    print(f"exported to {out_dir}; evaluating", flush=True)
    # evaluate the exported (f16-rounded) weights
    sys.path.insert(0, os.path.dirname(__file__))
    from moe import load_hf_model
    m16, _ = load_hf_model(out_dir, torch.float32)
    m16 = m16.to(a.device)
    hl = heldout_loss(m16, data, p["seq"])
    sp = Spm(a.tokenizer)
    samples = {}
    for dom, prompt in PROMPTS.items():
        ids = [1] + sp.encode_docs([prompt])[0]
        outids = greedy(m16, ids, 48)
        samples[dom] = {"prompt": prompt, "prompt_ids": ids, "output_ids": outids,
                        "continuation": sp.decode([t for t in outids[len(ids):] if t not in (1, 2)])}
    summary = {"model": a.model, "preset": a.preset, "config": cfg, "params": pc,
               "preset_values": p, "steps_planned": p["steps"], "lr_plan": plan, "steps_done": steps_done,
               "stopped_early_by_time_budget": stopped_early,
               "tokens_seen": steps_done * p["batch"] * p["seq"],
               "train_seconds": round(t_train, 1), "wall_seconds": round(wall, 1),
               "tokens_per_second": round(steps_done * p["batch"] * p["seq"] / max(t_train, 1e-9), 1)
               if steps_done > step0 else None,
               "final_train_ce": log[-1]["ce"] if log else None,
               "heldout_loss": hl, "heldout_loss_mean": sum(hl.values()) / len(hl),
               "samples": samples, "threads": a.threads, "device": a.device, "seed": a.seed,
               "log_tail": log[-5:]}
    json.dump(summary, open(os.path.join(work, "summary.json"), "w"), indent=1, ensure_ascii=False)
    print(json.dumps({k: summary[k] for k in ("steps_done", "tokens_seen", "tokens_per_second",
                                              "heldout_loss", "samples")}, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
