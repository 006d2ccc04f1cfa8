"""How the gateway reports a failing engine: a JSON error whose status tells the client what to do.

| what happened | status | Retry-After |
|---|---|---|
| the engine does not accept connections (not running, restarting) | 503 | 5 s |
| the engine closed the connection in the middle of a request (it crashed) | 502 | 5 s |
| the engine answered 5xx | 502 | 5 s |
| the engine did not answer in time | 504 | 10 s |

A stream that breaks after its `200` has gone out ends with the same error as an OpenAI-style error event
(`data: {"error": {...}}`) and without `data: [DONE]`, so a client cannot take a cut-off answer for a whole one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
from fastapi.responses import JSONResponse

LOGGER = logging.getLogger("gpu_backend.gateway")
RESTART_RETRY_S = 5  # the supervisor restarts a crashed engine; clients come back after this
TIMEOUT_RETRY_S = 10  # a timed-out engine is busy: give it longer


@dataclass(frozen=True)
class EngineFailure:
    """One failure of the engine, as the gateway answers it."""

    status: int
    message: str
    retry_after_s: int | None = RESTART_RETRY_S

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)} if self.retry_after_s is not None else {}

    def response(self) -> JSONResponse:
        return JSONResponse({"detail": self.message}, status_code=self.status, headers=self.headers)

    def stream_event(self) -> bytes:
        """The OpenAI stream format's error event (vLLM's own mid-stream errors look the same)."""
        error = {"message": self.message, "type": "engine_unavailable", "param": None, "code": self.status}
        return f"data: {json.dumps({'error': error})}\n\n".encode()


def failure_from_exception(err: httpx.HTTPError) -> EngineFailure:
    """The failure a transport error of the gateway's request to the engine stands for."""
    if isinstance(err, httpx.TimeoutException):
        return EngineFailure(504, f"the engine did not answer in time ({type(err).__name__})", TIMEOUT_RETRY_S)
    if isinstance(err, httpx.ConnectError):
        return EngineFailure(503, "the engine is not accepting connections (it is starting or restarting)")
    return EngineFailure(
        502, f"the engine closed the connection in the middle of the request ({type(err).__name__}); it is restarting"
    )


def failure_from_status(status: int, body: bytes) -> EngineFailure | None:
    """A 5xx of the engine as the gateway's 502 (None for anything else: those pass through)."""
    if status < 500:
        return None
    return EngineFailure(502, f"the engine answered HTTP {status}: {body[:200].decode(errors='replace')}")


async def relay_events(upstream: httpx.Response) -> AsyncIterator[bytes]:
    """Relay a server-sent-event stream event by event; if it breaks, or ends without `[DONE]`, end it with an
    error event instead (a partly received event is dropped, so the client never sees half a JSON chunk)."""
    pending = b""
    done = False
    try:
        async for data in upstream.aiter_raw():
            pending += data.replace(b"\r\n", b"\n")
            *events, pending = pending.split(b"\n\n")
            for event in events:
                done = done or event.strip() == b"data: [DONE]"
                yield event + b"\n\n"
    except httpx.HTTPError as err:
        failure = failure_from_exception(err)
        LOGGER.warning("stream broken, ended with an error event: %s", failure.message)
        yield failure.stream_event()
        return
    finally:
        await upstream.aclose()
    # an unterminated last event is discarded, as the SSE format says: only whole events count
    if not done:
        LOGGER.warning("the engine ended a stream without [DONE]; ended it with an error event")
        yield EngineFailure(502, "the engine ended the stream without [DONE]").stream_event()
