"""What fewer student channels would buy: accuracy against the node-model targets and the C3 nodes' flash.

For each channel count: `python -m gpu_backend.edge train --channels C` (full configuration, seed 0, all three
families, into $BINMOE_CACHE/channel-sweep/cC, nothing shipped is touched), then benchmarks/node_footprint.py's
measurement of the three C3 nodes built with those models (a copy of the component with the new headers).
The shipped 24-channel row comes from docs/benchmarks/node_model.json and node_footprint.json.

Usage: ~/.cache/binmoe/venv-esphome/bin/python benchmarks/channel_sweep.py [C ...]   (default: 16 12; ~10 min
per channel count on 2 cores)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "scripts" / "lib"))
sys.path.insert(0, str(ROOT))

from host_build import generate  # noqa: E402
from node_footprint import NODES, measure_node  # noqa: E402

from gpu_backend import benchmarks_md  # noqa: E402

CACHE = Path(os.environ.get("BINMOE_CACHE", Path.home() / ".cache" / "binmoe"))
BACKEND_PYTHON = CACHE / "venv-backend" / "bin" / "python"
FAMILIES = {"sound": "sound_v1", "vibration": "vibration_v1", "vibration_adc": "vibration_adc_v1"}
TARGET_BNN, TARGET_CASCADE = 0.90, 0.99  # x teacher (node-model issue), the cascade at <= 20 % escalation


def train(channels: int) -> dict[str, dict]:
    out = CACHE / "channel-sweep" / f"c{channels}"
    command = [str(BACKEND_PYTHON), "-m", "gpu_backend.edge", "train", "--out", str(out), "--channels", str(channels)]
    print("running", " ".join(command), flush=True)
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return {family: json.loads((out / f"{stem}_metrics.json").read_text()) for family, stem in FAMILIES.items()}


def worst_flash(models: Path, work: Path, host: Path) -> int:
    components = work / "components"
    shutil.copytree(ROOT / "esphome" / "components", components)
    for stem in FAMILIES.values():
        for suffix in (".h", ".bin", ".json"):
            shutil.copy(models / f"{stem}{suffix}", components / "binmoe" / "models" / f"{stem}{suffix}")
    return max(measure_node(node, host, work / node, components)["flash_bytes"] for node in NODES)


def row(metrics: dict[str, dict]) -> dict[str, dict[str, float]]:
    def ratio(m: dict, key: str) -> float:
        return round(m[key] / m["teacher_macro_f1"], 4)

    return {
        family: {
            "bnn_vs_teacher": ratio(m, "student_bnn_macro_f1"),
            "cascade_vs_teacher": ratio(m, "cascade_macro_f1_at_target"),
            "escalation_rate_at_target": m["escalation_rate_at_target"],
            "model_bytes": m["model_bytes"],
        }
        for family, m in metrics.items()
    }


def main() -> None:
    counts = [int(a) for a in sys.argv[1:]] or [16, 12]
    shipped = json.loads((ROOT / "docs" / "benchmarks" / "node_model.json").read_text())
    footprint = json.loads((ROOT / "docs" / "benchmarks" / "node_footprint.json").read_text())
    data = {24: {"families": row(shipped), "worst_flash_bytes": max(footprint[n]["flash_bytes"] for n in NODES)}}
    host = generate(ROOT / "tests" / "esphome" / "nodes" / "host-sound.yaml")
    for channels in counts:
        metrics = train(channels)
        with tempfile.TemporaryDirectory() as tmp:
            flash = worst_flash(CACHE / "channel-sweep" / f"c{channels}", Path(tmp), host)
        data[channels] = {"families": row(metrics), "worst_flash_bytes": flash}
        print(channels, data[channels], flush=True)
    lines = []
    for channels, entry in sorted(data.items(), reverse=True):
        fams = entry["families"]
        meets = all(f["bnn_vs_teacher"] >= TARGET_BNN and f["cascade_vs_teacher"] >= TARGET_CASCADE
                    for f in fams.values())  # fmt: skip
        cells = " | ".join(f"{f['bnn_vs_teacher']:.3f} / {f['cascade_vs_teacher']:.3f}" for f in fams.values())
        sizes = [f["model_bytes"] for f in fams.values()]
        size = f"{min(sizes)}–{max(sizes)}"
        label = f"{channels} (shipped)" if channels == 24 else str(channels)
        lines.append(f"| {label} | {cells} | {size} | {entry['worst_flash_bytes']} | {'yes' if meets else 'no'} |")
    body = (
        "Students with fewer channels (after pruning from 32), trained with the full configuration and seed 0:"
        " BNN and cascade macro-F1 (at <= 20 % escalation) as fractions of the teacher, per family, the model"
        " bytes, and the worst C3 node's flash (component + model, measured as in the footprint section with"
        " these models). The node-model targets are BNN >= 0.90 and cascade >= 0.99 of the teacher. Nothing"
        " here is shipped; the 24-channel row is the shipped models' benchmark.\n\n"
        "| channels | sound BNN / cascade | accelerometer BNN / cascade | piezo BNN / cascade | model bytes |"
        " worst node flash (B) | meets the node-model targets |\n|---|---|---|---|---|---|---|\n"
        + "\n".join(lines)
        + "\n"
    )
    benchmarks_md.write_section(
        "node-channels",
        "Node models: fewer channels for less flash",
        "~/.cache/binmoe/venv-esphome/bin/python benchmarks/channel_sweep.py 16 12",
        body,
    )
    benchmarks_md.write_json("node_channels", {str(k): v for k, v in data.items()})
    print(body)


if __name__ == "__main__":
    main()
