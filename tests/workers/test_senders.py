"""The channels' pure parts: SMS segments and quiet hours, webhook signatures, backoff."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from hotline.platform.outbox import backoff_delay
from hotline.platform.senders.sms import check_length, quiet_until, segments
from hotline.platform.senders.webhook import sign, verify


def test_sms_segments_count_chinese_characters() -> None:
    assert segments("您" * 70) == 1
    assert segments("您" * 71) == 2  # a long message is split into parts of 67
    assert segments("您" * 134) == 2
    assert segments("您" * 135) == 3
    assert check_length("您" * 335) == 5
    with pytest.raises(ValueError, match="segments"):
        check_length("您" * 336)
    with pytest.raises(ValueError, match="needs text"):
        check_length("")


def test_quiet_hours_defer_to_the_morning_in_the_citys_zone() -> None:
    kwargs = {"start": time(21, 30), "end": time(8, 0)}
    evening = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)  # 21:00 in Shanghai: not yet quiet
    assert quiet_until(evening, "Asia/Shanghai", **kwargs) is None
    late = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # 23:00 → 08:00 next day
    assert quiet_until(late, "Asia/Shanghai", **kwargs) == datetime(2026, 3, 3, 0, 0, tzinfo=UTC)
    early = datetime(2026, 3, 2, 22, 30, tzinfo=UTC)  # 06:30 on the 3rd → 08:00 the same day
    assert quiet_until(early, "Asia/Shanghai", **kwargs) == datetime(2026, 3, 3, 0, 0, tzinfo=UTC)
    # the same instant is daytime in Urumqi's own zone
    assert quiet_until(datetime(2026, 3, 2, 4, 0, tzinfo=UTC), "Asia/Urumqi", **kwargs) is None


def test_webhook_signature_covers_timestamp_and_body() -> None:
    body = b'{"type":"ticket.create"}'
    now = 1_790_000_000
    signature = sign("secret", now, body)
    assert verify("secret", str(now), body, signature, now=now + 10)
    assert not verify("other", str(now), body, signature, now=now)
    assert not verify("secret", str(now), body + b" ", signature, now=now)
    assert not verify("secret", str(now + 1), body, signature, now=now)
    assert not verify("secret", str(now), body, signature, now=now + 301)  # a replay


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    base = timedelta(seconds=30)
    for attempts, expected in ((1, 30), (2, 60), (3, 120)):
        for _ in range(20):
            delay = backoff_delay(attempts, base=base).total_seconds()
            assert expected * 0.5 <= delay <= expected * 1.5
    assert backoff_delay(30, base=base) <= timedelta(hours=3)
