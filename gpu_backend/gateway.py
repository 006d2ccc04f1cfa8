"""The BinMoE gateway: one authenticated HTTP endpoint in front of the vLLM child (docs/protocol.md §2)."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError

from .announce import CHALLENGE, identity_proof
from .diagnosis import Diagnoser, LLMSettings, LLMUnavailable
from .engine_errors import EngineFailure, failure_from_exception, failure_from_status, relay_events
from .knowledge import KnowledgeBase, load_knowledge_base
from .metrics import GatewayMetrics
from .orders import analyse as analyse_orders
from .protocol import DiagnoseRequest, TeacherOpinion

LOGGER = logging.getLogger(__name__)


class Engine(Protocol):
    """What the gateway needs from the supervised engine."""

    base_url: str

    @property
    def is_ready(self) -> bool: ...

    @property
    def restarts(self) -> int: ...


class Teacher(Protocol):
    """The escalation classifier (the node model's float teacher); optional."""

    model_id: str  # the node model it reads escalations of (their `model`)

    def classify(self, features_b64: str, feature_shape: str) -> tuple[str, float]: ...


@dataclass
class GatewaySettings:
    model_name: str
    profile: str
    tool_calling: str = "reliable"  # the profile's: "weak" tells clients not to rely on the model's tool calls
    api_key: str | None = None
    max_concurrency: int = 4  # requests the engine works on at once
    max_queue: int = 32  # requests allowed to wait beyond that; more get 429
    diagnose_max_tokens: int = 200  # the phrasing schema's strings add up to ~500 characters
    diagnose_llm_budget_s: float = 5.0  # the knowledge base answers alone when the LLM needs longer; 0: never ask
    upstream_timeout_s: float = 300.0
    engine_api_key: str | None = None  # the engine's own key (serve makes one per start): only the gateway has it
    gateway_id: str | None = None  # stable across restarts (`announce.gateway_id`): Home Assistant's unique id


# routes without the API key: health for load balancers; identity proves the key instead of sending it
OPEN_ROUTES = frozenset({"/health", "/v1/binmoe/identity"})


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


def _engine_failed(route: str, failure: EngineFailure) -> JSONResponse:
    """The engine failed this request: one log line (no traceback) and the client's JSON error."""
    LOGGER.warning("%s: %s (HTTP %d to the client)", route, failure.message, failure.status)
    return failure.response()


def _completion_tokens(body: bytes) -> int:
    """The usage an OpenAI completion reports (0 when the body does not say): only for the metrics."""
    try:
        return int(json.loads(body)["usage"]["completion_tokens"])
    except (ValueError, KeyError, TypeError):
        return 0


def create_app(
    settings: GatewaySettings,
    engine: Engine,
    teacher: Teacher | None = None,
    knowledge: KnowledgeBase | None = None,
) -> FastAPI:
    metrics = GatewayMetrics()
    admission = Admission(settings, metrics)
    engine_auth = {"Authorization": f"Bearer {settings.engine_api_key}"} if settings.engine_api_key else {}
    http = httpx.AsyncClient(base_url=engine.base_url, timeout=settings.upstream_timeout_s, headers=engine_auth)

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
        if route not in OPEN_ROUTES and settings.api_key is not None:
            given = request.headers.get("authorization", "")
            if not secrets.compare_digest(given.encode(), f"Bearer {settings.api_key}".encode()):
                response: Response = _error(401, "missing or wrong API key", {"WWW-Authenticate": "Bearer"})
                metrics.observe(route, 401, time.perf_counter() - started)
                return response
        try:
            response = await call_next(request)
        except Exception:  # a bug, not an engine failure: still a JSON answer, and one traceback in the log
            LOGGER.exception("unexpected error on %s", route)
            response = _error(500, "internal error of the gateway (see its log)")
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
        if settings.gateway_id:
            body["gateway_id"] = settings.gateway_id
        return JSONResponse(body, status_code=200 if engine.is_ready else 503)

    @app.get("/v1/binmoe/identity")
    async def identity(request: Request, challenge: str = "") -> JSONResponse:
        """Proof that this gateway holds its id and API key, bound to the address the request reached, for a
        client about to follow an announcement to a new address (docs/protocol.md, section 5)."""
        if not settings.api_key or not settings.gateway_id:
            raise HTTPException(404, "this gateway has no API key or id to prove")
        if not CHALLENGE.fullmatch(challenge):
            raise HTTPException(422, "challenge: 32-128 lowercase hex digits")
        host, port = request.scope.get("server") or ("", 0)
        try:
            proof = identity_proof(settings.api_key, challenge, settings.gateway_id, host, port)
        except ValueError:  # a Unix socket, or a test client's name: no address to bind the proof to
            raise HTTPException(421, "the address this request reached is not an IP address") from None
        return JSONResponse({"gateway_id": settings.gateway_id, "proof": proof})

    @app.get("/metrics")
    async def prometheus_metrics() -> Response:
        metrics.engine_restarts.set(engine.restarts)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/models")
    async def models() -> Response:
        require_engine()
        try:
            upstream = await http.get("/v1/models")
        except httpx.HTTPError as err:
            return _engine_failed("/v1/models", failure_from_exception(err))
        if failure := failure_from_status(upstream.status_code, upstream.content):
            return _engine_failed("/v1/models", failure)
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
        except httpx.HTTPError as err:
            return _engine_failed("/v1/chat/completions", failure_from_exception(err))
        if failure := failure_from_status(upstream.status_code, upstream.content):
            return _engine_failed("/v1/chat/completions", failure)
        if upstream.status_code == 200:
            metrics.add_tokens(_completion_tokens(upstream.content))
        return Response(upstream.content, upstream.status_code, media_type="application/json")

    async def _stream(body: dict[str, Any]) -> Response:
        # The admission slot covers only the upstream request start; the stream itself then drains.
        upstream_request = http.build_request("POST", "/v1/chat/completions", json=body)
        try:
            upstream = await http.send(upstream_request, stream=True)
            if upstream.status_code != 200:
                content = await upstream.aread()
                await upstream.aclose()
                if failure := failure_from_status(upstream.status_code, content):
                    return _engine_failed("/v1/chat/completions (stream)", failure)
                return Response(content, upstream.status_code, media_type="application/json")
        except httpx.HTTPError as err:
            return _engine_failed("/v1/chat/completions (stream)", failure_from_exception(err))
        return StreamingResponse(relay_events(upstream), media_type="text/event-stream")

    async def complete_for_diagnosis(payload: dict[str, Any]) -> dict[str, Any]:
        """One LLM call of a diagnosis. Any reason it cannot be made is LLMUnavailable, worded as the completions
        route words it (engine_errors): the knowledge base then answers alone, so a diagnosis never fails
        because of the engine."""
        if not engine.is_ready:
            raise LLMUnavailable("the engine is starting")
        try:
            async with admission.slot():
                upstream = await http.post("/v1/chat/completions", json=payload)
        except Overloaded as err:
            raise LLMUnavailable("overloaded") from err
        except httpx.HTTPError as err:
            raise LLMUnavailable(failure_from_exception(err).message) from err
        if failure := failure_from_status(upstream.status_code, upstream.content):
            raise LLMUnavailable(failure.message)
        if upstream.status_code != 200:  # the engine refused the gateway's own prompt: a bug, worth its log line
            raise LLMUnavailable(f"the engine refused the diagnosis prompt: HTTP {upstream.status_code}")
        try:
            completion = upstream.json()
        except ValueError as err:
            raise LLMUnavailable(f"the engine's answer is not a JSON completion: {err}") from err
        if not isinstance(completion, dict):
            raise LLMUnavailable("the engine's answer is not a JSON completion object")
        metrics.add_tokens(_completion_tokens(upstream.content))
        return completion

    diagnoser = Diagnoser(
        knowledge or load_knowledge_base(),
        complete_for_diagnosis,
        LLMSettings(settings.model_name, settings.diagnose_llm_budget_s, settings.diagnose_max_tokens),
    )

    @app.post("/v1/binmoe/diagnose")
    async def diagnose(request: Request) -> Response:
        started = time.perf_counter()
        try:
            parsed = DiagnoseRequest.model_validate_json(await request.body())
        except ValidationError as err:
            return _error(422, err.errors(include_url=False, include_context=False, include_input=False))
        try:
            opinion = _teacher_opinion(parsed, teacher)
        except ValueError as err:
            return _error(422, [{"loc": ["escalation", "features"], "msg": str(err)}])
        try:  # fault identification in shaft orders: a fraction of a second of numpy per capture, off the loop
            orders = await asyncio.to_thread(analyse_orders, parsed.escalation) if parsed.escalation else None
        except ValueError as err:
            return _error(422, [{"loc": ["escalation", "capture"], "msg": str(err)}])
        response = await diagnoser.diagnose(parsed, opinion, started, orders)
        return JSONResponse(response.model_dump(by_alias=True))

    return app


def _teacher_opinion(request: DiagnoseRequest, teacher: Teacher | None) -> TeacherOpinion | None:
    esc = request.escalation
    if teacher is None or esc is None or esc.features is None or esc.feature_shape is None:
        return None
    if esc.model != teacher.model_id:
        # every family's features are 32 x 16: a sound teacher would read a vibration window without complaint and
        # name one of its own classes (a "knock" on a lathe); only the node model it was trained with is its to read
        return None
    label, confidence = teacher.classify(esc.features, esc.feature_shape)
    return TeacherOpinion.model_validate(
        {"class": label, "confidence": confidence, "agrees_with_node": label == esc.class_}
    )
