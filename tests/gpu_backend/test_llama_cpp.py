"""The llama.cpp engine behind the same gateway: the fixture MoE as GGUF, served by Debian's llama-server.

The gateway, its metrics and the diagnosis API are the ones the vLLM tests exercise; here the engine's
own tool-call parsing (llama.cpp derives it from the chat template, `--jinja`) is what is checked.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gpu_backend.fixture_moe import SMOKE_ESCALATION
from gpu_backend.llama_cpp import server_command
from gpu_backend.profiles import load_profiles
from gpu_backend.protocol import DiagnoseResponse

from .conftest import API_KEY, RunningGateway, free_port, running_gateway
from .test_engine import _chat_body, _exchange

pytestmark = pytest.mark.real_backend
PROFILES = load_profiles()
LLM_BUDGET = ("--llm-budget", "120")


@pytest.fixture(scope="module")
def llama_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    # a diagnosis may take the LLM as long as it needs here: these tests check what llama.cpp answers, not how
    # fast (the 5 s default ran out once in a clean CI run on a loaded 2-core machine; speed is a benchmark's)
    gateway = running_gateway(tmp_path_factory.mktemp("llama"), free_port(), "cpu-fixture-llama", extra=LLM_BUDGET)
    with gateway as running:
        yield running


def test_health_names_the_profile(llama_gateway: RunningGateway) -> None:
    with llama_gateway.client() as client:
        assert client.get("/health").json()["profile"] == "cpu-fixture-llama"
        assert client.get("/v1/models").json()["data"][0]["id"] == "cpu-fixture-llama"


def test_engine_has_a_key_of_its_own(llama_gateway: RunningGateway) -> None:
    """llama-server gets the per-start engine key too (LLAMA_API_KEY): its completions refuse anyone but the
    gateway, also with the gateway's own key."""
    host, port = llama_gateway.url.rsplit(":", 1)
    chat = {"model": "cpu-fixture-llama", "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 2}
    for headers in ({}, {"Authorization": f"Bearer {API_KEY}"}):
        response = httpx.post(f"{host}:{int(port) + 1}/v1/chat/completions", json=chat, headers=headers)
        assert response.status_code == 401
    with llama_gateway.client() as client:
        assert client.post("/v1/chat/completions", json=chat).status_code == 200


def test_plain_chat(llama_gateway: RunningGateway) -> None:
    with llama_gateway.client() as client:
        reply = client.post("/v1/chat/completions", json=_chat_body(_exchange("chat"))).json()
    assert reply["choices"][0]["message"]["content"] == "Hello from BinMoE."


def test_tool_call_auto(llama_gateway: RunningGateway) -> None:
    with llama_gateway.client() as client:
        reply = client.post("/v1/chat/completions", json=_chat_body(_exchange("tool_auto"))).json()
    calls = reply["choices"][0]["message"]["tool_calls"]
    assert [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in calls] == [
        ("HassTurnOn", {"name": "kitchen light"})
    ]
    assert reply["choices"][0]["finish_reason"] == "tool_calls"


def test_diagnose_is_schema_constrained(llama_gateway: RunningGateway) -> None:
    """The diagnosis schema reaches llama.cpp's grammar: unconstrained, the fixture writes broken JSON here.

    The fixture's answer itself differs from vLLM's (test_engine.py): its template drops system messages,
    and llama.cpp then merges the system prompt into the user turn, a prompt the fixture never saw.
    """
    with llama_gateway.client() as client:
        response = client.post("/v1/binmoe/diagnose", json={"v": 1, "escalation": SMOKE_ESCALATION})
        metrics = client.get("/metrics").text
    assert response.status_code == 200, response.text
    diagnosis = DiagnoseResponse.model_validate(response.json())
    # llm_status says why, when the knowledge base had to answer alone (e.g. "timeout" on a loaded machine)
    assert diagnosis.model == "cpu-fixture-llama", diagnosis.llm_status
    assert diagnosis.severity in {"info", "warning", "critical"}
    assert 'binmoe_requests_total{route="/v1/binmoe/diagnose",status="200"}' in metrics


def test_offload_command_lines(tmp_path: Path) -> None:
    """Experts of N layers on the CPU: llama.cpp's --n-cpu-moe, every other layer on the GPU."""
    cmd = server_command(PROFILES["gpu-8gb"], "ggml-org/gpt-oss-20b-GGUF", "127.0.0.1", 8001)
    assert cmd[cmd.index("--n-cpu-moe") + 1] == "20"
    assert cmd[cmd.index("-hf") + 1] == "ggml-org/gpt-oss-20b-GGUF"
    assert "--jinja" in cmd and cmd[cmd.index("--alias") + 1] == "gpt-oss-20b"
    gguf = tmp_path / "x.gguf"
    gguf.write_bytes(b"GGUF")
    cpu = server_command(PROFILES["cpu-moe"], str(gguf), "127.0.0.1", 8001)
    assert "--n-gpu-layers" not in cpu and "--n-cpu-moe" not in cpu
    assert Path(cpu[cpu.index("-m") + 1]).name.endswith("x.gguf")  # inside the sid root when run chrooted
