"""Fixtures of the Home Assistant integration tests (pytest-homeassistant-custom-component)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from unittest.mock import PropertyMock, patch

import pytest
from homeassistant.const import CONF_API_KEY, CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

# HA puts its own testing config dir first on sys.path, where another `custom_components` package lives:
# import ours before any test runs so `custom_components.binmoe` resolves to this repository.
import custom_components.binmoe  # noqa: F401
from custom_components.binmoe.const import DOMAIN

from .backend_double import BackendDouble
from .helpers import setup_entry

API_KEY = "test-key"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: Any) -> None:
    """Let Home Assistant load custom_components/binmoe in every test."""


@pytest.fixture(autouse=True)
async def core_components(hass: HomeAssistant) -> None:
    """What a real Home Assistant always has loaded (conversation needs exposed entities from it)."""
    assert await async_setup_component(hass, "homeassistant", {})


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the client's real retry/backoff logic, with short delays."""
    from custom_components.binmoe import api

    monkeypatch.setattr(api, "RETRY_BASE_DELAY", 0.01)


@pytest.fixture
async def backend(socket_enabled: Any) -> AsyncIterator[BackendDouble]:
    """A test double of the GPU tier's gateway on loopback (not the real backend)."""
    double = BackendDouble(api_key=API_KEY)
    await double.start()
    yield double
    await double.stop()


@pytest.fixture
def new_speed(backend: BackendDouble) -> BackendDouble:
    """The double diagnoses every escalation as imbalance that may be the new speed (what the real GPU tier says of
    a shaft pattern more than 2 % outside the speeds the node's baseline saw: test_real_backend.py)."""
    backend.answer_cause("imbalance.at_new_speed")
    return backend


@pytest.fixture
def config_entry(backend: BackendDouble) -> MockConfigEntry:
    """A BinMoE entry pointing at the test double."""
    return MockConfigEntry(
        domain=DOMAIN,
        entry_id="01JBINMOETESTENTRY00000000",  # fixed: unique ids derive from it (snapshots)
        title="BinMoE (test)",
        unique_id=backend.url,
        data={CONF_URL: backend.url, CONF_API_KEY: API_KEY},
    )


@pytest.fixture
async def loaded_entry(hass: HomeAssistant, config_entry: MockConfigEntry) -> MockConfigEntry:
    """The entry, set up."""
    return await setup_entry(hass, config_entry)


@pytest.fixture
def entity_registry_enabled_by_default() -> Iterator[None]:
    """Create every entity enabled, also those that start disabled for users (as core's tests do)."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Home Assistant's snapshot format (ids, times and contexts as ANY), as core's tests use."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)
