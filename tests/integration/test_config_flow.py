"""Every branch of the config and options flows: user, one entry only, reauth, reconfigure, routing policy."""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_API_KEY, CONF_URL, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.binmoe.const import DOMAIN

from .backend_double import BackendDouble
from .conftest import API_KEY
from .helpers import capture, fire


async def _start(hass: HomeAssistant) -> str:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {}
    return result["flow_id"]


async def test_user_creates_entry(hass: HomeAssistant, backend: BackendDouble) -> None:
    flow_id = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_URL: backend.url + "/", CONF_API_KEY: API_KEY}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "BinMoE (double-moe)"
    assert result["data"] == {CONF_URL: backend.url, CONF_API_KEY: API_KEY, CONF_VERIFY_SSL: True}
    assert result["result"].unique_id == backend.url
    assert result["result"].state.value == "loaded"


async def test_user_without_key_on_open_backend(hass: HomeAssistant, backend: BackendDouble) -> None:
    backend.api_key = None
    flow_id = await _start(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_URL: backend.url})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_API_KEY] is None


@pytest.mark.parametrize("url", ["not a url", "ftp://host:8000", "http://"])
async def test_user_invalid_url(hass: HomeAssistant, url: str) -> None:
    flow_id = await _start(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_URL: url})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_URL: "invalid_url"}


async def test_user_wrong_key_then_recovers(hass: HomeAssistant, backend: BackendDouble) -> None:
    flow_id = await _start(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_URL: backend.url, CONF_API_KEY: "wrong"})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_API_KEY: "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_URL: backend.url, CONF_API_KEY: API_KEY})
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_user_cannot_connect(hass: HomeAssistant, backend: BackendDouble) -> None:
    url = backend.url
    await backend.stop()
    flow_id = await _start(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_URL: url, CONF_API_KEY: API_KEY})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "cannot_connect"}


async def test_user_backend_starting_is_cannot_connect(hass: HomeAssistant, backend: BackendDouble) -> None:
    backend.healthy = False
    flow_id = await _start(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_URL: backend.url, CONF_API_KEY: API_KEY})
    assert result["errors"] == {"base": "cannot_connect"}


async def test_user_not_a_binmoe_backend(hass: HomeAssistant, backend: BackendDouble) -> None:
    backend.models_body = {"unexpected": True}
    flow_id = await _start(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_URL: backend.url, CONF_API_KEY: API_KEY})
    assert result["errors"] == {"base": "cannot_connect"}


async def test_user_unknown_error(hass: HomeAssistant, backend: BackendDouble) -> None:
    flow_id = await _start(hass)
    with patch("custom_components.binmoe.config_flow.BinMoEClient.async_get_info", side_effect=RuntimeError("boom")):
        result = await hass.config_entries.flow.async_configure(flow_id, {CONF_URL: backend.url, CONF_API_KEY: API_KEY})
    assert result["errors"] == {"base": "unknown"}


async def test_only_one_entry(hass: HomeAssistant, backend: BackendDouble, config_entry: MockConfigEntry) -> None:
    """One hub per Home Assistant: every node's events reach it, so a second entry would route them twice."""
    config_entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "single_instance_allowed"


async def test_reauth(hass: HomeAssistant, backend: BackendDouble, loaded_entry: MockConfigEntry) -> None:
    backend.api_key = "rotated"
    result = await loaded_entry.start_reauth_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_API_KEY: "still-wrong"})
    assert result["errors"] == {CONF_API_KEY: "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_API_KEY: "rotated"})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert loaded_entry.data[CONF_API_KEY] == "rotated"
    await hass.async_block_till_done()  # the entry reloads with the new key
    assert loaded_entry.state is ConfigEntryState.LOADED


async def test_reconfigure_new_url(hass: HomeAssistant, backend: BackendDouble, loaded_entry: MockConfigEntry) -> None:
    other = BackendDouble(api_key="k2")
    await other.start()
    try:
        result = await loaded_entry.start_reconfigure_flow(hass)
        assert result["step_id"] == "reconfigure"
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_URL: other.url, CONF_API_KEY: "k2"}
        )
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "reconfigure_successful"
        assert loaded_entry.data == {CONF_URL: other.url, CONF_API_KEY: "k2", CONF_VERIFY_SSL: True}
        assert loaded_entry.unique_id == other.url
        await hass.async_block_till_done()
        assert loaded_entry.state.value == "loaded"
    finally:
        await other.stop()


