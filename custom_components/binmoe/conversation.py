"""BinMoE as an Assist conversation agent: the GPU tier's MoE LLM through its OpenAI-compatible API.

One agent per config entry (one gateway serves one model). The chat loop lives in the LLM entity base
(entity.py). When the GPU tier fails, the utterance goes to Home Assistant's built-in agent, so local
commands still work, and otherwise the agent says what is wrong.
"""

from __future__ import annotations

from typing import Literal

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
from .const import CONF_PROMPT, DEFAULT_LLM_APIS, DOMAIN, LOGGER
from .entity import BinMoELLMBaseEntity
from .runtime import BinMoEConfigEntry

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
        try:
            await self._async_handle_chat_log(chat_log)
        except BinMoEError as err:
            return await self._async_fallback(user_input, chat_log, err)
        return conversation.async_get_result_from_chat_log(user_input, chat_log)

    async def _async_fallback(
        self, user_input: conversation.ConversationInput, chat_log: conversation.ChatLog, err: Exception
    ) -> conversation.ConversationResult:
        """GPU tier failed: let Home Assistant's own intents try; otherwise say clearly what is wrong."""
        LOGGER.warning("BinMoE GPU tier failed for a conversation (%s); trying local intents", err)
        local = await conversation.async_converse(
            self.hass,
            user_input.text,
            None,
            user_input.context,
            language=user_input.language,
            agent_id=conversation.HOME_ASSISTANT_AGENT,
            device_id=user_input.device_id,
        )
        if local.response.response_type != intent.IntentResponseType.ERROR:
            return conversation.ConversationResult(response=local.response, conversation_id=chat_log.conversation_id)
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
