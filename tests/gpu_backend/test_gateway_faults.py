"""The gateway in front of an engine that fails in every way a real one can (a scripted loopback HTTP server
stands in for vLLM here; test_lifecycle.py kills the real engine mid-request): every failure is a JSON error
with the status a client can act on, a broken stream ends with an error event, a diagnosis is the knowledge
base's answer (the engine's failure logged in the same words), and fuzzed request bodies get 200 or 422, never
a 500."""

from __future__ import annotations

import base64
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpu_backend.gateway import GatewaySettings, create_app

EXAMPLES = Path(__file__).parents[2] / "gpu_backend" / "data" / "examples"
SMOKE = json.loads((EXAMPLES / "escalation_smoke.json").read_text())
PHRASING = {  # what the LLM may write of a diagnosis (gpu_backend/diagnosis.py): valid for the smoke example
    "cause_id": "smoke",
    "summary": "The smoke alarm is sounding: check for smoke or fire now.",
    "reasoning": "The node heard a smoke alarm pattern.",
}


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def _event(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload)}\n\n".encode()


class ScriptedEngine(BaseHTTPRequestHandler):
    """Answers as `server.mode` says: ok, http500, http400, not_json, hang, cut (mid-body), stream_cut (mid
    event, chunked like uvicorn), stream_no_done (a clean end without [DONE])."""

    protocol_version = "HTTP/1.1"
    server: EngineServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self._answer()

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _answer(self) -> None:
        mode = self.server.mode
        if mode == "ok":
            message = {"role": "assistant", "content": json.dumps(PHRASING)}
            completion = {"choices": [{"index": 0, "message": message}], "usage": {"completion_tokens": 9}}
            self._send(200, json.dumps(completion).encode())
        elif mode in ("http500", "http400"):
            self._send(int(mode[4:]), b'{"error": {"message": "engine trouble"}}')
        elif mode == "not_json":
            self._send(200, b"<html>surprise</html>", "text/html")
        elif mode == "hang":
            time.sleep(2)  # the gateway has given up by now (timeout 0.5 s) and closed the connection
            self.close_connection = True
        elif mode == "cut":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b'{"choices": [')
            self.close_connection = True
        elif mode.startswith("stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            first = _event({"choices": [{"index": 0, "delta": {"content": "The hall"}}]})
            if mode == "stream_cut":  # the engine dies in the middle of an event: no terminating chunk
                self.wfile.write(_chunk(first + b'data: {"choices": [{"delta": {"content": "HALF'))
            else:
                self.wfile.write(_chunk(first) + _chunk(b""))
            self.wfile.flush()
            self.close_connection = True


class EngineServer(ThreadingHTTPServer):
    daemon_threads = True
    mode = "ok"


@dataclass
class FakeEngine:
    base_url: str
    is_ready: bool = True
    restarts: int = 0


@pytest.fixture(scope="module")
def engine_server() -> Iterator[EngineServer]:
    server = EngineServer(("127.0.0.1", 0), ScriptedEngine)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def client(engine_server: EngineServer) -> Iterator[TestClient]:
    engine = FakeEngine(f"http://127.0.0.1:{engine_server.server_address[1]}")
    app = create_app(GatewaySettings("fake", "test", upstream_timeout_s=0.5), engine)
    with TestClient(app, raise_server_exceptions=True) as test_client:
        yield test_client


@pytest.fixture
def mode(engine_server: EngineServer) -> Iterator[Any]:
    def set_mode(value: str) -> None:
        engine_server.mode = value

    yield set_mode
    engine_server.mode = "ok"


CHAT = {"model": "fake", "messages": [{"role": "user", "content": "Hello"}]}
DIAGNOSE = {"v": 1, "escalation": SMOKE}


@pytest.mark.parametrize(
    ("engine_mode", "status", "retry_after", "fragment"),
    [
        ("http500", 502, "5", "engine answered HTTP 500"),
        ("hang", 504, "10", "did not answer in time"),
        ("cut", 502, "5", "closed the connection in the middle"),
    ],
)
def test_engine_failures_are_json_errors(
    client: TestClient,
    mode: Any,
    engine_mode: str,
    status: int,
    retry_after: str,
    fragment: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    mode(engine_mode)
    response = client.post("/v1/chat/completions", json=CHAT)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.headers["retry-after"] == retry_after
    assert fragment in response.json()["detail"]
    # a diagnosis does not fail with the engine: the knowledge base answers, and the log says why alone
    with caplog.at_level(logging.INFO, logger="gpu_backend.diagnosis"):
        _assert_knowledge_base_answers(client.post("/v1/binmoe/diagnose", json=DIAGNOSE))
    assert fragment in caplog.text


def _assert_knowledge_base_answers(response: Any) -> None:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["llm_status"] == "unavailable" and body["model"] == "binmoe-knowledge-base"
    assert (body["cause_id"], body["severity"]) == ("smoke_alarm.smoke", "critical")


def test_engine_not_listening_is_503(engine_server: EngineServer, caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = create_app(GatewaySettings("fake", "test"), FakeEngine(f"http://127.0.0.1:{port}"))
    with TestClient(app) as client:
        for method, path, body in [("GET", "/v1/models", None), ("POST", "/v1/chat/completions", CHAT),
                                   ("POST", "/v1/chat/completions", {**CHAT, "stream": True})]:  # fmt: skip
            response = client.request(method, path, json=body)
            assert response.status_code == 503, path
            assert response.headers["retry-after"] == "5"
            assert "not accepting connections" in response.json()["detail"]
        with caplog.at_level(logging.INFO, logger="gpu_backend.diagnosis"):
            _assert_knowledge_base_answers(client.post("/v1/binmoe/diagnose", json=DIAGNOSE))
        assert "not accepting connections" in caplog.text


def test_engine_4xx_passes_through_chat_but_not_diagnose(
    client: TestClient, mode: Any, caplog: pytest.LogCaptureFixture
) -> None:
    mode("http400")
    assert client.post("/v1/chat/completions", json=CHAT).status_code == 400  # vLLM's own validation
    with caplog.at_level(logging.INFO, logger="gpu_backend.diagnosis"):
        response = client.post("/v1/binmoe/diagnose", json=DIAGNOSE)
    _assert_knowledge_base_answers(response)  # the gateway's own prompt was refused: the client need not retry
    assert "retry-after" not in response.headers
    assert "the engine refused the diagnosis prompt: HTTP 400" in caplog.text


def test_engine_answer_that_is_not_json(client: TestClient, mode: Any, caplog: pytest.LogCaptureFixture) -> None:
    mode("not_json")
    with caplog.at_level(logging.INFO, logger="gpu_backend.diagnosis"):
        _assert_knowledge_base_answers(client.post("/v1/binmoe/diagnose", json=DIAGNOSE))
    assert "the engine's answer is not a JSON completion" in caplog.text


class BrokenTeacher:
    model_id = "sound-v1"

    def classify(self, features_b64: str, feature_shape: str) -> tuple[str, float]:
        raise RuntimeError("a bug in the teacher")


class RecordingTeacher:
    """A test double of the sound teacher that names every window a knock and counts what it was asked."""

    model_id = "sound-v1"

    def __init__(self) -> None:
        self.asked = 0

    def classify(self, features_b64: str, feature_shape: str) -> tuple[str, float]:
        self.asked += 1
        return "knock", 0.9


def test_the_teacher_reads_only_its_own_models_escalations(engine_server: EngineServer) -> None:
    engine = FakeEngine(f"http://127.0.0.1:{engine_server.server_address[1]}")
    teacher = RecordingTeacher()
    features = {"features": base64.b64encode(bytes(512)).decode(), "feature_shape": "32x16"}  # every family's shape
    bearing = json.loads((EXAMPLES / "escalation_bearing.json").read_text())
    with TestClient(create_app(GatewaySettings("fake", "test"), engine, teacher)) as client:
        lathe = client.post("/v1/binmoe/diagnose", json={"v": 1, "escalation": {**bearing, **features}})
        hallway = client.post("/v1/binmoe/diagnose", json={"v": 1, "escalation": {**SMOKE, **features}})
    assert lathe.status_code == 200 and lathe.json()["teacher"] is None  # no "knock" on a lathe
    assert hallway.status_code == 200 and hallway.json()["teacher"]["class"] == "knock"
    assert teacher.asked == 1


def test_a_bug_in_the_gateway_is_still_a_json_error(engine_server: EngineServer) -> None:
    engine = FakeEngine(f"http://127.0.0.1:{engine_server.server_address[1]}")
    app = create_app(GatewaySettings("fake", "test"), engine, BrokenTeacher())
    escalation = {**SMOKE, "features": "AAAA", "feature_shape": "1x3"}
    with TestClient(app) as client:
        response = client.post("/v1/binmoe/diagnose", json={"v": 1, "escalation": escalation})
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error of the gateway (see its log)"}


def _events(text: str) -> list[str]:
    return [line.removeprefix("data: ") for line in text.split("\n\n") if line.startswith("data: ")]


@pytest.mark.parametrize(
    ("engine_mode", "fragment"), [("stream_cut", "closed the connection"), ("stream_no_done", "without [DONE]")]
)
def test_broken_stream_ends_with_an_error_event(client: TestClient, mode: Any, engine_mode: str, fragment: str) -> None:
    mode(engine_mode)
    with client.stream("POST", "/v1/chat/completions", json={**CHAT, "stream": True}) as response:
        assert response.status_code == 200
        text = response.read().decode()
    events = _events(text)
    assert json.loads(events[0])["choices"][0]["delta"]["content"] == "The hall"
    error = json.loads(events[-1])["error"]
    assert error["code"] == 502 and fragment in error["message"]
    assert events[-1] != "[DONE]" and "HALF" not in text  # the half event is dropped, never relayed
    assert len(events) == 2


def test_engine_ok_after_failures(client: TestClient) -> None:
    response = client.post("/v1/binmoe/diagnose", json=DIAGNOSE)
    assert response.status_code == 200
    assert response.json()["llm_status"] == "used"
    assert response.json()["summary"] == PHRASING["summary"]


# ---- fuzzed request bodies -------------------------------------------------------------------------------
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
FIELDS = {**SMOKE, "v": 1}


@st.composite
def mutated_escalations(draw: st.DrawFn) -> dict[str, Any]:
    """The example escalation with some fields replaced by arbitrary JSON, removed, or added."""
    escalation = dict(SMOKE)
    for key in draw(st.lists(st.sampled_from(sorted(FIELDS)), max_size=4)):
        if draw(st.booleans()):
            escalation[key] = draw(JSON_VALUES)
        else:
            escalation.pop(key, None)
    escalation.update(draw(st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=2)))
    return escalation


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(
    body=st.one_of(JSON_VALUES, st.builds(lambda e, v: {"v": v, "escalation": e}, mutated_escalations(), JSON_VALUES))
)
def test_fuzzed_diagnose_bodies_are_answered_or_rejected(client: TestClient, body: Any) -> None:
    raw = json.dumps(body).encode()  # NaN and Infinity included: not JSON, so they must be a 422 too
    response = client.post("/v1/binmoe/diagnose", content=raw, headers={"content-type": "application/json"})
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        assert response.json()["detail"]  # the reasons


@FUZZ
@given(raw=st.binary(max_size=300))
def test_fuzzed_raw_bytes(client: TestClient, raw: bytes) -> None:
    for path in ("/v1/binmoe/diagnose", "/v1/chat/completions"):
        response = client.post(path, content=raw, headers={"content-type": "application/json"})
        assert response.status_code in (200, 400, 422), (path, response.text)


@pytest.mark.parametrize(
    "scores",
    ["[" * 100_000, "9" * 5000, '"' + "x" * 70_000 + '"'],
)
def test_hostile_field_values_are_422(client: TestClient, scores: str) -> None:
    """Deep nesting and huge numbers inside ESPHome's string-encoded fields are reasons, not crashes."""
    response = client.post("/v1/binmoe/diagnose", json={"v": 1, "escalation": {**SMOKE, "scores": scores}})
    assert response.status_code == 422
