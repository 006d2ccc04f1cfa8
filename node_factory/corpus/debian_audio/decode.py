"""Decoding one packaged sound file to 16 kHz mono int16 WAV (sox; ffmpeg for what sox cannot read)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
from scipy.io import wavfile

SR = 16000
MIN_SECONDS = 0.5
SILENT_PEAK = 10  # int16 counts, about -70 dBFS: digital silence or near it
# Debian's sox has no Opus reader, and raw G.722 (Asterisk's .g722) is ffmpeg-only.
FFMPEG_SUFFIXES = frozenset({".opus", ".g722"})
AUDIO_SUFFIXES = frozenset({".ogg", ".oga", ".wav", ".flac", ".mp3", ".gsm", ".opus", ".g722"})
DECODER_VERSION = "sox-D-G/ffmpeg pcm_s16le 16k mono v1"  # part of every cache key: change it to re-decode


class Unusable(Exception):
    """This file gives no usable audio; the message says why (it is logged and the file skipped).

    broken: the decoder failed or wrote something wrong (as opposed to a clip that is merely short or silent).
    """

    def __init__(self, reason: str, *, broken: bool = False) -> None:
        super().__init__(reason)
        self.broken = broken


def tool_for(src: Path) -> str:
    return "ffmpeg" if src.suffix.lower() in FFMPEG_SUFFIXES else "sox"


def missing_tools(suffixes: set[str]) -> list[str]:
    """Decoders this set of file suffixes needs that are not on PATH, as Debian package names."""
    need = {"ffmpeg" if s in FFMPEG_SUFFIXES else "sox" for s in suffixes}
    return sorted("sox libsox-fmt-all" if t == "sox" else t for t in need if shutil.which(t) is None)


def command(src: Path, dst: Path) -> list[str]:
    if tool_for(src) == "ffmpeg":
        raw = ["-f", "g722"] if src.suffix.lower() == ".g722" else []
        return [
            "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *raw, "-i", str(src),
            "-ac", "1", "-ar", str(SR), "-c:a", "pcm_s16le", "-f", "wav", str(dst),
        ]  # fmt: skip
    # -D: no dither, so a re-run writes the same bytes; -G: lower the gain only where mixing would clip.
    out = ["-t", "wav", "-e", "signed-integer", "-b", "16", "-c", "1", "-r", str(SR)]
    return ["sox", "-D", "-G", str(src), *out, str(dst)]


def decode(src: Path, dst: Path, min_seconds: float = MIN_SECONDS) -> float:
    """Write src as 16 kHz mono int16 WAV at dst (via a temporary file) and return its length in seconds."""
    part = dst.with_name(dst.name + ".part")
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(command(src, part), capture_output=True, text=True, check=False)
        if done.returncode != 0 or not part.exists():
            tail = " | ".join(done.stderr.strip().splitlines()[-2:])
            raise Unusable(f"{tool_for(src)} failed (exit {done.returncode}): {tail}", broken=True)
        seconds = check(part, min_seconds)
        part.replace(dst)
        return seconds
    finally:
        part.unlink(missing_ok=True)


def check(path: Path, min_seconds: float = MIN_SECONDS) -> float:
    """The decoded file's length, or Unusable when it is too short, silent or not what we asked for."""
    try:
        rate, data = wavfile.read(path)
    except ValueError as exc:
        raise Unusable(f"unreadable output: {exc}", broken=True) from exc
    if rate != SR or data.dtype != np.int16 or data.ndim != 1:
        raise Unusable(f"decoder wrote {rate} Hz {data.dtype} with shape {data.shape}", broken=True)
    seconds = len(data) / SR
    if seconds < min_seconds:
        raise Unusable(f"too short ({seconds:.2f} s < {min_seconds} s)")
    if int(np.abs(data.astype(np.int32)).max()) < SILENT_PEAK:
        raise Unusable("silent (peak below -70 dBFS)")
    return seconds
