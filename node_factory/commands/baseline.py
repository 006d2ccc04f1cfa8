"""`python -m node_factory baseline HEALTHY --score RECORDING`: the per-machine baseline on recordings of your own.

What a vibration node does after `binmoe.learn_baseline` (docs/vibration-baseline.md), on files: learn a
baseline from a recording of the healthy machine, then score other recordings against it window by window
with the node's integer reference (`node_factory.reference.baseline`, bit-exact with the node), the node's
features and its default hop of half a window, and report the anomalies the node would raise. A baseline
can be saved (the node's stored format, 396 bytes for 16 bands) and used again with `--load`; the report
carries it as base64 too, the text the node's `binmoe.set_baseline` action takes.
"""

from __future__ import annotations

import argparse
import base64
import json
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..atomic_write import write_atomic
from ..corpus.loaders import DataError
from ..evaluation.node_stream import stream_signatures
from ..reference.baseline import AnomalyDetector, Baseline, BaselineLearner, digest8, persistence_windows
from ..reference.features import FeatureConfig
from .recording import add_arguments as recording_arguments
from .recording import read

HELP = "learn a machine's baseline from a healthy vibration recording and score other recordings against it"
VIBRATION_FAMILIES = ("vibration", "vibration_adc")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("healthy", type=Path, nargs="?", help="a recording of the healthy machine to learn from")
    parser.add_argument("--load", type=Path, help="a saved baseline to use instead of learning one")
    parser.add_argument(
        "--family",
        choices=VIBRATION_FAMILIES,
        required=True,
        help="the node's features: vibration (ADXL345, 3.2 kHz) or vibration_adc (piezo, 16 kHz)",
    )
    parser.add_argument("--score", type=Path, action="append", default=[], help="a recording to score (repeatable)")
    parser.add_argument("--save", type=Path, help="write the learnt baseline here (the node's stored format)")
    parser.add_argument("--learn-seconds", type=float, help="learn from this much of the start (default: all of it)")
    parser.add_argument("--hop-ms", type=float, help="hop between windows (default: half a window, as the node)")
    parser.add_argument("--per-window", action="store_true", help="also list every window's score")
    recording_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from ..corpus.families import FAMILIES

    cfg = FAMILIES[args.family].features
    hop = _hop_samples(args.hop_ms, cfg)
    if (args.healthy is None) == (args.load is None):
        raise DataError("give either a healthy recording to learn from or --load BASELINE, not both or neither")
    if args.load is not None and args.save is not None:
        raise DataError(f"{args.load}: a loaded baseline is saved already; --save is for a learnt one")
    report: dict[str, Any] = {"family": args.family, "sample_rate": cfg.sample_rate, "hop_s": hop / cfg.sample_rate}
    if args.load is not None:
        baseline = _load(args.load, cfg)
        described = _describe(baseline, cfg, hop)
        del described["seconds"]  # the file does not say at which hop it was learnt
        report["baseline"] = {"loaded": str(args.load), **described}
    else:
        baseline, learnt_from = _learn(args, cfg, hop)
        report["baseline"] = {"learnt_from": learnt_from, **_describe(baseline, cfg, hop)}
    # every input is read before anything is written: a bad recording leaves no half-done output behind
    scored = [
        _score(baseline, read(path, args.rate, args.full_scale_g, cfg.sample_rate).samples, cfg, hop, path)
        for path in args.score
    ]
    if args.save is not None:
        write_atomic(args.save, baseline.to_bytes())
        report["baseline"]["saved"] = str(args.save)
    report["recordings"] = [{k: v for k, v in r.items() if args.per_window or k != "scores"} for r in scored]
    print(json.dumps(report, indent=2))
    return 0


def _hop_samples(hop_ms: float | None, cfg: FeatureConfig) -> int:
    if hop_ms is None:
        return cfg.window_samples // 2
    hop = round(hop_ms * cfg.sample_rate / 1000 / cfg.frame) * cfg.frame  # the node hops whole frames
    if not cfg.frame <= hop <= cfg.window_samples:
        frame_ms, window_ms = cfg.frame * 1000 / cfg.sample_rate, cfg.window_samples * 1000 / cfg.sample_rate
        raise DataError(f"--hop-ms {hop_ms:g}: between {frame_ms:g} ms (one frame) and {window_ms:g} ms (a window)")
    return hop


def _learn(args: argparse.Namespace, cfg: FeatureConfig, hop: int) -> tuple[Baseline, str]:
    path: Path = args.healthy
    samples = read(path, args.rate, args.full_scale_g, cfg.sample_rate).samples
    if args.learn_seconds is not None:
        samples = samples[: max(0, round(args.learn_seconds * cfg.sample_rate))]
    sigs = stream_signatures(samples, cfg, hop // cfg.frame)
    if len(sigs) < 4:
        need = (cfg.window_samples + 3 * hop) / cfg.sample_rate
        raise DataError(
            f"{path}: {len(samples) / cfg.sample_rate:.2f} s give {len(sigs)} windows; a baseline needs at least 4"
            f" ({need:.2f} s; the node's default is 10 minutes)"
        )
    learner = BaselineLearner(
        cfg.bands, len(sigs), digest8(cfg.digest()), *persistence_windows(cfg.window_samples, hop)
    )
    for sig in sigs:
        learner.push(sig)
    return learner.result(), str(path)


def _load(path: Path, cfg: FeatureConfig) -> Baseline:
    try:
        blob = path.read_bytes()
    except OSError as err:
        raise DataError(f"{path}: cannot read the baseline ({err.strerror})") from err
    try:
        return Baseline.from_bytes(blob, digest8(cfg.digest()))
    except ValueError as err:  # corrupt, or learnt with other features (ForeignBaseline)
        raise DataError(f"{path}: {err}") from err


def _describe(baseline: Baseline, cfg: FeatureConfig, hop: int) -> dict[str, Any]:
    return {
        "windows": baseline.windows,
        "seconds": round(((baseline.windows - 1) * hop + cfg.window_samples) / cfg.sample_rate, 2),
        "threshold": baseline.threshold,
        "bytes": len(baseline.to_bytes()),
        # what the node's binmoe.set_baseline action (Home Assistant: binmoe.set_baseline) takes
        "base64": base64.b64encode(baseline.to_bytes()).decode("ascii"),
    }


def _score(baseline: Baseline, samples: NDArray[np.int16], cfg: FeatureConfig, hop: int, path: Path) -> dict[str, Any]:
    sigs = stream_signatures(samples, cfg, hop // cfg.frame)
    if len(sigs) == 0:
        raise DataError(
            f"{path}: {len(samples) / cfg.sample_rate:.2f} s is shorter than one window"
            f" ({cfg.window_samples / cfg.sample_rate:g} s)"
        )
    detector = AnomalyDetector(baseline)
    scores, anomalies = [], []
    for i, sig in enumerate(sigs):
        score, started = detector.push(sig)
        scores.append(score)
        t_end = (i * hop + cfg.window_samples) / cfg.sample_rate
        if started:
            anomalies.append({"start_s": round(t_end, 2), "end_s": None})
        elif anomalies and anomalies[-1]["end_s"] is None and not detector.active:
            anomalies[-1]["end_s"] = round(t_end, 2)
    above = np.array(scores) > baseline.threshold
    return {
        "recording": str(path),
        "seconds": round(len(samples) / cfg.sample_rate, 2),
        "windows": len(scores),
        "windows_above_threshold": int(above.sum()),
        "score_median": int(np.median(scores)),
        "score_max": int(max(scores)),
        "anomaly": bool(anomalies),
        "anomalies": anomalies,
        "scores": scores,
    }
