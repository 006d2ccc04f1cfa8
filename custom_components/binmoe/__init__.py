"""The BinMoE integration: routes node messages, alerts on critical ones, and sends escalations to the GPU
tier for diagnosis. The entry loads whether or not the GPU tier answers; only a rejected key stops it."""

from __future__ import annotations

from homeassistant.components import zeroconf
from homeassistant.const import CONF_API_KEY, CONF_URL, CONF_VERIFY_SSL, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import llm
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.typing import ConfigType

from .api import BinMoEClient, InvalidAuth
from .backend import BackendLink
from .const import CONF_QUEUE_MAX, CONF_REPAIR_AFTER, DEFAULT_QUEUE_MAX, DEFAULT_REPAIR_AFTER, DOMAIN, LOGGER
from .discovery import GatewayFollower
from .hub import BinMoEHub
from .intents import async_register_sentences, async_setup_intents
from .llm_tools import BinMoELLMAPI
from .queue import EscalationQueue
from .router import RouterPolicy
from .runtime import BinMoEConfigEntry, BinMoERuntimeData
from .services import async_setup_services

PLATFORMS: list[Platform] = [Platform.BINARY_SENSOR, Platform.CONVERSATION, Platform.EVENT, Platform.SENSOR]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the services, BinMoE's LLM API and its intents once; they act on the loaded entry."""
    async_setup_services(hass)
    llm.async_register_api(hass, BinMoELLMAPI(hass))
    await async_setup_intents(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: BinMoEConfigEntry) -> bool:
    """Start routing at once; the GPU tier is contacted, but only a rejected key fails the set-up."""
    session = async_get_clientsession(hass, verify_ssl=entry.data.get(CONF_VERIFY_SSL, True))
    client = BinMoEClient(session, entry.data[CONF_URL], entry.data.get(CONF_API_KEY))
    queue = EscalationQueue(hass, entry.entry_id, int(entry.options.get(CONF_QUEUE_MAX, DEFAULT_QUEUE_MAX)))
    await queue.async_load()
    backend = BackendLink(hass, entry, client, queue, float(entry.options.get(CONF_REPAIR_AFTER, DEFAULT_REPAIR_AFTER)))
    try:
        await backend.async_connect()
    except InvalidAuth as err:
        raise ConfigEntryAuthFailed(translation_domain=DOMAIN, translation_key="invalid_auth") from err
    hub = BinMoEHub(hass, entry, backend, RouterPolicy.from_options(entry.options))
    entry.runtime_data = BinMoERuntimeData(backend=backend, hub=hub)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    await hub.async_start()
    backend.async_start()
    entry.async_on_unload(async_register_sentences(hass, entry))  # BinMoE's questions, answered without an LLM
    entry.async_on_unload(entry.add_update_listener(_async_options_updated))
    await _async_follow_gateway(hass, entry)
    return True


async def _async_follow_gateway(hass: HomeAssistant, entry: BinMoEConfigEntry) -> None:
    """With Home Assistant's zeroconf loaded (default_config has it), follow the gateway's announcements to a new
    address (discovery.py)."""
    if "zeroconf" not in hass.config.components:
        return
    follower = GatewayFollower(hass, entry)
    follower.start((await zeroconf.async_get_async_instance(hass)).zeroconf)
    entry.async_on_unload(follower.async_stop)


async def async_migrate_entry(hass: HomeAssistant, entry: BinMoEConfigEntry) -> bool:
    """1.1 -> 1.2: the nodes' *Escalation rate* sensors became *Share of reports escalated* (the node's own
    ESPHome sensor keeps that name for its window-based rate); keep their entity ids and history."""
    if entry.version > 1:
        return False  # a newer BinMoE made this entry; do not guess
    if entry.minor_version < 2:

        def _rename(entity: er.RegistryEntry) -> dict[str, str] | None:
            if entity.unique_id.endswith("_escalation_rate"):
                return {"new_unique_id": entity.unique_id.removesuffix("_escalation_rate") + "_escalated_share"}
            return None

        await er.async_migrate_entries(hass, entry.entry_id, _rename)
        hass.config_entries.async_update_entry(entry, minor_version=2)
        LOGGER.debug("Migrated BinMoE entry %s to version 1.2", entry.entry_id)
    return True


async def _async_options_updated(hass: HomeAssistant, entry: BinMoEConfigEntry) -> None:
    await hass.config_entries.async_reload(entry.entry_id)


async def async_unload_entry(hass: HomeAssistant, entry: BinMoEConfigEntry) -> bool:
    """Unload the platforms first, then stop the inputs and flush the queue to disk."""
    if not await hass.config_entries.async_unload_platforms(entry, PLATFORMS):
        return False
    entry.runtime_data.hub.async_stop()
    await entry.runtime_data.backend.async_stop()
    return True


async def async_remove_entry(hass: HomeAssistant, entry: BinMoEConfigEntry) -> None:
    """The entry is deleted: its stored queue goes with it."""
    await EscalationQueue.async_remove_storage(hass, entry.entry_id)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: BinMoEConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Let the user delete a node's device (it comes back if the node reports again); never the hub's."""
    prefix = f"{entry.entry_id}_"
    nodes = [ident.removeprefix(prefix) for domain, ident in device.identifiers if domain == DOMAIN]
    if not nodes or any(ident == entry.entry_id for _, ident in device.identifiers):
        return False
    for node in nodes:
        entry.runtime_data.hub.forget_node(node)
    return True
