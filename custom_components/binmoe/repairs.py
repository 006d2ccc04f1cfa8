"""Fix flows of BinMoE's repair issues: `baseline_speed` (baseline_speeds.py) learns the node's baseline again."""

from __future__ import annotations

import probatio as vol
from homeassistant.components.repairs import RepairsFlow, RepairsFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN, ISSUE_BASELINE_SPEED

MINUTES = "minutes"
DEFAULT_MINUTES = 10  # binmoe.learn_baseline's default; longer covers more of a machine's speeds and loads
MAX_MINUTES = 7 * 24 * 60  # the week the node's action accepts
LEARN_MINUTES = vol.All(vol.Coerce(int), vol.Range(min=1, max=MAX_MINUTES))


class RelearnBaselineFlow(RepairsFlow):
    """Start learning the node's baseline again, for as long as the user runs the machine through its speeds."""

    def __init__(self, node_id: str) -> None:
        self.node_id = node_id

    async def async_step_init(self, user_input: dict[str, str] | None = None) -> RepairsFlowResult:
        return await self.async_step_confirm()

    async def async_step_confirm(self, user_input: dict[str, int] | None = None) -> RepairsFlowResult:
        issue = ir.async_get(self.hass).async_get_issue(DOMAIN, self.issue_id)
        placeholders = dict(issue.translation_placeholders or {}) if issue else {"node": self.node_id}
        if user_input is not None:
            try:
                await self.hass.services.async_call(
                    DOMAIN,
                    "learn_baseline",
                    {"node_id": self.node_id, "duration": user_input[MINUTES] * 60},
                    blocking=True,
                )
            except HomeAssistantError as err:  # no such action on the node, no loaded entry, the node refused
                placeholders["error"] = str(err)
                return self.async_abort(reason="learn_failed", description_placeholders=placeholders)
            return self.async_create_entry(data={})
        return self.async_show_form(
            step_id="confirm",
            data_schema=vol.Schema({vol.Required(MINUTES, default=DEFAULT_MINUTES): LEARN_MINUTES}),
            description_placeholders=placeholders,
        )


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """The fix flow of a fixable issue (only `baseline_speed_<node>` ones are)."""
    if issue_id.startswith(f"{ISSUE_BASELINE_SPEED}_") and data and isinstance(node_id := data.get("node_id"), str):
        return RelearnBaselineFlow(node_id)
    raise ValueError(f"BinMoE has no fix flow for issue {issue_id}")
