#!/usr/bin/env python3
"""Tokenizer-only GGUF files (llama.cpp's `tokenizer.ggml.*` keys) of the bundled
tokenizers in tests/fixtures/tokenizers/, for test_gguf_tokenizer.

    make_gguf_tokenizer_fixtures.py   (from the repository root; needs PyPI's `gguf`)

Written as llama.cpp's convert_hf_to_gguf.py writes a `gpt2` vocabulary: tokens by id
(ids the vocabulary lacks as "[PAD<id>]", type UNUSED), added tokens CONTROL when
special else USER_DEFINED, merges as "left right" strings, the pre-tokenizer's name
(llama.cpp's names: deepseek-llm, qwen2, olmo), the special-token ids and add_bos /
add_eos from tokenizer_config.json, and its chat template. Also one file naming a
pre-tokenizer moescope does not map ("falcon"), which must be refused, and a
seven-token one as the fuzz_gguf corpus seed (tests/fuzz/corpus/gguf/tokenizer.gguf).
And tests/fixtures/tokenizer/tokenizer.model (SentencePiece BPE, byte fallback) as a
`llama` vocabulary (tokenizer-llama.gguf; needs PyPI's `sentencepiece` too).
"""
from __future__ import annotations

import json
from pathlib import Path

import sentencepiece as spm
from gguf import GGUFWriter, TokenType

ROOT = Path(__file__).resolve().parents[2]
SOURCES = {"deepseek-llm": "deepseek-moe-16b", "qwen2": "qwen1.5-moe", "olmo": "olmoe"}


def token_content(value):
    return value["content"] if isinstance(value, dict) else value


def write(source: str, pre: str, out: Path) -> None:
    d = ROOT / "tests/fixtures/tokenizers" / source
    tj = json.loads((d / "tokenizer.json").read_text())
    config = json.loads((d / "tokenizer_config.json").read_text())
    vocab = dict(tj["model"]["vocab"])
    added = {t["id"]: t for t in tj["added_tokens"]}
    size = max(list(vocab.values()) + list(added)) + 1
    by_id = {i: t for t, i in vocab.items()}
    tokens, types = [], []
    for i in range(size):
        if i in added:
            tokens.append(added[i]["content"])
            types.append(TokenType.CONTROL if added[i]["special"] else TokenType.USER_DEFINED)
        elif i in by_id:
            tokens.append(by_id[i])
            types.append(TokenType.NORMAL)
        else:
            tokens.append(f"[PAD{i}]")
            types.append(TokenType.UNUSED)
    merges = [m if isinstance(m, str) else " ".join(m) for m in tj["model"]["merges"]]

    w = GGUFWriter(str(out), "deepseek", use_temp_file=False)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre)
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    ids = {t: i for i, t in enumerate(tokens)}
    for key, adder in (("bos_token", w.add_bos_token_id), ("eos_token", w.add_eos_token_id),
                       ("pad_token", w.add_pad_token_id), ("unk_token", w.add_unk_token_id)):
        if config.get(key) is not None:
            adder(ids[token_content(config[key])])
    # transformers adds BOS by the post_processor's template when tokenizer_config is silent
    post = json.dumps(tj.get("post_processor"))
    w.add_add_bos_token(config.get("add_bos_token", '"SpecialToken"' in post))
    w.add_add_eos_token(config.get("add_eos_token", False))
    if config.get("chat_template"):
        w.add_chat_template(config["chat_template"])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write_llama(model: Path, out: Path) -> None:
    """A SentencePiece tokenizer.model as llama.cpp's converter writes a `llama` vocabulary
    (_create_vocab_sentencepiece): pieces, scores, types, its special ids, add_space_prefix
    from the model's add_dummy_prefix (read from a one-letter encoding), BOS added."""
    sp = spm.SentencePieceProcessor(model_file=str(model))
    tokens, scores, types = [], [], []
    for i in range(sp.get_piece_size()):
        tokens.append(sp.id_to_piece(i))
        scores.append(sp.get_score(i))
        types.append(TokenType.UNKNOWN if sp.is_unknown(i) else TokenType.CONTROL if sp.is_control(i)
                     else TokenType.UNUSED if sp.is_unused(i) else TokenType.BYTE if sp.is_byte(i)
                     else TokenType.NORMAL)
    w = GGUFWriter(str(out), "llama", use_temp_file=False)
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_add_space_prefix(sp.encode("a", out_type=str)[0].startswith("\u2581"))
    w.add_unk_token_id(sp.unk_id())
    w.add_bos_token_id(sp.bos_id())
    w.add_eos_token_id(sp.eos_id())
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write_fuzz_seed(out: Path) -> None:
    w = GGUFWriter(str(out), "deepseek", use_temp_file=False)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")
    w.add_token_list(["a", "b", "\u0120", "ab", "\u0120ab", "<s>", "[PAD6]"])
    w.add_token_types([TokenType.NORMAL] * 5 + [TokenType.CONTROL, TokenType.UNUSED])
    w.add_token_merges(["a b", "\u0120 ab"])
    w.add_bos_token_id(5)
    w.add_add_bos_token(True)
    w.add_chat_template("{% for m in messages %}{{ m['content'] }}{% endfor %}")
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main() -> None:
    out = ROOT / "tests/fixtures/gguf"
    for pre, source in SOURCES.items():
        write(source, pre, out / f"tokenizer-{pre}.gguf")
    write("qwen1.5-moe", "falcon", out / "tokenizer-unknown-pre.gguf")
    write_llama(ROOT / "tests/fixtures/tokenizer/tokenizer.model", out / "tokenizer-llama.gguf")
    write_fuzz_seed(ROOT / "tests/fuzz/corpus/gguf/tokenizer.gguf")


if __name__ == "__main__":
    main()
