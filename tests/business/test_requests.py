"""Business requests through GraphQL, as tickets: an enterprise user submits, the
request reaches the enterprise's service manager with its own working-day deadline;
the manager answers directly, or dispatches so a department signs and replies on the
ticket machinery; the enterprise rates the outcome once; the figures count it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hotline.platform import clock
from hotline.platform.tenancy import use_scope
from hotline.schema.ids import encode_id
from hotline.tenants.tickets.models import Assignment, Ticket, TimelineEvent
from tests.business.conftest import BizWorld

SUBMIT = """mutation($topic: BusinessRequestTopic!, $title: String!, $content: String!) {
  submitBusinessRequest(topic: $topic, title: $title, content: $content) {
    request { id ticketId number status topic managerId responseDeadline enterpriseId }
    errors { code field message }
  }
}"""
ANSWER = """mutation($id: ID!, $answer: String!) {
  answerBusinessRequest(id: $id, answer: $answer) {
    request { status answer respondedAt } errors { code }
  }
}"""
DISPATCH = """mutation($id: ID!, $lead: ID!) {
  dispatchBusinessRequest(id: $id, leadDepartmentId: $lead, reason: "融资对接") {
    request { status respondedAt } errors { code field }
  }
}"""
SIGN = """mutation($a: ID!) { signForAssignment(assignmentId: $a) { errors { code } } }"""
REPLY = """mutation($a: ID!) {
  replyAssignment(input: {assignmentId: $a, reply: "已对接三家银行", resolved: true}) {
    errors { code }
  }
}"""
RATE = """mutation($id: ID!, $rating: Usefulness!, $comment: String!) {
  rateBusinessRequest(id: $id, rating: $rating, comment: $comment) {
    request { rating ratingComment } errors { code field }
  }
}"""
LIST = """query { businessRequests(first: 50) { nodes { id enterpriseId status } } }"""
FIGURES = """query($by: BusinessFigureDimension!, $from: Date!, $to: Date!) {
  businessFigures(by: $by, from: $from, to: $to) {
    key requests responded respondedOnTime rated useful partly notUseful usefulRate onTimeRate
  }
}"""


def data(body: dict[str, Any], field: str) -> dict[str, Any]:
    payload: dict[str, Any] = body["data"][field]
    assert payload["errors"] == [], payload
    return payload


async def test_a_request_answered_and_one_dispatched_then_rated(biz: BizWorld) -> None:
    world, city = biz.world, biz.alpha.city
    acme = biz.alpha.enterprises["acme"]
    manager = str(encode_id("User", city.users["manager"]))
    assigned = await world.gql(
        city,
        "admin",
        """mutation($m: ID!, $e: ID!) {
          assignServiceManager(input: {managerId: $m, enterpriseId: $e}) { errors { code } }
        }""",
        {"m": manager, "e": str(encode_id("Enterprise", acme.id))},
    )
    assert assigned["data"]["assignServiceManager"]["errors"] == []

    asked = data(
        await world.gql(
            city,
            "acme-user",
            SUBMIT,
            {"topic": "POLICY", "title": "研发费用加计扣除", "content": "我公司能否享受？"},
        ),
        "submitBusinessRequest",
    )["request"]
    assert (asked["status"], asked["managerId"], asked["topic"]) == ("received", manager, "POLICY")
    assert asked["number"].startswith("AL")
    with use_scope(city.scope()):
        ticket = await Ticket.get(number=asked["number"])
    assert ticket.kind.value == "consultation"
    # staff outside the portfolio and the center cannot answer it as its manager
    other = await world.gql(city, "manager2", ANSWER, {"id": asked["id"], "answer": "x"})
    assert [e["code"] for e in other["data"]["answerBusinessRequest"]["errors"]] == ["NOT_FOUND"]
    # nothing to rate before an outcome
    early = await world.gql(
        city, "acme-user", RATE, {"id": asked["id"], "rating": "USEFUL", "comment": ""}
    )
    assert [e["code"] for e in early["data"]["rateBusinessRequest"]["errors"]] == ["INVALID"]

    answered = data(
        await world.gql(
            city, "manager", ANSWER, {"id": asked["id"], "answer": "可以享受100%加计扣除。"}
        ),
        "answerBusinessRequest",
    )["request"]
    assert answered["status"] == "closed"
    assert answered["respondedAt"] is not None
    rated = data(
        await world.gql(
            city, "acme-user", RATE, {"id": asked["id"], "rating": "USEFUL", "comment": "很及时"}
        ),
        "rateBusinessRequest",
    )["request"]
    assert rated == {"rating": "USEFUL", "ratingComment": "很及时"}
    twice = await world.gql(
        city, "acme-admin", RATE, {"id": asked["id"], "rating": "NOT_USEFUL", "comment": ""}
    )
    assert [e["code"] for e in twice["data"]["rateBusinessRequest"]["errors"]] == ["CONFLICT"]

    need = data(
        await world.gql(
            city,
            "acme-admin",
            SUBMIT,
            {"topic": "FINANCING", "title": "流动资金贷款", "content": "需要500万"},
        ),
        "submitBusinessRequest",
    )["request"]
    district = str(encode_id("Department", city.district.id))
    sent = data(
        await world.gql(city, "manager", DISPATCH, {"id": need["id"], "lead": district}),
        "dispatchBusinessRequest",
    )["request"]
    assert sent["status"] == "dispatched"
    with use_scope(city.scope()):
        ticket = await Ticket.get(number=need["number"])
        assignment = await Assignment.get(ticket_id=ticket.id)
        actions = (
            await TimelineEvent.filter(ticket_id=ticket.id)
            .order_by("seq")
            .values_list("action", flat=True)
        )
    assert [str(a) for a in actions] == ["create", "dispatch"]
    assert assignment.reply_deadline is not None  # the ticket machinery's deadlines
    a = str(encode_id("Assignment", assignment.id))
    assert (await world.gql(city, "district", SIGN, {"a": a}))["data"]["signForAssignment"][
        "errors"
    ] == []
    assert (await world.gql(city, "district", REPLY, {"a": a}))["data"]["replyAssignment"][
        "errors"
    ] == []
    data(
        await world.gql(
            city, "acme-user", RATE, {"id": need["id"], "rating": "PARTLY", "comment": "利率偏高"}
        ),
        "rateBusinessRequest",
    )

    # the enterprise sees its own requests; the manager its portfolio's; not the others'
    mine = await world.gql(city, "acme-user", LIST)
    assert {n["id"] for n in mine["data"]["businessRequests"]["nodes"]} == {asked["id"], need["id"]}
    theirs = await world.gql(city, "other-user", LIST)
    assert theirs["data"]["businessRequests"]["nodes"] == []
    assert len((await world.gql(city, "manager", LIST))["data"]["businessRequests"]["nodes"]) == 2
    assert (await world.gql(city, "manager2", LIST))["data"]["businessRequests"]["nodes"] == []

    today = clock.now().date()
    span = {
        "from": (today - timedelta(days=1)).isoformat(),
        "to": (today + timedelta(days=1)).isoformat(),
    }
    figures = (await world.gql(city, "supervisor", FIGURES, {"by": "MANAGER", **span}))["data"][
        "businessFigures"
    ]
    assert figures == [
        {
            "key": str(city.users["manager"]),
            "requests": 2,
            "responded": 2,
            "respondedOnTime": 2,
            "rated": 2,
            "useful": 1,
            "partly": 1,
            "notUseful": 0,
            "usefulRate": "0.5",
            "onTimeRate": "1",
        }
    ]
    by_industry = (await world.gql(city, "supervisor", FIGURES, {"by": "INDUSTRY", **span}))[
        "data"
    ]["businessFigures"]
    assert [(f["key"], f["rated"]) for f in by_industry] == [("65", 2)]
    by_department = (await world.gql(city, "supervisor", FIGURES, {"by": "DEPARTMENT", **span}))[
        "data"
    ]["businessFigures"]
    # the dispatched one counts for its lead department, the answered one for none
    assert [(f["key"], f["requests"]) for f in by_department] == [
        (str(city.district.id), 1),
        (None, 1),
    ]
    assert date.fromisoformat(asked["responseDeadline"][:10]) > today
