"""BinMoE as an Assist conversation agent: the GPU tier's MoE LLM through its OpenAI-compatible API.

One agent per config entry (one gateway serves one model). A sentence goes to the LLM only when neither
BinMoE's own intents (intents.py: about the home's nodes and areas first, after Home Assistant's intents
also about a name that is nobody's) nor Home Assistant's can handle it, also when the agent is called
directly rather than through a pipeline that prefers local commands. A model the GPU tier reports as weak
at tool calls (the CPU default) is not asked at all: one unambiguous command neither handles is carried out by
the command resolver (resolver.py, through Home Assistant's intents), and anything else gets a plain "I can't
help with that". The chat loop lives in the LLM entity base
(entity.py), whose replies never claim a change no tool call made. When the GPU tier fails, the
utterance goes to Home Assistant's built-in agent, and otherwise the agent says what is wrong.
"""

from __future__ import annotations

from typing import Literal

from hassil.recognize import RecognizeResult
from homeassistant.components import conversation
from homeassistant.components.conversation.models import AbstractConversationAgent
from homeassistant.const import CONF_LLM_HASS_API, MATCH_ALL
from homeassistant.core import HomeAssistant
from homeassistant.helpers import intent
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import (
    AnswerCutOff,
    BinMoEError,
    CannotConnect,
    CertificateError,
    GPUTierBusy,
    GPUTierRestarting,
    GPUTierTimeout,
    InvalidAuth,
)
from .const import CONF_PROMPT, DEFAULT_LLM_APIS, DOMAIN, LOGGER, TOOL_CALLING_WEAK
from .entity import BinMoELLMBaseEntity
from .intents import async_handle_sentence
from .resolver import async_resolve_command
from .runtime import BinMoEConfigEntry

# Which path answered a sentence (conversation trace, `binmoe_path`).
TRACE_PATH = "binmoe_path"
PATH_BINMOE_INTENTS = "binmoe_intents"
PATH_HA_INTENTS = "ha_intents"
PATH_LLM = "llm"
PATH_UNAVAILABLE = "unavailable"
PATH_NOT_UNDERSTOOD = "not_understood"
PATH_RESOLVER = "resolver"
CANNOT = "I did not do that: nothing in your home was changed."
# A model weak at tools is not asked at all: in the voice evaluation the CPU default's 135M model answered what
# reached it with "I'm sorry for your loss", "The lathe is malfunctioning." and the like (docs/voice.md).
NOT_UNDERSTOOD = (
    "Sorry, I can't help with that: Home Assistant did not understand it as a command, and this assistant's "
    "model is too small to answer it. Nothing was changed."
)

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant, entry: BinMoEConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    async_add_entities([BinMoEConversationEntity(entry)])


