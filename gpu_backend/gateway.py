"""The BinMoE gateway: one authenticated HTTP endpoint in front of the vLLM child (docs/protocol.md §2)."""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError

from .diagnosis import build_messages, parse_llm_output, response_format
from .metrics import GatewayMetrics
from .protocol import DiagnoseRequest, DiagnoseResponse, TeacherOpinion


class Engine(Protocol):
    """What the gateway needs from the supervised engine."""

    base_url: str

    @property
    def is_ready(self) -> bool: ...

    @property
    def restarts(self) -> int: ...


class Teacher(Protocol):
    """The escalation classifier (the node model's float teacher); optional."""

    def classify(self, features_b64: str, feature_shape: str) -> tuple[str, float]: ...


@dataclass
class GatewaySettings:
    model_name: str
    profile: str
    tool_calling: str = "reliable"  # the profile's: "weak" tells clients not to rely on the model's tool calls
    api_key: str | None = None
    max_concurrency: int = 4  # requests the engine works on at once
    max_queue: int = 32  # requests allowed to wait beyond that; more get 429
    diagnose_max_tokens: int = 640  # the schema's string limits add up to ~1000 characters
    upstream_timeout_s: float = 300.0


class Overloaded(Exception):
    pass


class Admission:
    """Bounded concurrency: `max_concurrency` in flight, `max_queue` waiting, the rest rejected."""

    def __init__(self, settings: GatewaySettings, metrics: GatewayMetrics) -> None:
        self._sem = asyncio.Semaphore(settings.max_concurrency)
        self._max_queue = settings.max_queue
        self._waiting = 0
        self._metrics = metrics

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self._sem.locked() and self._waiting >= self._max_queue:
            raise Overloaded
        self._waiting += 1
        self._metrics.queue_depth.set(self._waiting)
        try:
            await self._sem.acquire()
        finally:
            self._waiting -= 1
            self._metrics.queue_depth.set(self._waiting)
        self._metrics.in_flight.inc()
        try:
            yield
        finally:
            self._metrics.in_flight.dec()
            self._sem.release()


def _error(status: int, detail: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def create_app(settings: GatewaySettings, engine: Engine, teacher: Teacher | None = None) -> FastAPI:
    metrics = GatewayMetrics()
    admission = Admission(settings, metrics)
    http = httpx.AsyncClient(base_url=engine.base_url, timeout=settings.upstream_timeout_s)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await http.aclose()

    app = FastAPI(title="BinMoE gateway", version="1", lifespan=lifespan)
    app.state.metrics = metrics

    @app.middleware("http")
    async def auth_and_metrics(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        route = request.url.path
        if route != "/health" and settings.api_key is not None:
            given = request.headers.get("authorization", "")
            if not secrets.compare_digest(given.encode(), f"Bearer {settings.api_key}".encode()):
                response: Response = _error(401, "missing or wrong API key", {"WWW-Authenticate": "Bearer"})
                metrics.observe(route, 401, time.perf_counter() - started)
                return response
        response = await call_next(request)
        metrics.observe(route, response.status_code, time.perf_counter() - started)
        return response

    def require_engine() -> None:
        if not engine.is_ready:
            raise HTTPException(503, "the engine is starting", headers={"Retry-After": "5"})

    @app.get("/health")
    async def health() -> JSONResponse:
        body = {"status": "ok" if engine.is_ready else "starting", "model": settings.model_name}
        body["profile"] = settings.profile
        body["tool_calling"] = settings.tool_calling
        return JSONResponse(body, status_code=200 if engine.is_ready else 503)

    @app.get("/metrics")
    async def prometheus_metrics() -> Response:
        metrics.engine_restarts.set(engine.restarts)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/models")
    async def models() -> Response:
        require_engine()
        upstream = await http.get("/v1/models")
        return Response(upstream.content, upstream.status_code, media_type="application/json")

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        require_engine()
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "body is not JSON")
        if not isinstance(body, dict):
            return _error(400, "body must be a JSON object")
        try:
            async with admission.slot():
                if body.get("stream"):
                    return await _stream(body)
                upstream = await http.post("/v1/chat/completions", json=body)
        except Overloaded:
            return _error(429, "overloaded, retry later", {"Retry-After": "1"})
        if upstream.status_code == 200:
            metrics.add_tokens(int(upstream.json().get("usage", {}).get("completion_tokens", 0)))
        return Response(upstream.content, upstream.status_code, media_type="application/json")

    async def _stream(body: dict[str, Any]) -> Response:
        # The admission slot covers only the upstream request start; the stream itself then drains.
        upstream_request = http.build_request("POST", "/v1/chat/completions", json=body)
        upstream = await http.send(upstream_request, stream=True)
        if upstream.status_code != 200:
            content = await upstream.aread()
            await upstream.aclose()
            return Response(content, upstream.status_code, media_type="application/json")

        async def relay() -> AsyncIterator[bytes]:
            try:
                async for chunk in upstream.aiter_raw():
                    yield chunk
            finally:
                await upstream.aclose()

        return StreamingResponse(relay(), media_type="text/event-stream")

    @app.post("/v1/binmoe/diagnose")
    async def diagnose(request: Request) -> Response:
        started = time.perf_counter()
        try:
            parsed = DiagnoseRequest.model_validate_json(await request.body())
        except ValidationError as err:
            return _error(422, err.errors(include_url=False, include_context=False, include_input=False))
        require_engine()
        try:
            opinion = _teacher_opinion(parsed, teacher)
        except ValueError as err:
            return _error(422, [{"loc": ["escalation", "features"], "msg": str(err)}])
        teacher_line = None
        if opinion is not None:
            teacher_line = f"A larger classifier says {opinion.class_} with confidence {opinion.confidence:.2f}."
        payload = {
            "model": settings.model_name,
            "messages": build_messages(parsed, teacher_line),
            "temperature": 0,
            "max_tokens": settings.diagnose_max_tokens,
            "response_format": response_format(),
        }
        try:
            async with admission.slot():
                upstream = await http.post("/v1/chat/completions", json=payload)
        except Overloaded:
            return _error(429, "overloaded, retry later", {"Retry-After": "1"})
        if upstream.status_code != 200:
            return _error(502, f"engine answered HTTP {upstream.status_code}")
        completion = upstream.json()
        metrics.add_tokens(int(completion.get("usage", {}).get("completion_tokens", 0)))
        try:
            llm = parse_llm_output(completion["choices"][0]["message"]["content"])
        except (KeyError, IndexError, TypeError, ValueError) as err:
            return _error(502, f"the LLM's answer did not match the diagnosis schema: {err}")
        response = DiagnoseResponse(
            **llm.model_dump(),
            id=uuid.uuid4().hex,
            teacher=opinion,
            model=settings.model_name,
            latency_ms=(time.perf_counter() - started) * 1000,
        )
        return JSONResponse(response.model_dump(by_alias=True))

    return app


def _teacher_opinion(request: DiagnoseRequest, teacher: Teacher | None) -> TeacherOpinion | None:
    esc = request.escalation
    if teacher is None or esc is None or esc.features is None or esc.feature_shape is None:
        return None
    label, confidence = teacher.classify(esc.features, esc.feature_shape)
    return TeacherOpinion.model_validate(
        {"class": label, "confidence": confidence, "agrees_with_node": label == esc.class_}
    )
