"""Config flow for BinMoE: the GPU tier's URL and API key, with reauth and reconfigure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import probatio as vol
from homeassistant.config_entries import ConfigEntry, ConfigFlow, ConfigFlowResult, OptionsFlow
from homeassistant.const import CONF_API_KEY, CONF_LLM_HASS_API, CONF_URL, CONF_VERIFY_SSL
from homeassistant.core import callback
from homeassistant.helpers import llm
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    TemplateSelector,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo

from .api import (
    BackendInfo,
    BinMoEClient,
    CannotConnect,
    CertificateError,
    InvalidAuth,
    InvalidResponse,
    normalize_url,
)
from .const import (
    CONF_CRITICAL_CLASSES,
    CONF_DEDUPE_WINDOW,
    CONF_ESCALATE_CLASSES,
    CONF_IGNORE_CLASSES,
    CONF_LOCAL_CLASSES,
    CONF_MAX_HISTORY,
    CONF_MAX_TOKENS,
    CONF_MIN_CONFIDENCE,
    CONF_PROMPT,
    CONF_QUEUE_MAX,
    CONF_RATE_LIMIT,
    CONF_REPAIR_AFTER,
    CONF_TEMPERATURE,
    DEFAULT_CRITICAL_CLASSES,
    DEFAULT_DEDUPE_WINDOW,
    DEFAULT_LLM_APIS,
    DEFAULT_MAX_HISTORY,
    DEFAULT_MAX_TOKENS,
    DEFAULT_MIN_CONFIDENCE,
    DEFAULT_QUEUE_MAX,
    DEFAULT_RATE_LIMIT,
    DEFAULT_REPAIR_AFTER,
    DEFAULT_TEMPERATURE,
    DEFAULT_URL,
    DOMAIN,
    LOGGER,
)
from .discovery import DiscoveredGateway, gateway_from_announcement, is_compatible

# Classes of the built-in node models (users may type others: custom_value).
KNOWN_CLASSES = [
    "smoke_alarm", "co_alarm", "appliance_beep", "doorbell", "knock", "water_running", "speech_tv",
    "background", "healthy", "imbalance", "misalignment", "looseness", "bearing_outer", "bearing_inner",
    "bearing_ball",
]  # fmt: skip

_URL_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))
_KEY_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))


def _user_schema(url: str, api_key: str = "", verify_ssl: bool = True) -> vol.Schema:
    return vol.Schema(
        {
            vol.Required(CONF_URL, default=url): _URL_SELECTOR,
            vol.Optional(CONF_API_KEY, description={"suggested_value": api_key}): _KEY_SELECTOR,
            vol.Optional(CONF_VERIFY_SSL, default=verify_ssl): BooleanSelector(),
        }
    )


def _classes() -> SelectSelector:
    return SelectSelector(SelectSelectorConfig(options=KNOWN_CLASSES, multiple=True, custom_value=True))


def _number(low: float, high: float, step: float) -> NumberSelector:
    return NumberSelector(NumberSelectorConfig(min=low, max=high, step=step, mode=NumberSelectorMode.BOX))


class BinMoEOptionsFlow(OptionsFlow):
    """Two pages: the routing policy and the voice agent."""

    def _current(self, key: str, default: Any) -> vol.Optional:
        """An optional field whose default is the entry's current option (or the built-in default)."""
        return vol.Optional(key, default=self.config_entry.options.get(key, default))

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        return self.async_show_menu(step_id="init", menu_options=["routing", "voice"])

    async def async_step_voice(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Conversation agent: prompt, exposed LLM APIs, temperature, max tokens, context size."""
        if user_input is not None:
            return self.async_create_entry(data={**self.config_entry.options, **user_input})
        prompt = self.config_entry.options.get(CONF_PROMPT)
        apis = [SelectOptionDict(value=api.id, label=api.name) for api in llm.async_get_apis(self.hass)]
        schema = vol.Schema(
            {
                vol.Optional(CONF_PROMPT, description={"suggested_value": prompt}): TemplateSelector(),
                self._current(CONF_LLM_HASS_API, DEFAULT_LLM_APIS): SelectSelector(
                    SelectSelectorConfig(options=apis, multiple=True)
                ),
                self._current(CONF_TEMPERATURE, DEFAULT_TEMPERATURE): _number(0, 2, 0.05),
                self._current(CONF_MAX_TOKENS, DEFAULT_MAX_TOKENS): _number(16, 8192, 1),
                self._current(CONF_MAX_HISTORY, DEFAULT_MAX_HISTORY): _number(1, 100, 1),
            }
        )
        return self.async_show_form(step_id="voice", data_schema=schema)

    async def async_step_routing(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Routing policy: per-class actions, confidence, rate limit, dedupe, queue, repairs."""
        if user_input is not None:
            return self.async_create_entry(data={**self.config_entry.options, **user_input})
        schema = vol.Schema(
            {
                self._current(CONF_LOCAL_CLASSES, []): _classes(),
                self._current(CONF_ESCALATE_CLASSES, []): _classes(),
                self._current(CONF_IGNORE_CLASSES, []): _classes(),
                self._current(
                    CONF_CRITICAL_CLASSES,
                    list(DEFAULT_CRITICAL_CLASSES),
                ): _classes(),
                self._current(CONF_MIN_CONFIDENCE, DEFAULT_MIN_CONFIDENCE): _number(0, 1, 0.05),
                self._current(CONF_RATE_LIMIT, DEFAULT_RATE_LIMIT): _number(1, 600, 1),
                self._current(CONF_DEDUPE_WINDOW, DEFAULT_DEDUPE_WINDOW): _number(0, 3600, 1),
                self._current(CONF_QUEUE_MAX, DEFAULT_QUEUE_MAX): _number(1, 100000, 1),
                self._current(CONF_REPAIR_AFTER, DEFAULT_REPAIR_AFTER): _number(1, 1440, 1),
            }
        )
        return self.async_show_form(step_id="routing", data_schema=schema)


class BinMoEConfigFlow(ConfigFlow, domain=DOMAIN):
    """Ask for the backend URL (+ optional key) and check it by talking to the backend."""

    VERSION = 1
    MINOR_VERSION = 2

    _discovered: DiscoveredGateway

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry[Any]) -> BinMoEOptionsFlow:
        return BinMoEOptionsFlow()

    async def _async_try(
        self, url: str, api_key: str | None, verify_ssl: bool
    ) -> tuple[BackendInfo | None, dict[str, str]]:
        """Contact the backend; return its info or the form errors to show. An https URL's certificate is
        verified unless the user turned `verify_ssl` off."""
        try:
            client = BinMoEClient(async_get_clientsession(self.hass, verify_ssl=verify_ssl), url, api_key)
        except ValueError:
            return None, {CONF_URL: "invalid_url"}
        try:
            return await client.async_get_info(), {}
        except InvalidAuth:
            return None, {CONF_API_KEY: "invalid_auth"}
        except CertificateError:
            return None, {CONF_VERIFY_SSL: "invalid_certificate"}
        except CannotConnect, InvalidResponse:
            return None, {"base": "cannot_connect"}
        except Exception:  # a flow must show an error, never crash
            LOGGER.exception("Unexpected error while contacting the BinMoE backend")
            return None, {"base": "unknown"}

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """First set-up: URL and optional API key."""
        errors: dict[str, str] = {}
        if user_input is not None:
            api_key = user_input.get(CONF_API_KEY) or None
            verify_ssl = bool(user_input.get(CONF_VERIFY_SSL, True))
            info, errors = await self._async_try(user_input[CONF_URL], api_key, verify_ssl)
            if info is not None:
                url = normalize_url(user_input[CONF_URL])
                await self.async_set_unique_id(info.gateway_id or url)
                self._abort_if_unique_id_configured()
                return self.async_create_entry(
                    title=f"BinMoE ({info.model or url})",
                    data={CONF_URL: url, CONF_API_KEY: api_key, CONF_VERIFY_SSL: verify_ssl},
                )
        url = user_input[CONF_URL] if user_input else DEFAULT_URL
        verify_ssl = bool(user_input.get(CONF_VERIFY_SSL, True)) if user_input else True
        return self.async_show_form(step_id="user", data_schema=_user_schema(url, "", verify_ssl), errors=errors)

    async def async_step_zeroconf(self, discovery_info: ZeroconfServiceInfo) -> ConfigFlowResult:
        """A gateway announced itself on the network (`_binmoe._tcp`): offer it. Home Assistant starts no such
        flow once BinMoE is set up (one entry); a configured gateway that moves is followed by discovery.py."""
        gateway = gateway_from_announcement(discovery_info.ip_address, discovery_info.port, discovery_info.properties)
        if gateway is None:
            return self.async_abort(reason="invalid_discovery_info")
        if not is_compatible(gateway):
            return self.async_abort(
                reason="incompatible_protocol",
                description_placeholders={"version": str(gateway.protocol), "url": gateway.url},
            )
        await self.async_set_unique_id(gateway.gateway_id)
        self._abort_if_unique_id_configured()
        self._discovered = gateway
        self.context["title_placeholders"] = {"name": gateway.model or gateway.url}
        return await self.async_step_zeroconf_confirm()

    async def async_step_zeroconf_confirm(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Add the discovered gateway; ask for its API key if it needs one."""
        gateway = self._discovered
        errors: dict[str, str] = {}
        if user_input is not None:
            api_key = user_input.get(CONF_API_KEY) or None
            info, errors = await self._async_try(gateway.url, api_key, True)
            if info is not None:
                return self.async_create_entry(
                    title=f"BinMoE ({info.model or gateway.url})",
                    data={CONF_URL: gateway.url, CONF_API_KEY: api_key, CONF_VERIFY_SSL: True},
                )
        fields = {vol.Required(CONF_API_KEY): _KEY_SELECTOR} if gateway.auth else {}
        return self.async_show_form(
            step_id="zeroconf_confirm",
            data_schema=vol.Schema(fields),
            description_placeholders={"url": gateway.url, "model": gateway.model or "?"},
            errors=errors,
        )

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The backend rejected the key: ask for a new one."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Take the new API key and check it."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            api_key = user_input.get(CONF_API_KEY) or None
            info, errors = await self._async_try(entry.data[CONF_URL], api_key, entry.data.get(CONF_VERIFY_SSL, True))
            if info is not None:
                return self.async_update_reload_and_abort(entry, data_updates={CONF_API_KEY: api_key})
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=vol.Schema({vol.Optional(CONF_API_KEY): _KEY_SELECTOR}),
            description_placeholders={"url": entry.data[CONF_URL]},
            errors=errors,
        )

    async def async_step_reconfigure(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Point the entry at another backend URL and/or key."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            api_key = user_input.get(CONF_API_KEY) or None
            verify_ssl = bool(user_input.get(CONF_VERIFY_SSL, True))
            info, errors = await self._async_try(user_input[CONF_URL], api_key, verify_ssl)
            if info is not None:
                url = normalize_url(user_input[CONF_URL])
                return self.async_update_reload_and_abort(
                    entry,
                    unique_id=url,
                    data_updates={CONF_URL: url, CONF_API_KEY: api_key, CONF_VERIFY_SSL: verify_ssl},
                )
        url = user_input[CONF_URL] if user_input else entry.data[CONF_URL]
        verify = bool(user_input.get(CONF_VERIFY_SSL, True)) if user_input else entry.data.get(CONF_VERIFY_SSL, True)
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=_user_schema(url, entry.data.get(CONF_API_KEY) or "", verify),
            errors=errors,
        )
