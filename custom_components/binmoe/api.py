"""Async client for the BinMoE GPU tier (the gateway described in docs/protocol.md, section 2)."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import aiohttp
from yarl import URL

from .const import (
    CHAT_READ_TIMEOUT,
    CHAT_TIMEOUT,
    DIAGNOSE_MAX_ATTEMPTS,
    DIAGNOSE_TIMEOUT,
    HEALTH_TIMEOUT,
    LOGGER,
    RETRY_BASE_DELAY,
    RETRY_MAX_DELAY,
)

# Only these are worth retrying: the gateway said "later" (overloaded, its engine restarting or crashed in
# the middle of the request, or timed out), or it could not be reached at all.
_RETRYABLE_STATUS = frozenset(
    {
        HTTPStatus.TOO_MANY_REQUESTS,
        HTTPStatus.BAD_GATEWAY,
        HTTPStatus.SERVICE_UNAVAILABLE,
        HTTPStatus.GATEWAY_TIMEOUT,
    }
)


class BinMoEError(Exception):
    """Base class of the client's errors."""


class CannotConnect(BinMoEError):
    """The backend could not be reached, timed out, or is not ready (a retry later may succeed)."""


class GPUTierRestarting(CannotConnect):
    """The gateway answers, but its engine is starting, restarting or crashed in the middle (502/503)."""


class GPUTierBusy(CannotConnect):
    """The gateway is overloaded (429)."""


class GPUTierTimeout(CannotConnect):
    """No answer in time (a client timeout, or the gateway's 504)."""


class AnswerCutOff(CannotConnect):
    """A streamed answer stopped before `data: [DONE]`: the connection broke in the middle."""


class CertificateError(CannotConnect):
    """The gateway's https certificate could not be verified."""


class InvalidAuth(BinMoEError):
    """The backend rejected the API key."""


class InvalidResponse(BinMoEError):
    """The backend answered, but not with what the protocol promises."""


class RequestRejected(BinMoEError):
    """The backend refused the request itself (4xx other than auth/overload); retrying will not help."""


@dataclass(frozen=True, slots=True)
class BackendInfo:
    """What the backend says about itself on /health and /v1/models."""

    status: str
    model: str
    profile: str
    models: tuple[str, ...]
    tool_calling: str = "reliable"  # "weak": the model's tool calls are not to be trusted (the CPU default)
    gateway_id: str = ""  # stable across its restarts and addresses (docs/protocol.md, section 5); "" if older


def normalize_url(url: str) -> str:
    """Canonical form of a backend URL (scheme + host + port + path, no trailing slash).

    Raises ValueError for anything that is not an absolute http(s) URL.
    """
    parsed = URL(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"not an http(s) URL: {url!r}")
    return str(parsed.with_query(None).with_fragment(None)).rstrip("/")


