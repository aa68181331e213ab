#!/usr/bin/env python3
"""Build the moescope training corpus and held-out split from Debian packages.

Reproducible: the same packages and the same seed give the same bytes.
Domains (label -> source):
  en      English prose: fortunes, fortunes-min (offensive and ASCII-art files excluded)
  bible   English scripture: bible-kjv (King James Version, one chapter per document)
  de es it zh   fortunes-de, fortunes-es (no off/), fortunes-it, fortunes-zh
  python  the Python standard library (/usr/lib/python3.11, tests excluded)
  c       C headers under /usr/include
  arith   synthetic arithmetic, generated with a fixed seed

Output:
  tools/corpus/heldout/<domain>.txt   (kept in git)  held-out documents
  tools/corpus/out/<domain>.txt       (git-ignored)  training documents
  tools/corpus/out/spm_input.txt      one line per text line, for spm_train
Both file kinds use the same format: UTF-8 text, documents separated by a line
that consists of the single byte 0x1E (ASCII RECORD SEPARATOR), i.e. the file is
doc0 "\n\x1e\n" doc1 "\n\x1e\n" ... docN "\n". No document contains 0x1E.
"""
import argparse, glob, hashlib, os, random, re, shutil, subprocess, sys, zlib

HERE = os.path.dirname(os.path.abspath(__file__))
DOMAINS = ["en", "bible", "de", "es", "it", "zh", "python", "c", "arith"]
PACKAGES = ["fortunes", "fortunes-min", "fortunes-de", "fortunes-es", "fortunes-it",
            "fortunes-zh", "bible-kjv", "bible-kjv-text"]
SEP = "\n\x1e\n"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
OVERSTRIKE = re.compile(r".\x08")
EXCLUDE_FORTUNE = {"art", "ascii-art", "asciiart", "banner", "translate-me"}


