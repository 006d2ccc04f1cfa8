"""The BinMoE dashboard of scripts/demo: a Lovelace view made only of Home Assistant's built-in cards.

Entity ids are looked up in the entity registry (by integration and translation key), never guessed, so the
dashboard shows the entities this Home Assistant really has. docs/integration.md shows the same cards as
YAML for a dashboard of your own.
"""

from __future__ import annotations

from typing import Any

URL_PATH = "dashboard-binmoe"  # HA requires a hyphen in a dashboard's url_path
TITLE = "BinMoE"

# The hub's entities on the dashboard, by translation key (custom_components/binmoe/translations/en.json).
HUB_KEYS = ("backend", "local_share", "handled_locally", "escalations", "queue_length")

DIAGNOSIS_TEMPLATE = """\
{%- set d = 'ENTITY' -%}
{%- if states(d) in ['unknown', 'unavailable'] -%}
No diagnosis yet: the GPU tier diagnoses what the nodes escalate.
{%- else -%}
{%- set heard = (state_attr(d, 'class') or 'question') | replace('_', ' ') | capitalize -%}
**{{ heard }}** on **{{ state_attr(d, 'node_id') }}**, severity **{{ state_attr(d, 'severity') }}**, \
{{ states[d].last_changed | relative_time }} ago

{{ state_attr(d, 'summary') }}

*Likely cause:* {{ states(d) }}

*What to do:* {{ state_attr(d, 'recommended_action') }}
{%- endif -%}"""


def hub_entities(registry: list[dict[str, Any]]) -> dict[str, str]:
    """translation_key -> entity_id of the BinMoE hub's entities."""
    return {
        e["translation_key"]: e["entity_id"] for e in registry if e["platform"] == "binmoe" and e["translation_key"]
    }


def node_entities(registry: list[dict[str, Any]], device_ids: set[str]) -> list[str]:
    """The enabled entities of the node's devices (its ESPHome device and BinMoE's node device)."""
    return [
        e["entity_id"]
        for e in registry
        if e["device_id"] in device_ids and e["disabled_by"] is None and e["entity_category"] is None
    ]


def dashboard(
    hub: dict[str, str], nodes: dict[str, list[str]], graph_hours: float, log_hours: float = 24
) -> dict[str, Any]:
    """The dashboard's config. `nodes`: each node's title (e.g. "binmoe-demo · Kitchen") -> its entities;
    `graph_hours`, `log_hours`: how far back the graphs and the logbooks look."""
    detection_events = [entity for entities in nodes.values() for entity in entities if entity.startswith("event.")]
    cards: list[dict[str, Any]] = [
        {
            "type": "entities",
            "title": "BinMoE hub",
            "entities": [hub[key] for key in HUB_KEYS if key in hub],
        },
        {
            "type": "history-graph",
            "title": "Handled on the node (share of the cascade)",
            "hours_to_show": graph_hours,
            "entities": [hub["local_share"]],
        },
        {
            "type": "markdown",
            "title": "Last diagnosis",
            "content": DIAGNOSIS_TEMPLATE.replace("ENTITY", hub["last_diagnosis"]),
        },
        *({"type": "entities", "title": title, "entities": entities} for title, entities in nodes.items()),
        {
            "type": "logbook",
            "title": "Last detections",
            "hours_to_show": log_hours,
            "target": {"entity_id": detection_events},
        },
        {
            "type": "history-graph",
            "title": "Escalations and detections handled on the node",
            "hours_to_show": graph_hours,
            "entities": [hub["escalations"], hub["handled_locally"]],
        },
        {
            "type": "logbook",
            "title": "Diagnoses",
            "hours_to_show": log_hours,
            "target": {"entity_id": [hub["last_diagnosis"]]},
        },
    ]
    return {
        "title": TITLE,
        "views": [{"title": "Overview", "path": "overview", "icon": "mdi:ear-hearing", "cards": cards}],
    }
