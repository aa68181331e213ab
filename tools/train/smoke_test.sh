#!/bin/sh
# The trainer end to end in about a minute on a CPU: tokenize the held-out
# texts with the bundled tokenizer, train the smoke preset of deepseekmoe-tiny
# on them, export the Hugging Face folder, write its golden run with the
# float64 reference (make_golden.py checks the trainer against it), and check
# the C++ engine against that golden with `moescope-cli check`.
# usage: tools/train/smoke_test.sh MOESCOPE_CLI [MODEL=deepseekmoe-tiny]
set -eu
CLI=$1
MODEL=${2:-deepseekmoe-tiny}
cd "$(dirname "$0")/../.."
PY=${PYTHON:-/usr/bin/python3}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
$PY tools/train/train.py --prepare --train-texts tools/corpus/heldout --heldout-texts tools/corpus/heldout \
  --tokenizer resources/models/deepseekmoe-tiny/tokenizer.model --data "$WORK/data.npz" > "$WORK/prepare.log"
$PY tools/train/train.py --model "$MODEL" --preset smoke --data "$WORK/data.npz" \
  --tokenizer resources/models/deepseekmoe-tiny/tokenizer.model \
  --work-dir "$WORK/run/$MODEL" --out-dir "$WORK/$MODEL" > "$WORK/train.log"
tail -n 1 "$WORK/train.log"
$PY tools/train/make_golden.py --model "$WORK/$MODEL" --out "$WORK/golden.json"
"$CLI" check --model "$WORK/$MODEL" --backend cpu --golden "$WORK/golden.json"
