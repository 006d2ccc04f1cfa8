"""Profile selection for every GPU size, the VRAM arithmetic, and the vLLM command lines."""

from __future__ import annotations

import dataclasses
import json
import tomllib
from pathlib import Path

import pytest

from gpu_backend.gpus import GPU, parse_nvidia_smi
from gpu_backend.profiles import (
    PROFILES_FILE,
    Profile,
    ProfileError,
    load_models,
    load_profiles,
    select_profile,
    vllm_command,
)

PROFILES = load_profiles()


def gpus(vram_gb: float, count: int = 1, cc: float = 8.9) -> list[GPU]:
    return [GPU(i, "test card", vram_gb, cc) for i in range(count)]


@pytest.mark.parametrize(
    ("vram", "count", "cc", "expected"),
    [
        (7.99, 1, 8.6, "gpu-8gb"),  # RTX 4060 reports 8188 MiB
        (11.99, 1, 8.6, "gpu-12gb"),
        (15.99, 1, 8.9, "gpu-16gb"),
        (23.99, 1, 8.9, "gpu-24gb"),
        (31.5, 1, 12.0, "gpu-24gb"),  # a 32 GB card gets the largest single-GPU profile
        (23.99, 2, 8.6, "gpu-2x24gb"),
        (15.99, 2, 8.9, "gpu-16gb"),  # two 16 GB cards do not fit the 2x24 profile
        (11.99, 1, 7.5, "gpu-12gb"),  # Turing: no FP8, BF16 profile still fits
    ],
)
def test_selection_by_gpu_size(vram: float, count: int, cc: float, expected: str) -> None:
    assert select_profile(gpus(vram, count, cc), PROFILES).name == expected


def test_no_gpu_selects_cpu_default() -> None:
    assert select_profile([], PROFILES).name == "cpu-default"


def test_cpu_default_is_weak_at_tool_calls() -> None:
    """The gateway reports it on /health; the Home Assistant agent then offers that model no tools."""
    assert PROFILES["cpu-default"].tool_calling == "weak"
    assert PROFILES["cpu-fixture"].tool_calling == "reliable"


def test_cpu_default_does_not_phrase_diagnoses() -> None:
    """Measured too slow and too often rejected (profiles.toml); every other profile's model may phrase."""
    assert PROFILES["cpu-default"].diagnosis_llm_budget_s == 0
    assert all(p.diagnosis_llm_budget_s == 5.0 for name, p in PROFILES.items() if name != "cpu-default")


@pytest.mark.parametrize("budget", ["-1", "'soon'"])
def test_a_bad_diagnosis_budget_is_refused(tmp_path: Path, budget: str) -> None:
    raw = tomllib.loads(PROFILES_FILE.read_text())["profiles"]["cpu-fixture"]
    lines = [f"{key} = {json.dumps(value)}" for key, value in raw.items()]
    path = tmp_path / "profiles.toml"
    path.write_text("[profiles.x]\n" + "\n".join(lines) + "\n")
    assert load_profiles(path)["x"].diagnosis_llm_budget_s == 5.0
    path.write_text("[profiles.x]\n" + "\n".join(lines) + f"\ndiagnosis_llm_budget_s = {budget}\n")
    with pytest.raises(ProfileError, match=r"profile 'x' .*diagnosis_llm_budget_s must be a number >= 0"):
        load_profiles(path)


def test_too_small_gpu_is_a_clear_error() -> None:
    with pytest.raises(ProfileError, match="no GPU profile fits 1 GPU"):
        select_profile(gpus(4.0), PROFILES)


def test_mxfp4_on_vllm_needs_ampere() -> None:
    """vLLM's MXFP4 MoE kernels need Ampere+; a 16 GB Turing card gets llama.cpp with expert offload."""
    assert not PROFILES["gpu-16gb"].fits(GPU(0, "Quadro RTX 5000", 16.0, 7.5))
    assert select_profile(gpus(15.99, 1, 7.5), PROFILES).name == "gpu-12gb"


@pytest.mark.parametrize("name", [n for n, p in PROFILES.items() if p.device == "cuda"])
def test_every_gpu_profile_fits_its_own_card(name: str) -> None:
    profile = PROFILES[name]
    card = GPU(0, "nominal", profile.min_vram_gb, 9.0)
    assert profile.fits(card), profile.explain()
    assert profile.needed_gb > 0.5 * profile.gpu_memory_utilization * profile.min_vram_gb


def test_expert_parallel_only_with_several_ranks() -> None:
    for profile in (p for p in PROFILES.values() if p.engine == "vllm"):
        cmd = vllm_command(profile, "python", "w", "127.0.0.1", 8001)
        ranks = profile.tensor_parallel_size * profile.data_parallel_size
        assert ("--enable-expert-parallel" in cmd) == (profile.enable_expert_parallel and ranks > 1)
        assert cmd[cmd.index("--tool-call-parser") + 1] == profile.tool_call_parser
        assert '"backend":"xgrammar"' in cmd[cmd.index("--structured-outputs-config") + 1]


