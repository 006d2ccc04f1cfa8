"""Launch profiles (data/profiles.toml): evidence, VRAM arithmetic, selection by detected GPUs, vLLM command line."""

from __future__ import annotations

import argparse
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .gpus import GPU

PROFILES_FILE = Path(__file__).with_name("data") / "profiles.toml"
GIB = 2**30
TOOL_CALLING = frozenset({"reliable", "weak"})  # how far clients may trust the model's tool calls
ENGINES = ("vllm", "llama.cpp")


class ProfileError(ValueError):
    """A profile file or profile choice that cannot work."""


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    weights: str
    params_b: float
    bytes_per_param: float
    kv_bytes_per_token: int
    max_model_len: int
    max_num_seqs: int
    tool_call_parser: str
    structured_outputs_backend: str
    device: str = "cuda"
    min_vram_gb: float = 0.0
    min_gpus: int = 1
    min_compute_capability: float = 0.0
    quantization: str = ""
    kv_sequences: int = 1
    overhead_gb: float = 0.0
    gpu_memory_utilization: float = 0.9
    tensor_parallel_size: int = 1
    data_parallel_size: int = 1
    enable_expert_parallel: bool = False
    cpu_kvcache_gb: int = 1
    served_model_name: str = ""  # name clients see; default: the weights id (or the profile name)
    # "weak": the model's tool calls are not reliable (measured: docs/benchmarks.md, voice); clients then
    # keep commands to Home Assistant's own intents (/health reports it)
    tool_calling: str = "reliable"
    # how long a diagnosis waits for the model to phrase it before the knowledge base answers alone (0: never
    # ask); `serve --llm-budget` overrides it
    diagnosis_llm_budget_s: float = 5.0
    engine: str = "vllm"
    model: str = ""  # key into [models.*]: the `assist` evidence for this pick
    pick_reason: str = ""  # why a model scoring below the best that fits is picked (checked by the tests)
    expert_params_b: float = 0.0  # params in routed experts (the rest counts at bytes_per_param)
    expert_bytes_per_param: float = 0.0  # 0: same as bytes_per_param
    moe_layers: int = 0
    cpu_moe_layers: int = 0  # layers whose experts stay in host RAM and run on the CPU
    min_host_ram_gb: float = 0.0

    @property
    def model_name(self) -> str:
        if self.served_model_name:
            return self.served_model_name
        return self.name if self.weights.startswith("@") else self.weights

    @property
    def total_weights_gb(self) -> float:
        """All weights, in GiB: dense part at bytes_per_param, experts at expert_bytes_per_param."""
        expert_bytes = self.expert_bytes_per_param or self.bytes_per_param
        dense = (self.params_b - self.expert_params_b) * self.bytes_per_param
        return (dense + self.expert_params_b * expert_bytes) * 1e9 / GIB

    @property
    def host_gb(self) -> float:
        """Expert weights kept in host RAM (llama.cpp --n-cpu-moe), in GiB."""
        if not self.cpu_moe_layers:
            return 0.0
        expert_bytes = self.expert_bytes_per_param or self.bytes_per_param
        return self.expert_params_b * expert_bytes * 1e9 / GIB * self.cpu_moe_layers / self.moe_layers

    @property
    def weights_gb(self) -> float:
        """Resident weights per GPU (split by tensor parallelism, offloaded experts excluded), in GiB."""
        return (self.total_weights_gb - self.host_gb) / self.tensor_parallel_size

    @property
    def kv_gb(self) -> float:
        """KV cache for `kv_sequences` full-length sequences, per GPU, in GiB."""
        total = self.kv_bytes_per_token * self.max_model_len * self.kv_sequences
        return total / GIB / self.tensor_parallel_size

    @property
    def needed_gb(self) -> float:
        return self.weights_gb + self.kv_gb + self.overhead_gb

    def fits(self, gpu: GPU) -> bool:
        """Whether one of this profile's GPUs (all alike) holds its share."""
        usable = self.gpu_memory_utilization * gpu.vram_gb
        return gpu.compute_capability >= self.min_compute_capability and self.needed_gb <= usable

    def explain(self) -> str:
        if self.device == "cpu":
            ram = f", needs >= {self.min_host_ram_gb:g} GB RAM" if self.min_host_ram_gb else ""
            return (
                f"{self.name} [{self.engine}]: CPU, {self.params_b:g}B params,"
                f" weights {self.total_weights_gb:.2f} GiB{ram}"
            )
        offload = f" (+ {self.host_gb:.2f} GiB experts of {self.cpu_moe_layers} layers in host RAM)"
        return (
            f"{self.name} [{self.engine}]: weights {self.weights_gb:.2f}{offload if self.cpu_moe_layers else ''}"
            f" + KV {self.kv_gb:.2f}"
            f" + overhead {self.overhead_gb:.2f} = {self.needed_gb:.2f} GiB per GPU"
            f" <= {self.gpu_memory_utilization:.2f} x {self.min_vram_gb:g} GiB"
            f" = {self.gpu_memory_utilization * self.min_vram_gb:.2f} GiB"
            f" (x{self.tensor_parallel_size * self.data_parallel_size} ranks"
            f"{', expert parallel' if self.enable_expert_parallel else ''})"
        )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`python -m gpu_backend profiles` has no options."""


@dataclass(frozen=True)
class ScoredModel:
    """A candidate with its public `assist` score (Home Assistant's LLM leaderboard, see profiles.toml)."""

    name: str
    assist_score: float
    moe: bool
    weights_gb: float  # its smallest maintained quantization


ASSIST_SOURCE = "Home Assistant LLM leaderboard, home-assistant-datasets `assist` set, n = 460, 2026-08-22"


def evidence(profile: Profile, models: dict[str, ScoredModel]) -> str:
    if profile.model:
        return f"assist {models[profile.model].assist_score:.1f} % ({profile.model}; {ASSIST_SOURCE})"
    return f"no assist score: {profile.pick_reason}"


def run(args: argparse.Namespace) -> int:
    """`python -m gpu_backend profiles`: every profile with its evidence and VRAM arithmetic."""
    models = load_models()
    for profile in load_profiles().values():
        print(f"{profile.explain()}\n    {profile.description}\n    {evidence(profile, models)}")
        if profile.model and profile.pick_reason:
            print(f"    why: {profile.pick_reason}")
    return 0


def _read(path: Path, table: str) -> dict[str, Any]:
    try:
        raw: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))[table]
    except (OSError, KeyError, tomllib.TOMLDecodeError) as err:
        raise ProfileError(f"cannot read {table} from {path}: {err}") from err
    return raw


