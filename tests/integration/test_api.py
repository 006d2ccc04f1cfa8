"""The GPU-tier client: retries, backoff, error mapping (against the named backend test double)."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from custom_components.binmoe import api
from custom_components.binmoe.api import (
    AnswerCutOff,
    BinMoEClient,
    CannotConnect,
    GPUTierBusy,
    GPUTierRestarting,
    GPUTierTimeout,
    InvalidAuth,
    InvalidResponse,
    RequestRejected,
    normalize_url,
)

from .backend_double import BackendDouble
from .conftest import API_KEY

REQUEST = {"v": 1, "question": "Why is the fridge beeping?"}


def _client(hass: HomeAssistant, backend: BackendDouble, key: str | None = API_KEY) -> BinMoEClient:
    return BinMoEClient(async_get_clientsession(hass), backend.url, key)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("http://host:8000/", "http://host:8000"),
        (" https://h/api/?x=1#frag ", "https://h/api"),
    ],
)
def test_normalize_url(raw: str, expected: str) -> None:
    assert normalize_url(raw) == expected


async def test_diagnose_ok(hass: HomeAssistant, backend: BackendDouble) -> None:
    result = await _client(hass, backend).async_diagnose(REQUEST)
    assert result["severity"] == "warning"
    assert backend.requests[-1] == ("diagnose", REQUEST)


async def test_diagnose_retries_overload_then_succeeds(hass: HomeAssistant, backend: BackendDouble) -> None:
    backend.diagnose_failures = [429, 503]
    result = await _client(hass, backend).async_diagnose(REQUEST)
    assert result["v"] == 1
    assert [name for name, _ in backend.requests].count("diagnose") == 3


async def test_diagnose_gives_up_after_bounded_attempts(hass: HomeAssistant, backend: BackendDouble) -> None:
    backend.diagnose_failures = [503, 503, 503, 503]
    with pytest.raises(CannotConnect, match="gave up after 3 attempts"):
        await _client(hass, backend).async_diagnose(REQUEST)
    assert backend.diagnose_failures == [503]


@pytest.mark.parametrize(
    ("status", "kind"),
    [(502, GPUTierRestarting), (503, GPUTierRestarting), (504, GPUTierTimeout), (429, GPUTierBusy)],
)
async def test_engine_failures_are_retried_then_say_what_happened(
    hass: HomeAssistant, backend: BackendDouble, status: int, kind: type[CannotConnect]
) -> None:
    """The gateway's answers for a failing engine (502 crashed mid-request, 503 restarting, 504 timed out)
    are retried like an overload; when they persist the error says which it was (the hub queues on it)."""
    backend.diagnose_failures = [status]
    assert (await _client(hass, backend).async_diagnose(REQUEST))["v"] == 1
    assert [name for name, _ in backend.requests].count("diagnose") == 2
    backend.diagnose_failures = [status] * 3
    with pytest.raises(kind, match=f"gave up after 3 attempts: /v1/binmoe/diagnose: HTTP {status}"):
        await _client(hass, backend).async_diagnose(REQUEST)


async def test_gateway_bug_is_not_retried(hass: HomeAssistant, backend: BackendDouble) -> None:
    """A 500 (the model's answer did not fit the schema, the engine refused the prompt) is the same on every
    try: retrying it, or queueing it, would block the queue behind it for ever."""
    backend.diagnose_failures = [500]
    with pytest.raises(RequestRejected, match="500"):
        await _client(hass, backend).async_diagnose(REQUEST)
    assert [name for name, _ in backend.requests].count("diagnose") == 1


async def test_diagnose_does_not_retry_bad_request(hass: HomeAssistant, backend: BackendDouble) -> None:
    backend.diagnose_failures = [422]
    with pytest.raises(RequestRejected, match="422"):
        await _client(hass, backend).async_diagnose(REQUEST)
    assert [name for name, _ in backend.requests].count("diagnose") == 1


async def test_diagnose_auth(hass: HomeAssistant, backend: BackendDouble) -> None:
    with pytest.raises(InvalidAuth):
        await _client(hass, backend, key="wrong").async_diagnose(REQUEST)


async def test_diagnose_non_object_body(hass: HomeAssistant, backend: BackendDouble) -> None:
    backend.diagnose_body = ["not", "an", "object"]  # type: ignore[assignment]
    with pytest.raises(InvalidResponse):
        await _client(hass, backend).async_diagnose(REQUEST)


async def test_connection_refused_is_cannot_connect(hass: HomeAssistant, backend: BackendDouble) -> None:
    await backend.stop()
    with pytest.raises(CannotConnect):
        await _client(hass, backend).async_diagnose(REQUEST)


async def test_retry_after_header_parsing() -> None:
    assert api._retry_after({"Retry-After": "2.5"}) == 2.5
    assert api._retry_after({"Retry-After": "soon"}) is None
    assert api._retry_after({}) is None


async def _chat(client: BinMoEClient) -> list[dict[str, Any]]:
    return [chunk async for chunk in client.async_chat_stream({"model": "double-moe", "messages": []})]


async def test_chat_stream_yields_the_chunks(hass: HomeAssistant, backend: BackendDouble) -> None:
    backend.chat_turns = [{"content": "Hello there."}]
    chunks = await _chat(_client(hass, backend))
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert text == "Hello there."
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert backend.requests[-1][1]["stream"] is True


async def test_chat_stream_cut_off_is_an_error(hass: HomeAssistant, backend: BackendDouble) -> None:
    backend.chat_turns = [{"content": "Half an ans", "cut": True}]
    with pytest.raises(CannotConnect, match="before \\[DONE\\]"):
        await _chat(_client(hass, backend))


async def test_chat_stream_error_event(hass: HomeAssistant, backend: BackendDouble) -> None:
    backend.chat_turns = [{"content": "Half", "error": "engine died"}]
    with pytest.raises(InvalidResponse, match="engine died"):
        await _chat(_client(hass, backend))


@pytest.mark.parametrize(("code", "kind"), [(502, GPUTierRestarting), (503, GPUTierRestarting), (504, GPUTierTimeout)])
async def test_chat_stream_engine_failure_event(
    hass: HomeAssistant, backend: BackendDouble, code: int, kind: type[CannotConnect]
) -> None:
    """The gateway ends a stream whose engine failed with an error event carrying 502/503/504."""
    backend.chat_turns = [{"content": "Half", "error": "the engine closed the connection", "code": code}]
    with pytest.raises(kind, match="the engine closed the connection"):
        await _chat(_client(hass, backend))


async def test_chat_stream_cut_off_kind(hass: HomeAssistant, backend: BackendDouble) -> None:
    backend.chat_turns = [{"content": "Half an ans", "cut": True}]
    with pytest.raises(AnswerCutOff):
        await _chat(_client(hass, backend))


async def test_chat_stream_errors(hass: HomeAssistant, backend: BackendDouble) -> None:
    with pytest.raises(InvalidAuth):
        await _chat(_client(hass, backend, key="wrong"))
    await backend.stop()
    with pytest.raises(CannotConnect):
        await _chat(_client(hass, backend))