def test_multi_gpu_command() -> None:
    cmd = vllm_command(PROFILES["gpu-2x24gb"], "python", "w", "127.0.0.1", 8001)
    assert cmd[cmd.index("--tensor-parallel-size") + 1] == "2"
    assert "--quantization" not in cmd  # gpt-oss's MXFP4 is read from its config


def test_profile_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "p.toml"
    bad.write_text("[profiles.x]\nweights = 'w'\nsurprise = 1\n")
    with pytest.raises(ProfileError, match="unknown keys"):
        load_profiles(bad)
    bad.write_text("[profiles.x]\nweights = 'w'\n")
    with pytest.raises(ProfileError, match="profile 'x'"):
        load_profiles(bad)
    with pytest.raises(ProfileError, match="cannot read"):
        load_profiles(tmp_path / "missing.toml")
    bad.write_text("[profiles.x]\nweights = 'w'\ntool_calling = 'sometimes'\n")
    with pytest.raises(ProfileError, match="tool_calling must be one of"):
        load_profiles(bad)


def test_parse_nvidia_smi() -> None:
    out = "0, NVIDIA GeForce RTX 4090, 24564, 8.9\n1, NVIDIA GeForce RTX 3090, 24576, 8.6\ngarbage\n"
    parsed = parse_nvidia_smi(out)
    assert parsed == [
        GPU(0, "NVIDIA GeForce RTX 4090", 24564 / 1024, 8.9),
        GPU(1, "NVIDIA GeForce RTX 3090", 24.0, 8.6),
    ]


def test_dry_run_prints_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    from gpu_backend.__main__ import main

    assert main(["serve", "--profile", "gpu-2x24gb", "--dry-run", "--port", "9000"]) == 0
    out = capsys.readouterr().out
    assert "--enable-expert-parallel" in out and "--port 9001" in out
    assert "openai/gpt-oss-20b" in out


def test_unknown_profile(capsys: pytest.CaptureFixture[str]) -> None:
    from gpu_backend.__main__ import main

    assert main(["serve", "--profile", "nope", "--dry-run"]) == 2
    assert "unknown profile 'nope'" in capsys.readouterr().err


MODELS = load_models()


def _tier_budget_gb(profile: Profile) -> float:
    """What a profile's tier can hold: its cards' usable VRAM, plus host RAM where experts may live there."""
    if profile.device == "cpu":
        return profile.min_host_ram_gb * 0.75  # leave a quarter of the RAM to the OS and Home Assistant
    vram = profile.gpu_memory_utilization * profile.min_vram_gb * profile.tensor_parallel_size
    return vram + (profile.host_gb if profile.cpu_moe_layers else 0.0)


@pytest.mark.parametrize("name", list(PROFILES))
def test_every_profile_picks_the_best_scoring_moe_that_fits(name: str) -> None:
    """No profile serves a model scoring below the best MoE that fits its tier unless it says why."""
    profile = PROFILES[name]
    fitting = [m for m in MODELS.values() if m.moe and m.weights_gb <= _tier_budget_gb(profile)]
    best = max(fitting, key=lambda m: m.assist_score, default=None)
    picked = MODELS[profile.model].assist_score if profile.model else 0.0
    if best is not None and picked < best.assist_score:
        assert profile.pick_reason, f"{name} picks {profile.model or profile.weights} over {best.name}"
    if profile.model:
        assert MODELS[profile.model].moe
        assert profile.total_weights_gb == pytest.approx(MODELS[profile.model].weights_gb, rel=0.02)


def test_gpu_tiers_of_the_issue_are_covered() -> None:
    cuda = [p for p in PROFILES.values() if p.device == "cuda"]
    assert sorted({(p.min_vram_gb, p.min_gpus) for p in cuda}) == [(8, 1), (12, 1), (16, 1), (24, 1), (24, 2)]
    assert all(p.model for p in cuda), "every GPU profile names its assist evidence"
    assert any(p.device == "cpu" and p.model for p in PROFILES.values()), "a CPU-only MoE profile"


def test_offloading_profiles_fit_with_their_experts_in_host_ram() -> None:
    for profile in (p for p in PROFILES.values() if p.cpu_moe_layers):
        card = GPU(0, "nominal", profile.min_vram_gb, 9.0)
        assert profile.fits(card), profile.explain()
        assert profile.engine == "llama.cpp", "experts computed where they live, not streamed per step"
        # one layer fewer on the CPU would no longer fit: the split uses the card
        tighter = dataclasses.replace(profile, cpu_moe_layers=profile.cpu_moe_layers - 1)
        assert not tighter.fits(card), tighter.explain()


def test_vllm_expert_offload_names_the_expert_tensors() -> None:
    profile = dataclasses.replace(PROFILES["gpu-12gb"], engine="vllm")
    cmd = vllm_command(profile, "python", "w", "127.0.0.1", 8001)
    assert cmd[cmd.index("--cpu-offload-params") + 1] == "experts"
    assert float(cmd[cmd.index("--cpu-offload-gb") + 1]) == pytest.approx(profile.host_gb, abs=0.01)
