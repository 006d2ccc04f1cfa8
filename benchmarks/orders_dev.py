"""Development loop for fault identification in shaft orders, on the TRAINING generator only (issue #15).

Never on node_factory.heldout: the held-out machines score the method once it is fixed
(benchmarks/vibration_baseline.py). Two sets, both from node_factory.corpus.synth_vibration:

- `train`: its own clips (`render`, 6205 geometry), the shaft speed read back from the clip's seed (the first
  draw of its generator), as a tachometer would give it;
- `stress`: the same building blocks (its impact model `_impacts`, its class recipes) made harder from
  textbook variation, not from the held-out generator: other bearings of the project's table, weaker
  faults, two resonances, ball faults at BSF or 2 x BSF, some 2x with imbalance, a tachometer off by up to
  0.5 %.

Usage: python -m benchmarks.orders_dev [--set train|stress] [--per-class 20] [--rate 3200] [--seconds 4]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter

import numpy as np
from numpy.typing import NDArray

from node_factory.corpus import synth_vibration as sv
from node_factory.reference.bearings import BEARINGS
from node_factory.reference.orders import FAULT_IDS, BearingGeometry, identify

DEV_SEED = 8_000_000  # none of synth_vibration's split seeds (5, 6, 7 million)


def train_clip(label: str, seed: int, n: int, sr: int) -> tuple[NDArray[np.int16], float, BearingGeometry]:
    audio = sv.render(label, np.random.default_rng(seed), n, sr)
    rpm = float(np.random.default_rng(seed).uniform(15, 60)) * 60  # render's first draw is the shaft rate
    return audio, rpm, BEARINGS["6205-2RS JEM"]


def stress_clip(label: str, seed: int, n: int, sr: int) -> tuple[NDArray[np.int16], float, BearingGeometry]:
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
    elif label == "bearing_inner":
        x += level * (1 + rng.uniform(0.3, 0.9) * np.sin(phase)) * impacts(orders["bpfi"] * base)
    elif label == "bearing_ball":
        am = 1 + rng.uniform(0.3, 0.9) * np.sin(orders["ftf"] * phase)
        x += level * am * impacts(rng.choice([1, 2]) * orders["bsf"] * base)
    x += rng.normal(0, rng.uniform(0.02, 0.2), n)
    x = x / (np.max(np.abs(x)) + 1e-12) * 10 ** (rng.uniform(-20, -2) / 20)
    rpm = base * 60 * (1 + rng.uniform(-0.005, 0.005))
    return np.clip(np.round(x * 32767), -32768, 32767).astype(np.int16), rpm, geometry


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=["train", "stress"], default="train")
    parser.add_argument("--per-class", type=int, default=20)
    parser.add_argument("--rate", type=int, default=3200)
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    make = train_clip if args.set == "train" else stress_clip
    n = round(args.rate * args.seconds)
    confusion: Counter[tuple[str, str]] = Counter()
    for ci, label in enumerate(FAULT_IDS):
        for i in range(args.per_class):
            audio, rpm, geometry = make(label, DEV_SEED + ci * 100_000 + i, n, args.rate)
            confusion[(label, identify(audio, args.rate, rpm, geometry).fault)] += 1
    correct = sum(v for (t, p), v in confusion.items() if t == p)
    print(f"{args.set} {args.rate} Hz {args.seconds:g} s: accuracy {correct / (len(FAULT_IDS) * args.per_class):.3f}")
    for label in FAULT_IDS:
        wrong = ", ".join(f"{p} {v}" for (t, p), v in sorted(confusion.items()) if t == label and p != label)
        print(f"  {label}: {confusion[(label, label)] / args.per_class:.2f}" + (f" (wrong: {wrong})" if wrong else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
