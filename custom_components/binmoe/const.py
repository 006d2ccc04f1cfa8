"""Constants of the BinMoE integration."""

from __future__ import annotations

import logging
from typing import Final

from homeassistant.util import slugify

DOMAIN: Final = "binmoe"
LOGGER = logging.getLogger(__package__)

DEFAULT_URL: Final = "http://localhost:8000"
PROTOCOL_VERSION: Final = 1

# Seconds. The GPU tier answers health checks at once; diagnoses run an LLM and can take longer.
HEALTH_TIMEOUT: Final = 10.0
DIAGNOSE_TIMEOUT: Final = 120.0
# A streamed chat reply: the whole answer, and the longest silence between two chunks.
CHAT_TIMEOUT: Final = 300.0
CHAT_READ_TIMEOUT: Final = 120.0
DIAGNOSE_MAX_ATTEMPTS: Final = 3
RETRY_BASE_DELAY: Final = 0.5
RETRY_MAX_DELAY: Final = 10.0

# Router options (options flow).
CONF_LOCAL_CLASSES: Final = "local_classes"
CONF_ESCALATE_CLASSES: Final = "escalate_classes"
CONF_IGNORE_CLASSES: Final = "ignore_classes"
CONF_CRITICAL_CLASSES: Final = "critical_classes"
CONF_MIN_CONFIDENCE: Final = "min_confidence"
CONF_RATE_LIMIT: Final = "rate_limit_per_minute"
CONF_DEDUPE_WINDOW: Final = "dedupe_window_s"
CONF_QUEUE_MAX: Final = "queue_max"
CONF_REPAIR_AFTER: Final = "repair_after_min"

DEFAULT_CRITICAL_CLASSES: Final = ("smoke_alarm", "co_alarm")
DEFAULT_MIN_CONFIDENCE: Final = 0.6
DEFAULT_RATE_LIMIT: Final = 6
DEFAULT_DEDUPE_WINDOW: Final = 30.0
DEFAULT_QUEUE_MAX: Final = 500
DEFAULT_REPAIR_AFTER: Final = 15

# Events (docs/protocol.md §3) and the ESPHome/MQTT inputs (§1).
EVENT_DETECTION: Final = "binmoe_detection"
EVENT_ESCALATION: Final = "binmoe_escalation"
EVENT_DIAGNOSIS: Final = "binmoe_diagnosis"
EVENT_DIAGNOSIS_WITHDRAWN: Final = "binmoe_diagnosis_withdrawn"
ESPHOME_EVENT_DETECTION: Final = "esphome.binmoe_detection"
ESPHOME_EVENT_ESCALATION: Final = "esphome.binmoe_escalation"
MQTT_TOPIC: Final = "binmoe/+/+"
# retained; MQTT nodes send only while it is `online` (docs/protocol.md §4, "Hub status")
HUB_STATUS_TOPIC: Final = "binmoe/hub/status"
HUB_STATUS_ONLINE: Final = "online"
HUB_STATUS_OFFLINE: Final = "offline"
REPLAY_INTERVAL: Final = 30.0  # seconds between replay attempts while the backend is down
ISSUE_BACKEND_DOWN: Final = "backend_down"
ISSUE_BASELINE_SPEED: Final = "baseline_speed"
# A speed this far outside the speeds a vibration node's baseline learnt is one it never saw: the GPU tier's
# rule for the cause `at_new_speed` (node_factory/reference/orders.py; a test keeps the two equal).
BASELINE_SPEED_TOLERANCE: Final = 0.02

# Conversation agent options.
CONF_PROMPT: Final = "prompt"
CONF_TEMPERATURE: Final = "temperature"
CONF_MAX_TOKENS: Final = "max_tokens"
CONF_MAX_HISTORY: Final = "max_history"
DEFAULT_LLM_APIS: Final = ["assist", "binmoe"]
DEFAULT_TEMPERATURE: Final = 0.2
DEFAULT_MAX_TOKENS: Final = 512
DEFAULT_MAX_HISTORY: Final = 10  # user turns (the current one included)
MAX_TOOL_ITERATIONS: Final = 8
# Bounds of one reply (reply_guard.py): a few seconds of speech, the whole turn (tool rounds included)
# within REPLY_TIME_BUDGET seconds, cut at the first repeated sentence.
MAX_REPLY_CHARS: Final = 600
REPLY_TIME_BUDGET: Final = 25.0
TOO_SLOW: Final = "Sorry, I could not answer that in time."
# The GPU tier says how reliable its model is at tool calls (/health `tool_calling`); with a weak one the
# agent offers it no tools and handles commands with Home Assistant's own intents only.
TOOL_CALLING_WEAK: Final = "weak"


def hub_unique_id(entry_id: str, key: str) -> str:
    """The unique id of the hub's entity `key` (its sensors, binary sensor): the hub looks one up by it."""
    return f"{entry_id}_{key}"


def node_learn_action(node_id: str) -> str:
    """The node's native-API action that starts baseline learning (docs/esphome.md, "Per-machine baseline"), as
    Home Assistant's esphome integration offers it: esphome.<node name, slugified>_learn_baseline."""
    return f"{slugify(node_id)}_learn_baseline"


def node_set_baseline_action(node_id: str) -> str:
    """The node's native-API action that puts a baseline learnt from a recording in force:
    esphome.<node name, slugified>_set_baseline."""
    return f"{slugify(node_id)}_set_baseline"
