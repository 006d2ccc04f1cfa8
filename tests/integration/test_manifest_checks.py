"""Checks of the integration's metadata, run by Home Assistant's own code where it exists offline.

hassfest and the HACS action are GitHub actions (see .github/workflows/validate.yml); what can run here is
HA's loader (manifest parsing, version rules for custom integrations), its translation loader and its
config checker, plus the documented hassfest/HACS rules that have no offline implementation.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from homeassistant import loader
from homeassistant.core import HomeAssistant
from homeassistant.helpers import translation

from custom_components.binmoe.const import DOMAIN

ROOT = Path(__file__).parents[2]
COMPONENT = ROOT / "custom_components" / DOMAIN


async def test_home_assistant_loads_the_manifest(hass: HomeAssistant) -> None:
    integration = await loader.async_get_integration(hass, DOMAIN)
    assert not integration.is_built_in
    assert integration.config_flow
    assert integration.version is not None  # HA refuses custom integrations without a valid version
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert str(integration.version) == pyproject["project"]["version"]  # one version for the whole repo
    assert integration.iot_class == "local_push"
    assert integration.integration_type == "service"
    assert integration.documentation and integration.issue_tracker


async def test_home_assistant_loads_the_translations(hass: HomeAssistant) -> None:
    await loader.async_get_integration(hass, DOMAIN)
    strings = await translation.async_get_translations(hass, "en", "config", [DOMAIN])
    assert strings[f"component.{DOMAIN}.config.error.cannot_connect"]
    assert strings[f"component.{DOMAIN}.config.step.user.title"]
    exceptions = await translation.async_get_translations(hass, "en", "exceptions", [DOMAIN])
    assert "{url}" in exceptions[f"component.{DOMAIN}.exceptions.cannot_connect.message"]


def test_manifest_key_order_follows_hassfest() -> None:
    # hassfest: "domain" and "name" first, the other keys sorted alphabetically.
    keys = list(json.loads((COMPONENT / "manifest.json").read_text()))
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])


def test_every_error_and_abort_used_in_code_is_translated() -> None:
    strings = json.loads((COMPONENT / "translations" / "en.json").read_text())
    source = "\n".join(p.read_text() for p in COMPONENT.glob("*.py") if p.name != "repairs.py")
    errors = set(re.findall(r'(?:"base"|CONF_\w+): "(\w+)"', source))
    aborts = set(re.findall(r'reason="(\w+)"', source))
    assert errors and errors <= set(strings["config"]["error"])
    assert aborts <= set(strings["config"]["abort"])
    # the repair issues' fix flows (repairs.py) abort with their own reasons
    fix_aborts = set(re.findall(r'reason="(\w+)"', (COMPONENT / "repairs.py").read_text()))
    for issue in (issue for issue in strings["issues"].values() if "fix_flow" in issue):
        assert fix_aborts <= set(issue["fix_flow"]["abort"])
    keys = set(re.findall(r'translation_key="(\w+)"', source))
    assert keys <= set(strings["exceptions"])


def test_hacs_json_rules() -> None:
    # HACS (hacs.xyz/docs/publish/integration): name is required; the integration lives in
    # custom_components/<domain>/ with a manifest; homeassistant is the minimum HA version.
    hacs = json.loads((ROOT / "hacs.json").read_text())
    allowed = {"name", "content_in_root", "zip_release", "filename", "hide_default_branch", "country",
               "homeassistant", "hacs", "persistent_directory", "render_readme"}  # fmt: skip
    assert set(hacs) <= allowed
    assert hacs["name"]
    assert hacs["content_in_root"] is False
    assert re.fullmatch(r"\d{4}\.\d{1,2}\.\d+", hacs["homeassistant"])
    assert [p.name for p in (ROOT / "custom_components").iterdir() if p.is_dir() and p.name != "__pycache__"] == [
        DOMAIN
    ]
    assert (ROOT / "README.md").exists()


TIERS = ("bronze", "silver", "gold", "platinum")


def test_manifest_claims_only_a_tier_whose_rules_are_all_done() -> None:
    """quality_scale.yaml lists the rules under '# Bronze' … '# Platinum'; a tier counts when its rules and
    every lower tier's are done or exempt (exempt with a reason)."""
    import yaml

    text = (COMPONENT / "quality_scale.yaml").read_text()
    rules = yaml.safe_load(text)["rules"]
    tier_of: dict[str, str] = {}
    tier = ""
    for line in text.splitlines():
        if (heading := line.strip().lstrip("# ").lower()) in TIERS:
            tier = heading
        elif (match := re.match(r"  ([a-z0-9-]+):", line)) and tier:
            tier_of[match.group(1)] = tier
    assert set(tier_of) == set(rules)
    assert {tier_of[r] for r in rules} == set(TIERS)

    def status(rule: str) -> str:
        value = rules[rule]
        if isinstance(value, dict):
            assert value["status"] != "exempt" or value.get("comment"), f"{rule}: exempt needs a reason"
            return str(value["status"])
        return str(value)

    reached = None
    for name in TIERS:
        if any(status(r) not in ("done", "exempt") for r, t in tier_of.items() if t == name):
            break
        reached = name
    manifest = json.loads((COMPONENT / "manifest.json").read_text())
    assert manifest.get("quality_scale") == reached


async def test_home_assistant_serves_the_brand_images(hass: HomeAssistant, hass_client: Any) -> None:
    from homeassistant.setup import async_setup_component

    assert await async_setup_component(hass, "brands", {})
    client = await hass_client()
    for image in ("icon.png", "icon@2x.png", "logo.png", "dark_logo.png"):
        response = await client.get(f"/api/brands/integration/{DOMAIN}/{image}")
        assert response.status == 200, image
        assert await response.read() == (COMPONENT / "brand" / image).read_bytes()
    # no dark icon of its own: Home Assistant falls back to the light one
    response = await client.get(f"/api/brands/integration/{DOMAIN}/dark_icon.png")
    assert await response.read() == (COMPONENT / "brand" / "icon.png").read_bytes()