class BinMoEConversationEntity(conversation.ConversationEntity, AbstractConversationAgent, BinMoELLMBaseEntity):
    """The conversation agent of one BinMoE gateway."""

    _attr_supports_streaming = True

    def __init__(self, entry: BinMoEConfigEntry) -> None:
        super().__init__(entry)
        self._attr_unique_id = f"{entry.entry_id}_conversation"
        self._attr_translation_key = "agent"
        if entry.options.get(CONF_LLM_HASS_API, DEFAULT_LLM_APIS):
            self._attr_supported_features = conversation.ConversationEntityFeature.CONTROL

    @property
    def supported_languages(self) -> list[str] | Literal["*"]:
        return MATCH_ALL

    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        conversation.async_set_agent(self.hass, self.entry, self)

    async def async_will_remove_from_hass(self) -> None:
        conversation.async_unset_agent(self.hass, self.entry)
        await super().async_will_remove_from_hass()

    async def _async_handle_message(
        self, user_input: conversation.ConversationInput, chat_log: conversation.ChatLog
    ) -> conversation.ConversationResult:
        """BinMoE's own questions first, then Home Assistant's intents, and only then the LLM."""
        if (answer := await async_handle_sentence(self.hass, user_input)) is not None:
            return self._answered_here(user_input, chat_log, answer, PATH_BINMOE_INTENTS)
        info = self.entry.runtime_data.backend.info
        weak = info is not None and info.tool_calling == TOOL_CALLING_WEAK
        local = None
        if weak:
            # A model weak at tools is not asked: Home Assistant's own agent handles commands, and also
            # explains those it recognizes but cannot carry out ("no device called ..."); the rest is refused.
            local = await self._async_home_assistant_agent(user_input)
        elif (
            handled := await conversation.async_handle_intents(
                self.hass, user_input, chat_log, intent_filter=_left_to_the_llm
            )
        ) is not None:
            return self._answered_here(user_input, chat_log, handled, PATH_HA_INTENTS)
        if local is not None and local.response_type is not intent.IntentResponseType.ERROR:
            return self._answered_here(user_input, chat_log, local, PATH_HA_INTENTS)
        # A BinMoE question about a name that is nobody's ("is the dishwasher ok"): say there is no such node.
        # It goes before Home Assistant's error, which is its fuzzy guess at another request ("learn the
        # baseline of the boiler": "not aware of any area called boiler").
        if (answer := await async_handle_sentence(self.hass, user_input, unknown_names=True)) is not None:
            return self._answered_here(user_input, chat_log, answer, PATH_BINMOE_INTENTS)
        # Neither Home Assistant's intents nor BinMoE's did it: one unambiguous command ("kill the light in the
        # bedroom") is still carried out, through Home Assistant's intent (resolver.py). Only for a model weak at
        # tools: a model with tools reads what the resolver cannot (the conversation so far, "it", "and then").
        if weak and (done := await async_resolve_command(self.hass, user_input)) is not None:
            return self._answered_here(user_input, chat_log, done, PATH_RESOLVER)
        if local is not None:
            return self._answered_here(user_input, chat_log, local, PATH_HA_INTENTS)
        if weak:
            response = intent.IntentResponse(language=user_input.language)
            response.async_set_error(intent.IntentResponseErrorCode.NO_INTENT_MATCH, NOT_UNDERSTOOD)
            return self._answered_here(user_input, chat_log, response, PATH_NOT_UNDERSTOOD)
        return await self._async_ask_llm(user_input, chat_log)

    async def _async_ask_llm(
        self, user_input: conversation.ConversationInput, chat_log: conversation.ChatLog
    ) -> conversation.ConversationResult:
        options = self.entry.options
        try:
            await chat_log.async_provide_llm_data(
                user_input.as_llm_context(DOMAIN),
                options.get(CONF_LLM_HASS_API, DEFAULT_LLM_APIS) or None,
                options.get(CONF_PROMPT),
                user_input.extra_system_prompt,
            )
        except conversation.ConverseError as err:
            return err.as_conversation_result()
        _trace(PATH_LLM)
        try:
            await self._async_handle_chat_log(chat_log, CANNOT)
        except BinMoEError as err:
            return await self._async_fallback(user_input, chat_log, err)
        return conversation.async_get_result_from_chat_log(user_input, chat_log)

    async def _async_home_assistant_agent(
        self, user_input: conversation.ConversationInput
    ) -> intent.IntentResponse | None:
        """Home Assistant's built-in agent's answer, unless it did not recognize the sentence at all."""
        local = await conversation.async_converse(
            self.hass,
            user_input.text,
            None,
            user_input.context,
            language=user_input.language,
            agent_id=conversation.HOME_ASSISTANT_AGENT,
            device_id=user_input.device_id,
            satellite_id=user_input.satellite_id,
        )
        if local.response.error_code is intent.IntentResponseErrorCode.NO_INTENT_MATCH:
            return None
        return local.response

    def _answered_here(
        self,
        user_input: conversation.ConversationInput,
        chat_log: conversation.ChatLog,
        response: intent.IntentResponse,
        path: str,
    ) -> conversation.ConversationResult:
        """A reply made without the LLM: keep it in the chat log, so a later LLM turn sees it."""
        _trace(path)
        speech = response.speech.get("plain", {}).get("speech", "")
        chat_log.async_add_assistant_content_without_tools(
            conversation.AssistantContent(agent_id=user_input.agent_id, content=speech)
        )
        return conversation.ConversationResult(response=response, conversation_id=chat_log.conversation_id)

    async def _async_fallback(
        self, user_input: conversation.ConversationInput, chat_log: conversation.ChatLog, err: Exception
    ) -> conversation.ConversationResult:
        """GPU tier failed: let Home Assistant's own intents try; otherwise say clearly what is wrong."""
        LOGGER.warning("BinMoE GPU tier failed for a conversation (%s); trying local intents", err)
        if (local := await self._async_home_assistant_agent(user_input)) is not None and (
            local.response_type != intent.IntentResponseType.ERROR
        ):
            _trace(PATH_HA_INTENTS)
            return conversation.ConversationResult(response=local, conversation_id=chat_log.conversation_id)
        _trace(PATH_UNAVAILABLE)
        response = intent.IntentResponse(language=user_input.language)
        response.async_set_error(
            intent.IntentResponseErrorCode.UNKNOWN,
            f"Sorry, {what_went_wrong(err)}, and Home Assistant could not handle that on its own either.",
        )
        return conversation.ConversationResult(response=response, conversation_id=chat_log.conversation_id)


def what_went_wrong(err: Exception) -> str:
    """The GPU tier's failure in words a voice assistant can say (most specific kind first)."""
    match err:
        case GPUTierRestarting():
            return "the BinMoE GPU tier is restarting; try again in a minute"
        case GPUTierBusy():
            return "the BinMoE GPU tier is busy with other requests; try again in a moment"
        case GPUTierTimeout():
            return "the BinMoE GPU tier took too long to answer; try again in a minute"
        case AnswerCutOff():
            return "the BinMoE GPU tier stopped in the middle of its answer (it may be restarting); try again soon"
        case CertificateError():
            return "the BinMoE GPU tier's certificate could not be verified; check its address in the BinMoE settings"
        case CannotConnect():
            return "the BinMoE GPU tier is not reachable right now; check that its gateway is running"
        case InvalidAuth():
            return "the BinMoE GPU tier rejected Home Assistant's API key; enter the current key in the BinMoE settings"
        case _:
            return "the BinMoE GPU tier could not answer that"


def _left_to_the_llm(result: RecognizeResult) -> bool:
    """Left to an LLM that has tools: what the pipeline leaves it too (state queries, media searches), and
    small talk (HassRespond: Home Assistant's canned replies to greetings), which changes nothing."""
    return result.intent.name in (intent.INTENT_GET_STATE, "HassMediaSearchAndPlay", "HassRespond")


def _trace(path: str) -> None:
    """Which path answered, in the conversation's debug trace (and for the voice evaluation)."""
    conversation.async_conversation_trace_append(
        conversation.ConversationTraceEventType.AGENT_DETAIL, {TRACE_PATH: path}
    )
