#!/bin/sh
# Regenerate every test fixture deterministically:
#   tests/fixtures/tokenizer/  sentencepiece model (spm_train) + expected encodings
#   tests/fixtures/models/     random-weight checkpoints (HF layout): three DeepSeekMoE,
#                              one each of Mixtral, Qwen2-MoE and OLMoE
#   tests/fixtures/golden/     reference logits and routing (float64 PyTorch)
# Needs: spm_train/spm_encode (Debian package `sentencepiece`), python3 with torch + numpy.
# Run from anywhere; paths are resolved against the repository root.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
PY=${PYTHON:-/usr/bin/python3}
REF=tools/reference
FIX=tests/fixtures

# 1. Tokenizer. Relative paths on purpose: spm_train stores --input and
#    --model_prefix inside the model, so absolute paths would make it differ per
#    checkout. One thread keeps BPE training deterministic.
mkdir -p $FIX/tokenizer
spm_train \
    --input=$REF/tokenizer_text.txt \
    --model_prefix=$FIX/tokenizer/tokenizer \
    --model_type=bpe \
    --vocab_size=512 \
    --byte_fallback=true \
    --character_coverage=1.0 \
    --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=-1 \
    --normalization_rule_name=identity \
    --split_digits=true \
    --add_dummy_prefix=true \
    --remove_extra_whitespaces=false \
    --allow_whitespace_only_pieces=true \
    --num_threads=1 \
    --minloglevel=2
$PY $REF/make_tokenizer_cases.py $FIX/tokenizer/tokenizer.model $FIX/tokenizer/cases.json

# 2. Checkpoints (shapes and seeds are the presets in make_checkpoint.py).
MODELS="dense-lead-f32 normtopk-bf16-sharded nodense-f16 mixtral-bf16-sharded qwen2moe-f32 olmoe-f16"
mkdir -p $FIX/models
for m in $MODELS; do rm -rf $FIX/models/$m; done
$PY $REF/make_checkpoint.py $FIX/models/dense-lead-f32 --preset dense-lead-f32 \
    --tokenizer $FIX/tokenizer/tokenizer.model
for m in normtopk-bf16-sharded nodense-f16 mixtral-bf16-sharded qwen2moe-f32 olmoe-f16; do
    $PY $REF/make_checkpoint.py $FIX/models/$m --preset $m
done

# 3. Golden outputs, then a self-check that they reproduce. Only these models'
#    goldens: the bundled models' goldens (resources/models) live here too.
for m in $MODELS; do rm -f $FIX/golden/$m.*.json; done
$PY $REF/make_golden.py $FIX/models $FIX/golden
$PY $REF/check_consistency.py $FIX/models $FIX/golden
