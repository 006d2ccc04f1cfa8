"""Profile selection for every GPU size, the VRAM arithmetic, and the vLLM command lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpu_backend.gpus import GPU, parse_nvidia_smi
from gpu_backend.profiles import ProfileError, load_profiles, select_profile, vllm_command

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


def test_too_small_gpu_is_a_clear_error() -> None:
    with pytest.raises(ProfileError, match="no GPU profile fits 1 GPU"):
        select_profile(gpus(4.0), PROFILES)


def test_fp8_profile_needs_ampere() -> None:
    assert not PROFILES["gpu-8gb"].fits(GPU(0, "GTX 1080", 8.0, 6.1))


@pytest.mark.parametrize("name", [n for n, p in PROFILES.items() if p.device == "cuda"])
def test_every_gpu_profile_fits_its_own_card(name: str) -> None:
    profile = PROFILES[name]
    card = GPU(0, "nominal", profile.min_vram_gb, 9.0)
    assert profile.fits(card), profile.explain()
    assert profile.needed_gb > 0.5 * profile.gpu_memory_utilization * profile.min_vram_gb


def test_expert_parallel_only_with_several_ranks() -> None:
    for profile in PROFILES.values():
        cmd = vllm_command(profile, "python", "w", "127.0.0.1", 8001)
        ranks = profile.tensor_parallel_size * profile.data_parallel_size
        assert ("--enable-expert-parallel" in cmd) == (profile.enable_expert_parallel and ranks > 1)
        assert cmd[cmd.index("--tool-call-parser") + 1] == profile.tool_call_parser
        assert '"backend":"xgrammar"' in cmd[cmd.index("--structured-outputs-config") + 1]


def test_multi_gpu_command() -> None:
    cmd = vllm_command(PROFILES["gpu-2x24gb"], "python", "w", "127.0.0.1", 8001)
    assert cmd[cmd.index("--tensor-parallel-size") + 1] == "2"
    assert cmd[cmd.index("--quantization") + 1] == "fp8"


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
    assert "Qwen/Qwen3-30B-A3B-Instruct-2507-FP8" in out


def test_unknown_profile(capsys: pytest.CaptureFixture[str]) -> None:
    from gpu_backend.__main__ import main

    assert main(["serve", "--profile", "nope", "--dry-run"]) == 2
    assert "unknown profile 'nope'" in capsys.readouterr().err
