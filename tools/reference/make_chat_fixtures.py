"""Writes tests/fixtures/chat/mixtral-8x7b-instruct/: Mixtral-8x7B-Instruct-v0.1's
chat template ([INST] ... [/INST], BOS once, EOS after each assistant turn,
user/assistant only, strictly alternating) in a tokenizer_config.json, and
chat_cases.json with transformers' apply_chat_template renderings (or the
exception it raises) for a few conversations.

The template text is the one published in Mixtral-8x7B-Instruct-v0.1's (and
Mistral-7B-Instruct-v0.1/v0.2's) tokenizer_config.json, as quoted in public
copies (llama.cpp's test-chat-template, llama-cpp-python's tests); the model
repository itself cannot be reached from here. A tiny word-level tokenizer
stands in for the real one: only its bos/eos strings reach the template.

Run: /work/venv/bin/python tools/reference/make_chat_fixtures.py
"""
import json
from pathlib import Path

from tokenizers import Tokenizer, models
from transformers import PreTrainedTokenizerFast

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "tests/fixtures/chat/mixtral-8x7b-instruct"

MIXTRAL_CHAT = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}"
    "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}"
    "{% endif %}{% endfor %}")

CONVERSATIONS = [
    ([{"role": "user", "content": "Hello"}], True),
    ([{"role": "user", "content": "Hello"}], False),
    ([{"role": "user", "content": "What is a mixture of experts?"},
      {"role": "assistant", "content": "A layer whose tokens each use a few expert MLPs."},
      {"role": "user", "content": "How many in Mixtral?"}], True),
    ([{"role": "user", "content": "  spaces kept  \n"},
      {"role": "assistant", "content": "\nok\n"}], False),
    ([{"role": "user", "content": "Ünïcödé ✓ 中文"},
      {"role": "assistant", "content": "[INST] is not special here </s>"},
      {"role": "user", "content": ""}], True),
    ([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}], True),
    ([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}], True),
    ([{"role": "assistant", "content": "first"}], True),
    ([{"role": "user", "content": "a"}, {"role": "system", "content": "b"}], True),
]


def main() -> None:
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel(vocab, "<unk>")),
                                  bos_token="<s>", eos_token="</s>", unk_token="<unk>")
    OUT.mkdir(parents=True, exist_ok=True)
    config = {"add_bos_token": True, "add_eos_token": False, "bos_token": "<s>",
              "eos_token": "</s>", "unk_token": "<unk>", "tokenizer_class": "LlamaTokenizer",
              "chat_template": MIXTRAL_CHAT}
    with open(OUT / "tokenizer_config.json", "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2, ensure_ascii=False)
        f.write("\n")
    cases = []
    for messages, generation in CONVERSATIONS:
        case = {"messages": messages, "add_generation_prompt": generation}
        try:
            case["text"] = tok.apply_chat_template(messages, chat_template=MIXTRAL_CHAT,
                                                   tokenize=False,
                                                   add_generation_prompt=generation)
        except Exception as e:  # jinja2's TemplateError from raise_exception
            case["error"] = str(e)
        cases.append(case)
    with open(OUT / "chat_cases.json", "w", encoding="utf-8") as f:
        f.write("[\n" + ",\n".join(json.dumps(c, ensure_ascii=False) for c in cases) + "\n]\n")
    print(f"{OUT}: {len(cases)} cases")


if __name__ == "__main__":
    main()
