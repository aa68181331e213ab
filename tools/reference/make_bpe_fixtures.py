#!/usr/bin/env python3
"""Small byte-level BPE tokenizer.json fixtures with the real families' pipelines,
and the ids Hugging Face gives for a few hundred strings.

    /work/venv/bin/python tools/reference/make_bpe_fixtures.py [tests/fixtures/tokenizers]

For each family (deepseek-moe-16b, qwen1.5-moe, olmoe) it trains a BPE of a few
thousand tokens with the `tokenizers` library on text from this repository,
using the family's normalizer, pre-tokenizer, decoder and added tokens, then
writes FAMILY/tokenizer.json, FAMILY/tokenizer_config.json and FAMILY/cases.json
([{"text", "ids"}], ids as transformers.AutoTokenizer(text).input_ids, which the
script checks against tokenizers.Tokenizer.encode plus the family's BOS rule).
Deterministic: the same inputs give byte-identical files.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
from tokenizers import AddedToken, Tokenizer, trainers, pre_tokenizers  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
CORPUS = sorted((REPO / "tools" / "corpus" / "heldout").glob("*.txt")) + [
    REPO / "tools" / "reference" / "tokenizer_text.txt"]
VOCAB_SIZE = 3000


def char_class(ranges: list[tuple[int, int]]) -> str:
    return "".join(chr(a) if a == b else chr(a) + "-" + chr(b) for a, b in ranges)


# deepseek-llm / deepseek-moe-16b: letter runs with an optional leading space.
# Written as code points: NFC-normalising this class (as some copies do) breaks it.
DEEPSEEK_LETTERS = char_class([
    (0x41, 0x5A), (0x61, 0x7A), (0xB5, 0xB5), (0xC0, 0xD6), (0xD8, 0xF6), (0xF8, 0x1BA),
    (0x1BC, 0x1BF), (0x1C4, 0x293), (0x295, 0x2AF), (0x370, 0x373), (0x376, 0x376),
    (0x377, 0x377), (0x37B, 0x37D), (0x37F, 0x37F), (0x386, 0x386), (0x388, 0x38A),
    (0x38C, 0x38C), (0x38E, 0x3A1), (0x3A3, 0x3F5), (0x3F7, 0x481), (0x48A, 0x52F),
    (0x531, 0x556), (0x10A0, 0x10C5), (0x13A0, 0x13F5), (0x13F8, 0x13FD), (0x1C90, 0x1CBA),
    (0x1CBD, 0x1CBF), (0x1D00, 0x1D2B), (0x1D6B, 0x1D77), (0x1D79, 0x1D9A), (0x1E00, 0x1F15),
    (0x1F18, 0x1F1D), (0x1F20, 0x1F45), (0x1F48, 0x1F4D), (0x1F50, 0x1F57), (0x1F59, 0x1F59),
    (0x1F5B, 0x1F5B), (0x1F5D, 0x1F5D), (0x1F5F, 0x1F7D), (0x1F80, 0x1FB4), (0x1FB6, 0x1FBC),
    (0x1FBE, 0x1FBE), (0x1FC2, 0x1FC4), (0x1FC6, 0x1FCC), (0x1FD0, 0x1FD3), (0x1FD6, 0x1FDB),
    (0x1FE0, 0x1FEC), (0x1FF2, 0x1FF4), (0x1FF6, 0x1FFC), (0x2102, 0x2102), (0x2107, 0x2107),
    (0x210A, 0x2113), (0x2115, 0x2115), (0x2119, 0x211D), (0x2124, 0x2124), (0x2126, 0x2126),
    (0x2128, 0x2128), (0x212A, 0x212D), (0x212F, 0x2134), (0x2139, 0x2139), (0x213C, 0x213F),
    (0x2145, 0x2149), (0x214E, 0x214E), (0x2183, 0x2183), (0x2184, 0x2184), (0x2C00, 0x2C7B),
    (0x2C7E, 0x2CE4), (0x2CEB, 0x2CEE), (0x2CF2, 0x2CF2), (0x2CF3, 0x2CF3), (0xA640, 0xA66D),
    (0xA680, 0xA69B), (0xA722, 0xA76F), (0xA771, 0xA787), (0xA78B, 0xA78E), (0xAB70, 0xABBF),
    (0xFB00, 0xFB06), (0xFB13, 0xFB17), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A), (0x10400, 0x1044F),
    (0x104B0, 0x104D3), (0x104D8, 0x104FB), (0x10C80, 0x10CB2), (0x10CC0, 0x10CF2),
    (0x118A0, 0x118DF), (0x1E900, 0x1E943)])
DEEPSEEK_PUNCT = char_class([(0x21, 0x2F), (0x3A, 0x7E), (0xFF01, 0xFF0F), (0xFF1A, 0xFF5E),
                             (0x2018, 0x201F), (0x3000, 0x3002)])
DEEPSEEK_CJK = char_class([(0x4E00, 0x9FA5), (0x0800, 0x4E00), (0xAC00, 0xD7FF)])


def split(regex: str) -> dict:
    return {"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated", "invert": False}


def byte_level(use_regex: bool, trim_offsets: bool = True) -> dict:
    return {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": trim_offsets,
            "use_regex": use_regex}


def added(content: str, special: bool = True, normalized: bool | None = None) -> dict:
    return {"content": content, "special": special,
            "normalized": (not special) if normalized is None else normalized}


QWEN2_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
               r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

BOS_DS, EOS_DS = "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"

# The chat models' templates (deepseek-moe-16b-chat, Qwen1.5-MoE-A2.7B-Chat,
# OLMoE-1B-7B-0924-Instruct), with Jinja's backslash escapes as in their files.
DEEPSEEK_CHAT = (
    r"{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}"
    r"{% endif %}{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}"
    r"{{ 'User: ' + message['content'] + '\n\n' }}{% elif message['role'] == 'assistant' %}"
    r"{{ 'Assistant: ' + message['content'] + eos_token }}{% elif message['role'] == 'system' %}"
    r"{{ message['content'] + '\n\n' }}{% endif %}{% endfor %}{% if add_generation_prompt %}"
    r"{{ 'Assistant:' }}{% endif %}")
QWEN_CHAT = (
    r"{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    r"{{ '<|im_start|>system\nYou are a helpful assistant<|im_end|>\n' }}{% endif %}"
    r"{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    r"{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
OLMOE_CHAT = (
    r"{{ bos_token }}{% for message in messages %}{% if message['role'] == 'system' %}"
    r"{{ '<|system|>\n' + message['content'] + '\n' }}{% elif message['role'] == 'user' %}"
    r"{{ '<|user|>\n' + message['content'] + '\n' }}{% elif message['role'] == 'assistant' %}"
    r"{% if not loop.last %}{{ '<|assistant|>\n'  + message['content'] + eos_token + '\n' }}"
    r"{% else %}{{ '<|assistant|>\n'  + message['content'] + eos_token }}{% endif %}{% endif %}"
    r"{% if loop.last and add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}{% endfor %}")
# Not a family's: multi-line Jinja that needs trim_blocks, lstrip_blocks and '-'.
LAYOUT_CHAT = """{#- a comment -#}
{%- set sep = '\\n' %}
{% for message in messages %}
  {% if message.role == 'system' -%}
    [SYS] {{ message.content | trim }}{{ sep }}
  {%- elif message['role'] in ['user', 'assistant'] %}
    <{{ message.role | upper }} n={{ loop.index }}/{{ loop.length }}> {{ message['content'] }}
  {% else %}{{ raise_exception('unknown role ' ~ message.role) }}{% endif %}
{% endfor %}
{%+ if add_generation_prompt and not (messages | length) % 2 == 0 %}  <ASSISTANT>{% endif -%}
   trailing
"""

FAMILIES = {
    # deepseek-ai/deepseek-moe-16b-base (the deepseek-llm tokenizer).
    "deepseek-moe-16b": {
        "normalizer": {"type": "Sequence", "normalizers": []},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            split("[\r\n]"),
            split("\\s?[" + DEEPSEEK_LETTERS + "]+"),
            split("\\s?[" + DEEPSEEK_PUNCT + "]+"),
            split("\\s+$"),
            split("[" + DEEPSEEK_CJK + "]+"),
            {"type": "Digits", "individual_digits": True},
            byte_level(False),
        ]},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                    "use_regex": True},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": BOS_DS, "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": BOS_DS, "type_id": 0}},
                     {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": BOS_DS, "type_id": 1}},
                     {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {BOS_DS: {"id": BOS_DS, "ids": None, "tokens": [BOS_DS]}}},
        "added": [added(BOS_DS, normalized=True), added(EOS_DS, normalized=True)],
        "config": {"add_bos_token": True, "add_eos_token": False,
                   "bos_token": {"__type": "AddedToken", "content": BOS_DS, "lstrip": False,
                                 "normalized": True, "rstrip": False, "single_word": False},
                   "eos_token": {"__type": "AddedToken", "content": EOS_DS, "lstrip": False,
                                 "normalized": True, "rstrip": False, "single_word": False},
                   "clean_up_tokenization_spaces": False, "legacy": True,
                   "model_max_length": 4096, "pad_token": None,
                   "tokenizer_class": "LlamaTokenizerFast", "unk_token": None,
                   "chat_template": DEEPSEEK_CHAT},
    },
    # Qwen/Qwen1.5-MoE-A2.7B (the Qwen2 tokenizer).
    "qwen1.5-moe": {
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [split(QWEN2_REGEX),
                                                              byte_level(False)]},
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False,
                    "use_regex": False},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False,
                           "use_regex": False},
        "added": [added("<|endoftext|>"), added("<|im_start|>"), added("<|im_end|>")],
        "config": {"add_prefix_space": False, "bos_token": None, "eos_token": "<|endoftext|>",
                   "pad_token": "<|endoftext|>", "errors": "replace", "model_max_length": 32768,
                   "split_special_tokens": False, "tokenizer_class": "Qwen2Tokenizer",
                   "unk_token": None, "chat_template": QWEN_CHAT},
    },
    # allenai/OLMoE-1B-7B-0924 (GPT-NeoX-20B style tokenizer).
    "olmoe": {
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": byte_level(True),
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                    "use_regex": True},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
                           "use_regex": True},
        "added": [added("|||IP_ADDRESS|||", special=False, normalized=True),
                  added("<|padding|>"),
                  *[added(" " * n, special=False, normalized=True) for n in range(2, 25)],
                  added("|||EMAIL_ADDRESS|||", special=False, normalized=True),
                  added("|||PHONE_NUMBER|||", special=False, normalized=True),
                  added("<|endoftext|>")],
        "config": {"add_bos_token": False, "add_eos_token": False, "bos_token": None,
                   "eos_token": "<|endoftext|>", "pad_token": "<|padding|>",
                   "clean_up_tokenization_spaces": True, "model_max_length": 4096,
                   "tokenizer_class": "GPTNeoXTokenizer", "unk_token": None,
                   "chat_template": OLMOE_CHAT},
    },
}


def train(family: dict) -> Tokenizer:
    skeleton = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": [],
                "normalizer": family["normalizer"], "pre_tokenizer": family["pre_tokenizer"],
                "post_processor": None, "decoder": family["decoder"],
                "model": {"type": "BPE", "dropout": None, "unk_token": None,
                          "continuing_subword_prefix": None, "end_of_word_suffix": None,
                          "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                          "vocab": {}, "merges": []}}
    tok = Tokenizer.from_str(json.dumps(skeleton))
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train([str(p) for p in CORPUS], trainer)
    for a in family["added"]:
        token = AddedToken(a["content"], special=a["special"], normalized=a["normalized"],
                           single_word=False, lstrip=False, rstrip=False)
        if a["special"]:
            tok.add_special_tokens([token])
        else:
            tok.add_tokens([token])
    data = json.loads(tok.to_str())
    post = family["post_processor"]
    if post and post["type"] == "TemplateProcessing":
        for name, spec in post["special_tokens"].items():
            spec["ids"] = [tok.token_to_id(name)]
    data["post_processor"] = post
    return Tokenizer.from_str(json.dumps(data, ensure_ascii=False))


CASES = [
    "", " ", "  ", "\n", "\t", "\r\n", "a", "Hello world", "Hello, world!", " Hello",
    "Hello world ", "trailing spaces   ", "   leading spaces", "a  b   c    d",
    "tabs\tand\ttabs", "\t\tindented\n\t\t\tmore", "CRLF line\r\nnext line\r\n",
    "lone CR\rhere", "blank lines\n\n\n\nend", "spaces then newline   \n  x",
    "x" + " " * 40 + "y", " " * 100, "\n" * 30, " \t \n \r\n \u00a0 \u3000 x",
    "The quick brown fox jumps over the lazy dog.",
    "Don't stop, DON'T ever STOP! 'Tis it'LL be, they're, we've, I'm, she'd",
    "numbers 12345 and 3.14 and -0.5e-10",
    "1234567890123456789012345678901234567890", "1,000,000.00 $ 99.99%", "2026-11-23T12:56:21Z",
    "phone +1 (555) 123-4567 ext. 89", "v1.2.3-rc4", "０１２３ full-width digits ４５",
    "Arabic-Indic ٣٤٥ and Devanagari १२३ numerals", "superscripts x² y³ ½ ⅕ Ⅻ",
    "def top_k(scores, k):\n    return sorted(scores, reverse=True)[:k]\n",
    "int main(int argc, char** argv) { return argc > 1 ? 0 : -1; }",
    "for (auto& e : experts) if (e.score >= 0.5f) keep.push_back(e);",
    "<div class=\"x\">a &amp; b</div>", "SELECT * FROM t WHERE a <> 'b';",
    "x__y--z e-mail co-op well_known", "!!!???...---===>>> ~~~", "#hashtag *bold* `code` ~strike~",
    "path/to/file.txt and C:\\Windows\\System32", "https://example.com/a?b=1&c=2#frag",
    "mail me at test.user+tag@example.com", "{\"key\": [1, 2, 3], \"nested\": {\"a\": null}}",
    "漢字と日本語、한국어", "你好，世界！这是一个测试。", "混合 mixed 文本 text 123 数字",
    "今天天气很好，我们去公园散步吧。", "カタカナとひらがな", "한국어 문장입니다.",
    "Grüße aus München, die Straße ist schön.", "Crème brûlée, Dvořák, Łódź, Ærøskøbing",
    "naïve café résumé façade", "ﬁne ﬂour Ｆｕｌｌｗｉｄｔｈ", "Ω ohm Ω kelvin K Å angstrom",
    "Ἀθῆναι ᾠδή ῥήτωρ ὢ ώ", "Привет, мир! Как дела?", "Γειά σου Κόσμε", "שלום עולם",
    "مرحبا بالعالم", "नमस्ते दुनिया", "สวัสดีชาวโลก", "Tiếng Việt có dấu",
    "e\u0301 vs \u00e9 (combining acute vs precomposed)", "a\u0308\u0304 stacked marks",
    "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319\u0324\u031e\u0349 zalgo",
    "A\u030a vs \u212b vs \u00c5", "\u1100\u1161\u11a8 conjoining jamo", "\u0915\u094d\u0937",
    "emoji 😀 test", "🙂👍🏽 ok 🚀", "family 👨‍👩‍👧‍👦 zwj", "flags 🇩🇪🇯🇵🇺🇸", "👩🏽‍💻 coder",
    "❤️ heart with VS16", "keycap 1️⃣ #️⃣", "😀" * 20, "text🙂text🙂text",
    "zero\u200bwidth\u200cjoiners\u200d", "\ufeffBOM at start", "soft\u00adhyphen",
    "replacement \ufffd char", "control \x01\x02\x1f\x7f chars", "nul \x00 byte", "bell\x07",
    "private use \ue000\uf8ff", "noncharacter \ufdd0 \uffff", "astral 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟘𝟙𝟚",
    "line\u2028separator\u2029paragraph", "nbsp\u00a0here", "ideographic\u3000space",
    "A" * 300, "ab" * 200, "word " * 80, "a\tb\tc\t" * 20, "-" * 120, "=" * 64 + ">",
    "UPPER lower MiXeD CamelCase snake_case kebab-case SCREAMING_CASE",
    "I'm sure it's fine—isn't it? “Quotes” and ‘single’ and «guillemets»",
    "…ellipsis… and – en dash — em dash", "１２３ＡＢＣ！？", "【括号】《书名》「引号」",
    "mathematics: ∀x ∈ ℝ, ∃y: x² + y² ≤ 1 ⇒ |x| ≤ 1", "arrows → ← ↑ ↓ ⇄", "© ® ™ § ¶ † ‡ • °",
    "currency € £ ¥ ₹ ₿ ¢", "µs and μs", "ǅ ǈ ǋ titlecase digraphs", "ʼapostrophe ʻokina",
]

SPECIAL_CASES = {
    "deepseek-moe-16b": [BOS_DS, EOS_DS, f"{BOS_DS}Hello", f"a{EOS_DS}b", f"x {BOS_DS} y",
                         f"{EOS_DS}{EOS_DS}{BOS_DS}", "<｜begin▁of▁sentence", "｜>", "▁of▁",
                         f"User: hi\n\nAssistant: hello{EOS_DS}User: more"],
    "qwen1.5-moe": ["<|endoftext|>", "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
                    "a<|im_end|>b", "<|im_start", "<|im_end|><|im_end|>", "x <|endoftext|> y",
                    "<|im_start|>system\nYou are helpful.<|im_end|>\n"],
    "olmoe": ["<|endoftext|>", "<|padding|>", "|||IP_ADDRESS|||", "ip |||IP_ADDRESS||| now",
              "mail |||EMAIL_ADDRESS||| or |||PHONE_NUMBER|||", "||| |||", "<|endoftext",
              "a<|endoftext|>b<|padding|>c", "    four spaces", "x" + " " * 30 + "y",
              "def f():\n        return 1\n"],
}


# Characters random strings are drawn from: every class the pre-tokenizers tell apart.
RANDOM_POOL = list("aZé ß'sltvmdr0123456789٣²½.,;:!?-_/\\()[]{}\"'`~@#$%^&*+=<>|") + [
    " ", " ", "  ", "\t", "\n", "\r\n", "\r", "\u00a0", "\u3000", "\u2028", "漢", "字", "한", "ア", "ぁ",
    "😀", "👍🏽", "👨‍👩‍👧", "\u0301", "\u0308", "Ω", "K", "ﬁ", "Ａ", "ｚ", "！", "，", "。", "“", "”",
    "\u200d", "\ufeff", "\x00", "\x7f", "𝔘", "Ἀ", "ῼ", "ώ", "ι", "ǅ", "µ", "ʼ", "ﹰ", "\ufffd"]


def random_strings(specials: list[str], count: int = 120) -> list[str]:
    """Deterministic random mixes of RANDOM_POOL and the family's special tokens."""
    import random
    rng = random.Random(20261123)
    pool = RANDOM_POOL + specials
    return ["".join(rng.choice(pool) for _ in range(rng.randint(1, 40))) for _ in range(count)]


def corpus_lines() -> list[str]:
    """Every 25th line of the held-out corpus, at most 300 characters each."""
    out = []
    for p in CORPUS:
        lines = [l for l in p.read_text(encoding="utf-8").split("\n") if l.strip()]
        out += [l[:300] for l in lines[::25]]
    return out


def hf_ids(directory: Path, tok: Tokenizer, text: str, family: str) -> list[int]:
    raw = tok.encode(text).ids  # with the post_processor
    try:
        from transformers import AutoTokenizer
    except ImportError:
        return raw
    auto = hf_ids.cache.get(family) or AutoTokenizer.from_pretrained(str(directory))
    hf_ids.cache[family] = auto
    ids = auto(text)["input_ids"]
    if ids != raw:
        raise SystemExit(f"{family}: AutoTokenizer and tokenizers disagree on {text!r}: "
                         f"{ids} vs {raw}")
    return ids


hf_ids.cache = {}


# Pre-tokenizer and normalizer settings the families do not use but the engine
# supports, each applied to the qwen1.5-moe vocabulary: written to
# qwen1.5-moe/variants.json with tokenizers' ids (no BOS: Qwen adds none).
def split_variant(regex: str, behavior: str, invert: bool = False) -> dict:
    return {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": regex}, "behavior": behavior, "invert": invert},
        byte_level(False)]}


