"""A realistic home-sound corpus made here, since no data set can be downloaded at run time.

What is synthetic (all of it except the speech, which is real synthesized speech from espeak-ng, GPL-3
*program* output, i.e. no third-party recording is redistributed):
- smoke_alarm: the temporal-three (T3) pattern of ISO 8201 / NFPA 72 — 0.5 s on, 0.5 s off, three times,
  then 1.5 s off — on a 3.0–3.5 kHz piezo tone with slight amplitude ripple.
- co_alarm: the temporal-four (T4) pattern — four 0.1 s pulses 0.1 s apart, then 5 s off — same tones.
- appliance_beep: 1–3 beeps of 0.08–0.35 s at 1–4.5 kHz (sine or band-limited square).
- doorbell: two decaying bell tones with inharmonic partials ("ding-dong"), 0.25–0.6 s apart.
- knock: 2–5 decaying low-frequency resonant impulses 0.12–0.3 s apart.
- water_running: band-passed noise with random amplitude modulation (bubbling).
- speech_tv: espeak-ng speech (several voices, speeds, pitches), optionally band-limited like a TV speaker.
- background: pink noise, mains hum with harmonics, occasional faint clicks.
Every clip is played in a room: a room impulse response from pyroomacoustics' image-source method for a
shoebox room (3–8 m × 2.5–6 m × 2.4–3.2 m, RT60 0.15–0.7 s via Sabine's formula, random source and
microphone positions), drawn from a bank of rooms per split. Then background noise at a random SNR
(0–30 dB) and a random level. Splits come from disjoint seed ranges, disjoint rooms and disjoint
sentences for speech, so no near-copy of a test clip is in training.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy.io import wavfile
from scipy.signal import butter, fftconvolve, resample_poly, sosfilt

SR = 16000
SOUND_CLASSES = (
    "background",
    "smoke_alarm",
    "co_alarm",
    "appliance_beep",
    "doorbell",
    "knock",
    "water_running",
    "speech_tv",
)
Float = NDArray[np.float64]


def _t(n: int) -> Float:
    return np.arange(n) / SR


def pink_noise(rng: np.random.Generator, n: int) -> Float:
    spectrum = np.fft.rfft(rng.normal(size=n))
    freqs = np.fft.rfftfreq(n, 1 / SR)
    spectrum /= np.sqrt(np.maximum(freqs, 20.0))
    x = np.fft.irfft(spectrum, n)
    return x / (np.std(x) + 1e-12)


def background(rng: np.random.Generator, n: int) -> Float:
    x = pink_noise(rng, n) * rng.uniform(0.2, 1.0)
    mains = rng.choice([50.0, 60.0])
    for h in range(1, 5):
        x += rng.uniform(0, 0.3) / h * np.sin(2 * np.pi * mains * h * _t(n) + rng.uniform(0, 6.28))
    for _ in range(rng.integers(0, 3)):
        at = rng.integers(0, n - 200)
        x[at : at + 200] += rng.normal(0, rng.uniform(0.5, 2), 200) * np.exp(-np.arange(200) / 30)
    return x


def _pattern(
    rng: np.random.Generator, n: int, on_off: list[tuple[float, float]], cycle_s: float, audible_s: float
) -> Float:
    """A temporal alarm pattern on a piezo tone; the window starts somewhere in the audible part."""
    f = rng.uniform(3000, 3500)
    total = int((cycle_s + 2) * SR)
    gate = np.zeros(total)
    pos = 0.0
    for on, off in on_off:
        gate[int(pos * SR) : int((pos + on) * SR)] = 1.0
        pos += on + off
    start = int(rng.uniform(0, audible_s) * SR)
    g = gate[start : start + n]
    ramp = np.convolve(g, np.ones(40) / 40, mode="same")  # 2.5 ms attack/release
    tone = np.sin(2 * np.pi * f * _t(n)) * (1 + 0.05 * np.sin(2 * np.pi * rng.uniform(5, 30) * _t(n)))
    return tone * ramp


def smoke_alarm(rng: np.random.Generator, n: int) -> Float:
    return _pattern(rng, n, [(0.5, 0.5), (0.5, 0.5), (0.5, 1.5)], 4.0, 2.3)


def co_alarm(rng: np.random.Generator, n: int) -> Float:
    return _pattern(rng, n, [(0.1, 0.1)] * 4, 5.8, 0.6)


def appliance_beep(rng: np.random.Generator, n: int) -> Float:
    x = np.zeros(n)
    f = rng.uniform(1000, 4500)
    pos = int(rng.integers(0, n // 3))
    for _ in range(rng.integers(1, 4)):
        length = int(rng.uniform(0.08, 0.35) * SR)
        seg = _t(int(min(length, n - pos)))
        if len(seg) == 0:
            break
        wave = np.sin(2 * np.pi * f * seg)
        if rng.random() < 0.5:  # square-ish buzzer
            wave = np.tanh(4 * wave)
        x[pos : pos + len(seg)] += wave
        pos += len(seg) + int(rng.uniform(0.05, 0.25) * SR)
        if pos >= n:
            break
    return x


def doorbell(rng: np.random.Generator, n: int) -> Float:
    x = np.zeros(n)
    f1 = rng.uniform(500, 900)
    f2 = f1 * rng.choice([0.8, 0.75, 0.84])
    pos = int(rng.integers(0, n // 4))
    for f in (f1, f2):
        seg = _t(int(n - pos))
        decay = np.exp(-seg / rng.uniform(0.2, 0.6))
        partials = sum(a * np.sin(2 * np.pi * f * r * seg) for r, a in ((1, 1.0), (2.76, 0.4), (5.4, 0.2)))
        x[pos:] += partials * decay
        pos += int(rng.uniform(0.25, 0.6) * SR)
        if pos >= n:
            break
    return x


def knock(rng: np.random.Generator, n: int) -> Float:
    x = np.zeros(n)
    pos = int(rng.integers(0, n // 4))
    f = rng.uniform(100, 800)
    for _ in range(rng.integers(2, 6)):
        length = int(min(int(0.08 * SR), n - pos))
        if length <= 0:
            break
        seg = _t(length)
        x[pos : pos + length] += np.sin(2 * np.pi * f * seg) * np.exp(-seg / rng.uniform(0.01, 0.03))
        x[pos : pos + length] += rng.normal(0, 0.3, length) * np.exp(-seg / 0.004)
        pos += int(rng.uniform(0.12, 0.3) * SR)
        if pos >= n:
            break
    return x


def water_running(rng: np.random.Generator, n: int) -> Float:
    low, high = rng.uniform(300, 900), rng.uniform(3000, 7000)
    x = sosfilt(butter(4, [low, high], btype="band", fs=SR, output="sos"), rng.normal(size=n))
    mod = 1 + 0.5 * sosfilt(butter(2, 30, fs=SR, output="sos"), rng.normal(size=n)) * 10
    return x * np.clip(mod, 0.2, 3)


SENTENCES = [
    "Good evening, here are tonight's headlines from around the world.",
    "The weather tomorrow will be cloudy with a chance of rain in the afternoon.",
    "And now, back to our regular programming after these messages.",
    "Scientists have discovered a new species of frog in the rainforest.",
    "Could you pass me the salt, please? Thank you very much.",
    "The match ended in a draw after extra time and penalties.",
    "In other news, the city council approved the new budget today.",
    "Let me tell you a story about a little house by the sea.",
    "The quarterly results exceeded the expectations of most analysts.",
    "Traffic on the highway is heavy this morning due to an accident.",
    "Welcome back to the show, our next guest needs no introduction.",
    "Remember to water the plants before you leave for the weekend.",
]
VOICES = ["en", "en-us", "en-gb", "en-sc", "en-gb-x-rp"]


def speech_clips(cache: Path, sentence_ids: list[int]) -> list[Float]:
    """Real synthesized speech (espeak-ng), cached as WAV; one clip per (sentence, voice variant)."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise RuntimeError("espeak-ng is not installed (scripts/bootstrap backend installs it)")
    cache.mkdir(parents=True, exist_ok=True)
    clips = []
    for sid in sentence_ids:
        for vi, voice in enumerate(VOICES):
            path = cache / f"s{sid:02d}_v{vi}.wav"
            if not path.exists():
                speed, pitch = 140 + 15 * vi, 30 + 10 * vi
                with tempfile.NamedTemporaryFile(dir=cache, suffix=".wav", delete=False) as tmp:
                    subprocess.run(
                        [espeak, "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", tmp.name, SENTENCES[sid]],
                        check=True,
                        capture_output=True,
                    )
                Path(tmp.name).replace(path)
            rate, data = wavfile.read(path)
            audio = data.astype(np.float64) / 32768.0
            if rate != SR:
                audio = resample_poly(audio, SR, rate)
            clips.append(audio)
    return clips


