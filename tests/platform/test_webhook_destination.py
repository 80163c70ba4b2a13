"""Webhooks never reach internal addresses (a city admin sets the URL; our worker calls it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hotline.platform.senders.config import reset_delivery_settings
from hotline.platform.senders.errors import SendFailed
from hotline.platform.senders.webhook import check_destination


@pytest.fixture(autouse=True)
def _default_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("HOTLINE_WEBHOOK_ALLOW_PRIVATE", raising=False)
    reset_delivery_settings()
    yield
    monkeypatch.undo()
    reset_delivery_settings()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:6379/",  # our own Redis
        "http://localhost/hook",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "https://10.0.0.5/hook",
        "https://192.168.1.10/hook",
        "http://[::1]:9000/",  # the S3 store over IPv6 loopback
    ],
)
async def test_internal_destinations_are_refused_for_good(url: str) -> None:
    with pytest.raises(SendFailed) as refused:
        await check_destination(url)
    assert refused.value.permanent


async def test_a_public_address_passes() -> None:
    await check_destination("https://93.184.216.34/hook")  # an IP literal: no DNS needed


async def test_on_premise_may_allow_private_addresses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_WEBHOOK_ALLOW_PRIVATE", "true")
    reset_delivery_settings()
    await check_destination("http://10.0.0.5/hook")
