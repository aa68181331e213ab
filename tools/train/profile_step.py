#!/usr/bin/env python3
"""Speed of one training step of each full-preset model alone on one thread
(median of 10 steps after 2 warm-up steps), and where deepseekmoe-tiny's step
spends its time (torch.profiler, 3 steps). Needs tools/train/out/data.npz.

  /usr/bin/python3 tools/train/profile_step.py
"""
import os, sys, time
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train  # noqa: E402
from moe import DeepseekLM  # noqa: E402


def step(model, opt, data, s, p, vocab):
    x, y = train.get_batch(data, s, 1, p["batch"], p["seq"])
    logits, aux, _ = model(x)
    ce = F.cross_entropy(logits.reshape(-1, vocab), y.reshape(-1))
    opt.zero_grad()
    (ce + 0.01 * aux).backward()
    opt.step()


def main():
    torch.set_num_threads(1)
    vocab, data = train.load_data(os.path.join(train.OUT, "data.npz"))
    p = dict(train.PRESETS["full"])
    for name in ("deepseekmoe-tiny", "gshard-tiny"):
        torch.manual_seed(0)
        model = DeepseekLM(train.make_config(name, p, vocab))
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        times = []
        for s in range(12):
            t0 = time.time()
            step(model, opt, data, s, p, vocab)
            times.append(time.time() - t0)
        median = sorted(times[2:])[len(times[2:]) // 2]
        print(f"{name}: median step {median:.3f} s, {p['batch'] * p['seq'] / median:.0f} tokens/s")
        if name == "deepseekmoe-tiny":
            with torch.profiler.profile() as prof:
                for s in range(3):
                    step(model, opt, data, s, p, vocab)
            print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=8))


if __name__ == "__main__":
    main()