def speech_tv(rng: np.random.Generator, n: int, clips: list[Float]) -> Float:
    clip = clips[rng.integers(len(clips))]
    if len(clip) < n:
        clip = np.concatenate([clip, np.zeros(n - len(clip) + 1)])
    start = rng.integers(0, max(1, len(clip) - n))
    x = clip[start : start + n].copy()
    if rng.random() < 0.5:  # small TV speaker
        x = sosfilt(butter(2, [200, 5000], btype="band", fs=SR, output="sos"), x)
    if np.std(x) < 1e-3:  # silent gap between words: take the loudest part instead
        x = clip[:n] if len(clip) >= n else x
    return x


ROOMS_PER_SPLIT = 24
MAX_IMAGE_ORDER = 40  # enough for RT60 0.7 s in these rooms; higher orders add nothing audible here


def room_impulse_responses(seed: int, count: int = ROOMS_PER_SPLIT) -> list[Float]:
    """Shoebox rooms with pyroomacoustics' image-source method (absorption from Sabine's formula)."""
    import pyroomacoustics as pra

    rng = np.random.default_rng(seed)
    irs = []
    for _ in range(count):
        dims = np.array([rng.uniform(3, 8), rng.uniform(2.5, 6), rng.uniform(2.4, 3.2)])
        rt60 = rng.uniform(0.15, 0.7)
        absorption, max_order = pra.inverse_sabine(rt60, dims)
        shoebox = pra.ShoeBox(
            dims, fs=SR, materials=pra.Material(absorption), max_order=min(max_order, MAX_IMAGE_ORDER)
        )
        shoebox.add_source(rng.uniform(0.3, dims - 0.3))
        shoebox.add_microphone(rng.uniform(0.3, dims - 0.3))
        shoebox.compute_rir()
        ir = np.asarray(shoebox.rir[0][0], dtype=np.float64)
        irs.append(ir / (np.max(np.abs(ir)) + 1e-12))
    return irs


