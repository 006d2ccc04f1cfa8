"""Build a tiny Qwen3-MoE checkpoint that real vLLM serves, for tests (no model hub needed).

Random weights are useless for protocol tests, so the model is trained for a few seconds to reproduce
canned exchanges exactly (at temperature 0): plain chat, hermes tool calls, vLLM's forced-tool-call JSON
and diagnosis JSON. Tests send the same requests and check what the real engine returns.

The chat template deliberately renders only the tool *names* and skips system messages: clients (Home
Assistant especially) put run-time details such as the current time there, and the fixture must map the
same user turn to the same prompt every time. Real profiles use the model's own template.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .diagnosis import LLMPhrasing, build_messages
from .knowledge import KnowledgeBase, decide, load_knowledge_base
from .protocol import DiagnoseRequest

CHAT_TEMPLATE = (
    "{%- if tools -%}<|im_start|>tools\n"
    "{%- for tool in tools %} {{ tool.function.name if tool.function is defined else tool.name }}{% endfor %}"
    "<|im_end|>\n{% endif -%}"
    "{%- for message in messages if message.role != 'system' -%}"
    "<|im_start|>{{ message.role }}\n"
    "{%- if message.content is string %}{{ message.content }}"
    "{%- elif message.content %}{% for part in message.content %}{{ part.text }}{% endfor %}{% endif -%}"
    "{%- if message.tool_calls %}{% for call in message.tool_calls %}<tool_call>"
    "{{ call.function.name if call.function is defined else call.name }}</tool_call>{% endfor %}{% endif -%}"
    "<|im_end|>\n{% endfor -%}"
    "{%- if add_generation_prompt %}<|im_start|>assistant\n{% endif -%}"
)
# llama.cpp derives its tool-call parser from how the template renders an assistant's tool calls, so its copy
# renders them in hermes JSON; prompts without tool-call history (what the tests send) are unchanged.
LLAMA_CPP_CHAT_TEMPLATE = CHAT_TEMPLATE.replace(
    "{%- if message.tool_calls %}{% for call in message.tool_calls %}<tool_call>"
    "{{ call.function.name if call.function is defined else call.name }}</tool_call>{% endfor %}{% endif -%}",
    '{%- if message.tool_calls %}{% for call in message.tool_calls %}<tool_call>\n{"name": "{{ call.function.name }}",'
    ' "arguments": {{ call.function.arguments | tojson }}}\n</tool_call>{% endfor %}{% endif -%}',
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
TOOL_TOKENS = ["<tool_call>", "</tool_call>"]
FIXTURE_NAME = "binmoe-fixture-moe"


@dataclass(frozen=True)
class CannedExchange:
    """A prompt (messages + tools) and the exact assistant text the model must produce for it."""

    messages: list[dict[str, Any]]
    completion: str
    tools: list[dict[str, Any]] | None = None
    tool_choice: Any = "auto"
    tags: tuple[str, ...] = field(default_factory=tuple)


def tool(name: str, description: str, properties: dict[str, Any], required: Sequence[str] = ()) -> dict[str, Any]:
    """An OpenAI function tool definition."""
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": properties, "required": list(required)},
        },
    }


HOME_TOOLS = [
    tool("HassTurnOn", "Turns on a device or entity", {"name": {"type": "string"}}, ["name"]),
    tool("HassTurnOff", "Turns off a device or entity", {"name": {"type": "string"}}, ["name"]),
]


def hermes_call(name: str, arguments: dict[str, Any]) -> str:
    """Assistant text in the hermes tool-call format (vLLM's `hermes` parser)."""
    return f"<tool_call>\n{json.dumps({'name': name, 'arguments': arguments})}\n</tool_call>"


def compact_json(value: Any) -> str:
    """JSON as vLLM's grammar emits it with disable_any_whitespace."""
    return json.dumps(value, separators=(",", ":"))


def _user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def _diagnosis_exchange(kb: KnowledgeBase, request: dict[str, Any], answer: LLMPhrasing, tag: str) -> CannedExchange:
    """The phrasing prompt the gateway sends for this request (no teacher), and the answer to learn."""
    parsed = DiagnoseRequest.model_validate(request)
    messages = build_messages(decide(kb, parsed), parsed.question)
    return CannedExchange(messages=messages, completion=compact_json(answer.model_dump()), tags=(tag,))


# Example escalations shared with the Home Assistant tests (which send them through the integration).
EXAMPLES_DIR = Path(__file__).with_name("data") / "examples"
SMOKE_ESCALATION: dict[str, Any] = json.loads((EXAMPLES_DIR / "escalation_smoke.json").read_text())
BEARING_ESCALATION: dict[str, Any] = json.loads((EXAMPLES_DIR / "escalation_bearing.json").read_text())


def diagnosis_exchanges(kb: KnowledgeBase) -> list[CannedExchange]:
    """Phrasings of knowledge-base diagnoses: three the gateway accepts, two it must reject."""
    return [
        _diagnosis_exchange(
            kb,
            {"v": 1, "escalation": SMOKE_ESCALATION, "context": {"area": "Hallway"}},
            LLMPhrasing(
                cause_id="smoke",
                summary="The hallway smoke alarm is sounding: check for smoke or fire and leave if you see any.",
                reasoning="A smoke alarm sounds when its sensor detects smoke.",
            ),
            "diagnosis_smoke",
        ),
        _diagnosis_exchange(
            kb,
            {"v": 1, "escalation": BEARING_ESCALATION, "context": {"area": "Workshop"}},
            LLMPhrasing(
                cause_id="early_defect",
                summary="The workshop lathe shows an outer-race bearing fault: plan a bearing replacement.",
                reasoning="Impacts at the outer-race frequency mean a damaged raceway.",
            ),
            "diagnosis_bearing",
        ),
        _diagnosis_exchange(
            kb,
            {"v": 1, "question": "Why is the fridge beeping?"},
            LLMPhrasing(
                cause_id="fridge_door",
                summary="The fridge is probably beeping because its door is open.",
                reasoning="Fridges beep when a door stays open.",
            ),
            "diagnosis_question",
        ),
        _diagnosis_exchange(  # a lower severity than the knowledge base's (warning): must be rejected
            kb,
            {"v": 1, "question": "Why is the freezer beeping?"},
            LLMPhrasing(
                cause_id="signal",
                summary="The freezer is beeping because a cycle has finished.",
                reasoning="Appliances beep at the end of a cycle.",
            ),
            "diagnosis_downgrade",
        ),
        _diagnosis_exchange(  # a summary without the area: must be rejected
            kb,
            {"v": 1, "escalation": SMOKE_ESCALATION, "context": {"area": "Kitchen"}},
            LLMPhrasing(
                cause_id="smoke",
                summary="The smoke alarm is sounding.",
                reasoning="A smoke alarm sounds when its sensor detects smoke.",
            ),
            "diagnosis_no_area",
        ),
    ]


def canned_exchanges() -> list[CannedExchange]:
    """The base set every fixture learns (tests import these to send the same requests)."""
    return [
        CannedExchange(_user("Hello"), "Hello from BinMoE.", tags=("chat",)),
        CannedExchange(
            _user("Turn on the kitchen light"),
            hermes_call("HassTurnOn", {"name": "kitchen light"}),
            tools=HOME_TOOLS,
            tags=("tool_auto",),
        ),
        CannedExchange(
            _user("Switch off the garage fan"),
            compact_json([{"name": "HassTurnOff", "parameters": {"name": "garage fan"}}]),
            tools=HOME_TOOLS,
            tool_choice="required",
            tags=("tool_required",),
        ),
        CannedExchange(
            _user("Power up the porch lamp"),
            # what vLLM's grammar for a named tool forces with the hermes parser (its structural tag): the
            # hermes call itself, so the model's own answer stays inside the grammar
            hermes_call("HassTurnOn", {"name": "porch lamp"}),
            tools=HOME_TOOLS,
            tool_choice={"type": "function", "function": {"name": "HassTurnOn"}},
            tags=("tool_named",),
        ),
        CannedExchange(
            [
                *_user("Turn on the kitchen light"),
                {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "HassTurnOn", "arguments": '{"name": "kitchen light"}'},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": '{"success": true}'},
            ],
            "The kitchen light is on.",
            tools=HOME_TOOLS,
            tags=("tool_result",),
        ),
        *diagnosis_exchanges(load_knowledge_base()),
    ]


def _fixture_key(exchanges: Sequence[CannedExchange], steps: int, seed: int) -> str:
    blob = json.dumps(
        [[e.messages, e.completion, e.tools] for e in exchanges] + [CHAT_TEMPLATE, steps, seed, 2],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def default_cache_dir() -> Path:
    return Path(os.environ.get("BINMOE_CACHE", Path.home() / ".cache" / "binmoe")) / "fixtures"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`python -m gpu_backend fixture` has no options."""


def run(args: argparse.Namespace) -> int:
    """`python -m gpu_backend fixture`: build (or find) the checkpoint and print its path."""
    print(build_fixture())
    return 0


def build_fixture(
    cache_dir: Path | None = None,
    extra: Sequence[CannedExchange] = (),
    steps: int = 600,
    seed: int = 0,
) -> Path:
    """Return the directory of a checkpoint that reproduces the canned exchanges (built once, cached).

    `extra` adds exchanges (e.g. the voice agent's Assist conversations); the cache key covers them.
    """
    exchanges = [*canned_exchanges(), *extra]
    root = cache_dir or default_cache_dir()
    target = root / f"{FIXTURE_NAME}-{_fixture_key(exchanges, steps, seed)}"
    if (target / "config.json").exists():
        return target
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=".building-"))
    try:
        _train_and_save(exchanges, tmp, steps, seed)
        try:
            tmp.rename(target)
        except OSError:  # another process built it first
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _make_tokenizer(texts: Sequence[str]) -> Any:
    from tokenizers import AddedToken, ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(texts, vocab_size=1024, min_frequency=1, special_tokens=SPECIAL_TOKENS)
    bpe.add_tokens([AddedToken(t, special=False, normalized=False) for t in TOOL_TOKENS])
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>", unk_token=None
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def _train_and_save(exchanges: Sequence[CannedExchange], out: Path, steps: int, seed: int) -> None:
    import torch
    from tqdm import trange
    from transformers import GenerationConfig, Qwen3MoeConfig, Qwen3MoeForCausalLM

    torch.manual_seed(seed)
    rendered: list[tuple[str, str]] = []
    # A throw-away tokenizer renders the prompts; the real one is trained on the rendered text.
    probe = _make_tokenizer([e.completion for e in exchanges] + [CHAT_TEMPLATE])
    for ex in exchanges:
        prompt = probe.apply_chat_template(ex.messages, tools=ex.tools, tokenize=False, add_generation_prompt=True)
        rendered.append((prompt, ex.completion + "<|im_end|>"))
    tokenizer = _make_tokenizer([p + c for p, c in rendered] * 4)

    config = Qwen3MoeConfig(  # type: ignore[call-arg]  # head_dim is accepted via **kwargs
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        moe_intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=32,
        num_experts=8,
        num_experts_per_tok=2,
        norm_topk_prob=True,
        max_position_embeddings=2048,
        tie_word_embeddings=False,
        eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"),
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
    )
    model = Qwen3MoeForCausalLM(config)
    ids, labels = [], []
    for prompt, completion in rendered:
        p = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        c = tokenizer(completion, add_special_tokens=False)["input_ids"]
        ids.append(p + c)
        labels.append([-100] * len(p) + c)  # learn the answers, not the prompts
    width = max(map(len, ids))
    pad = tokenizer.pad_token_id
    input_ids = torch.tensor([x + [pad] * (width - len(x)) for x in ids])
    label_ids = torch.tensor([x + [-100] * (width - len(x)) for x in labels])
    attention = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in ids])
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in trange(steps, desc="training fixture MoE", unit="step", disable=None):
        loss = model(input_ids=input_ids, attention_mask=attention, labels=label_ids).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    GenerationConfig(eos_token_id=config.eos_token_id, pad_token_id=pad).save_pretrained(out)
    (out / "binmoe_fixture.json").write_text(json.dumps({"final_loss": float(loss.detach()), "steps": steps}))


def build_fixture_gguf() -> Path:
    """The fixture as GGUF (f32) for llama.cpp, converted once next to the checkpoint."""
    from .llama_cpp import export_gguf

    checkpoint = build_fixture()
    return export_gguf(checkpoint, checkpoint / "fixture-f32.gguf", chat_template=LLAMA_CPP_CHAT_TEMPLATE)