VARIANTS = {
    **{f"split {b}": split_variant(r"\s+|\p{P}", b)
       for b in ["Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"]},
    **{f"split {b} inverted": split_variant(r"\p{L}+", b, True)
       for b in ["Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"]},
    "split string pattern": {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"String": ". "}, "behavior": "MergedWithPrevious",
         "invert": False}, byte_level(False)]},
    "digits contiguous": {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": False}, byte_level(True)]},
    "digits individual, prefix space": {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": True},
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
         "use_regex": False}]},
    "byte level with regex and prefix space": {"type": "ByteLevel", "add_prefix_space": True,
                                               "trim_offsets": True, "use_regex": True},
    "no pre-tokenizer": None,
}
NORMALIZER_VARIANTS = {"NFKC": {"type": "NFKC"}, "NFD": {"type": "NFD"},
                       "NFKD then NFC": {"type": "Sequence", "normalizers": [{"type": "NFKD"},
                                                                            {"type": "NFC"}]}}
VARIANT_TEXTS = [
    "Hello, world! How are you?", "a12b  c 345,678.9", "  leading. trailing.  ", "x. y. z.",
    "tabs\tand\nnewlines\r\n", "ﬁne Ｆｕｌｌ ½ Å e\u0301", "漢字 123 😀 mixed", "", " ", "...",
    "don't STOP 'til", "a" * 50 + " " * 20 + "b", "<|im_end|>x. 1 2", "١٢٣ ² x²",
    "a  <|im_end|>  b", "x\t\n<|im_start|> \n y", "<|endoftext|>\u3000\u00a0z  <|im_end|>",
    "  <|im_end|><|im_end|>  <|endoftext|> ",
]


