"""`python -m gpu_backend.edge {build-corpus,train,eval,export,bench}` — the node-model factory."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .userdata import UserData

DEFAULT_OUT = Path.home() / ".cache" / "binmoe" / "models" / "edge"
MODELS_DIR = Path(__file__).resolve().parents[2] / "esphome" / "components" / "binmoe" / "models"


def _channels(value: str) -> int:
    """--channels: the student is pruned from 32 channels, and the kernel packs a time step into 32 bits."""
    channels = int(value)
    if not 2 <= channels <= 32:
        raise argparse.ArgumentTypeError(f"channels must be 2..32, not {channels}")
    return channels


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
        if name in ("train", "calibrate", "export", "eval"):
            cmd.add_argument("--data", type=Path, help="train on your data in DIR instead of the built-in corpus")
            cmd.add_argument("--layout", choices=["folder", "esc50", "urbansound8k"], default="folder")
            cmd.add_argument("--data-rate", type=int, help="sample rate of .mat/.csv vibration files (Hz)")
            cmd.add_argument("--full-scale-g", type=float, default=16.0, help=".mat/.csv: g at int16 full scale")
        if name == "train":
            cmd.add_argument(
                "--channels",
                type=_channels,
                help="student channels after pruning (default: the family's, 16; fewer: less flash)",
            )
            cmd.add_argument(
                "--w1-bits", type=int, choices=[8, 4, 2],
                help="first-layer weights: 8 = int8 per tensor, 4 = int4 and 2 = ternary per output channel"
                " (default: the family's: 4 for vibration, 8 for sound and vibration_adc)",
            )  # fmt: skip
        if name == "calibrate":
            cmd.add_argument("--target", type=float, default=0.2, help="escalation rate to aim for (default 0.2)")
            cmd.add_argument(
                "--headroom", type=float, help="calibrate to target - headroom on validation data (default 0.02)"
            )
        if name == "export":
            cmd.add_argument("--dest", type=Path, default=MODELS_DIR, help=f"where to write (default {MODELS_DIR})")
    args = parser.parse_args(argv)
    from .loaders import DataError
    from .pipeline import FAMILIES
    from .userdata import UserData

    families = list(FAMILIES) if args.family == "all" else [args.family]
    data = None
    if getattr(args, "data", None) is not None:
        if args.family == "all":
            parser.error("--data needs --family (the features to use: sound, vibration or vibration_adc)")
        data = UserData(args.data, args.layout, args.data_rate, args.full_scale_g)
    try:
        return _command(args, families, data)
    except (DataError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def _command(args: argparse.Namespace, families: list[str], data: UserData | None) -> int:
    from .pipeline import CALIBRATION_HEADROOM, CONFIGS, FAMILIES, dataset, export_model, family_for, recalibrate, run

    if args.command == "build-corpus":
        cfg = CONFIGS[args.config]
        for family in families:
            for split, n in (("train", cfg.train_per_class), ("val", cfg.val_per_class), ("test", cfg.test_per_class)):
                x, y, _ = dataset(split, n, FAMILIES[family])
                print(f"{family} {split}: {len(y)} windows, features {x.shape}")
        return 0
    if args.command == "train":
        for family in families:
            metrics = run(args.out, args.config, args.seed, family, data, channels=args.channels, w1_bits=args.w1_bits)
            print(json.dumps({k: v for k, v in metrics.items() if k != "cascade_curve"}, indent=2))
        return 0
    stems = [family_for(f, data).stem for f in families]
    missing = [s for s in stems if not (args.out / f"{s}_metrics.json").exists()]
    if missing:
        print(f"no training run for {missing} in {args.out}: run `python -m gpu_backend.edge train`", file=sys.stderr)
        return 2
    if args.command == "calibrate":
        for family in families:
            headroom = CALIBRATION_HEADROOM if args.headroom is None else args.headroom
            metrics = recalibrate(args.out, family, args.target, headroom, data)
            keys = ("margin_thresholds", "escalation_rate_at_target", "cascade_macro_f1_at_target", "model_hash")
            print(json.dumps({"family": family, **{k: metrics[k] for k in keys}}))
        return 0
    if args.command == "eval":
        for stem in stems:
            print((args.out / f"{stem}_metrics.json").read_text())
        return 0
    if args.command == "export":
        for family in families:
            for path in export_model(args.out, family, args.dest, data):
                print(f"wrote {path}")
        return 0
    from .bench import run as bench

    print(json.dumps(bench(args.out, families), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
