#!/bin/sh
# One command: corpus (installs the Debian packages if missing) + tokenizer.
set -e
cd "$(dirname "$0")/../.."
/usr/bin/python3 tools/corpus/build_corpus.py "$@"
tools/corpus/train_tokenizer.sh