def ensure_packages():
    missing = [p for p in PACKAGES
               if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode != 0]
    if missing:
        print("installing", missing, file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", *missing], check=True)


def package_files(pkg):
    out = subprocess.run(["dpkg", "-L", pkg], capture_output=True, text=True, check=True).stdout
    files = []
    for f in sorted(out.split()):
        if "/games/fortunes/" not in f or f.endswith((".dat", ".u8")) or "/off/" in f:
            continue
        if os.path.basename(f).split(".")[0] in EXCLUDE_FORTUNE or not os.path.isfile(f):
            continue
        files.append(os.path.realpath(f))
    return sorted(set(files))


def clean(t):
    t = ANSI.sub("", t)
    while OVERSTRIKE.search(t):
        t = OVERSTRIKE.sub("", t)
    t = t.replace("\x1e", " ").replace("\r\n", "\n").replace("\r", "\n")
    t = "".join(ch for ch in t if ch in "\n\t" or ch >= " " and ch != "\x7f")
    return t.strip("\n")


def fortunes(pkgs):
    docs = []
    for pkg in pkgs:
        for f in package_files(pkg):
            raw = open(f, "rb").read().decode("utf-8", errors="replace")
            for d in re.split(r"\n%\n", "\n" + raw + "\n"):
                d = clean(d)
                if len(d.strip()) >= 8:
                    docs.append(d)
    return docs


def bible():
    chapters = {}
    out = subprocess.run(["bible", "-f", "Gen1:1-Rev22:21"], capture_output=True,
                         text=True, check=True).stdout
    docs, cur, key = [], [], None
    for line in out.splitlines():
        m = re.match(r"^(\S+?)(\d+):(\d+) (.*)$", line)
        if not m:
            if cur and line.strip():
                cur[-1] += " " + line.strip()
            continue
        k = (m.group(1), m.group(2))
        if k != key and cur:
            docs.append("\n".join(cur)); cur = []
        key = k
        cur.append(f"{m.group(3)} {m.group(4).strip()}")
    if cur:
        docs.append("\n".join(cur))
    return [clean(d) for d in docs]


def chunk_source(path, max_lines=80):
    try:
        text = open(path, "rb").read().decode("utf-8")
    except (UnicodeDecodeError, OSError):
        return []
    lines = clean(text).split("\n")
    return ["\n".join(lines[i:i + max_lines]) for i in range(0, len(lines), max_lines)
            if "\n".join(lines[i:i + max_lines]).strip()]


def python_src():
    files = sorted(glob.glob("/usr/lib/python3.11/**/*.py", recursive=True))
    files = [f for f in files if "/test" not in f and "/idlelib/" not in f
             and "site-packages" not in f and "dist-packages" not in f]
    return [d for f in files for d in chunk_source(f)]


def c_src():
    files = sorted(glob.glob("/usr/include/**/*.h", recursive=True))
    files = [f for f in files if os.path.isfile(f) and "c++" not in f]
    return [d for f in files for d in chunk_source(f)]


def arith(n_docs, seed=1234):
    rng = random.Random(seed)
    docs = []
    for _ in range(n_docs):
        lines = []
        for _ in range(rng.randint(6, 14)):
            op = rng.choices("+-*", weights=[6, 3, 2])[0]
            if op == "+":
                a, b = rng.randint(0, 99), rng.randint(0, 99); r = a + b
            elif op == "-":
                a, b = rng.randint(0, 99), rng.randint(0, 99)
                a, b = max(a, b), min(a, b); r = a - b
            else:
                a, b = rng.randint(0, 12), rng.randint(0, 99); r = a * b
            lines.append(f"{a} {op} {b} = {r}")
        docs.append("\n".join(lines))
    return docs


def split(domain, docs, heldout_bytes, train_bytes, seed):
    """Deterministic split: shuffle with a per-domain seed; the first docs up to
    heldout_bytes are held out, the following up to train_bytes are training."""
    rng = random.Random(f"{seed}-{domain}")
    docs = [d for d in docs if d.strip()]
    rng.shuffle(docs)
    held, train, n = [], [], 0
    it = iter(docs)
    for d in it:
        if n >= heldout_bytes:
            train.append(d); break
        held.append(d); n += len(d.encode())
    n = sum(len(d.encode()) for d in train)
    for d in it:
        if n >= train_bytes:
            break
        train.append(d); n += len(d.encode())
    return held, train


def write_docs(path, docs):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(SEP.join(docs) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "out"))
    ap.add_argument("--heldout-dir", default=os.path.join(HERE, "heldout"))
    ap.add_argument("--heldout-kb", type=int, default=30)
    ap.add_argument("--train-mb", type=float, default=1.5, help="cap per domain")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--no-install", action="store_true")
    a = ap.parse_args()
    if not a.no_install:
        ensure_packages()
    sources = {
        "en": lambda: fortunes(["fortunes", "fortunes-min"]),
        "bible": bible,
        "de": lambda: fortunes(["fortunes-de"]),
        "es": lambda: fortunes(["fortunes-es"]),
        "it": lambda: fortunes(["fortunes-it"]),
        "zh": lambda: fortunes(["fortunes-zh"]),
        "python": python_src,
        "c": c_src,
        "arith": lambda: arith(20000, a.seed),
    }
    os.makedirs(a.out, exist_ok=True); os.makedirs(a.heldout_dir, exist_ok=True)
    spm = open(os.path.join(a.out, "spm_input.txt"), "w", encoding="utf-8")
    for dom in DOMAINS:
        docs = sources[dom]()
        held, train = split(dom, docs, a.heldout_kb * 1024, int(a.train_mb * 2**20), a.seed)
        write_docs(os.path.join(a.heldout_dir, f"{dom}.txt"), held)
        write_docs(os.path.join(a.out, f"{dom}.txt"), train)
        for d in train:
            for line in d.split("\n"):
                if line.strip():
                    spm.write(line + "\n")
        print(f"{dom:7s} docs total {len(docs):6d}  heldout {len(held):5d} "
              f"({sum(len(d.encode()) for d in held)//1024} KB)  train {len(train):6d} "
              f"({sum(len(d.encode()) for d in train)//1024} KB)", file=sys.stderr)
    spm.close()


if __name__ == "__main__":
    main()
