#!/usr/bin/env python3
"""moescope's CPU engine against llama.cpp's llama-bench on the same GGUF files.

Both programs read the same file, so the weights are identical. For every file,
thread count and piece of work (decode of --gen tokens; prefill of each --prompts
length) the two run one after the other, in alternating order from round to round
so that a machine's drift falls on both; each run is its own process, with its own
warm-up, reporting the median of --repeats timed repetitions. The table gives the
medians over the rounds and the median of the per-round ratios moescope / llama.cpp
(above 1: moescope is faster). moescope captures routing while it runs, as the app does.

llama-bench is built from llama.cpp's public source outside this project; it is
neither part of the build nor of CI. Example (docs/PERFORMANCE.md):

  python3 scripts/bench_vs_llama.py --llama-bench ~/llama.cpp/build/bin/llama-bench \
      --gguf model.q8_0.gguf --gguf model.bf16.gguf --threads 1,2 --rounds 5
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys


def moescope_rate(cli, gguf, threads, prompt, gen, repeats):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OMP_PROC_BIND="false")
    out = subprocess.run(
        [cli, "bench", "--backend", "cpu", "--model", gguf, "--prompt-tokens", str(prompt),
         "--gen-tokens", str(gen), "--repeats", str(repeats)],
        env=env, check=True, capture_output=True, text=True).stdout
    field = "decode" if gen > 1 else "prefill"
    match = re.search(rf"^{field}:\s+([0-9.]+) tokens/s", out, re.M)
    if not match:
        sys.exit(f"moescope-cli bench printed no {field} rate:\n{out}")
    return float(match.group(1))


def llama_rate(llama_bench, gguf, threads, prompt, gen, repeats):
    out = subprocess.run(
        [llama_bench, "-m", gguf, "-t", str(threads), "-r", str(repeats), "-o", "json",
         "-p", str(prompt), "-n", str(gen)],
        check=True, capture_output=True, text=True).stdout
    records = json.loads(out)
    if len(records) != 1 or "samples_ts" not in records[0]:
        sys.exit(f"llama-bench printed an unexpected result:\n{out}")
    return statistics.median(records[0]["samples_ts"])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--llama-bench", required=True, help="path of a llama-bench binary")
    p.add_argument("--gguf", action="append", required=True, help="a GGUF file (repeatable)")
    p.add_argument("--moescope", default="build/cli/moescope-cli", help="moescope-cli binary")
    p.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    p.add_argument("--prompts", default="128,512", help="prefill lengths, comma-separated")
    p.add_argument("--gen", type=int, default=32, help="decoded tokens per run")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--repeats", type=int, default=3, help="timed repetitions inside each run")
    a = p.parse_args()
    for tool in (a.llama_bench, a.moescope):
        if not os.access(tool, os.X_OK):
            sys.exit(f"{tool}: not an executable file")

    # (label, prompt tokens, generated tokens) as each program counts them: llama-bench's
    # tg runs decode from an empty context, moescope's from a one-token prompt.
    work = [(f"decode {a.gen}", 1, a.gen)]
    work += [(f"prefill {n}", int(n), 1) for n in a.prompts.split(",")]
    rows = {}
    for r in range(a.rounds):
        for gguf in a.gguf:
            for threads in (int(t) for t in a.threads.split(",")):
                for label, prompt, gen in work:
                    ours = lambda: moescope_rate(a.moescope, gguf, threads, prompt, gen, a.repeats)
                    # llama-bench's prefill run generates nothing; its decode run reads no prompt.
                    theirs = lambda: llama_rate(a.llama_bench, gguf, threads,
                                                0 if gen > 1 else prompt, gen if gen > 1 else 0,
                                                a.repeats)
                    if r % 2 == 0:
                        m, l = ours(), theirs()
                    else:
                        l, m = theirs(), ours()
                    rows.setdefault((os.path.basename(gguf), threads, label), []).append((m, l))
                    print(f"round {r + 1}: {os.path.basename(gguf)} {threads}t {label}: "
                          f"moescope {m:.1f} tok/s, llama.cpp {l:.1f} tok/s", file=sys.stderr)

    print("| model | threads | work | moescope tok/s | llama.cpp tok/s | moescope / llama.cpp |")
    print("|---|---|---|---|---|---|")
    for (name, threads, label), pairs in rows.items():
        m = statistics.median(x for x, _ in pairs)
        l = statistics.median(y for _, y in pairs)
        ratio = statistics.median(x / y for x, y in pairs)
        print(f"| {name} | {threads} | {label} | {m:.1f} | {l:.1f} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
