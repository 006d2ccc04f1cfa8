"""Development loop (TRAINING generator only, issue #15): would the baseline's per-band deviations, sent with an
anomaly's escalation, help the GPU tier name the fault? Tried 2026-12-05, not adopted (docs/vibration-baseline.md,
"Fault identification in shaft orders", the sixth look).

The idea: `identify` falls back to a shaft verdict (imbalance, misalignment) when no bearing candidate reaches its
bar, so a weak bearing fault is called imbalance. The node's anomaly score already knows which bands left the
baseline: a shaft fault moves the lowest spectrum band (1x-3x), a bearing fault the resonances' and the envelope's
bands. With those deviations an escalation could say "not the shaft", and the best bearing candidate could be named
at a lower bar. No reference capture is needed (the fifth look's healthy twin).

Each dev machine is `baseline_dev`'s (`synth_vibration.draw_machine`, index `--first-machine` on): a 10-minute
baseline of healthy running with speed ramps and load drift (the weak-fault settings of `baseline_dev`), then per
class `--per-class` captures of `--seconds` at a speed inside the baseline's range, the faults at a severity drawn
log-uniformly from 0.05-1 of the training recipes (`--modulation loadzone`: inner-race and ball impacts through
the load zone, as `orders_dev --modulation loadzone`). For each capture: the baseline's score and per-band deviation
z of its last window (the node's own features), and `identify` on the whole capture (speed and bearing known).
Only captures whose window scores over the baseline's threshold count (the node escalates those); healthy captures
count whatever they score (a false anomaly's capture).

Rule "not the shaft (Z, B)": a shaft verdict other than looseness becomes the best bearing candidate when the
lowest spectrum band deviates under Z standard deviations, another band at least 3, and the candidate's evidence
reaches B dB, 1 dB clear of the next.

Usage: python -m benchmarks.orders_deviation_dev [--family vibration] [--machines 16] [--first-machine 0]
       [--per-class 6] [--seconds 8] [--modulation sine|loadzone]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from benchmarks import baseline_dev
from benchmarks.orders_dev import load_zone
from node_factory.corpus import synth_vibration as sv
from node_factory.corpus.families import FAMILIES, Family
from node_factory.reference import orders
from node_factory.reference.baseline import SCALE_SHIFT, Baseline, BaselineLearner, digest8, signature
from node_factory.reference.bearings import BEARINGS
from node_factory.reference.features import frame_features

CAPTURE_SEED = 77_000_000  # none of the other dev loops' seeds
RULES = ((2.0, 8.0), (2.0, 9.0), (2.0, 10.0), (3.0, 9.0))


@dataclass(frozen=True)
class Capture:
    label: str
    flagged: bool  # its last window scores over the baseline's threshold
    z: tuple[float, ...]  # per band: (signature - mean) / sd under the baseline
    fault: str  # identify's verdict
    evidence: dict[str, float]  # the bearing candidates' evidence (dB) in identify's chosen band


def fault_capture(
    label: str, rng: np.random.Generator, n: int, sr: int, machine: sv.Machine, rpm: float, modulation: str
) -> NDArray[np.int16]:
    severity = float(np.exp(rng.uniform(np.log(0.05), 0.0))) if label != "healthy" else 1.0
    load = float(10 ** (rng.normal(0.0, 1.0) / 20))
    if modulation == "sine" or label not in ("bearing_inner", "bearing_ball"):
        return sv.render(label, rng, n, sr, machine, rpm, load, None, severity)
    x = sv.render("healthy", rng, n, sr, machine, rpm, load).astype(np.float64)
    t = np.arange(n) / sr
    o, fr = sv.fault_orders(), rpm / 60
    phase = 2 * np.pi * fr * t
    resonance = float(rng.choice(machine.resonances))
    turn, rate = (phase, o["bpfi"]) if label == "bearing_inner" else (o["ftf"] * phase, 2 * o["bsf"])
    zone = load_zone(turn + rng.uniform(0, 6.3), rng.uniform(0.25, 0.8))
    impacts = severity * rng.uniform(0.5, 1.5) * zone * sv._impacts(rng, t, rate * fr, sr, resonance)
    x += machine.response(impacts, sr) * machine.gain * 32767
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def machine_captures(family: Family, index: int, per_class: int, seconds: float, modulation: str) -> list[Capture]:
    cfg = family.features
    windows = baseline_dev.machine_windows(family, index, 600, 0.0, 0.0, 0.15, (0.05, 1.0), (2.0, 30.0))
    machine = sv.draw_machine(np.random.default_rng(baseline_dev.DEV_SEED + index), cfg.sample_rate)
    learner = BaselineLearner(cfg.bands, len(windows), digest8(cfg.digest()))
    for w in windows:
        learner.push(w.sig)
    baseline: Baseline = learner.result()
    lo, hi = min(w.span[0] for w in windows), max(w.span[1] for w in windows)
    rng = np.random.default_rng(CAPTURE_SEED + index)
    n = round(seconds * cfg.sample_rate)
    m, geometry = baseline.model, BEARINGS["6205-2RS JEM"]  # the training generator's bearing
    out = []
    for label in sv.VIBRATION_CLASSES:
        for _ in range(per_class):
            rpm = float(rng.uniform(lo, hi))
            x = fault_capture(label, rng, n, cfg.sample_rate, machine, rpm, modulation)
            sig = signature(frame_features(x[-cfg.window_samples :].reshape(cfg.frames, cfg.frame), cfg))
            z = tuple((((int(v) - m.mean[b]) * m.scale[b]) >> SCALE_SHIFT) / 65536 for b, v in enumerate(sig.tolist()))
            fault = orders.identify(x, cfg.sample_rate, rpm, geometry).fault
            _, evidence = orders.bearing_evidence(x.astype(np.float64), cfg.sample_rate, rpm / 60, geometry.orders())
            flagged = baseline.score(sig) > baseline.threshold
            out.append(Capture(label, flagged, z, fault, evidence))
    return out


def not_the_shaft(c: Capture, shaft_z: float, bar_db: float) -> str:
    if c.fault not in ("imbalance", "misalignment") or c.z[0] >= shaft_z or max(c.z[1:]) < 3.0:
        return c.fault
    ranked = sorted(c.evidence, key=lambda k: -c.evidence[k])
    best, second = c.evidence[ranked[0]], c.evidence[ranked[1]]
    return ranked[0] if best >= bar_db and best - second >= orders.BEARING_MARGIN_DB else c.fault


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", choices=["vibration", "vibration_adc"], default="vibration")
    parser.add_argument("--machines", type=int, default=16)
    parser.add_argument("--first-machine", type=int, default=0)
    parser.add_argument("--per-class", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--modulation", choices=["sine", "loadzone"], default="sine")
    args = parser.parse_args()
    family = FAMILIES[args.family]
    captures = []
    for index in range(args.first_machine, args.first_machine + args.machines):
        captures += machine_captures(family, index, args.per_class, args.seconds, args.modulation)
        print(f"machine {index} done", file=sys.stderr, flush=True)
    faults = [c for c in captures if c.flagged and c.label != "healthy"]
    healthy = [c for c in captures if c.label == "healthy"]
    flagged = Counter(c.label for c in faults)
    print(
        f"{args.family}, machines {args.first_machine}-{args.first_machine + args.machines - 1}, {args.seconds:g} s "
        f"captures, {args.modulation}: flagged fault captures {len(faults)} of "
        f"{sum(c.label != 'healthy' for c in captures)} ({dict(sorted(flagged.items()))})"
    )
    rules = [("identify (today)", lambda c: c.fault)] + [
        (f"not the shaft (z < {zs:g}, {bar:g} dB)", lambda c, zs=zs, bar=bar: not_the_shaft(c, zs, bar))
        for zs, bar in RULES
    ]
    every = [c for c in captures if c.label != "healthy"]
    print(
        f"  identify (today) on every fault capture, flagged or not: accuracy "
        f"{sum(c.fault == c.label for c in every) / len(every):.3f}"
    )
    for name, rule in rules:
        right = Counter(c.label for c in faults if rule(c) == c.label)
        per_class = ", ".join(f"{k} {right[k]}/{flagged[k]}" for k in sorted(flagged))
        bearing = sum(rule(c).startswith("bearing") for c in healthy)
        print(
            f"  {name}: accuracy {sum(right.values()) / len(faults):.3f} ({per_class}); "
            f"healthy captures called a bearing fault {bearing} of {len(healthy)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