def room(rng: np.random.Generator, x: Float, irs: list[Float]) -> Float:
    wet = fftconvolve(x, irs[rng.integers(len(irs))])[: len(x)]
    return wet / (np.max(np.abs(wet)) + 1e-12)


def render(label: str, rng: np.random.Generator, n: int, speech: list[Float], irs: list[Float]) -> NDArray[np.int16]:
    """One int16 window of class `label`: source, room, background at a random SNR, random level."""
    noise = background(rng, n)
    if label == "background":
        x = noise
    else:
        source: Callable[..., Float] = globals()[label]
        raw = speech_tv(rng, n, speech) if label == "speech_tv" else source(rng, n)
        x = room(rng, raw, irs)
        snr_db = rng.uniform(0, 30)
        noise *= np.sqrt(np.mean(x**2) + 1e-12) / (np.sqrt(np.mean(noise**2)) + 1e-12) / 10 ** (snr_db / 20)
        x = x + noise
    level = 10 ** (rng.uniform(-40, -3) / 20)
    x = x / (np.max(np.abs(x)) + 1e-12) * level
    return np.clip(np.round(x * 32767), -32768, 32767).astype(np.int16)


SPLIT_SEEDS = {"train": 0, "val": 1_000_000, "test": 2_000_000}
ROOM_SEEDS = {"train": 11, "val": 12, "test": 13}
SPEECH_SPLIT = {"train": list(range(0, 8)), "val": [8, 9], "test": [10, 11]}


def build_split(split: str, per_class: int, n: int, cache: Path) -> tuple[NDArray[np.int16], NDArray[np.int64]]:
    """Windows and labels of one split; deterministic (seeded per class and index)."""
    speech = speech_clips(cache / "speech", SPEECH_SPLIT[split])
    irs = room_impulse_responses(ROOM_SEEDS[split])
    windows, labels = [], []
    for ci, label in enumerate(SOUND_CLASSES):
        for i in range(per_class):
            seed = SPLIT_SEEDS[split] + ci * 100_000 + i
            windows.append(render(label, np.random.default_rng(seed), n, speech, irs))
            labels.append(ci)
    return np.stack(windows), np.asarray(labels)


def corpus_key(per_class: dict[str, int], n: int) -> str:
    key = (sorted(per_class.items()), n, SOUND_CLASSES, SENTENCES, "v2-pyroomacoustics")
    return hashlib.sha256(repr(key).encode()).hexdigest()[:12]
