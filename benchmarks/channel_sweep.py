"""What smaller students buy: accuracy against the node-model targets and each C3 node's flash.

A variant is a channel count and a first-layer weight precision: "16" (16 channels, int8 first layer) or
"16x4" (16 channels, int4; "x2": ternary). For each variant: `python -m node_factory train --channels C
--w1-bits B` (full configuration, seed 0, all three families, into $BINMOE_CACHE/channel-sweep/cC or cC-bB;
nothing shipped is touched; `--reuse` keeps a run directory that already has all three families), then the
models are exported with this checkout's exporter and each C3 node is measured as benchmarks/node_footprint.py
does, with the model of its own family (sound node: sound, ADXL345 node: vibration, piezo node: vibration_adc).

Usage, from the repository root:
    ~/.cache/binmoe/venv-esphome/bin/python -m benchmarks.channel_sweep [--reuse] [VARIANT ...]
(default: 24 16 16x4 12; ~40 min per variant on 2 cores)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import benchmarks_md
from benchmarks.node_footprint import measure_node
from scripts.lib.host_build import generate

ROOT = Path(__file__).resolve().parents[1]

CACHE = Path(os.environ.get("BINMOE_CACHE", Path.home() / ".cache" / "binmoe"))
BACKEND_PYTHON = CACHE / "venv-backend" / "bin" / "python"
FAMILIES = {"sound": "sound_v1", "vibration": "vibration_v1", "vibration_adc": "vibration_adc_v1"}
NODE_OF = {"sound": "binmoe-sound-node.yaml", "vibration": "binmoe-vibration-node.yaml",
           "vibration_adc": "binmoe-vibration-piezo-node.yaml"}  # fmt: skip
TARGET_BNN, TARGET_CASCADE = 0.90, 0.99  # x teacher (node-model issue), the cascade at <= 20 % escalation
TARGET_FLASH = 8 * 1024
BITS_NAME = {8: "int8", 4: "int4", 2: "ternary"}


def parse(variant: str) -> tuple[int, int]:
    channels, _, bits = variant.partition("x")
    return int(channels), int(bits or 8)


def run_dir(channels: int, bits: int) -> Path:
    return CACHE / "channel-sweep" / (f"c{channels}" if bits == 8 else f"c{channels}-b{bits}")


def train(channels: int, bits: int, reuse: bool) -> dict[str, dict[str, Any]]:
    out = run_dir(channels, bits)
    if not (reuse and all((out / f"{stem}_metrics.json").exists() for stem in FAMILIES.values())):
        command = [str(BACKEND_PYTHON), "-m", "node_factory", "train", "--out", str(out),
                   "--channels", str(channels), "--w1-bits", str(bits)]  # fmt: skip
        print("running", " ".join(command), flush=True)
        subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return {family: json.loads((out / f"{stem}_metrics.json").read_text()) for family, stem in FAMILIES.items()}


def node_flash(models: Path, work: Path, host: Path) -> tuple[dict[str, int], dict[str, int]]:
    """Each family's C3 node built with this run's models (exported by this checkout), and their model bytes
    in this checkout's format (runs trained by older code recorded their own)."""
    components = work / "components"
    shutil.copytree(ROOT / "esphome" / "components", components)
    subprocess.run([str(BACKEND_PYTHON), "-m", "node_factory", "export", "--out", str(models),
                    "--dest", str(components / "binmoe" / "models")], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    models_dir = components / "binmoe" / "models"
    manifests = {family: json.loads((models_dir / f"{stem}.json").read_text()) for family, stem in FAMILIES.items()}
    model_bytes = {family: manifest["model_bytes"] for family, manifest in manifests.items()}
    flash = {f: measure_node(node, host, work / node, components)["flash_bytes"] for f, node in NODE_OF.items()}
    return flash, model_bytes


def row(
    metrics: dict[str, dict[str, Any]], flash: dict[str, int], model_bytes: dict[str, int]
) -> dict[str, dict[str, Any]]:
    def ratio(m: dict[str, Any], key: str) -> float:
        return round(float(m[key]) / float(m["teacher_macro_f1"]), 4)

    return {
        family: {
            "bnn_vs_teacher": ratio(m, "student_bnn_macro_f1"),
            "cascade_vs_teacher": ratio(m, "cascade_macro_f1_at_target"),
            "escalation_rate_at_target": m["escalation_rate_at_target"],
            "model_bytes": model_bytes[family],
            "node_flash_bytes": flash[family],
        }
        for family, m in metrics.items()
    }


def cell(f: dict[str, Any]) -> str:
    meets = f["bnn_vs_teacher"] >= TARGET_BNN and f["cascade_vs_teacher"] >= TARGET_CASCADE
    fits = f["node_flash_bytes"] <= TARGET_FLASH
    return (
        f"{f['bnn_vs_teacher']:.3f} / {f['cascade_vs_teacher']:.3f} {'✓' if meets else '✗'}"
        f" | {f['model_bytes']} | {f['node_flash_bytes']} {'✓' if fits else '✗'}"
    )


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--reuse"]
    variants = [parse(a) for a in args] or [(24, 8), (16, 8), (16, 4), (12, 8)]
    data: dict[str, dict[str, Any]] = {}
    host = generate(ROOT / "tests" / "esphome" / "nodes" / "host-sound.yaml")
    for channels, bits in variants:
        metrics = train(channels, bits, "--reuse" in sys.argv)
        with tempfile.TemporaryDirectory() as tmp:
            flash, model_bytes = node_flash(run_dir(channels, bits), Path(tmp), host)
        key = f"{channels}x{bits}"
        data[key] = {"channels": channels, "w1_bits": bits, "families": row(metrics, flash, model_bytes)}
        print(key, data[key], flush=True)
    lines = []
    for entry in data.values():
        cells = " | ".join(cell(f) for f in entry["families"].values())
        lines.append(f"| {entry['channels']}, {BITS_NAME[entry['w1_bits']]} | {cells} |")
    body = (
        "Students of other sizes (pruned from 32 channels), trained with the full configuration and seed 0. Per"
        " family: BNN and cascade macro-F1 (the cascade at <= 20 % escalation) as fractions of the teacher (✓: the"
        " node-model targets, BNN >= 0.90 and cascade >= 0.99, are met), the model bytes, and the flash of the C3"
        " node that runs that family (component + model, measured as in the footprint section, with this"
        " checkout's code; ✓: <= 8 KB). Each family can ship its own size: the shipped models are the section"
        " above.\n\n"
        "| channels, first layer | sound BNN / cascade | bytes | sound node flash | accelerometer BNN / cascade"
        " | bytes | ADXL345 node flash | piezo BNN / cascade | bytes | piezo node flash |\n"
        "|---|---|---|---|---|---|---|---|---|---|\n" + "\n".join(lines) + "\n"
    )
    benchmarks_md.write_section(
        "node-channels",
        "Node models: channels and first-layer precision against flash",
        "~/.cache/binmoe/venv-esphome/bin/python -m benchmarks.channel_sweep " + " ".join(sys.argv[1:]),
        body,
    )
    benchmarks_md.write_json("node_channels", data)
    print(body)


if __name__ == "__main__":
    main()
