#!/bin/sh
# Train the SentencePiece tokenizer on tools/corpus/out/spm_input.txt (written by build_corpus.py).
# -> tools/corpus/out/tokenizer.model, tokenizer.vocab
set -e
cd "$(dirname "$0")/out"
spm_train --input=spm_input.txt --model_prefix=tokenizer --model_type=unigram --vocab_size=8000 \
  --byte_fallback=true --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=-1 \
  --normalization_rule_name=identity --remove_extra_whitespaces=false --add_dummy_prefix=false \
  --split_digits=true --allow_whitespace_only_pieces=true --character_coverage=0.995 \
  --input_sentence_size=1000000 --shuffle_input_sentence=true --max_sentence_length=8192 \
  --num_threads=2 --seed_sentencepiece_size=400000 --random_seed=1234 > spm.log 2>&1
echo "tokenizer: $(pwd)/tokenizer.model"
