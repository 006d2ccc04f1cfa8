"""llama.cpp as the engine of a profile: where llama-server is, its command line, and GGUF export.

llama-server comes from the host's PATH (or BINMOE_LLAMA_SERVER); without one, from Debian sid's
`llama.cpp-tools` package installed by scripts/bootstrap into the sid root ($BINMOE_CACHE/sid-root), run
through chroot. Debian's package also ships llama.cpp's HF -> GGUF converter, used here for local
checkpoints (the test fixture, the benchmarks' random-weight MoEs).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from .cpu_model import cache_root
from .gguf_convert import CONVERTER
from .profiles import Profile

ROOT_MODELS = "srv/binmoe"  # GGUF files inside the sid root, so the chrooted server sees them


class LlamaCppMissing(RuntimeError):
    """No llama-server on this machine."""


def sysroot() -> Path:
    return cache_root() / "sid-root"


def server_prefix() -> list[str]:
    """The argv that starts llama-server here."""
    explicit = os.environ.get("BINMOE_LLAMA_SERVER") or shutil.which("llama-server")
    if explicit:
        return [explicit]
    if (sysroot() / "usr/bin/llama-server").exists():
        return ["chroot", str(sysroot()), "llama-server"]
    return ["llama-server"]  # not installed: `serve` says so before starting it; --dry-run still prints it


def server_path(path: Path) -> str:
    """`path` as the server sees it: inside the sid root when the server runs chrooted (hard-linked there)."""
    prefix = server_prefix()
    if prefix[0] != "chroot":
        return str(path)
    root = sysroot().resolve()
    resolved = path.resolve()
    if resolved.is_relative_to(root):
        return "/" + str(resolved.relative_to(root))
    target = root / ROOT_MODELS / f"{resolved.parent.name}-{resolved.name}"
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        try:
            os.link(resolved, target)
        except OSError:
            shutil.copy2(resolved, target)
    return "/" + str(target.relative_to(root))


def server_command(profile: Profile, weights: str, host: str, port: int) -> list[str]:
    """llama-server's OpenAI-compatible server for this profile (tool calls parsed via --jinja)."""
    local = Path(weights)
    source = ["-m", server_path(local)] if local.suffix == ".gguf" else ["-hf", weights]
    cmd = [
        *server_prefix(), *source,
        "--alias", profile.model_name,
        "--host", host,
        "--port", str(port),
        "--ctx-size", str(profile.max_model_len * profile.kv_sequences),
        "--parallel", str(profile.max_num_seqs),
        "--kv-unified",
        "--jinja",
    ]  # fmt: skip
    if profile.device != "cpu":
        cmd += ["--n-gpu-layers", "999", "--flash-attn", "on"]
        if profile.cpu_moe_layers:
            cmd += ["--n-cpu-moe", str(profile.cpu_moe_layers)]
    return cmd


def export_gguf(checkpoint: Path, out: Path, outtype: str = "f32", chat_template: str | None = None) -> Path:
    """Convert a local HF checkpoint to GGUF with the converter of Debian's llama.cpp-tools (cached)."""
    if out.exists():
        return out
    root = sysroot()
    if not (root / CONVERTER).exists():
        raise LlamaCppMissing(f"llama.cpp's converter is missing from {root} (scripts/bootstrap backend)")
    source = checkpoint
    if chat_template is not None:  # the converter reads the template from the checkpoint's directory
        source = out.with_suffix(".src")
        shutil.copytree(checkpoint, source, dirs_exist_ok=True)
        (source / "chat_template.jinja").write_text(chat_template, encoding="utf-8")
    partial = out.with_suffix(".partial")
    subprocess.run(
        [sys.executable, str(Path(__file__).with_name("gguf_convert.py")), str(root), str(source),
         "--outfile", str(partial),
         "--outtype", outtype],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    partial.rename(out)
    if source != checkpoint:
        shutil.rmtree(source)
    return out
