"""BackendDouble: a TEST DOUBLE of the BinMoE gateway (docs/protocol.md, section 2) on loopback.

Unit tests use it to drive every branch (down, 401, 429, bad bodies) deterministically. The real gateway
with the real vLLM engine is exercised by the tests marked `real_backend`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

# A diagnosis in the GPU tier's schema (tests/gpu_backend/test_protocol.py validates the same file).
DIAGNOSIS_EXAMPLE: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "protocol" / "diagnosis" / "response_smoke.json").read_text()
)


@dataclass
class BackendDouble:
    """Plays the gateway. Flip the attributes to change its behaviour between requests."""

    api_key: str | None = None
    model: str = "double-moe"
    healthy: bool = True
    tool_calling: str = "reliable"  # what /health says of the model's tool calls ("weak": the CPU default)
    gateway_id: str | None = None  # what /health says of the gateway's id (None: an older gateway, no id)
    # /v1/binmoe/identity: the key its proof is made with (None: api_key; "": no such route, an older gateway)
    # and the address it binds the proof to (None: the one the request reached; else a relayed proof's)
    identity_key: str | None = None
    identity_address: tuple[str, int] | None = None
    # Status codes returned (and consumed) one by one by /v1/binmoe/diagnose before it answers normally.
    diagnose_failures: list[int] = field(default_factory=list)
    diagnose_body: dict[str, Any] | None = None
    diagnose_delay: float = 0.0  # seconds a diagnosis takes (to catch one in flight)
    diagnose_started: asyncio.Event = field(default_factory=asyncio.Event)  # set by each diagnosis request
    chat_failures: list[int] = field(default_factory=list)  # like diagnose_failures, for /v1/chat/completions
    models_body: Any = None
    requests: list[tuple[str, Any]] = field(default_factory=list)
    # Scripted chat turns, consumed one per /v1/chat/completions call: {"content": str} or
    # {"tool_calls": [{"name": str, "arguments": str}]}; when empty, the double answers "OK.". A turn with
    # "cut": True stops after its content without finishing (no [DONE], as a dying engine would); one with
    # "error": message (and an optional "code", as the gateway's engine failures carry) ends with an OpenAI-style
    # error event instead of [DONE].
    chat_turns: list[dict[str, Any]] = field(default_factory=list)
    # Serve https with this context (the TLS tests' certificate) instead of http.
    ssl_context: ssl.SSLContext | None = None
    _runner: web.AppRunner | None = None
    url: str = ""

    def answer_cause(self, cause_id: str) -> None:
        """Answer every diagnosis from now on with this knowledge-base cause (`<class>.<cause>`, severity info)."""
        self.diagnose_body = {**DIAGNOSIS_EXAMPLE, "class": cause_id.split(".")[0], "cause_id": cause_id,
                              "severity": "info"}  # fmt: skip

    async def start(self) -> None:
        app = web.Application(middlewares=[self._auth])
        app.router.add_get("/health", self._health)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/v1/binmoe/identity", self._identity)
        app.router.add_post("/v1/binmoe/diagnose", self._diagnose)
        app.router.add_post("/v1/chat/completions", self._chat)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self.ssl_context)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"{'https' if self.ssl_context else 'http'}://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @web.middleware
    async def _auth(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        authorized = request.headers.get("Authorization") == f"Bearer {self.api_key}"
        open_route = request.path in ("/health", "/v1/binmoe/identity")
        if not open_route and self.api_key is not None and not authorized:
            return web.json_response({"detail": "bad key"}, status=401)
        return await handler(request)

    async def _health(self, request: web.Request) -> web.Response:
        self.requests.append(("health", None))
        status = "ok" if self.healthy else "starting"
        body = {"status": status, "model": self.model, "profile": "double", "tool_calling": self.tool_calling}
        if self.gateway_id is not None:
            body["gateway_id"] = self.gateway_id
        return web.json_response(body, status=200 if self.healthy else 503)

    async def _identity(self, request: web.Request) -> web.Response:
        """The gateway's proof of its id and key (docs/protocol.md, section 5), written here from the protocol."""
        self.requests.append(("identity", dict(request.query)))
        key = self.api_key if self.identity_key is None else self.identity_key
        if not key or not self.gateway_id:
            return web.json_response({"detail": "not found"}, status=404)
        host, port = self.identity_address or request.transport.get_extra_info("sockname")[:2]  # type: ignore[union-attr]
        message = f"binmoe-identity/1|{request.query['challenge']}|{self.gateway_id}|{host}|{port}"
        proof = hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()
        return web.json_response({"gateway_id": self.gateway_id, "proof": proof})

    async def _models(self, request: web.Request) -> web.Response:
        self.requests.append(("models", None))
        body = self.models_body if self.models_body is not None else {"data": [{"id": self.model}]}
        return web.json_response(body)

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        """OpenAI-style streaming: text in small pieces, tool-call arguments split across chunks."""
        body = await request.json()
        self.requests.append(("chat", body))
        if self.chat_failures:
            status = self.chat_failures.pop(0)
            return web.json_response({"detail": "failure"}, status=status, headers={"Retry-After": "5"})
        turn = self.chat_turns.pop(0) if self.chat_turns else {"content": "OK."}
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)

        async def send(delta: dict[str, Any], finish: str | None = None) -> None:
            chunk = {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())

        await send({"role": "assistant"})
        text = turn.get("content", "")
        for start in range(0, len(text), 4):
            await send({"content": text[start : start + 4]})
        for index, call in enumerate(turn.get("tool_calls", [])):
            args = call["arguments"]
            half = len(args) // 2
            await send(
                {
                    "tool_calls": [
                        {
                            "index": index,
                            "id": f"call_{index}",
                            "type": "function",
                            "function": {"name": call["name"], "arguments": args[:half]},
                        }
                    ]
                }
            )
            await send({"tool_calls": [{"index": index, "function": {"arguments": args[half:]}}]})
        if turn.get("cut"):
            return response
        if "error" in turn:
            error = {"message": turn["error"], **({"code": turn["code"]} if "code" in turn else {})}
            await response.write(f"data: {json.dumps({'error': error})}\n\n".encode())
            return response
        await send({}, "tool_calls" if turn.get("tool_calls") else "stop")
        await response.write(b"data: [DONE]\n\n")
        return response

    async def _diagnose(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(("diagnose", body))
        self.diagnose_started.set()
        await asyncio.sleep(self.diagnose_delay)
        if self.diagnose_failures:
            status = self.diagnose_failures.pop(0)
            return web.json_response({"detail": "failure"}, status=status, headers={"Retry-After": "0"})
        escalation = body.get("escalation") or {}
        return web.json_response(
            self.diagnose_body
            or {
                **DIAGNOSIS_EXAMPLE,
                "id": f"double-{len(self.requests)}",
                "class": escalation.get("class"),
                "cause_id": f"{escalation.get('class', 'question')}.double",
                "cause": f"double cause for {escalation.get('class', 'question')}",
                "severity": "warning",
                "confidence": 0.5,
                "recommended_action": "check it",
                "summary": "A test double answered.",
                "model": self.model,
                "latency_ms": 1.0,
            }
        )
