"""`python -m gpu_backend.edge {build-corpus,train,eval,export,bench}` — the node-model factory."""

from __future__ import annotations

import argparse
import json
import shutil
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
        ("export", "copy the last run's model header into the ESPHome component (esphome/.../models/)"),
        ("bench", "measure size, RAM, rv32imc/host instructions; write docs/benchmarks"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"run directory (default {DEFAULT_OUT})")
        cmd.add_argument("--config", choices=["full", "ci"], default="full")
        cmd.add_argument("--seed", type=int, default=0)
        cmd.add_argument("--family", choices=["sound", "vibration", "vibration_adc", "all"], default="all")
    args = parser.parse_args(argv)
    from .pipeline import CONFIGS, FAMILIES, dataset, run

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
    if args.command == "eval":
        for stem in stems:
            print((args.out / f"{stem}_metrics.json").read_text())
        return 0
    if args.command == "export":
        MODELS_DIR.mkdir(parents=True, exist_ok=True)
        for stem in stems:
            for name in (f"{stem}.h", f"{stem}.bin"):
                shutil.copyfile(args.out / name, MODELS_DIR / name)
                print(f"wrote {MODELS_DIR / name}")
        return 0
    from .bench import run as bench

    print(json.dumps(bench(args.out, families), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
