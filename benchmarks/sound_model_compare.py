"""Another exported sound model (e.g. the one a new model replaces) on the same held-out sets as
`python -m node_factory generalize`: held-out conditions and the independent generator, BNN figures.

Report only: nothing here is used for training, calibration or selection. The teacher columns of the reused
evaluation functions are the run's teacher (an exported blob carries no teacher), so only the BNN figures are
printed.

Usage: python -m benchmarks.sound_model_compare --blob MODEL.bin --run RUN_DIR [--config full|ci]
           [--real-audio CACHE]
       (git show REV:esphome/components/binmoe/models/sound_v1.bin > old.bin for a committed model)

`--real-audio CACHE` adds the real recordings (the Debian `eval` packages in that cache, as `generalize` reads
them): the model's window rule's false alarms per hour and the classes it hears there.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from node_factory.corpus.families import FAMILIES
from node_factory.evaluation import generalization
from node_factory.reference import model_format
from node_factory.training.configs import CONFIGS
from node_factory.training.teacher import load_teacher_network


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--blob", type=Path, required=True, help="an exported sound model (.bin)")
    parser.add_argument("--run", type=Path, required=True, help="a finished full sound run (for its teacher)")
    parser.add_argument("--config", choices=sorted(CONFIGS), default="full", help="the run's configuration")
    parser.add_argument("--clips-per-class", type=int, default=60)
    parser.add_argument("--real-audio", type=Path, help="the Debian recordings' cache: add the real recordings")
    args = parser.parse_args(argv)
    family = FAMILIES["sound"]
    model, _info = model_format.load(args.blob)
    if model.feature_digest != family.features.digest():
        parser.error(f"{args.blob}: made for other features than the sound family's")
    teacher, _ = load_teacher_network(args.run / f"{family.stem}_teacher.pt")
    run_cfg = CONFIGS[args.config]
    conditions = generalization.heldout_conditions(
        family, model, teacher, run_cfg.per_class(family.name, "test"), run_cfg.real_audio
    )
    protocol = generalization.Protocol(clips_per_class=args.clips_per_class)
    independent = generalization.independent_generator(family, model, teacher, protocol)
    report: dict[str, Any] = {
        name: {
            "bnn_macro_f1": figures["bnn_macro_f1"],
            "critical_window_recall_snr_ge_0": figures["critical_window_recall_snr_ge_0"],
            "recall": {label: cls["recall"] for label, cls in figures["per_class"].items()},
        }
        for name, figures in (("heldout_conditions", conditions), ("independent_generator", independent))
    }
    if args.real_audio is not None:
        real = generalization.real_recordings(
            family, model, protocol, args.real_audio, progress=print, code_detectors=False
        )
        report["real_recordings"] = {
            "real_negative_hours": real["real_negative_hours"],
            "window_rule_false_alarms_per_hour": real["window_rule"]["critical_false_alarms_per_hour"],
            "class_histogram": real["class_histogram"],
        }
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
