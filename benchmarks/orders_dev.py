"""Development loop for fault identification in shaft orders, on the TRAINING generator only (issue #15).

Never on node_factory.heldout: the held-out machines score the method once it is fixed
(benchmarks/vibration_baseline.py). Two sets, both from node_factory.corpus.synth_vibration:

- `train`: its own clips (`render`, 6205 geometry), the shaft speed read back from the clip's seed (the first
  draw of its generator), as a tachometer would give it;
- `stress`: the same building blocks (its impact model `_impacts`, its class recipes) made harder from
  textbook variation, not from the held-out generator: other bearings of the project's table, weaker
  faults, two resonances, ball faults at BSF or 2 x BSF, some 2x with imbalance, a tachometer off by up to
  0.5 %. `--modulation loadzone` modulates inner-race impacts by the load zone the defect turns through
  (once per revolution) and ball impacts by the zone the cage carries the ball through (Stribeck/Harris load
  distribution), instead of 1 + m sin: the impacts stop outside the zone and the lines spread over sidebands;
- `--null N`: N healthy clips (the training generator's healthy machines, 1x in noise, 1x with 2x-4x tones),
  counted by how many are called a bearing fault: the noise guard for any change to the rules.

`--first I` / `--null-first I` start the clips at index I of their seeds, so that a rule chosen on one range
of clips can be confirmed on a fresh one (docs/vibration-baseline.md).

`--captures K` asks what averaging K escalated captures of one anomaly would give (docs/vibration-baseline.md,
"What is left"): each clip is K times `--seconds` long, cut into K captures whose squared-envelope spectra are
averaged (power) in the two bands of the highest spectral kurtosis summed over the captures; the shaft rules
see the whole clip. `--bar DB` replaces the bearing evidence's bar (`BEARING_MIN_DB`) for the run: averaging
narrows the noise lines' spread, so the bar chosen for one capture is not the averaged spectrum's.

`--codec ima_adpcm` passes every clip through the node's capture encoder (node_factory.reference.ima_adpcm: whole
505-sample blocks at 4 bits a sample) before the analysis, as `capture_encoding: ima_adpcm` sends it.

Usage: python -m benchmarks.orders_dev [--set train|stress] [--per-class 20] [--rate 3200] [--seconds 4]
       [--modulation sine|loadzone] [--null 0] [--first 0] [--null-first 0] [--captures 1] [--bar DB]
       [--codec s16le|ima_adpcm]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter

import numpy as np
from numpy.typing import NDArray

from node_factory.corpus import synth_vibration as sv
from node_factory.reference import ima_adpcm, orders
from node_factory.reference.bearings import BEARINGS
from node_factory.reference.orders import FAULT_IDS, BearingGeometry, Demodulation, Envelope, Spectrum, identify

DEV_SEED = 8_000_000  # none of synth_vibration's split seeds (5, 6, 7 million)
NULL_SEED = 9_100_000


def train_clip(label: str, seed: int, n: int, sr: int) -> tuple[NDArray[np.int16], float, BearingGeometry]:
    audio = sv.render(label, np.random.default_rng(seed), n, sr)
    rpm = float(np.random.default_rng(seed).uniform(15, 60)) * 60  # render's first draw is the shaft rate
    return audio, rpm, BEARINGS["6205-2RS JEM"]


def load_zone(theta: NDArray[np.float64], extent: float) -> NDArray[np.float64]:
    """Stribeck/Harris load distribution of a radially loaded ball bearing, q/q_max = (1 - (1 - cos theta) /
    (2 extent))^1.5 inside the load zone, 0 outside (extent 0.5: a zone of +-90 degrees, zero clearance)."""
    return np.maximum(0.0, 1 - (1 - np.cos(theta)) / (2 * extent)) ** 1.5


def stress_clip(
    label: str, seed: int, n: int, sr: int, modulation: str = "sine"
) -> tuple[NDArray[np.int16], float, BearingGeometry]:
    rng = np.random.default_rng(seed)
    geometry = list(BEARINGS.values())[rng.integers(len(BEARINGS))]
    orders = geometry.orders()
    t = np.arange(n) / sr
    base = rng.uniform(15, 60)
    fr = base * (1 + 0.003 * np.sin(2 * np.pi * rng.uniform(0.1, 0.5) * t))
    phase = 2 * np.pi * np.cumsum(fr) / sr
    x = rng.uniform(0.1, 0.4) * np.sin(phase + rng.uniform(0, 6.3)) + rng.normal(0, 0.05, n)
    x += rng.uniform(0, 0.05) * np.sin(2 * phase + rng.uniform(0, 6.3))  # every machine has a little 2x
    resonances = rng.uniform(0.1, 0.45, 2) * sr
    level = rng.uniform(0.15, 1.0)

    def impacts(rate: float) -> NDArray[np.float64]:
        return sum(rng.uniform(0.3, 1.0) * sv._impacts(rng, t, rate, sr, f) for f in resonances)  # type: ignore[return-value]

    def modulation_at(angle: NDArray[np.float64]) -> NDArray[np.float64]:
        """The impacts' modulation as the defect (or the ball, with the cage) turns through `angle`."""
        if modulation == "loadzone":
            return load_zone(angle + rng.uniform(0, 6.3), rng.uniform(0.25, 0.8))
        return 1 + rng.uniform(0.3, 0.9) * np.sin(angle)

    if label == "imbalance":
        a1 = rng.uniform(0.6, 1.5)
        x += a1 * np.sin(phase) + a1 * rng.uniform(0, 0.15) * np.sin(2 * phase + rng.uniform(0, 6.3))
    elif label == "misalignment":
        a1 = rng.uniform(0.3, 0.8)
        x += a1 * np.sin(phase) + a1 * rng.uniform(0.8, 2.0) * np.sin(2 * phase + rng.uniform(0, 6.3))
        x += a1 * rng.uniform(0.1, 0.6) * np.sin(3 * phase + rng.uniform(0, 6.3))
    elif label == "looseness":
        for h in range(1, 11):
            x += rng.uniform(0.05, 0.4) / h**0.5 * np.sin(h * phase + rng.uniform(0, 6.3))
        x += rng.uniform(0.05, 0.3) * np.sin(0.5 * phase)
        x = np.clip(x, -rng.uniform(0.5, 1.0), None)
    elif label == "bearing_outer":
        x += level * impacts(orders["bpfo"] * base)
    elif label == "bearing_inner":  # the defect turns with the shaft
        x += level * modulation_at(phase) * impacts(orders["bpfi"] * base)
    elif label == "bearing_ball":  # the ball travels with the cage
        x += level * modulation_at(orders["ftf"] * phase) * impacts(rng.choice([1, 2]) * orders["bsf"] * base)
    x += rng.normal(0, rng.uniform(0.02, 0.2), n)
    x = x / (np.max(np.abs(x)) + 1e-12) * 10 ** (rng.uniform(-20, -2) / 20)
    rpm = base * 60 * (1 + rng.uniform(-0.005, 0.005))
    return np.clip(np.round(x * 32767), -32768, 32767).astype(np.int16), rpm, geometry


