"""The integer model as a run directory keeps it (`<stem>_model.npz`), with the thresholds table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..reference.network import IntegerModel


def asdict_model(model: IntegerModel) -> dict[str, Any]:
    return {
        "w1": model.w1, "t1": model.t1, "s1": model.s1, "w2": model.w2, "t2": model.t2, "s2": model.s2,
        "w3": model.w3, "t3": model.t3, "s3": model.s3, "w4": model.w4, "b4": model.b4,
        "margin_thresholds": model.margin_thresholds, "logit_scale": np.float64(model.logit_scale),
        "classes": np.array(model.classes), "feature_digest": np.array(model.feature_digest),
        "rate_table_keys": np.array(list(model.margin_thresholds_by_rate), dtype=str),
        "rate_table_thresholds": np.array(
            list(model.margin_thresholds_by_rate.values()), dtype=np.int32
        ).reshape(len(model.margin_thresholds_by_rate), len(model.classes)),
        "w1_bits": np.int64(model.meta.get("w1_bits", 8)),
        "level_norm": np.bool_(model.level_norm),
    }  # fmt: skip


def load_model(path: Path) -> IntegerModel:
    try:
        data = np.load(path)
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: not a saved integer model ({err})") from err
    with data as d:
        table = {}
        if "rate_table_keys" in d.files:  # runs saved before the table existed have none
            table = {str(k): [int(v) for v in row] for k, row in zip(d["rate_table_keys"], d["rate_table_thresholds"],
                                                                     strict=True)}  # fmt: skip
        return IntegerModel(
            classes=tuple(str(c) for c in d["classes"]), w1=d["w1"], t1=d["t1"], s1=d["s1"], w2=d["w2"],
            t2=d["t2"], s2=d["s2"], w3=d["w3"], t3=d["t3"], s3=d["s3"], w4=d["w4"], b4=d["b4"],
            margin_thresholds=d["margin_thresholds"], logit_scale=float(d["logit_scale"]),
            feature_digest=str(d["feature_digest"]), margin_thresholds_by_rate=table,
            # runs saved before other first-layer precisions existed are int8
            meta={"w1_bits": str(int(d["w1_bits"])) if "w1_bits" in d.files else "8"},
            level_norm=bool(d["level_norm"]) if "level_norm" in d.files else False,  # runs before it: raw input
        )  # fmt: skip