async def test_reconfigure_errors(hass: HomeAssistant, backend: BackendDouble, loaded_entry: MockConfigEntry) -> None:
    result = await loaded_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_URL: "nope"})
    assert result["errors"] == {CONF_URL: "invalid_url"}
    await backend.stop()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: backend.url, CONF_API_KEY: API_KEY}
    )
    assert result["errors"] == {"base": "cannot_connect"}


async def test_options_flow_reloads_with_new_policy(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    assert result["type"] == "menu" and result["menu_options"] == ["routing", "voice"]
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"next_step_id": "routing"})
    assert result["step_id"] == "routing"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {"ignore_classes": ["knock"], "min_confidence": 0.3, "rate_limit_per_minute": 10, "dedupe_window_s": 5},
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    assert loaded_entry.options["ignore_classes"] == ["knock"]
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert loaded_entry.runtime_data.hub.router.policy.ignore_classes == {"knock"}
    escalations = capture(hass, "binmoe_escalation")
    await fire(hass, **{"class": "knock"})
    assert [e.data["decision"] for e in escalations] == ["ignored"]


# ---- https: the gateway's certificate is verified unless the user turns that off ------------------------
@pytest.fixture
def https_backend(socket_enabled: Any, tmp_path: Path) -> Iterator[tuple[BackendDouble, Path]]:
    """The gateway double behind https, with a certificate of a throw-away CA; yields it and the CA file.

    It runs in an event loop of its own: a handshake the client refuses is an error in the server's loop, and in
    Home Assistant's loop that would fail the test."""
    from tests.tls_certs import ThrowawayCA

    ca = ThrowawayCA.create(tmp_path)
    server = ca.issue("gateway", server=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(server.cert, server.key)
    double = BackendDouble(api_key=API_KEY, ssl_context=context)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="https-double")
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(double.start(), loop).result(10)
        yield double, ca.ca
        asyncio.run_coroutine_threadsafe(double.stop(), loop).result(10)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


async def test_https_certificate_of_an_unknown_ca_is_refused(
    hass: HomeAssistant, https_backend: tuple[BackendDouble, Path]
) -> None:
    backend, _ca = https_backend
    assert backend.url.startswith("https://")
    flow_id = await _start(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_URL: backend.url, CONF_API_KEY: API_KEY})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_VERIFY_SSL: "invalid_certificate"}
    assert not [name for name, _ in backend.requests]  # nothing (not even the key) went to it
    # the user knows this self-signed gateway and turns the verification off
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_URL: backend.url, CONF_API_KEY: API_KEY, CONF_VERIFY_SSL: False}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_VERIFY_SSL] is False
    assert result["result"].state is ConfigEntryState.LOADED  # set up with the same, unverified session


async def test_https_certificate_of_a_trusted_ca_is_accepted(
    hass: HomeAssistant, https_backend: tuple[BackendDouble, Path]
) -> None:
    """The CA is in Home Assistant's trust store (REQUESTS_CA_BUNDLE when it starts): verified and accepted."""
    from homeassistant.util import ssl as ssl_util

    backend, ca = https_backend
    trusted = ssl_util.create_client_context(alpn_protocols=ssl_util.SSL_ALPN_HTTP11)
    trusted.load_verify_locations(ca)
    with patch.object(ssl_util, "client_context", return_value=trusted):
        flow_id = await _start(hass)
        result = await hass.config_entries.flow.async_configure(flow_id, {CONF_URL: backend.url, CONF_API_KEY: API_KEY})
        assert result["type"] is FlowResultType.CREATE_ENTRY, result
        assert result["data"][CONF_VERIFY_SSL] is True
        assert result["result"].state is ConfigEntryState.LOADED
