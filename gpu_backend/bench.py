"""`python -m gpu_backend bench`: concurrent escalations and chat requests against a running gateway.

Prints the numbers and writes docs/benchmarks/backend.json plus its section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

import benchmarks_md

from .gpus import detect_gpus

EXAMPLES = Path(__file__).with_name("data") / "examples"
CHAT_PROMPTS = [
    "Which sounds should a smoke alarm make?",
    "List three causes of vibration in a lathe.",
    "How do I know if my dishwasher is finished?",
    "What does a CO alarm pattern sound like?",
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="gateway URL")
    parser.add_argument("--api-key", default=os.environ.get("BINMOE_API_KEY"))
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--requests", type=int, default=32, help="total requests (half chat, half diagnose)")
    parser.add_argument("--max-tokens", type=int, default=64, help="max output tokens of chat requests")
    parser.add_argument("--no-write", action="store_true", help="print only; do not touch docs/")


@dataclass
class Sample:
    kind: str
    latency_s: float
    ok: bool
    ttft_s: float | None = None
    output_tokens: int = 0


@dataclass
class Run:
    samples: list[Sample] = field(default_factory=list)
    wall_s: float = 0.0
    gateway_counted_tokens: float = 0.0  # diagnoses (and non-streamed chat), from the gateway's metrics


async def _gateway_tokens(http: httpx.AsyncClient) -> float:
    for line in (await http.get("/metrics")).text.splitlines():
        if line.startswith("binmoe_output_tokens_total "):
            return float(line.split()[1])
    return 0.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _chat(http: httpx.AsyncClient, model: str, prompt: str, max_tokens: int) -> Sample:
    body = {
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
        "temperature": 0,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    started = time.perf_counter()
    ttft, tokens = None, 0
    async with http.stream("POST", "/v1/chat/completions", json=body) as response:
        if response.status_code != 200:
            await response.aread()
            return Sample("chat", time.perf_counter() - started, False)
        async for line in response.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if ttft is None and chunk.get("choices") and chunk["choices"][0]["delta"].get("content"):
                ttft = time.perf_counter() - started
            if chunk.get("usage"):
                tokens = int(chunk["usage"]["completion_tokens"])
    return Sample("chat", time.perf_counter() - started, True, ttft, tokens)


async def _diagnose(http: httpx.AsyncClient, escalation: dict[str, Any]) -> Sample:
    started = time.perf_counter()
    response = await http.post("/v1/binmoe/diagnose", json={"v": 1, "escalation": escalation})
    return Sample("diagnose", time.perf_counter() - started, response.status_code == 200)


async def run_load(url: str, api_key: str | None, concurrency: int, total: int, max_tokens: int) -> Run:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    escalations = [json.loads(p.read_text()) for p in sorted(EXAMPLES.glob("escalation_*.json"))]
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=600) as http:
        model = (await http.get("/v1/models")).json()["data"][0]["id"]
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(total):
            queue.put_nowait(i)
        run = Run()

        async def worker() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                if i % 2:
                    run.samples.append(await _diagnose(http, escalations[i % len(escalations)]))
                else:
                    run.samples.append(await _chat(http, model, CHAT_PROMPTS[i % len(CHAT_PROMPTS)], max_tokens))

        tokens_before = await _gateway_tokens(http)
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        run.wall_s = time.perf_counter() - started
        run.gateway_counted_tokens = await _gateway_tokens(http) - tokens_before
    return run


def summarize(run: Run, health: dict[str, Any], concurrency: int) -> dict[str, Any]:
    ok = [s for s in run.samples if s.ok]
    ttfts = [s.ttft_s * 1000 for s in ok if s.ttft_s is not None]
    latencies = [s.latency_s * 1000 for s in ok]
    gpus = detect_gpus()
    device = ", ".join(g.name for g in gpus) if gpus else f"CPU ({platform.machine()}, {os.cpu_count()} cores)"
    return {
        "device": device,
        "model": health.get("model"),
        "profile": health.get("profile"),
        "concurrency": concurrency,
        "requests": len(run.samples),
        "failed": len(run.samples) - len(ok),
        "ttft_ms_p50": round(percentile(ttfts, 0.5), 1),
        "ttft_ms_p95": round(percentile(ttfts, 0.95), 1),
        "latency_ms_p50": round(percentile(latencies, 0.5), 1),
        "latency_ms_p95": round(percentile(latencies, 0.95), 1),
        "latency_ms_p99": round(percentile(latencies, 0.99), 1),
        "diagnose_latency_ms_p50": round(
            statistics.median([s.latency_s * 1000 for s in ok if s.kind == "diagnose"] or [float("nan")]), 1
        ),
        # streamed chat tokens (counted here) + diagnosis tokens (counted by the gateway)
        "output_tokens_per_s": round((sum(s.output_tokens for s in ok) + run.gateway_counted_tokens) / run.wall_s, 1),
        "requests_per_s": round(len(ok) / run.wall_s, 2),
    }


def run(args: argparse.Namespace) -> int:
    health = httpx.get(f"{args.url}/health", timeout=10).json()
    run = asyncio.run(run_load(args.url, args.api_key, args.concurrency, args.requests, args.max_tokens))
    result = summarize(run, health, args.concurrency)
    print(json.dumps(result, indent=2))
    if not args.no_write:
        name = f"backend-{result['profile']}" if result["profile"] != "cpu-default" else "backend"
        # benchmarks/engine_compare.py keeps its side-by-side engine numbers under "engines" in the same file
        kept = {k: v for k, v in benchmarks_md.read_json(name).items() if k == "engines"}
        path = benchmarks_md.write_json(name, {**result, **kept})
        rows = "\n".join(f"| `{k}` | {v} |" for k, v in result.items())
        command = (
            f"python -m gpu_backend bench --url <gateway> --concurrency {args.concurrency} "
            f"--requests {args.requests} --max-tokens {args.max_tokens}"
        )
        body = (
            f"Gateway started with `python -m gpu_backend serve` (profile `{result['profile']}`); half the "
            f"requests are streamed chat completions (TTFT, tokens/s), half are `/v1/binmoe/diagnose` calls "
            f"with the example escalations. Raw numbers: `{path.relative_to(benchmarks_md.REPO_ROOT)}`.\n\n"
            f"| metric | value |\n|---|---|\n{rows}"
        )
        benchmarks_md.write_section(name, f"GPU tier — {result['profile']}", command, body)
    return 0 if result["failed"] == 0 else 1