def write_variants(d: Path) -> int:
    base = json.loads((d / "tokenizer.json").read_text(encoding="utf-8"))
    out = []
    # lstrip / rstrip added tokens (no family here uses them), one normalized.
    stripped = [dict(t) for t in base["added_tokens"]]
    for t in stripped:
        if t["content"] == "<|im_end|>":
            t.update(lstrip=True, rstrip=True)
        if t["content"] == "<|im_start|>":
            t.update(lstrip=True, special=False, normalized=True)
        if t["content"] == "<|endoftext|>":
            t.update(rstrip=True)
    items = [(n, "pre_tokenizer", v) for n, v in VARIANTS.items()] + [
        (n, "normalizer", v) for n, v in NORMALIZER_VARIANTS.items()] + [
        ("added tokens with lstrip and rstrip", "added_tokens", stripped)]
    for name, field, spec in items:
        data = dict(base)
        data[field] = spec
        tok = Tokenizer.from_str(json.dumps(data))
        out.append({"name": name, "field": field, "spec": spec,
                    "cases": [{"text": t, "ids": tok.encode(t).ids} for t in VARIANT_TEXTS]})
    with open(d / "variants.json", "w", encoding="utf-8") as f:
        f.write("[\n" + ",\n".join(json.dumps(v, ensure_ascii=False) for v in out) + "\n]\n")
    return len(out) * len(VARIANT_TEXTS)