class BinMoEClient:
    """Talks to the gateway with Home Assistant's shared aiohttp session."""

    def __init__(self, session: aiohttp.ClientSession, url: str, api_key: str | None = None) -> None:
        self.session = session
        self.url = normalize_url(url)
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    async def _request(self, method: str, path: str, timeout_s: float, **kwargs: Any) -> Any:
        try:
            async with self.session.request(
                method,
                f"{self.url}{path}",
                headers=self.headers,
                timeout=aiohttp.ClientTimeout(total=timeout_s),
                **kwargs,
            ) as response:
                await _raise_for_status(path, response)
                try:
                    return await response.json()
                except (aiohttp.ContentTypeError, ValueError) as err:
                    raise InvalidResponse(f"{path}: body is not JSON") from err
        except (TimeoutError, aiohttp.ClientError) as err:
            raise _transport_error(path, err) from err

    async def async_get_identity(self, challenge: str) -> tuple[str, str]:
        """The gateway's id and its proof of holding the API key for `challenge` (docs/protocol.md, section 5).
        Ask it with a client made without the key: the address is not yet trusted."""
        body = await self._request("GET", "/v1/binmoe/identity", HEALTH_TIMEOUT, params={"challenge": challenge})
        try:
            return str(body["gateway_id"]), str(body["proof"])
        except (KeyError, TypeError) as err:
            raise InvalidResponse(f"unexpected identity body: {err}") from err

    async def async_get_info(self) -> BackendInfo:
        """Check health and the served models; raises CannotConnect/InvalidAuth/InvalidResponse."""
        try:
            health = await self._request("GET", "/health", HEALTH_TIMEOUT)
            models = await self._request("GET", "/v1/models", HEALTH_TIMEOUT)
        except _Retryable as err:
            raise err.unavailable() from err
        try:
            names = tuple(str(item["id"]) for item in models["data"])
            return BackendInfo(
                status=str(health["status"]),
                model=str(health.get("model", names[0] if names else "")),
                profile=str(health.get("profile", "")),
                models=names,
                tool_calling=str(health.get("tool_calling", "reliable")),
                gateway_id=str(health.get("gateway_id", "")),
            )
        except (KeyError, TypeError) as err:
            raise InvalidResponse(f"unexpected /health or /v1/models body: {err}") from err

    async def async_diagnose(self, request: dict[str, Any]) -> dict[str, Any]:
        """POST a diagnosis request, retrying overload/unavailability/connection errors with backoff."""
        delay = RETRY_BASE_DELAY
        for attempt in range(1, DIAGNOSE_MAX_ATTEMPTS + 1):
            try:
                result = await self._request("POST", "/v1/binmoe/diagnose", DIAGNOSE_TIMEOUT, json=request)
            except (_Retryable, CannotConnect) as err:
                if attempt == DIAGNOSE_MAX_ATTEMPTS:
                    last = err.unavailable() if isinstance(err, _Retryable) else err
                    raise type(last)(f"gave up after {attempt} attempts: {err}") from err
                wait = err.retry_after if isinstance(err, _Retryable) and err.retry_after else delay
                wait = min(wait, RETRY_MAX_DELAY) * (1 + random.random() * 0.1)
                LOGGER.debug("diagnose attempt %s failed (%s); retrying in %.1f s", attempt, err, wait)
                await asyncio.sleep(wait)
                delay = min(delay * 2, RETRY_MAX_DELAY)
                continue
            if not isinstance(result, dict):
                raise InvalidResponse("diagnosis is not a JSON object")
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    async def async_chat_stream(self, body: dict[str, Any]) -> AsyncGenerator[dict[str, Any]]:
        """POST an OpenAI chat completion with `stream: true` and yield its chunks as they arrive.

        Raises InvalidAuth, RequestRejected, CannotConnect or one of its kinds (unreachable, engine restarting,
        overloaded, timed out, or AnswerCutOff: a stream that stopped before `data: [DONE]` must not pass for a
        whole answer; an error event of the gateway's engine failures, code 502/503/504, too) and
        InvalidResponse (a chunk that is not JSON, or any other error event in the stream).
        """
        path = "/v1/chat/completions"
        try:
            async with self.session.post(
                f"{self.url}{path}",
                json={**body, "stream": True},
                headers=self.headers,
                timeout=aiohttp.ClientTimeout(total=CHAT_TIMEOUT, sock_read=CHAT_READ_TIMEOUT),
            ) as response:
                try:
                    await _raise_for_status(path, response)
                except _Retryable as err:
                    raise err.unavailable() from err
                async for raw in response.content:
                    line = raw.decode(errors="replace").strip()
                    if not line.startswith("data:"):
                        continue  # blank separators, SSE comments and keep-alives
                    data = line.removeprefix("data:").strip()
                    if data == "[DONE]":
                        return
                    try:
                        chunk = json.loads(data)
                    except ValueError as err:
                        raise InvalidResponse(f"{path}: a stream chunk is not JSON") from err
                    if isinstance(chunk, dict) and "error" in chunk:
                        raise _stream_error(path, chunk["error"])
                    if isinstance(chunk, dict):
                        yield chunk
        except (TimeoutError, aiohttp.ClientError) as err:
            raise _transport_error(path, err) from err
        raise AnswerCutOff(f"{path}: the stream ended before [DONE]")


class _Retryable(BinMoEError):
    def __init__(self, path: str, status: int, retry_after: float | None) -> None:
        super().__init__(f"{path}: HTTP {status}")
        self.status = status
        self.retry_after = retry_after

    def unavailable(self) -> CannotConnect:
        """What this status says about the GPU tier, once retrying is over."""
        kind = {
            HTTPStatus.TOO_MANY_REQUESTS: GPUTierBusy,
            HTTPStatus.GATEWAY_TIMEOUT: GPUTierTimeout,
        }.get(HTTPStatus(self.status), GPUTierRestarting)
        return kind(str(self))


def _transport_error(path: str, err: TimeoutError | aiohttp.ClientError) -> CannotConnect:
    """The request did not get an answer: which kind of CannotConnect that is."""
    text = f"{path}: {err or type(err).__name__}"
    if isinstance(err, TimeoutError):
        return GPUTierTimeout(text)
    if isinstance(err, aiohttp.ClientConnectorCertificateError):
        return CertificateError(text)
    if isinstance(err, aiohttp.ClientPayloadError | aiohttp.ServerDisconnectedError):
        return AnswerCutOff(text)  # the connection broke in the middle of the answer
    return CannotConnect(text)


def _stream_error(path: str, error: Any) -> BinMoEError:
    """An error event in a stream: the gateway's engine failures (code 502/503/504) are a GPU tier that is
    away for now; anything else is an answer the protocol does not promise."""
    code = error.get("code") if isinstance(error, dict) else None
    text = f"{path}: the stream ended with an error: {error}"
    if code == HTTPStatus.GATEWAY_TIMEOUT:
        return GPUTierTimeout(text)
    if code in (HTTPStatus.BAD_GATEWAY, HTTPStatus.SERVICE_UNAVAILABLE):
        return GPUTierRestarting(text)
    return InvalidResponse(text)


async def _raise_for_status(path: str, response: aiohttp.ClientResponse) -> None:
    """Map an error status to the client's exceptions (the body of a 4xx says why; keep its start)."""
    if response.status in (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN):
        raise InvalidAuth(f"{path}: HTTP {response.status}")
    if response.status in _RETRYABLE_STATUS:
        raise _Retryable(path, response.status, _retry_after(response.headers))
    if response.status >= 400:
        raise RequestRejected(f"{path}: HTTP {response.status}: {(await response.text())[:200]}")


def _retry_after(headers: Any) -> float | None:
    try:
        return max(0.0, float(headers.get("Retry-After", "")))
    except ValueError:
        return None
