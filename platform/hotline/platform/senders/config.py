"""Settings of the outgoing channels (``HOTLINE_*``), read like ``hotline.platform.settings``."""

from __future__ import annotations

from datetime import time
from functools import lru_cache

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class DeliverySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOTLINE_", env_file=".env", extra="ignore")

    # SMS: "log" writes messages to the log (development); "http" posts to a gateway.
    sms_provider: str = "log"
    sms_gateway_url: str = ""
    sms_gateway_token: SecretStr = SecretStr("")
    sms_signature: str = "【12345热线】"
    # Citizens get no SMS between these local times; messages wait until the end.
    sms_quiet_start: time = time(21, 30)
    sms_quiet_end: time = time(8, 0)
    http_timeout_seconds: float = 10.0
    # First retry delay of a failed delivery; doubles per attempt (with jitter).
    outbox_base_delay_seconds: float = 30.0
    outbox_max_attempts: int = 8
    # Webhooks to loopback, private or link-local addresses are refused (a city admin must
    # not make our workers call internal services); tests and on-premise set this.
    webhook_allow_private: bool = False


@lru_cache(maxsize=1)
def get_delivery_settings() -> DeliverySettings:
    return DeliverySettings()


def reset_delivery_settings() -> None:
    get_delivery_settings.cache_clear()
