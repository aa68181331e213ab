#!/usr/bin/env python3
"""How much of a model's sampled English is real words: the share of the words
in its continuations of English prompts that are in /usr/share/dict/words
(Debian package wamerican), sampled by moescope-cli with the app's defaults.

  /usr/bin/python3 tools/train/word_share.py --model resources/models/deepseekmoe-tiny

A word is a run of letters with an optional apostrophe part ("don't"); single
letters other than "a" and "I" count as non-words, so stray letters do not pass.
"""
import argparse, json, os, re, subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
PROMPTS = ["The meaning of life is", "Once upon a time", "I have always believed that",
           "The best thing about the world", "When I was young, my father told me",
           "Never trust a man who"]
WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")


def dictionary(path):
    words = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            words.add(line.strip())
    return words


def is_word(w, words):
    if len(w) == 1:
        return w in ("a", "A", "I")
    return w in words or w.lower() in words or w.capitalize() in words


def sample(cli, model, prompt, seed, tokens):
    """moescope-cli's output (prompt + continuation) at the app's default sampling settings."""
    return subprocess.run([cli, "generate", "--model", model, "--backend", "cpu", "--prompt", prompt,
                           "--max-tokens", str(tokens), "--temperature", "0.7", "--top-p", "0.95",
                           "--seed", str(seed), "--no-summary"],
                          capture_output=True, text=True, check=True).stdout


def continuation(cli, model, prompt, seed, tokens):
    out = sample(cli, model, prompt, seed, tokens)
    return out[len(prompt):] if out.startswith(prompt) else out


def measure(cli, model, seeds=5, tokens=40, dict_path="/usr/share/dict/words"):
    words = dictionary(dict_path)
    real = total = 0
    for prompt in PROMPTS:
        for seed in range(1, seeds + 1):
            for w in WORD.findall(continuation(cli, model, prompt, seed, tokens)):
                total += 1
                real += is_word(w, words)
    return {"words": total, "real_words": real, "share": real / max(total, 1),
            "continuations": len(PROMPTS) * seeds, "tokens_each": tokens}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--cli", default=os.path.join(ROOT, "build", "cli", "moescope-cli"))
    ap.add_argument("--seeds", type=int, default=5)
    a = ap.parse_args()
    print(json.dumps(measure(a.cli, a.model, a.seeds)))


if __name__ == "__main__":
    main()
