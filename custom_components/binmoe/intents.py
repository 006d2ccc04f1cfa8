"""BinMoE's own intents: questions about the nodes, answered from the hub's state without any LLM.

The handlers are Home Assistant intent handlers (`intent.async_register`), so anything that fires intents
reaches them. Their sentences (sentences/<language>.yaml, hassil templates) are registered with the
conversation system as sentence triggers while the entry is loaded: Home Assistant's own agent answers
them, and an Assist pipeline tries them before any conversation agent, so they work with no LLM at all.
Home Assistant offers integrations no other way to add sentences (custom_sentences/ belongs to the user).
The BinMoE agent recognizes the same templates itself when it is called directly.

`{node}` takes only the names of this home's nodes and areas (node_names.py), so BinMoE never answers a
sentence meant for Home Assistant's intents; the triggers are registered again when those names change.
The BinMoE agent answers a name it does not know ("is the dishwasher ok": there is no such node) only
after Home Assistant's intents had their turn, and only if it is not the name of something else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import probatio as vol
from hassil import Intents, WildcardSlotList, recognize_best
from hassil.recognize import RecognizeResult
from homeassistant.components import conversation
from homeassistant.components.conversation.agent_manager import get_agent_manager
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import intent
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.util.hass_dict import HassKey
from homeassistant.util.yaml import load_yaml_dict

from . import answers
from .const import DOMAIN, LOGGER
from .node_names import NodeNames, names_something_else, node_names
from .runtime import BinMoEConfigEntry, BinMoERuntimeData
from .signals import signal_new_node

SENTENCES_DIR = Path(__file__).with_name("sentences")
SLOT_NODE = "node"

INTENT_NODE_HEARD = "BinMoENodeHeard"
INTENT_WHY_ALARM = "BinMoEWhyAlarm"
INTENT_NODE_STATUS = "BinMoENodeStatus"
INTENT_ESCALATIONS_TODAY = "BinMoEEscalationsToday"
INTENT_LEARN_BASELINE = "BinMoELearnBaseline"

type Answer = Callable[[HomeAssistant, BinMoERuntimeData, str | None], str]


@dataclass(frozen=True, slots=True)
class BinMoESentences:
    """The templates of one language: for triggers (as text) and for recognition (compiled)."""

    language: str
    templates: dict[str, list[str]]
    intents: Intents


DATA_SENTENCES: HassKey[BinMoESentences] = HassKey(f"{DOMAIN}_sentences")


class BinMoEIntentHandler(intent.IntentHandler):
    """Answers one kind of question from the loaded entry's hub."""

    def __init__(self, intent_type: str, description: str, answer: Answer) -> None:
        self.intent_type = intent_type
        self.description = description
        self._answer = answer

    @property
    def slot_schema(self) -> dict[Any, Any]:
        return {vol.Optional(SLOT_NODE): cv.string}

    async def async_handle(self, intent_obj: intent.Intent) -> intent.IntentResponse:
        slots = self.async_validate_slots(intent_obj.slots)
        node = slots.get(SLOT_NODE, {}).get("value")
        response = intent_obj.create_response()
        data = _loaded(intent_obj.hass)
        if data is None:
            response.async_set_speech("BinMoE is not set up right now, so I cannot answer that.")
            return response
        response.response_type = intent.IntentResponseType.QUERY_ANSWER
        response.async_set_speech(self._answer(intent_obj.hass, data, str(node).strip() if node else None))
        return response


HANDLERS = (
    BinMoEIntentHandler(INTENT_NODE_HEARD, "What a BinMoE node heard recently", answers.answer_heard),
    BinMoEIntentHandler(INTENT_WHY_ALARM, "Why a BinMoE node alarmed, with its diagnosis", answers.answer_why),
    BinMoEIntentHandler(INTENT_NODE_STATUS, "Whether a BinMoE node and its machine look fine", answers.answer_status),
    BinMoEIntentHandler(
        INTENT_ESCALATIONS_TODAY,
        "How many detections were escalated to the GPU tier today",
        lambda _hass, data, _node: answers.answer_escalations_today(data),
    ),
    BinMoEIntentHandler(
        INTENT_LEARN_BASELINE, "Where a node's baseline is learnt (not started by voice)", answers.answer_learn_baseline
    ),
)


def _loaded(hass: HomeAssistant) -> BinMoERuntimeData | None:
    for entry in hass.config_entries.async_loaded_entries(DOMAIN):
        data: BinMoERuntimeData = entry.runtime_data
        return data
    return None


def load_sentences(language: str) -> BinMoESentences:
    """Read sentences/<language>.yaml (blocking: run it in the executor)."""
    content = load_yaml_dict(SENTENCES_DIR / f"{language}.yaml")
    templates = {
        name: [s for data in spec["data"] for s in data["sentences"]] for name, spec in content["intents"].items()
    }
    compiled = Intents.from_dict(content)
    compiled.slot_lists[SLOT_NODE] = WildcardSlotList(SLOT_NODE)
    return BinMoESentences(language, templates, compiled)


