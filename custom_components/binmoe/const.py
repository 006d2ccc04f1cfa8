"""Constants of the BinMoE integration."""

from __future__ import annotations

import logging
from typing import Final

DOMAIN: Final = "binmoe"
LOGGER = logging.getLogger(__package__)

DEFAULT_URL: Final = "http://localhost:8000"
PROTOCOL_VERSION: Final = 1

# Seconds. The GPU tier answers health checks at once; diagnoses run an LLM and can take longer.
HEALTH_TIMEOUT: Final = 10.0
DIAGNOSE_TIMEOUT: Final = 120.0
DIAGNOSE_MAX_ATTEMPTS: Final = 3
RETRY_BASE_DELAY: Final = 0.5
RETRY_MAX_DELAY: Final = 10.0
