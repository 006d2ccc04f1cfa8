"""Band search by bearing evidence with a bar set from healthy clips, on the TRAINING generator only (issue #15).

The follow-up that docs/vibration-baseline.md ("What is left") named as what would make band search safe:
demodulate the kurtogram's band and every band of widths Nyquist/2 and Nyquist/4 (half overlapping, at least
as wide as `identify` needs), keep the band with the strongest bearing evidence, and set the evidence bar from
the null: the largest best-band evidence over N healthy clips (`orders_dev.null_clip`) + 0.5 dB, per rate. The
evidence is the median of a candidate's clipped line strengths (`--stat median`) or their mean with each line
capped at 20 dB (`--stat cap`); with `--exclude-shaft` a line within the tolerance of an integer shaft order
(1x .. 24x) counts for no bearing (the healthy clips' best bands otherwise reach 49 dB: envelope lines of shaft
tones). Rules otherwise as `identify` (looseness first, 2 dB margin, shaft verdicts). Never on
node_factory.heldout. Compared with `identify` on the same clips.

Usage: python -m benchmarks.orders_bandsearch_dev [--stat median|cap] [--null 300] [--per-class 40]
       [--exclude-shaft]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter

import numpy as np
from numpy.typing import NDArray

from benchmarks import orders_dev as od
from node_factory.reference import orders as o
from node_factory.reference.orders import BearingGeometry

Ranked = list[tuple[str, float]]


def scores(env: o.Spectrum, fr: float, orders: dict[str, float], max_hz: float, stat: str, exclude: bool) -> Ranked:
    """`bearing_scores` with another statistic and, optionally, shaft orders excluded; ranked best first."""
    candidates = {
        "bearing_outer": [o._lines(orders["bpfo"] * fr, 0.0)],
        "bearing_inner": [o._lines(orders["bpfi"] * fr, fr)],
        "bearing_ball": [o._lines(k * orders["bsf"] * fr, orders["ftf"] * fr) for k in (1, 2)],
    }
    harmonics = {
        name: [h * k * orders[key] * fr for h in o.HARMONICS for k in ((1, 2) if key == "bsf" else (1,))]
        for name, key in (("bearing_outer", "bpfo"), ("bearing_inner", "bpfi"), ("bearing_ball", "bsf"))
    }
    result = {}
    for name, variants in candidates.items():
        others = [f for other, fs in harmonics.items() if other != name for f in fs]
        if exclude:
            others += [k * fr for k in range(1, 25)]
        best = 0.0
        for lines in variants:
            limit = max_hz / (1 + o.FLOOR_SPAN * o.TOLERANCE_PCT / 100)
            kept = [f for f in lines if f < limit and not o._near(f, others)]
            if kept:
                v = np.array([max(0.0, env.strength_db(f)) for f in kept])
                best = max(best, float(np.median(v) if stat == "median" else np.mean(np.minimum(v, 20.0))))
        result[name] = best
    return sorted(result.items(), key=lambda kv: kv[1], reverse=True)


def analyse(
    samples: NDArray[np.int16], sr: int, rpm: float, bearing: BearingGeometry, stat: str, exclude: bool
) -> tuple[str, Ranked]:
    """The shaft verdict and the ranked evidence of the band with the strongest bearing evidence."""
    fr, x, orders = rpm / 60, samples.astype(np.float64), bearing.orders()
    min_width, nyquist = 1.3 * (orders["bpfi"] + 1) * fr, sr / 2
    bands = [o.kurtogram_band(x, sr, min_width)]
    for level in (1, 2):
        width = nyquist / 2**level
        if width < min_width and level > 1:
            break
        bands += [(float(s), float(s + width)) for s in np.arange(0.0, nyquist - width + 1e-9, width / 2)]
    ranked = max(
        (scores(o.envelope_spectrum(x, sr, b), fr, orders, b[1] - b[0], stat, exclude) for b in bands),
        key=lambda r: r[0][1],
    )
    return o.shaft_fault(o.Spectrum.of(x, sr), fr)[0], ranked


def verdict(shaft: str, ranked: Ranked, bar: float) -> str:
    if shaft == "looseness":
        return shaft
    if ranked[0][1] >= bar and ranked[0][1] - ranked[1][1] >= o.BEARING_MARGIN_DB:
        return ranked[0][0]
    return shaft


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stat", choices=["median", "cap"], default="median")
    parser.add_argument("--null", type=int, default=300)
    parser.add_argument("--per-class", type=int, default=40)
    parser.add_argument("--exclude-shaft", action="store_true")
    args = parser.parse_args()
    for sr in (3200, 16000):
        n = sr * 4
        evidence = []
        for i in range(args.null):
            audio, rpm, geometry = od.null_clip(od.NULL_SEED + i, n, sr)
            evidence.append(analyse(audio, sr, rpm, geometry, args.stat, args.exclude_shaft)[1][0][1])
        null = np.array(evidence)
        bar = float(null.max()) + 0.5
        print(
            f"{sr} Hz healthy best-band evidence: median {np.median(null):.1f}, "
            f"max {null.max():.1f} dB -> bar {bar:.1f}"
        )
        for kind, modulation in (("train", "sine"), ("stress", "sine"), ("stress", "loadzone")):
            search: Counter[tuple[str, str]] = Counter()
            present: Counter[tuple[str, str]] = Counter()
            for ci, label in enumerate(o.FAULT_IDS):
                for i in range(args.per_class):
                    seed = od.DEV_SEED + ci * 100_000 + i
                    if kind == "train":
                        audio, rpm, geometry = od.train_clip(label, seed, n, sr)
                    else:
                        audio, rpm, geometry = od.stress_clip(label, seed, n, sr, modulation)
                    search[
                        (label, verdict(*analyse(audio, sr, rpm, geometry, args.stat, args.exclude_shaft), bar))
                    ] += 1
                    present[(label, o.identify(audio, sr, rpm, geometry).fault)] += 1
            for name, c in (("band search", search), ("identify", present)):
                accuracy = sum(v for (t, p), v in c.items() if t == p) / (args.per_class * len(o.FAULT_IDS))
                per = " ".join(f"{label}={c[(label, label)]}" for label in o.FAULT_IDS)
                print(f"  {kind} {modulation} {sr} Hz {name}: {accuracy:.3f} {per}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
