"""Fault identification in shaft orders at the capture length a node actually sends (issue #15).

The held-out benchmark (`benchmarks/vibration_baseline.py`) identifies faults on 4 s clips. A node sends
`capture_duration` of samples with an anomaly's escalation, by default one model window: 2.56 s on the
ADXL345 node (8,192 samples at 3.2 kHz) and 1.024 s on the piezo node (16,384 at 16 kHz). This runs the same
identification (`node_factory.evaluation.vibration.fault_identification`, speed and bearing known) on the
independent held-out generator's clips at both lengths, and as `capture_encoding: ima_adpcm` (the clip through
the node's encoder: the whole blocks that hold 4 s, 26 at 3.2 kHz and 127 at 16 kHz, and on the ADXL345 node
the 8 s its YAML suggests), so the docs can say what a user gets. IMA ADPCM and the 8 s were chosen on the
training generator's stress sets (`python -m benchmarks.orders_dev --codec ima_adpcm [--seconds 8]`).
Measurement only: nothing is chosen from it.

Usage: python -m benchmarks.fault_id_capture [--clips-per-class 20] [--no-write]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from typing import Any

import benchmarks_md
from node_factory.corpus.families import FAMILIES
from node_factory.evaluation.vibration import VibrationProtocol, fault_identification
from node_factory.reference import ima_adpcm

SECTION = "fault_id_capture"
FAMILY_NAMES = ("vibration", "vibration_adc")
BENCHMARK_CLIP_S = VibrationProtocol.clip_seconds


# the IMA ADPCM captures measured: the benchmark's 4 s, and on the ADXL345 node the 8 s its YAML suggests (chosen
# on the training generator: `python -m benchmarks.orders_dev --rate 3200 --seconds 8 --codec ima_adpcm`)
ADPCM_CAPTURE_S = {"vibration": (4.0, 8.0), "vibration_adc": (4.0,)}


def adpcm_capture_s(name: str, seconds: float = BENCHMARK_CLIP_S) -> float:
    """What `capture_duration` of `seconds` with `capture_encoding: ima_adpcm` sends: the whole blocks that hold
    them."""
    rate = FAMILIES[name].features.sample_rate
    blocks = -(-round(seconds * rate) // ima_adpcm.SAMPLES_PER_BLOCK)
    return blocks * ima_adpcm.SAMPLES_PER_BLOCK / rate


def node_default_capture_s(name: str) -> float:
    """One model window: the component's default `capture_duration`."""
    cfg = FAMILIES[name].features
    return cfg.window_samples / cfg.sample_rate


def measure(name: str, seconds: float, clips_per_class: int, encoding: str = "s16le") -> dict[str, Any]:
    protocol = replace(
        VibrationProtocol(), clips_per_class=clips_per_class, clip_seconds=seconds, capture_encoding=encoding
    )
    return fault_identification(FAMILIES[name], protocol, lambda text: print(text, file=sys.stderr))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips-per-class", type=int, default=VibrationProtocol.clips_per_class)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks alone")
    args = parser.parse_args()
    started = time.monotonic()
    rows, result = [], {}
    for name in FAMILY_NAMES:
        captures = [(BENCHMARK_CLIP_S, "s16le"), (node_default_capture_s(name), "s16le")]
        captures += [(adpcm_capture_s(name, seconds), "ima_adpcm") for seconds in ADPCM_CAPTURE_S[name]]
        for seconds, encoding in captures:
            r = measure(name, seconds, args.clips_per_class, encoding)
            key = f"{name}@{seconds:g}s" + ("" if encoding == "s16le" else f"_{encoding}")
            result[key] = r
            per = r["fault_id_per_class"]
            print(f"{name} {seconds:g} s {encoding}: {r['fault_id_accuracy_heldout']:.3f} {per}", flush=True)
            cells = " | ".join(f"{per[c]:.2f}" for c in per)
            capture = f"{seconds:.4g} s" + ("" if encoding == "s16le" else f", {encoding}")
            rows.append(f"| {FAMILIES[name].stem} | {capture} | {r['fault_id_accuracy_heldout']:.3f} | {cells} |")
    print(f"[{time.monotonic() - started:.0f} s]")
    if args.no_write:
        return 0
    benchmarks_md.write_json(SECTION, result)
    classes = list(next(iter(result.values()))["fault_id_per_class"])
    body = (
        "Fault identification in shaft orders (speed and bearing known) on the independent held-out generator's "
        f"clips, {args.clips_per_class} per fault class, at the held-out benchmark's 4 s, at each node's default "
        "capture (one model window: 2.56 s on the ADXL345 node, 1.024 s on the piezo node) and as IMA ADPCM "
        "(`capture_encoding: ima_adpcm`; the clip through the node's encoder, the whole blocks that hold 4 s, and "
        "8 s on the ADXL345 node, what its YAML suggests). Target 0.90.\n\n"
        "| model | capture | accuracy | " + " | ".join(classes) + " |\n|---|---|---|" + "---|" * len(classes) + "\n"
        + "\n".join(rows)
    )  # fmt: skip
    command = "python -m benchmarks.fault_id_capture" + (
        f" --clips-per-class {args.clips_per_class}"
        if args.clips_per_class != VibrationProtocol.clips_per_class
        else ""
    )
    benchmarks_md.write_section(SECTION, "Vibration: fault identification at the node's capture length", command, body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
