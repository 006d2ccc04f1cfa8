"""What a loaded BinMoE config entry owns (`entry.runtime_data`), and the config entry's type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntry

if TYPE_CHECKING:
    from .backend import BackendLink
    from .hub import BinMoEHub


@dataclass(slots=True)
class BinMoERuntimeData:
    """The GPU-tier link and the hub; set before the platforms are set up, so entities always find them."""

    backend: BackendLink
    hub: BinMoEHub


type BinMoEConfigEntry = ConfigEntry[BinMoERuntimeData]
