"""The gateway's zeroconf announcement (`gpu_backend.announce`): its stable id, what it announces where, and the
real python-zeroconf announcing it on loopback to a real browser, goodbye included."""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from zeroconf import IPVersion, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from gpu_backend import announce
from gpu_backend.__main__ import main
from gpu_backend.announce import (
    SERVICE_TYPE,
    Announcer,
    announced_addresses,
    gateway_id,
    identity_proof,
    service_info,
)
from gpu_backend.gateway import GatewaySettings, create_app
from gpu_backend.protocol import PROTOCOL_VERSION
from gpu_backend.serve import announce_plan

from .conftest import API_KEY, RunningGateway

FIXTURES = Path(__file__).parents[1] / "fixtures" / "protocol" / "zeroconf"


def test_the_gateway_id_is_made_once_and_kept(tmp_path: Path) -> None:
    first = gateway_id(tmp_path / "state")
    assert uuid.UUID(first) and gateway_id(tmp_path / "state") == first
    assert (tmp_path / "state" / "gateway_id").read_text() == first + "\n"
    assert not list((tmp_path / "state").glob("*.tmp"))
    assert [p.name for p in (tmp_path / "state").iterdir()] == ["gateway_id"]  # no temporary file left


def test_a_damaged_id_file_is_replaced(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "gateway_id").write_text("not a uuid")
    new = gateway_id(tmp_path)
    assert uuid.UUID(new) and "unreadable" in caplog.text
    assert gateway_id(tmp_path) == new


def test_an_unwritable_state_folder_gives_an_id_for_this_run_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    first = gateway_id(blocker / "binmoe")  # a folder under a file cannot be made
    assert uuid.UUID(first) and "cannot keep the gateway id" in caplog.text
    assert gateway_id(blocker / "binmoe") != first


def test_loopback_is_never_announced_and_a_bound_address_is_announced_alone() -> None:
    assert announced_addresses("127.0.0.1") == [] and announced_addresses("::1") == []
    assert announced_addresses("192.168.1.20") == ["192.168.1.20"]


