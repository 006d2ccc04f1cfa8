"""The BinMoE integration: routes node escalations to the GPU tier and back into Home Assistant."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_API_KEY, CONF_URL, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .api import BackendInfo, BinMoEClient, BinMoEError, InvalidAuth
from .const import DOMAIN, LOGGER

PLATFORMS: list[Platform] = []


@dataclass(slots=True)
class BinMoEData:
    """Everything one config entry owns while it is loaded."""

    client: BinMoEClient
    backend: BackendInfo


type BinMoEConfigEntry = ConfigEntry[BinMoEData]


async def async_setup_entry(hass: HomeAssistant, entry: BinMoEConfigEntry) -> bool:
    """Connect to the GPU tier and set up the platforms."""
    client = BinMoEClient(async_get_clientsession(hass), entry.data[CONF_URL], entry.data.get(CONF_API_KEY))
    try:
        backend = await client.async_get_info()
    except InvalidAuth as err:
        raise ConfigEntryAuthFailed(translation_domain=DOMAIN, translation_key="invalid_auth") from err
    except BinMoEError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="cannot_connect",
            translation_placeholders={"url": client.url, "error": str(err)},
        ) from err
    entry.runtime_data = BinMoEData(client=client, backend=backend)
    LOGGER.info("BinMoE connected to %s (model %s, profile %s)", client.url, backend.model, backend.profile)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: BinMoEConfigEntry) -> bool:
    """Unload the platforms; the client holds no resources of its own (shared session)."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
