"""`python -m gpu_backend.edge {build-corpus,train,eval,export,bench}` — the node-model factory."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DEFAULT_OUT = Path.home() / ".cache" / "binmoe" / "models" / "edge"
MODELS_DIR = Path(__file__).resolve().parents[2] / "esphome" / "components" / "binmoe" / "models"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gpu_backend.edge", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("build-corpus", "render the synthetic corpus and its features (cached)"),
        ("train", "build the corpus, train teacher + BNN student, calibrate, export, evaluate"),
        ("eval", "print the metrics of the last training run"),
        ("calibrate", "new per-class escalation thresholds for the last run's models (no retraining)"),
        ("export", "write the last run's model header, blob and manifest into the ESPHome component"),
        ("bench", "measure size, RAM, rv32imc/host instructions; write docs/benchmarks"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"run directory (default {DEFAULT_OUT})")
        cmd.add_argument("--config", choices=["full", "ci"], default="full")
        cmd.add_argument("--seed", type=int, default=0)
        cmd.add_argument("--family", choices=["sound", "vibration", "vibration_adc", "all"], default="all")
        if name == "calibrate":
            cmd.add_argument("--target", type=float, default=0.2, help="escalation rate to aim for (default 0.2)")
            cmd.add_argument(
                "--headroom", type=float, default=0.01, help="calibrate to target - headroom on validation data"
            )
        if name == "export":
            cmd.add_argument("--dest", type=Path, default=MODELS_DIR, help=f"where to write (default {MODELS_DIR})")
    args = parser.parse_args(argv)
    from .pipeline import CONFIGS, FAMILIES, dataset, export_model, recalibrate, run

    families = list(FAMILIES) if args.family == "all" else [args.family]
    if args.command == "build-corpus":
        cfg = CONFIGS[args.config]
        for family in families:
            for split, n in (("train", cfg.train_per_class), ("val", cfg.val_per_class), ("test", cfg.test_per_class)):
                x, y, _ = dataset(split, n, FAMILIES[family])
                print(f"{family} {split}: {len(y)} windows, features {x.shape}")
        return 0
    if args.command == "train":
        for family in families:
            metrics = run(args.out, args.config, args.seed, family)
            print(json.dumps({k: v for k, v in metrics.items() if k != "cascade_curve"}, indent=2))
        return 0
    stems = [FAMILIES[f].stem for f in families]
    missing = [s for s in stems if not (args.out / f"{s}_metrics.json").exists()]
    if missing:
        print(f"no training run for {missing} in {args.out}: run `python -m gpu_backend.edge train`", file=sys.stderr)
        return 2
    if args.command == "calibrate":
        for family in families:
            metrics = recalibrate(args.out, family, args.target, args.headroom)
            keys = ("margin_thresholds", "escalation_rate_at_target", "cascade_macro_f1_at_target", "model_hash")
            print(json.dumps({"family": family, **{k: metrics[k] for k in keys}}))
        return 0
    if args.command == "eval":
        for stem in stems:
            print((args.out / f"{stem}_metrics.json").read_text())
        return 0
    if args.command == "export":
        for family in families:
            for path in export_model(args.out, family, args.dest):
                print(f"wrote {path}")
        return 0
    from .bench import run as bench

    print(json.dumps(bench(args.out, families), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