async def async_setup_intents(hass: HomeAssistant) -> None:
    """Register the intent handlers and load the sentences (once, with the integration)."""
    for handler in HANDLERS:
        intent.async_register(hass, handler)
    hass.data[DATA_SENTENCES] = await hass.async_add_executor_job(load_sentences, "en")


def trigger_templates(sentences: BinMoESentences, names: NodeNames) -> dict[str, list[str]]:
    """The templates with `{node}` written out as `names` (a trigger would read it as a wildcard)."""
    node = names.template()
    return {
        name: [template.replace("{" + SLOT_NODE + "}", node) for template in templates]
        for name, templates in sentences.templates.items()
    }


class _SentenceTriggers:
    """BinMoE's templates as sentence triggers, with `{node}` written out as the names of this home's
    nodes and areas (Home Assistant would read it as a wildcard), registered again when those change."""

    def __init__(self, hass: HomeAssistant, entry: BinMoEConfigEntry) -> None:
        self._hass, self._entry = hass, entry
        self._names: NodeNames | None = None
        self._unregister: list[CALLBACK_TYPE] = []

    @callback
    def async_refresh(self, *_: Any) -> None:
        """Called on start and when a node, device or area changes (their arguments are not needed)."""
        names = node_names(self._hass, self._entry.runtime_data)
        if names == self._names:
            return
        self.async_unregister()
        self._names = names
        sentences = self._hass.data[DATA_SENTENCES]
        manager = get_agent_manager(self._hass)
        for name, templates in trigger_templates(sentences, names).items():

            async def _answer(
                user_input: conversation.ConversationInput, _result: RecognizeResult, name: str = name
            ) -> str:
                response = await _async_handle(self._hass, name, _node_slot(sentences, user_input.text), user_input)
                return str(response.speech.get("plain", {}).get("speech", ""))

            self._unregister.append(manager.register_trigger(templates, _answer))

    @callback
    def async_unregister(self) -> None:
        while self._unregister:
            self._unregister.pop()()


def async_register_sentences(hass: HomeAssistant, entry: BinMoEConfigEntry) -> CALLBACK_TYPE:
    """Make the sentences sentence triggers of the conversation system; returns the undo."""
    triggers = _SentenceTriggers(hass, entry)
    triggers.async_refresh()
    undo = [
        hass.bus.async_listen(ar.EVENT_AREA_REGISTRY_UPDATED, triggers.async_refresh),
        hass.bus.async_listen(dr.EVENT_DEVICE_REGISTRY_UPDATED, triggers.async_refresh),
        async_dispatcher_connect(hass, signal_new_node(entry.entry_id), triggers.async_refresh),
        triggers.async_unregister,
    ]

    def _unregister() -> None:
        for step in undo:
            step()

    return _unregister


async def async_handle_sentence(
    hass: HomeAssistant, user_input: conversation.ConversationInput, *, unknown_names: bool = False
) -> intent.IntentResponse | None:
    """Answer `user_input` if it is one of BinMoE's questions about a node or area of this home, else None
    (used by the BinMoE agent). With `unknown_names`, also one about a name that is nobody's: the answer
    says there is no such node (the agent asks this only after Home Assistant's intents)."""
    sentences = hass.data.get(DATA_SENTENCES)
    if sentences is None or not (user_input.language or "en").startswith(sentences.language):
        return None
    result = recognize_best(user_input.text, sentences.intents, best_slot_name=SLOT_NODE)
    if result is None:
        return None
    slots = _slots(result)
    if (node := slots.get(SLOT_NODE)) is not None and (data := _loaded(hass)) is not None:
        name = node["value"]
        if not node_names(hass, data).knows(name) and (not unknown_names or names_something_else(hass, name)):
            return None
    return await _async_handle(hass, result.intent.name, slots, user_input)


def _slots(result: RecognizeResult) -> dict[str, dict[str, Any]]:
    return {name: {"value": str(entity.value).strip(), "text": entity.text} for name, entity in result.entities.items()}


def _node_slot(sentences: BinMoESentences, text: str) -> dict[str, dict[str, Any]]:
    """The slots of a sentence a trigger matched (a trigger's own result has the names written out)."""
    result = recognize_best(text, sentences.intents, best_slot_name=SLOT_NODE)
    return _slots(result) if result is not None else {}


async def _async_handle(
    hass: HomeAssistant,
    intent_type: str,
    slots: dict[str, dict[str, Any]],
    user_input: conversation.ConversationInput,
) -> intent.IntentResponse:
    LOGGER.debug("BinMoE intent %s with %s for %r", intent_type, slots, user_input.text)
    return await intent.async_handle(
        hass,
        DOMAIN,
        intent_type,
        slots,
        user_input.text,
        user_input.context,
        user_input.language,
        assistant=conversation.DOMAIN,
        device_id=user_input.device_id,
    )
