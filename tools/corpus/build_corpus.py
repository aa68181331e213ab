#!/usr/bin/env python3
"""Build the moescope training corpus and held-out split from Debian packages.

Reproducible: the same package versions and the same seed give the same bytes;
the versions used are written to tools/corpus/package-versions.txt.
Domains (label -> source):
  en      English prose: fortunes, fortunes-min (offensive and ASCII-art files excluded)
  bible   English scripture: bible-kjv (King James Version, one chapter per document)
  de es it zh   fortunes-de, fortunes-es (no off/), fortunes-it, fortunes-zh
  python  the Python standard library (files of the PYTHON_PACKAGES, tests excluded)
  c       C headers (*.h) of the C_PACKAGES (libc, kernel and common C libraries)
  arith   synthetic arithmetic, generated with a fixed seed

Output:
  tools/corpus/heldout/<domain>.txt   (kept in git)  held-out documents
  tools/corpus/out/<domain>.txt       (git-ignored)  training documents
  tools/corpus/out/spm_input.txt      one line per text line, for spm_train
Both file kinds use the same format: UTF-8 text, documents separated by a line
that consists of the single byte 0x1E (ASCII RECORD SEPARATOR), i.e. the file is
doc0 "\n\x1e\n" doc1 "\n\x1e\n" ... docN "\n". No document contains 0x1E.
"""
import argparse, os, random, re, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
DOMAINS = ["en", "bible", "de", "es", "it", "zh", "python", "c", "arith"]
PYTHON_PACKAGES = ["libpython3.11-stdlib", "libpython3.11-minimal"]
C_PACKAGES = ["libc6-dev", "linux-libc-dev", "zlib1g-dev", "libpng-dev", "libsqlite3-dev",
              "libssl-dev", "libncurses-dev", "libx11-dev", "libxml2-dev", "libexpat1-dev",
              "liblzma-dev", "libbz2-dev", "libreadline-dev", "libffi-dev", "libyaml-dev",
              "libgmp-dev", "uuid-dev", "libmagic-dev", "libpcre2-dev"]
PACKAGES = ["fortunes", "fortunes-min", "fortunes-de", "fortunes-es", "fortunes-it",
            "fortunes-zh", "bible-kjv", "bible-kjv-text", *PYTHON_PACKAGES, *C_PACKAGES]
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


def listed_files(pkg):
    """The regular files a package installed, sorted (dpkg -L)."""
    out = subprocess.run(["dpkg", "-L", pkg], capture_output=True, text=True, check=True).stdout
    return sorted(f for f in set(out.split("\n")) if f and os.path.isfile(f) and not os.path.islink(f))


def package_versions():
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}\n", *PACKAGES],
                         capture_output=True, text=True, check=True).stdout
    return "".join(sorted(out.splitlines(keepends=True)))


def package_files(pkg):
    files = []
    for f in listed_files(pkg):
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
    """One source file as a group of documents of at most max_lines lines each
    (a group is split off whole, so held-out files are never trained on)."""
    try:
        text = open(path, "rb").read().decode("utf-8")
    except (UnicodeDecodeError, OSError):
        return []
    lines = clean(text).split("\n")
    chunks = ["\n".join(lines[i:i + max_lines]) for i in range(0, len(lines), max_lines)]
    return [c for c in chunks if c.strip()]


def source_groups(packages, suffix, skip):
    files = sorted({f for pkg in packages for f in listed_files(pkg)
                    if f.endswith(suffix) and not any(s in f for s in skip)})
    return [g for g in (chunk_source(f) for f in files) if g]


def python_src():
    return source_groups(PYTHON_PACKAGES, ".py", ["/test", "/idlelib/", "-packages/"])


def c_src():
    return source_groups(C_PACKAGES, ".h", ["c++"])


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


def split(domain, groups, heldout_bytes, train_bytes, seed):
    """Deterministic split of groups of documents (a source file, or one document):
    shuffle the groups with a per-domain seed; the first groups up to heldout_bytes
    are held out, the following up to train_bytes are training."""
    rng = random.Random(f"{seed}-{domain}")
    groups = [[d for d in g if d.strip()] for g in groups]
    groups = [g for g in groups if g]
    rng.shuffle(groups)
    size = lambda g: sum(len(d.encode()) for d in g)
    held, train, n = [], [], 0
    it = iter(groups)
    for g in it:
        if n >= heldout_bytes:
            train.extend(g); n = size(g); break
        held.extend(g); n += size(g)
    for g in it:
        if n >= train_bytes:
            break
        train.extend(g); n += size(g)
    return held, train


def write_docs(path, docs):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(SEP.join(docs) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "out"))
    ap.add_argument("--heldout-dir", default=os.path.join(HERE, "heldout"))
    ap.add_argument("--heldout-kb", type=int, default=30)
    ap.add_argument("--train-mb", type=float, default=4.0, help="cap per domain")
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
    with open(os.path.join(HERE, "package-versions.txt"), "w") as f:
        f.write(package_versions())
    for dom in DOMAINS:
        docs = sources[dom]()
        groups = docs if dom in ("python", "c") else [[d] for d in docs]
        held, train = split(dom, groups, a.heldout_kb * 1024, int(a.train_mb * 2**20), a.seed)
        write_docs(os.path.join(a.heldout_dir, f"{dom}.txt"), held)
        write_docs(os.path.join(a.out, f"{dom}.txt"), train)
        for d in train:
            for line in d.split("\n"):
                if line.strip():
                    spm.write(line + "\n")
        print(f"{dom:7s} groups {len(groups):6d}  heldout {len(held):5d} "
              f"({sum(len(d.encode()) for d in held)//1024} KB)  train {len(train):6d} "
              f"({sum(len(d.encode()) for d in train)//1024} KB)", file=sys.stderr)
    spm.close()


if __name__ == "__main__":
    main()