CONVERSATIONS = [
    ([{"role": "user", "content": "Hello"}], True),
    ([{"role": "user", "content": "Hello"}], False),
    ([{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hi"},
      {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "What is MoE?"}],
     True),
    ([{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}], False),
    ([{"role": "user", "content": "  Ünïcödé 漢字 😀\nline two 'single' \"double\" "
                                  "{{ not a tag }} {% neither %}\\n  "}], True),
    ([{"role": "system", "content": "   padded system   "},
      {"role": "assistant", "content": "I speak first."}], True),
]


def write_chat_cases(d: Path, auto) -> int:
    """FAMILY/chat_cases.json: transformers' apply_chat_template renderings."""
    cases = []
    for template in [None, LAYOUT_CHAT]:
        for messages, generation in CONVERSATIONS:
            text = auto.apply_chat_template(messages, chat_template=template, tokenize=False,
                                            add_generation_prompt=generation)
            cases.append({"template": template, "messages": messages,
                          "add_generation_prompt": generation, "text": text})
    with open(d / "chat_cases.json", "w", encoding="utf-8") as f:
        f.write("[\n" + ",\n".join(json.dumps(c, ensure_ascii=False) for c in cases) + "\n]\n")
    return len(cases)


def main() -> None:
    out_root = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "tests/fixtures/tokenizers"
    texts_common = CASES + corpus_lines()
    for name, family in FAMILIES.items():
        d = out_root / name
        d.mkdir(parents=True, exist_ok=True)
        tok = train(family)
        (d / "tokenizer.json").write_text(tok.to_str(pretty=True) + "\n", encoding="utf-8")
        (d / "tokenizer_config.json").write_text(
            json.dumps(family["config"], indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        tok = Tokenizer.from_file(str(d / "tokenizer.json"))
        specials = [a["content"] for a in family["added"] if not a["content"].isspace()]
        texts = texts_common + SPECIAL_CASES[name] + random_strings(specials)
        cases = [{"text": t, "ids": hf_ids(d, tok, t, name)} for t in texts]
        with open(d / "cases.json", "w", encoding="utf-8") as f:
            f.write("[\n" + ",\n".join(json.dumps(c, ensure_ascii=False) for c in cases) + "\n]\n")
        print(f"{name}: vocab {tok.get_vocab_size()}, {len(cases)} cases")
        if hf_ids.cache.get(name):
            print(f"{name}: {write_chat_cases(d, hf_ids.cache[name])} chat template renderings")
        if name == "qwen1.5-moe":
            print(f"{name}: {write_variants(d)} cases of other pipeline settings")


if __name__ == "__main__":
    main()
