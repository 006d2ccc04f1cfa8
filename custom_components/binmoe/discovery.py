"""Zeroconf discovery of the GPU tier's gateway (`docs/protocol.md`, section 5).

The gateway announces `_binmoe._tcp.local.` with its stable `id`. A new one is offered by the config flow
(`async_step_zeroconf`); a configured one is followed to a new address by `GatewayFollower`, because Home
Assistant starts no discovery flow for an integration that allows one entry and has it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_API_KEY, CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from yarl import URL
from zeroconf import IPVersion, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo

from .api import BinMoEClient, BinMoEError, normalize_url
from .const import LOGGER, PROTOCOL_VERSION

SERVICE_TYPE = "_binmoe._tcp.local."
RESOLVE_TIMEOUT_MS = 3000


@dataclass(frozen=True)
class DiscoveredGateway:
    """A gateway as its announcement describes it."""

    gateway_id: str
    url: str
    auth: bool  # it needs an API key
    model: str
    protocol: int


def gateway_from_announcement(
    address: IPv4Address | IPv6Address, port: int | None, properties: Mapping[str, str | None]
) -> DiscoveredGateway | None:
    """The gateway an announcement describes, or None if it lacks what the protocol requires (an id, a port, a
    protocol version that is a number, an address)."""
    gateway_id = properties.get("id")
    try:
        protocol = int(properties.get("protocol") or "")
    except ValueError:
        return None
    if not gateway_id or not port or address.is_unspecified:
        return None
    path = (properties.get("path") or "/").strip()
    url = normalize_url(str(URL.build(scheme="http", host=str(address), port=port, path=path if path else "/")))
    return DiscoveredGateway(gateway_id, url, properties.get("auth") == "key", properties.get("model") or "", protocol)


def is_compatible(gateway: DiscoveredGateway) -> bool:
    return gateway.protocol == PROTOCOL_VERSION


def identity_proof(api_key: str, challenge: str, gateway_id: str, host: str, port: int) -> str:
    """The proof a gateway gives of its id and key at host:port (docs/protocol.md, section 5): HMAC-SHA256 under
    the key of the challenge, the id and the address it was reached at."""
    message = f"binmoe-identity/1|{challenge}|{gateway_id}|{ip_address(host)}|{port}"
    return hmac.new(api_key.encode(), message.encode(), hashlib.sha256).hexdigest()


def follows_announcements(url: str) -> bool:
    """Whether an entry's URL may be moved to where the gateway announces itself: only a plain http URL to an IP
    address, as discovery makes. A host name or an https URL (a reverse proxy, a certificate) is the user's
    choice and stays."""
    parsed = URL(url)
    if parsed.scheme != "http" or parsed.host is None:
        return False
    try:
        ip_address(parsed.host)
    except ValueError:
        return False
    return True


class GatewayFollower:
    """Browses for gateway announcements while the entry is loaded and, when the entry's gateway (same id)
    announces another address or port and proves there that it holds the entry's API key, points the entry
    there and reloads it."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry) -> None:
        self._hass = hass
        self._entry = entry
        self._browser: AsyncServiceBrowser | None = None

    def start(self, zeroconf: Zeroconf) -> None:
        self._browser = AsyncServiceBrowser(zeroconf, SERVICE_TYPE, handlers=[self._on_change])

    async def async_stop(self) -> None:
        if self._browser is not None:
            browser, self._browser = self._browser, None
            await browser.async_cancel()

    def _on_change(
        self, zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:  # called in the event loop by python-zeroconf
        if state_change is ServiceStateChange.Removed:
            return
        self._entry.async_create_background_task(
            self._hass, self._async_resolve(zeroconf, name), f"binmoe zeroconf {name}"
        )

    async def _async_resolve(self, zeroconf: Zeroconf, name: str) -> None:
        info = AsyncServiceInfo(SERVICE_TYPE, name)
        if not await info.async_request(zeroconf, RESOLVE_TIMEOUT_MS):
            return
        addresses = info.ip_addresses_by_version(IPVersion.All)
        found = [gateway_from_announcement(a, info.port, info.decoded_properties) for a in addresses]
        await self.async_seen(*[g for g in found if g is not None])

    async def async_seen(self, *gateways: DiscoveredGateway) -> None:
        """An announcement of some gateway, one entry per address it gave: follow it if it is this entry's, none
        of its addresses is the entry's (a gateway with two interfaces must not flap between them), and at the
        first one it proves that it holds the entry's API key (anyone on the network can announce any id)."""
        entry = self._entry
        current = entry.data[CONF_URL]
        mine = [g for g in gateways if g.gateway_id == entry.unique_id]
        if not mine or any(g.url == current for g in mine) or not follows_announcements(current):
            return
        gateway = mine[0]
        if not is_compatible(gateway):
            LOGGER.warning(
                "The BinMoE gateway now announces itself at %s with protocol version %s (this integration speaks "
                "%s): the URL stays %s",
                gateway.url,
                gateway.protocol,
                PROTOCOL_VERSION,
                current,
            )
            return
        if not await self._async_proven(gateway):
            return
        LOGGER.info("The BinMoE gateway moved from %s to %s: following it", current, gateway.url)
        self._hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_URL: gateway.url})
        self._hass.config_entries.async_schedule_reload(entry.entry_id)

    async def _async_proven(self, gateway: DiscoveredGateway) -> bool:
        """Whether the gateway at the announced address holds the entry's key: it answers a fresh challenge with
        the HMAC the key makes, bound to that address, so a proof relayed from the real gateway fails."""
        api_key = self._entry.data.get(CONF_API_KEY)
        if not api_key:
            LOGGER.warning("The BinMoE gateway announces %s, but without an API key it cannot prove it", gateway.url)
            return False
        url = URL(gateway.url)
        assert url.host is not None and url.port is not None  # built by gateway_from_announcement
        challenge = secrets.token_hex(16)
        client = BinMoEClient(async_get_clientsession(self._hass), gateway.url)  # no key: it is not proven yet
        try:
            gateway_id, proof = await client.async_get_identity(challenge)
        except BinMoEError as err:
            LOGGER.warning("The BinMoE gateway announced at %s did not prove its identity: %s", gateway.url, err)
            return False
        expected = identity_proof(api_key, challenge, gateway.gateway_id, url.host, url.port)
        if gateway_id != gateway.gateway_id or not hmac.compare_digest(proof, expected):
            LOGGER.warning(
                "Something at %s announces itself as this BinMoE gateway but does not hold its API key: not "
                "followed (the URL stays %s)",
                gateway.url,
                self._entry.data[CONF_URL],
            )
            return False
        return True