def null_clip(seed: int, n: int, sr: int) -> tuple[NDArray[np.int16], float, BearingGeometry]:
    """A healthy clip (no bearing fault) of one of three kinds by seed: a training-generator machine at a speed
    within +-15 % of nominal, 1x in broadband noise, or 1x with 2x-4x tones in noise."""
    rng = np.random.default_rng(seed)
    geometry = list(BEARINGS.values())[rng.integers(len(BEARINGS))]
    if seed % 3 == 0:
        machine = sv.draw_machine(rng, sr)
        rpm = machine.rpm_nominal * rng.uniform(0.85, 1.15)
        return sv.render("healthy", rng, n, sr, machine=machine, rpm=rpm), rpm, geometry
    rpm = float(rng.uniform(900, 3600))
    t = np.arange(n) / sr
    x = rng.uniform(500, 3000) * np.sin(2 * np.pi * rpm / 60 * t) + rng.normal(0, rng.uniform(50, 500), n)
    if seed % 3 == 2:
        for h in (2, 3, 4):
            x += rng.uniform(0, 1500) * np.sin(2 * np.pi * h * rpm / 60 * t + rng.uniform(0, 6.3))
    return np.clip(x, -32768, 32767).astype(np.int16), rpm, geometry


def averaged_envelopes(captures: int) -> Demodulation:
    """A demodulation for `identify` that cuts the signal into `captures` equal captures and averages their
    squared-envelope spectra (power) in the KURTOGRAM_BANDS bands of the highest spectral kurtosis summed over
    the captures."""

    def demodulate(x: NDArray[np.float64], sample_rate: float, min_width_hz: float) -> list[Envelope]:
        parts = np.array_split(x, captures)
        parts = [part[: min(len(q) for q in parts)] for part in parts]
        tree = orders.kurtogram_tree(sample_rate, min_width_hz)
        kurtosis = np.zeros(len(tree))
        for part in parts:
            spectrum = np.fft.rfft(part - part.mean())
            kurtosis += [orders.spectral_kurtosis(spectrum, sample_rate / len(part), band) for band in tree]
        ranked = sorted(range(len(tree)), key=lambda i: -kurtosis[i])  # stable: ties keep the tree's order
        bands = [tree[i] for i in ranked[: orders.KURTOGRAM_BANDS]]
        envelopes = []
        for band in bands:
            spectra = [orders.envelope_spectrum(part, sample_rate, band) for part in parts]
            power = np.mean([spectrum.amplitude**2 for spectrum in spectra], axis=0)
            envelopes.append((Spectrum(np.sqrt(power), spectra[0].df), band))
        return envelopes

    return demodulate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=["train", "stress"], default="train")
    parser.add_argument("--per-class", type=int, default=20)
    parser.add_argument("--rate", type=int, default=3200)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument(
        "--modulation",
        choices=["sine", "loadzone"],
        default="sine",
        help="stress set: how inner-race and ball impacts are modulated (sine: 1 + m sin; loadzone: the load zone)",
    )
    parser.add_argument("--null", type=int, default=0, help="also count bearing calls on this many healthy clips")
    parser.add_argument("--first", type=int, default=0, help="index of each class's first clip")
    parser.add_argument("--null-first", type=int, default=0, help="index of the first healthy clip")
    parser.add_argument("--captures", type=int, default=1, help="average the envelope spectra of this many captures")
    parser.add_argument("--bar", type=float, help="the bearing evidence's bar in dB (default: BEARING_MIN_DB)")
    parser.add_argument("--codec", choices=["s16le", "ima_adpcm"], default="s16le", help="how the capture is sent")
    args = parser.parse_args()
    if args.captures < 1:
        parser.error("--captures must be at least 1")
    if args.bar is not None:
        orders.BEARING_MIN_DB = args.bar
    demodulation = orders.kurtogram_envelopes if args.captures == 1 else averaged_envelopes(args.captures)

    def make(label: str, seed: int, n: int, sr: int) -> tuple[NDArray[np.int16], float, BearingGeometry]:
        audio, rpm, geometry = (
            train_clip(label, seed, n, sr) if args.set == "train" else stress_clip(label, seed, n, sr, args.modulation)
        )
        return sent(audio), rpm, geometry

    def sent(audio: NDArray[np.int16]) -> NDArray[np.int16]:
        return audio if args.codec == "s16le" else ima_adpcm.decode(ima_adpcm.encode(audio))

    n = round(args.rate * args.seconds) * args.captures
    confusion: Counter[tuple[str, str]] = Counter()
    for ci, label in enumerate(FAULT_IDS):
        for i in range(args.first, args.first + args.per_class):
            audio, rpm, geometry = make(label, DEV_SEED + ci * 100_000 + i, n, args.rate)
            confusion[(label, identify(audio, args.rate, rpm, geometry, demodulation).fault)] += 1
    correct = sum(v for (t, p), v in confusion.items() if t == p)
    name = f"{args.set} {args.modulation}" if args.set == "stress" else args.set
    accuracy = correct / (len(FAULT_IDS) * args.per_class)
    captures = f" x {args.captures} captures averaged" if args.captures > 1 else ""
    bar = f", bar {orders.BEARING_MIN_DB:g} dB" if args.bar is not None else ""
    codec = f", {args.codec}" if args.codec != "s16le" else ""
    print(f"{name} {args.rate} Hz {args.seconds:g} s{captures}{bar}{codec}: accuracy {accuracy:.3f}")
    for label in FAULT_IDS:
        wrong = ", ".join(f"{p} {v}" for (t, p), v in sorted(confusion.items()) if t == label and p != label)
        print(f"  {label}: {confusion[(label, label)] / args.per_class:.2f}" + (f" (wrong: {wrong})" if wrong else ""))
    if args.null:
        calls: Counter[str] = Counter()
        for i in range(args.null_first, args.null_first + args.null):
            audio, rpm, geometry = null_clip(NULL_SEED + i, n, args.rate)
            calls[identify(sent(audio), args.rate, rpm, geometry, demodulation).fault] += 1
        bearing = sum(v for fault, v in calls.items() if fault.startswith("bearing"))
        print(f"  healthy clips called a bearing fault: {bearing} of {args.null} ({dict(sorted(calls.items()))})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