def test_all_interfaces_announce_the_machines_addresses_without_loopback_or_link_local(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Adapter:  # ifaddr's adapter record, the fields announce reads
        def __init__(self, *ips: str | tuple[str, int, int]) -> None:
            self.ips = [type("IP", (), {"ip": ip})() for ip in ips]

    adapters = [Adapter("127.0.0.1", ("::1", 0, 0)), Adapter("192.168.1.20", ("fe80::1", 0, 2), ("fd00::5", 0, 0))]
    monkeypatch.setattr(announce.ifaddr, "get_adapters", lambda: adapters)
    assert announced_addresses("0.0.0.0") == ["192.168.1.20"]
    assert announced_addresses("::") == ["192.168.1.20", "fd00::5"]


def test_the_plan_says_why_nothing_is_announced() -> None:
    assert announce_plan("127.0.0.1", None) == (
        [],
        "zeroconf: not announced, 127.0.0.1 is reachable from this machine only",
    )
    addresses, line = announce_plan("192.168.1.20", False)
    assert addresses == [] and "--no-announce" in line
    assert announce_plan("192.168.1.20", None) == (
        ["192.168.1.20"],
        f"zeroconf: announced as {SERVICE_TYPE} at 192.168.1.20",
    )
    assert announce_plan("localhost", True)[0] == []  # a name that resolves to loopback only
    addresses, line = announce_plan("no-such-host.invalid", None)
    assert addresses == [] and "no-such-host.invalid does not resolve" in line


def test_dry_run_says_whether_it_announces(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--profile", "cpu-fixture", "--dry-run"]) == 0
    assert "zeroconf: not announced, 127.0.0.1 is reachable from this machine only" in capsys.readouterr().out
    args = ["serve", "--profile", "cpu-fixture", "--dry-run", "--api-key", "k", "--host", "192.168.1.20"]
    assert main([*args, "--no-announce"]) == 0
    assert "zeroconf: not announced (--no-announce)" in capsys.readouterr().out


def test_the_record_is_the_protocols_announcement() -> None:
    """The shared fixture Home Assistant's side is tested with (tests/integration/test_discovery.py)."""
    record = json.loads((FIXTURES / "announcement.json").read_text())
    txt = record["txt"]
    info = service_info(txt["id"], ["192.168.1.20"], 8000, model=txt["model"], auth=True, hostname="gpu-box.lan")
    assert info.type == record["type"] == SERVICE_TYPE
    assert info.name == f"BinMoE gateway on gpu-box ({txt['id'][:8]}).{SERVICE_TYPE}"
    assert info.parsed_addresses() == ["192.168.1.20"] and info.port == 8000
    assert info.decoded_properties == txt and txt["protocol"] == str(PROTOCOL_VERSION)
    assert service_info(txt["id"], [], 8000, model="m", auth=False).decoded_properties["auth"] == "none"


async def test_a_browser_on_the_network_finds_the_gateway_and_hears_it_leave() -> None:
    """Real python-zeroconf on the loopback interface: what Home Assistant's zeroconf integration does."""
    info = service_info(str(uuid.uuid4()), ["127.0.0.1"], 8123, model="fixture", auth=False, hostname="test")
    announcer = Announcer(info, interfaces=["127.0.0.1"])
    browser_zc = AsyncZeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
    changes: asyncio.Queue[tuple[str, ServiceStateChange]] = asyncio.Queue()

    def on_change(zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        changes.put_nowait((name, state_change))

    browser = AsyncServiceBrowser(browser_zc.zeroconf, SERVICE_TYPE, handlers=[on_change])
    try:
        await announcer.start()
        name, change = await asyncio.wait_for(changes.get(), 10)
        assert (name, change) == (info.name, ServiceStateChange.Added)
        found = AsyncServiceInfo(SERVICE_TYPE, name)
        assert await found.async_request(browser_zc.zeroconf, 3000)
        assert found.parsed_addresses() == ["127.0.0.1"] and found.port == 8123
        assert found.decoded_properties["id"] == info.decoded_properties["id"]
        await announcer.stop()
        while change != ServiceStateChange.Removed:
            name, change = await asyncio.wait_for(changes.get(), 10)
        assert name == info.name
    finally:
        await announcer.stop()
        await browser.async_cancel()
        await browser_zc.async_close()


async def test_a_network_without_mdns_is_a_warning_not_a_failed_start(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def no_sockets(*_args: object, **_kwargs: object) -> AsyncZeroconf:
        raise OSError("no multicast here")

    monkeypatch.setattr(announce, "AsyncZeroconf", no_sockets)
    announcer = Announcer(service_info(str(uuid.uuid4()), ["127.0.0.1"], 8000, model="m", auth=False))
    await announcer.start()
    assert "zeroconf announcement failed (no multicast here)" in caplog.text
    await announcer.stop()  # nothing to stop: no error


def test_the_running_gateway_reports_its_id_and_does_not_announce_loopback(gateway: RunningGateway) -> None:
    with gateway.client() as client:
        body = client.get("/health").json()
    stored = (gateway.log.parent / "binmoe" / "gateway_id").read_text().strip()
    assert body["gateway_id"] == stored
    assert "zeroconf: not announced, 127.0.0.1 is reachable from this machine only" in gateway.log.read_text()


def test_the_identity_proof_is_the_protocols() -> None:
    vector = json.loads((FIXTURES / "identity.json").read_text())
    proof = identity_proof(vector["api_key"], vector["challenge"], vector["gateway_id"], vector["host"], vector["port"])
    assert proof == vector["proof"]
    mapped = identity_proof(vector["api_key"], vector["challenge"], vector["gateway_id"], "::ffff:192.168.1.20", 8000)
    assert mapped == proof  # a dual-stack socket reports an IPv4 client's address so
    assert identity_proof(vector["api_key"], vector["challenge"], vector["gateway_id"], "192.168.1.21", 8000) != proof


class _NoEngine:
    base_url = "http://127.0.0.1:9"
    is_ready = False
    restarts = 0


@pytest.mark.parametrize(
    ("api_key", "ident", "challenge", "status"),
    [
        (None, "x", "ab" * 16, 404),  # no key: nothing to prove (and never announced)
        ("k", None, "ab" * 16, 404),
        ("k", "x", "short", 422),
        ("k", "x", "AB" * 16, 422),
        ("k", "x", "ab" * 16, 421),  # the test client reaches no IP address
    ],
)
def test_the_identity_route_refuses_what_it_cannot_prove(
    api_key: str | None, ident: str | None, challenge: str, status: int
) -> None:
    settings = GatewaySettings("m", "test", api_key=api_key, gateway_id=ident)
    with TestClient(create_app(settings, _NoEngine())) as client:
        assert client.get("/v1/binmoe/identity", params={"challenge": challenge}).status_code == status


def test_the_running_gateway_proves_its_identity_without_the_key_being_sent(gateway: RunningGateway) -> None:
    challenge = secrets.token_hex(16)
    with gateway.client(key=None) as client:
        answer = client.get("/v1/binmoe/identity", params={"challenge": challenge})
        health = client.get("/health").json()
    assert answer.status_code == 200
    port = int(gateway.url.rsplit(":", 1)[1])
    assert answer.json() == {
        "gateway_id": health["gateway_id"],
        "proof": identity_proof(API_KEY, challenge, health["gateway_id"], "127.0.0.1", port),
    }
