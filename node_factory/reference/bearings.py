"""Bearing designations a node's YAML may name instead of the geometry, as BearingGeometry.

The table itself lives with the ESPHome component (esphome/components/binmoe/bearing_table.py: the node's
schema validates designations against it and cannot import this package); its docstring and docs/esphome.md
cite where each number comes from. It is loaded here by path, so there is one table.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from .orders import BearingGeometry

TABLE_PATH = Path(__file__).resolve().parents[2] / "esphome" / "components" / "binmoe" / "bearing_table.py"


def _load_table() -> ModuleType:
    spec = importlib.util.spec_from_file_location("binmoe_bearing_table", TABLE_PATH)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the bearing table {TABLE_PATH}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_TABLE = _load_table()
INCH_MM: float = _TABLE.INCH_MM
BEARINGS: dict[str, BearingGeometry] = {name: BearingGeometry(*row) for name, row in _TABLE.BEARINGS.items()}


def bearing(designation: str) -> BearingGeometry:
    """The geometry of a listed designation; ValueError naming the known ones otherwise."""
    try:
        return BearingGeometry(*_TABLE.lookup(designation))
    except KeyError:
        raise ValueError(_TABLE.unknown_message(designation)) from None
