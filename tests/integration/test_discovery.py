"""Zeroconf discovery (discovery.py, config_flow.async_step_zeroconf): a gateway that announces itself is offered,
a configured one is followed to its new address; the last test sends the protocol's announcement with real
python-zeroconf on loopback to the loaded integration."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from ipaddress import ip_address
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant.config_entries import SOURCE_USER, SOURCE_ZEROCONF, ConfigEntryState
from homeassistant.const import CONF_API_KEY, CONF_URL, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
from pytest_homeassistant_custom_component.common import MockConfigEntry
from yarl import URL
from zeroconf import IPVersion
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from custom_components.binmoe import discovery
from custom_components.binmoe.const import DOMAIN, PROTOCOL_VERSION
from custom_components.binmoe.discovery import (
    SERVICE_TYPE,
    DiscoveredGateway,
    GatewayFollower,
    follows_announcements,
    gateway_from_announcement,
    identity_proof,
)

from .backend_double import BackendDouble
from .conftest import API_KEY
from .helpers import setup_entry

ROOT = Path(__file__).parents[2]
GATEWAY_ID = "6f1c2b9e-3d4a-4c5b-9e8f-0a1b2c3d4e5f"


def _announcement(port: int, **txt: str) -> ZeroconfServiceInfo:
    properties = {
        "id": GATEWAY_ID,
        "protocol": str(PROTOCOL_VERSION),
        "path": "/",
        "auth": "key",
        "model": "double-moe",
    }
    properties.update(txt)
    return ZeroconfServiceInfo(
        ip_address=ip_address("127.0.0.1"),
        ip_addresses=[ip_address("127.0.0.1")],
        port=port,
        hostname="binmoe-6f1c2b9e.local.",
        type=SERVICE_TYPE,
        name=f"BinMoE gateway on gpu-box (6f1c2b9e).{SERVICE_TYPE}",
        properties={k: v for k, v in properties.items() if v != "-"},  # "-": leave the key out
    )


def _port(double: BackendDouble) -> int:
    port = URL(double.url).port
    assert port is not None
    return port


async def _discover(hass: HomeAssistant, info: ZeroconfServiceInfo) -> Any:
    return await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_ZEROCONF}, data=info)


async def test_a_discovered_gateway_with_a_key_asks_for_it_and_is_added(
    hass: HomeAssistant, backend: BackendDouble
) -> None:
    backend.gateway_id = GATEWAY_ID
    result = await _discover(hass, _announcement(_port(backend)))
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "zeroconf_confirm"
    assert result["description_placeholders"] == {"url": backend.url, "model": "double-moe"}
    assert list(result["data_schema"].schema) == [CONF_API_KEY]
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_API_KEY: "wrong"})
    assert result["type"] is FlowResultType.FORM and result["errors"] == {CONF_API_KEY: "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_API_KEY: API_KEY})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {CONF_URL: backend.url, CONF_API_KEY: API_KEY, CONF_VERIFY_SSL: True}
    assert result["result"].unique_id == GATEWAY_ID
    assert result["result"].state is ConfigEntryState.LOADED


async def test_an_open_gateway_is_added_with_one_click(hass: HomeAssistant, backend: BackendDouble) -> None:
    backend.api_key = None
    result = await _discover(hass, _announcement(_port(backend), auth="none"))
    assert result["type"] is FlowResultType.FORM and list(result["data_schema"].schema) == []
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY and result["data"][CONF_API_KEY] is None


async def test_a_gateway_that_does_not_answer_shows_an_error(hass: HomeAssistant, backend: BackendDouble) -> None:
    result = await _discover(hass, _announcement(_port(backend)))
    backend.healthy = False
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_API_KEY: API_KEY})
    assert result["type"] is FlowResultType.FORM and result["errors"] == {"base": "cannot_connect"}


@pytest.mark.parametrize(
    ("txt", "reason"),
    [
        ({"id": "-"}, "invalid_discovery_info"),
        ({"protocol": "-"}, "invalid_discovery_info"),
        ({"protocol": "one"}, "invalid_discovery_info"),
        ({"protocol": str(PROTOCOL_VERSION + 1)}, "incompatible_protocol"),
    ],
)
async def test_an_announcement_that_breaks_the_protocol_is_not_offered(
    hass: HomeAssistant, txt: dict[str, str], reason: str
) -> None:
    result = await _discover(hass, _announcement(8000, **txt))
    assert result["type"] is FlowResultType.ABORT and result["reason"] == reason


async def test_one_offer_per_gateway(hass: HomeAssistant, backend: BackendDouble) -> None:
    first = await _discover(hass, _announcement(_port(backend)))
    assert first["type"] is FlowResultType.FORM
    again = await _discover(hass, _announcement(_port(backend)))
    assert again["type"] is FlowResultType.ABORT and again["reason"] == "already_in_progress"


async def test_nothing_is_offered_once_binmoe_is_set_up(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    result = await _discover(hass, _announcement(8000))
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "single_instance_allowed"


async def test_the_user_flow_takes_the_gateways_id_as_unique_id(hass: HomeAssistant, backend: BackendDouble) -> None:
    backend.gateway_id = GATEWAY_ID
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: backend.url, CONF_API_KEY: API_KEY}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY and result["result"].unique_id == GATEWAY_ID


async def test_an_entry_made_by_url_adopts_the_gateways_id(
    hass: HomeAssistant, backend: BackendDouble, config_entry: MockConfigEntry
) -> None:
    backend.gateway_id = GATEWAY_ID
    await setup_entry(hass, config_entry)
    assert config_entry.unique_id == GATEWAY_ID


def test_an_announcement_is_read_as_the_protocol_says() -> None:
    gateway = gateway_from_announcement(ip_address("fd00::5"), 8000, {"id": "x", "protocol": "1", "path": "/"})
    assert gateway == DiscoveredGateway("x", "http://[fd00::5]:8000", auth=False, model="", protocol=1)
    assert gateway_from_announcement(ip_address("0.0.0.0"), 8000, {"id": "x", "protocol": "1"}) is None
    assert gateway_from_announcement(ip_address("192.168.1.20"), None, {"id": "x", "protocol": "1"}) is None


@pytest.mark.parametrize(
    ("url", "follows"),
    [
        ("http://192.168.1.20:8000", True),
        ("http://[fd00::5]:8000", True),
        ("http://gpu-box.lan:8000", False),
        ("https://192.168.1.20:8443", False),
    ],
)
def test_only_a_url_that_discovery_could_have_made_is_followed(url: str, follows: bool) -> None:
    assert follows_announcements(url) is follows


@pytest.fixture
async def moved(socket_enabled: Any) -> AsyncIterator[BackendDouble]:
    """The same gateway (same id, same key) at another port: where it is after a restart."""
    double = BackendDouble(api_key=API_KEY, gateway_id=GATEWAY_ID)
    await double.start()
    yield double
    await double.stop()


async def _loaded_discovered_entry(hass: HomeAssistant, backend: BackendDouble) -> MockConfigEntry:
    backend.gateway_id = GATEWAY_ID
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id=GATEWAY_ID, data={CONF_URL: backend.url, CONF_API_KEY: API_KEY}, minor_version=2
    )
    return await setup_entry(hass, entry)


async def test_the_configured_gateway_is_followed_to_its_new_address(
    hass: HomeAssistant, backend: BackendDouble, moved: BackendDouble, caplog: pytest.LogCaptureFixture
) -> None:
    entry = await _loaded_discovered_entry(hass, backend)
    follower = GatewayFollower(hass, entry)
    await follower.async_seen(DiscoveredGateway("another gateway", moved.url, True, "m", PROTOCOL_VERSION))
    await follower.async_seen(DiscoveredGateway(GATEWAY_ID, moved.url, True, "m", PROTOCOL_VERSION + 1))
    await hass.async_block_till_done()
    assert entry.data[CONF_URL] == backend.url and "protocol version 2" in caplog.text
    assert not [r for r in moved.requests if r[0] == "identity"]
    await follower.async_seen(DiscoveredGateway(GATEWAY_ID, moved.url, True, "m", PROTOCOL_VERSION))
    await hass.async_block_till_done()
    assert entry.data[CONF_URL] == moved.url and entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.backend.client.url == moved.url  # reloaded: it talks to the new address
    assert f"moved from {backend.url} to {moved.url}" in caplog.text
    ((_route, query),) = [r for r in moved.requests if r[0] == "identity"]
    assert len(query["challenge"]) == 32  # a fresh challenge; the key itself was not sent before the proof


@pytest.mark.parametrize(
    ("identity", "why"),
    [
        ({"identity_key": "not the key"}, "does not hold its API key"),
        ({"identity_address": ("127.0.0.1", 1)}, "does not hold its API key"),  # a proof relayed from elsewhere
        ({"identity_key": ""}, "did not prove its identity"),  # an older gateway: no identity route
    ],
)
async def test_an_announcement_that_cannot_prove_the_key_is_not_followed(
    hass: HomeAssistant,
    backend: BackendDouble,
    moved: BackendDouble,
    caplog: pytest.LogCaptureFixture,
    identity: dict[str, Any],
    why: str,
) -> None:
    entry = await _loaded_discovered_entry(hass, backend)
    for name, value in identity.items():
        setattr(moved, name, value)
    await GatewayFollower(hass, entry).async_seen(DiscoveredGateway(GATEWAY_ID, moved.url, True, "m", PROTOCOL_VERSION))
    await hass.async_block_till_done()
    assert entry.data[CONF_URL] == backend.url and why in caplog.text
    assert not [r for r in moved.requests if r[0] != "identity"]  # nothing else, and no key, went there


async def test_an_entry_without_a_key_is_not_followed(
    hass: HomeAssistant, backend: BackendDouble, moved: BackendDouble, caplog: pytest.LogCaptureFixture
) -> None:
    entry = await _loaded_discovered_entry(hass, backend)
    hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_API_KEY: None})
    await GatewayFollower(hass, entry).async_seen(DiscoveredGateway(GATEWAY_ID, moved.url, True, "m", PROTOCOL_VERSION))
    assert entry.data[CONF_URL] == backend.url and "cannot prove it" in caplog.text


def test_the_identity_proof_is_the_protocols() -> None:
    vector = json.loads((ROOT / "tests/fixtures/protocol/zeroconf/identity.json").read_text())
    args = (vector["api_key"], vector["challenge"], vector["gateway_id"], vector["host"], vector["port"])
    assert identity_proof(*args) == vector["proof"]


async def test_a_gateway_still_announcing_the_entrys_address_is_not_moved(
    hass: HomeAssistant, backend: BackendDouble, moved: BackendDouble
) -> None:
    """Two interfaces: the announcement lists both addresses, in any order; the entry stays where it is."""
    entry = await _loaded_discovered_entry(hass, backend)
    both = [DiscoveredGateway(GATEWAY_ID, url, True, "m", PROTOCOL_VERSION) for url in (moved.url, backend.url)]
    await GatewayFollower(hass, entry).async_seen(*both)
    await hass.async_block_till_done()
    assert entry.data[CONF_URL] == backend.url and not [r for r in moved.requests if r[0] == "identity"]


async def test_a_url_the_user_typed_with_a_host_name_stays(
    hass: HomeAssistant, backend: BackendDouble, moved: BackendDouble
) -> None:
    entry = await _loaded_discovered_entry(hass, backend)
    hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_URL: "http://gpu-box.lan:8000"})
    follower = GatewayFollower(hass, entry)
    await follower.async_seen(DiscoveredGateway(GATEWAY_ID, moved.url, True, "m", PROTOCOL_VERSION))
    await hass.async_block_till_done()
    assert entry.data[CONF_URL] == "http://gpu-box.lan:8000"


async def test_without_home_assistants_zeroconf_nothing_is_browsed(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    with patch.object(discovery, "AsyncServiceBrowser") as browser:
        assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    browser.assert_not_called()


async def test_an_announcement_on_the_network_moves_the_entry_over_real_zeroconf(
    hass: HomeAssistant, backend: BackendDouble, moved: BackendDouble
) -> None:
    """The protocol's announcement (the shared fixture the gateway's `gpu_backend.announce` is tested against) sent
    by python-zeroconf on the loopback interface, and the integration's browser on a real zeroconf instance there,
    as Home Assistant's zeroconf integration would give it."""
    record = json.loads((ROOT / "tests/fixtures/protocol/zeroconf/announcement.json").read_text())
    assert record["type"] == SERVICE_TYPE and record["txt"]["id"] == GATEWAY_ID
    gateway = AsyncZeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
    ha_zeroconf = AsyncZeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
    announcement = AsyncServiceInfo(
        SERVICE_TYPE,
        f"BinMoE gateway on gpu-box (6f1c2b9e).{SERVICE_TYPE}",
        addresses=[ip_address("127.0.0.1").packed],
        port=_port(moved),
        properties=record["txt"],
        server="binmoe-6f1c2b9e.local.",
    )
    hass.config.components.add("zeroconf")
    try:
        with patch("custom_components.binmoe.zeroconf.async_get_async_instance", return_value=ha_zeroconf):
            entry = await _loaded_discovered_entry(hass, backend)
            await (await gateway.async_register_service(announcement))  # registered, then announced
            for _ in range(100):
                if entry.data[CONF_URL] == moved.url and entry.state is ConfigEntryState.LOADED:
                    break
                await asyncio.sleep(0.1)
            await hass.async_block_till_done()
        assert entry.data[CONF_URL] == moved.url and entry.state is ConfigEntryState.LOADED
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await gateway.async_close()
        await ha_zeroconf.async_close()
        hass.config.components.remove("zeroconf")
