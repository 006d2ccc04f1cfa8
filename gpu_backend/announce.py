"""Announce the gateway on the local network over zeroconf (mDNS/DNS-SD), so Home Assistant discovers it.

The service type, the instance name and the TXT keys are part of the protocol (`docs/protocol.md`, section 5):
Home Assistant's `binmoe` integration lists `_binmoe._tcp.local.` in its manifest, offers a discovered gateway
under Settings > Devices & services, and follows the gateway to a new address by its `id`.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import os
import re
import socket
import uuid
from pathlib import Path

import ifaddr
from zeroconf import IPVersion
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from node_factory.atomic_write import write_atomic

from .protocol import PROTOCOL_VERSION

LOGGER = logging.getLogger(__name__)

SERVICE_TYPE = "_binmoe._tcp.local."
ID_FILE = "gateway_id"


def default_state_dir() -> Path:
    """Where the gateway keeps its id: `$XDG_STATE_HOME/binmoe` (default `~/.local/state/binmoe`)."""
    return Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "binmoe"


def gateway_id(state_dir: Path) -> str:
    """The gateway's stable id (a UUID made on first start and kept in `state_dir`), so Home Assistant knows it
    again at another address. If the folder cannot be written, an id for this run only, with a warning."""
    path = state_dir / ID_FILE
    try:
        stored = path.read_text(encoding="utf-8").strip()
        return str(uuid.UUID(stored))
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as err:
        LOGGER.warning("gateway id in %s unreadable (%s): making a new one", path, err)
    new = str(uuid.uuid4())
    try:
        write_atomic(path, new + "\n")  # never a half-written id
    except OSError as err:
        LOGGER.warning(
            "cannot keep the gateway id in %s (%s): this run's id is %s; Home Assistant will not recognise the "
            "gateway after a restart at another address",
            path,
            err,
            new,
        )
    return new


def announced_addresses(host: str) -> list[str]:
    """The addresses to announce for a gateway bound to `host`: that address, or for all interfaces (0.0.0.0 /
    ::) every address of this machine that is not loopback or link-local. Empty for loopback: nothing on the
    network could use it."""
    address = ipaddress.ip_address(host)
    if address.is_loopback:
        return []
    if not address.is_unspecified:
        return [host]
    found = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            value = ipaddress.ip_address(ip.ip if isinstance(ip.ip, str) else ip.ip[0])  # IPv6: (address, ...)
            wanted = value.version == 4 or address.version == 6  # `::` serves both (dual stack), 0.0.0.0 IPv4
            if wanted and not (value.is_loopback or value.is_link_local):
                found.append(str(value))
    return sorted(set(found))


def service_info(
    ident: str, addresses: list[str], port: int, *, model: str, auth: bool, hostname: str | None = None
) -> AsyncServiceInfo:
    """The DNS-SD record of a gateway: instance `BinMoE gateway on <host>`, its addresses and port, and the TXT
    keys of `docs/protocol.md` (id, protocol version, API path, whether a key is needed, served model)."""
    host = (hostname or socket.gethostname()).split(".")[0] or "gateway"
    return AsyncServiceInfo(
        SERVICE_TYPE,
        f"BinMoE gateway on {host} ({ident[:8]}).{SERVICE_TYPE}",
        addresses=[ipaddress.ip_address(a).packed for a in addresses],
        port=port,
        properties={
            "id": ident,
            "protocol": str(PROTOCOL_VERSION),
            "path": "/",
            "auth": "key" if auth else "none",
            "model": model[:200],
        },
        server=f"binmoe-{ident[:8]}.local.",
    )


CHALLENGE = re.compile(r"[0-9a-f]{32,128}")


def identity_proof(api_key: str, challenge: str, ident: str, host: str, port: int) -> str:
    """What proves that the gateway at host:port is the one with this id and key, without sending the key:
    HMAC-SHA256 under the key of the challenge, the id and the address the request reached (`docs/protocol.md`,
    section 5). The address binds the proof to it, so a proof relayed from another address does not match."""
    address = ipaddress.ip_address(host)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:  # `::` serving an IPv4 client
        address = address.ipv4_mapped
    message = f"binmoe-identity/1|{challenge}|{ident}|{address}|{port}"
    return hmac.new(api_key.encode(), message.encode(), hashlib.sha256).hexdigest()


class Announcer:
    """Registers the gateway's service while it serves and says goodbye when it stops."""

    def __init__(self, info: AsyncServiceInfo, interfaces: list[str] | None = None) -> None:
        self.info = info
        self._interfaces = interfaces
        self._zeroconf: AsyncZeroconf | None = None

    async def start(self) -> None:
        """Announce; a network that refuses mDNS is a warning, never a failed start (the URL still works)."""
        # IPv6 sockets only for IPv6 addresses: a host without IPv6 must still announce its IPv4 ones
        ipv6 = any(":" in a for a in self.info.parsed_addresses())
        version = IPVersion.All if ipv6 else IPVersion.V4Only
        try:
            if self._interfaces:
                self._zeroconf = AsyncZeroconf(interfaces=self._interfaces, ip_version=version)
            else:
                self._zeroconf = AsyncZeroconf(ip_version=version)
            await (await self._zeroconf.async_register_service(self.info, allow_name_change=True))  # and announced
        except Exception as err:  # OSError from the sockets, zeroconf's own errors: the URL still works
            LOGGER.warning("zeroconf announcement failed (%s): add the gateway in Home Assistant by its URL", err)
            await self.stop()
            return
        LOGGER.info(
            "announced over zeroconf as %r at %s port %d",
            self.info.name,
            ", ".join(self.info.parsed_addresses()),
            self.info.port,
        )

    async def stop(self) -> None:
        if self._zeroconf is None:
            return
        zeroconf, self._zeroconf = self._zeroconf, None
        try:
            await zeroconf.async_unregister_all_services()  # goodbye packets
        except Exception as err:  # a network gone away: nothing left to tell, the close below still runs
            LOGGER.debug("zeroconf goodbye failed: %s", err)
        finally:
            await zeroconf.async_close()
