"""A city's notification templates: checked at save against a sample ticket, capped, and
never able to block or roll back a ticket change (docs/notifications.md)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pytest

from hotline.platform.outbox import OutboxMessage
from hotline.platform.tenancy import use_scope
from hotline.schema.ids import encode_id
from hotline.tenants.notifications.models import NotificationTemplate
from hotline.tenants.notifications.templates import VARIABLES, sms_segments

if TYPE_CHECKING:
    from tests.tickets_api.conftest import City, World

SET = """mutation($e: String!, $c: NotificationChannel!, $s: String!, $b: String!) {
  setNotificationTemplate(event: $e, channel: $c, locale: "zh-CN", subject: $s, body: $b) {
    ok errors { field code message } } }"""
DISPATCH = """mutation($t: ID!, $l: ID!) { dispatchTicket(input: {ticketId: $t,
  leadDepartmentId: $l}) { ticket { status } errors { code } } }"""


async def _set(world: World, city: City, event: str, channel: str, body: str, subject: str = ""):
    body_ = await world.gql(city, "admin", SET, {"e": event, "c": channel, "s": subject, "b": body})
    assert "errors" not in body_, body_
    return body_["data"]["setNotificationTemplate"]


@pytest.mark.parametrize(
    ("channel", "subject", "body", "field"),
    [
        # a typo: a variable the renderer does not provide
        ("SMS", "", "您的工单{{ numbr }}已受理", "body"),
        ("EMAIL", "工单{{ number }", "x", "subject"),
        # a filter that does not exist is only found when rendering
        ("EMAIL", "x", "{{ number | nosuchfilter }}", "body"),
        # output caps: 3 SMS segments, 20,000 characters of e-mail, 200 of subject
        ("SMS", "", "您的工单{{ number }}已受理。" + "请留意办理进展。" * 30, "body"),
        ("EMAIL", "x", "{% for i in range(3000) %}{{ number }}{% endfor %}", "body"),
        ("EMAIL", "{{ content * 5 }}", "x", "subject"),
    ],
)
async def test_a_bad_template_is_refused_at_save(
    world: World, channel: str, subject: str, body: str, field: str
) -> None:
    city = world.alpha
    payload = await _set(world, city, "ticket.received", channel, body, subject)
    assert payload["ok"] is None or payload["ok"] is False
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [(field, "INVALID")]
    with use_scope(city.scope()):
        assert not await NotificationTemplate.filter(body=body).exists()


async def test_a_template_using_every_variable_within_the_caps_is_accepted(world: World) -> None:
    listed = "number title content status department sign_deadline reply_deadline reason level"
    names = tuple(listed.split(" "))
    assert names == VARIABLES
    every = "".join("{{ " + name + " }}" for name in names)
    payload = await _set(world, world.alpha, "ticket.replied", "EMAIL", every, "{{ number }}")
    assert payload == {"ok": True, "errors": []}
    # 3 segments of Chinese SMS are 201 characters, signature included
    assert sms_segments("字" * 70) == 1
    assert sms_segments("字" * 201) == 3
    assert sms_segments("字" * 202) == 4
    assert sms_segments("a" * 160) == 1
    assert sms_segments("a" * 459) == 3


async def test_a_template_failing_on_odd_values_skips_its_message_only(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """A template that passed the check but fails on this ticket's values (there is no
    "：" in its content) must not block the dispatch; the other messages still go."""
    city = world.beta
    fragile = '{{ content.split("：")[1] }}'
    assert (await _set(world, city, "ticket.dispatched", "INAPP", fragile, "{{ number }}"))[
        "ok"
    ] is True

    async def dispatch(content: str) -> list[OutboxMessage]:
        made = await world.ticket(city, content=content)
        with caplog.at_level(logging.WARNING, logger="hotline.tenants.notifications.rules"):
            body = await world.gql(
                city,
                "dispatcher",
                DISPATCH,
                {
                    "t": str(encode_id("Ticket", made.ticket.id)),
                    "l": str(encode_id("Department", city.district.id)),
                },
            )
        assert "errors" not in body, body
        assert body["data"]["dispatchTicket"] == {
            "ticket": {"status": "DISPATCHED"},
            "errors": [],
        }
        with use_scope(city.scope()):
            return await OutboxMessage.filter(
                tenant_id=city.tenant.id,
                kind="inapp",
                payload__contains={"ticket_id": made.ticket.id},
            )

    caplog.clear()
    assert await dispatch("路灯不亮，请维修") == []
    assert "notification skipped" in caplog.text
    assert "路灯" not in caplog.text  # the ticket's content never reaches the log
    notices = await dispatch("地点：泉城路路灯不亮")
    # one notice per member of the district: its handler and its manager (tests/world.py)
    assert sorted(n.payload["user_id"] for n in notices) == sorted(
        [city.users["district"], city.users["dmanager"]]
    )
    assert [n.payload["body"] for n in notices] == ["泉城路路灯不亮"] * 2