def load_models(path: Path = PROFILES_FILE) -> dict[str, ScoredModel]:
    return {name: ScoredModel(name=name, **values) for name, values in _read(path, "models").items()}


def load_profiles(path: Path = PROFILES_FILE) -> dict[str, Profile]:
    raw = _read(path, "profiles")
    known = {f.name for f in fields(Profile)}
    profiles = {}
    for name, values in raw.items():
        unknown = set(values) - known
        if unknown:
            raise ProfileError(f"profile {name!r} in {path}: unknown keys {sorted(unknown)}")
        if values.get("tool_calling", "reliable") not in TOOL_CALLING:
            raise ProfileError(f"profile {name!r} in {path}: tool_calling must be one of {sorted(TOOL_CALLING)}")
        try:
            profiles[name] = Profile(name=name, **values)
        except TypeError as err:
            raise ProfileError(f"profile {name!r} in {path}: {err}") from err
        if profiles[name].engine not in ENGINES:
            raise ProfileError(f"profile {name!r} in {path}: engine must be one of {ENGINES}")
        budget = profiles[name].diagnosis_llm_budget_s
        if not isinstance(budget, int | float) or budget < 0:
            raise ProfileError(
                f"profile {name!r} in {path}: diagnosis_llm_budget_s must be a number >= 0, got {budget!r}"
            )
    return profiles


def select_profile(gpus: list[GPU], profiles: dict[str, Profile]) -> Profile:
    """The most capable profile the detected GPUs can run; the CPU default when there is none."""
    if not gpus:
        return profiles["cpu-default"]
    smallest = min(gpus, key=lambda g: g.vram_gb)
    candidates = [
        p
        for p in profiles.values()
        if p.device == "cuda"
        and len(gpus) >= p.min_gpus
        and len(gpus) >= p.tensor_parallel_size * p.data_parallel_size
        and smallest.vram_gb >= p.min_vram_gb * 0.97  # cards report slightly less than their label
        and p.fits(smallest)
    ]
    if not candidates:
        raise ProfileError(
            f"no GPU profile fits {len(gpus)} GPU(s) with {smallest.vram_gb:.1f} GiB "
            f"(compute capability {smallest.compute_capability}); use --profile cpu-default"
        )
    return max(candidates, key=lambda p: (p.min_gpus, p.min_vram_gb, p.max_model_len))


def vllm_command(profile: Profile, python: str, weights: str, host: str, port: int) -> list[str]:
    """The exact vLLM OpenAI-server command line for this profile."""
    cmd = [
        python, "-m", "vllm.entrypoints.openai.api_server",
        "--model", weights,
        "--served-model-name", profile.model_name,
        "--host", host,
        "--port", str(port),
        "--max-model-len", str(profile.max_model_len),
        "--max-num-seqs", str(profile.max_num_seqs),
        "--enable-auto-tool-choice",
        "--tool-call-parser", profile.tool_call_parser,
        "--structured-outputs-config",
        f'{{"backend":"{profile.structured_outputs_backend}","disable_any_whitespace":true}}',
        "--disable-uvicorn-access-log",
    ]  # fmt: skip
    if profile.device == "cpu":
        cmd += ["--enforce-eager", "--dtype", "float32" if profile.params_b < 0.01 else "bfloat16"]
    if profile.cpu_moe_layers:
        # vLLM keeps only the expert tensors in host RAM (streamed to the GPU each step): --cpu-offload-params
        cmd += ["--cpu-offload-gb", f"{profile.host_gb:.2f}", "--cpu-offload-params", "experts"]
    if profile.device != "cpu":
        cmd += ["--gpu-memory-utilization", str(profile.gpu_memory_utilization)]
        if profile.quantization:
            cmd += ["--quantization", profile.quantization]
        if profile.tensor_parallel_size > 1:
            cmd += ["--tensor-parallel-size", str(profile.tensor_parallel_size)]
        if profile.data_parallel_size > 1:
            cmd += ["--data-parallel-size", str(profile.data_parallel_size)]
        if profile.enable_expert_parallel:
            cmd.append("--enable-expert-parallel")
    return cmd


def engine_command(profile: Profile, python: str, weights: str, host: str, port: int) -> list[str]:
    """The engine's OpenAI-server command line: vLLM or llama.cpp's llama-server, as the profile says."""
    if profile.engine == "llama.cpp":
        from .llama_cpp import server_command

        return server_command(profile, weights, host, port)
    return vllm_command(profile, python, weights, host, port)
