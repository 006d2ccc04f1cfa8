"""The BinMoE integration: routes node escalations to the GPU tier and back into Home Assistant."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_API_KEY, CONF_URL, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import llm
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.typing import ConfigType

from .api import BackendInfo, BinMoEClient, BinMoEError, InvalidAuth
from .const import (
    CONF_QUEUE_MAX,
    CONF_REPAIR_AFTER,
    DEFAULT_QUEUE_MAX,
    DEFAULT_REPAIR_AFTER,
    DOMAIN,
    LOGGER,
)
from .hub import BinMoEHub
from .inbox import async_setup_inbox
from .llm_tools import BinMoELLMAPI
from .queue import async_get_queue
from .router import RouterPolicy
from .services import async_setup_services

PLATFORMS: list[Platform] = [Platform.BINARY_SENSOR, Platform.CONVERSATION, Platform.EVENT, Platform.SENSOR]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


@dataclass(slots=True)
class BinMoEData:
    """Everything one config entry owns while it is loaded."""

    client: BinMoEClient
    backend: BackendInfo
    hub: BinMoEHub


type BinMoEConfigEntry = ConfigEntry[BinMoEData]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the services and BinMoE's LLM API once; they act on loaded entries."""
    async_setup_services(hass)
    llm.async_register_api(hass, BinMoELLMAPI(hass))
    async_setup_inbox(hass)
    return True


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
    queue = await async_get_queue(hass, entry.entry_id, int(entry.options.get(CONF_QUEUE_MAX, DEFAULT_QUEUE_MAX)))
    hub = BinMoEHub(
        hass,
        entry,
        client,
        RouterPolicy.from_options(entry.options),
        queue=queue,
        repair_after_min=float(entry.options.get(CONF_REPAIR_AFTER, DEFAULT_REPAIR_AFTER)),
    )
    entry.runtime_data = BinMoEData(client=client, backend=backend, hub=hub)
    LOGGER.info("BinMoE connected to %s (model %s, profile %s)", client.url, backend.model, backend.profile)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    await hub.async_start()
    entry.async_on_unload(entry.add_update_listener(_async_options_updated))
    return True


async def _async_options_updated(hass: HomeAssistant, entry: BinMoEConfigEntry) -> None:
    await hass.config_entries.async_reload(entry.entry_id)


async def async_unload_entry(hass: HomeAssistant, entry: BinMoEConfigEntry) -> bool:
    """Stop the hub (flushing the queue to disk) and unload the platforms."""
    await entry.runtime_data.hub.async_stop()
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: BinMoEConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Let the user delete a node's device (it comes back if the node reports again); never the hub's."""
    prefix = f"{entry.entry_id}_"
    nodes = [ident.removeprefix(prefix) for domain, ident in device.identifiers if domain == DOMAIN]
    if not nodes or any(ident == entry.entry_id for _, ident in device.identifiers):
        return False
    for node in nodes:
        entry.runtime_data.hub.nodes.pop(node, None)
    return True
