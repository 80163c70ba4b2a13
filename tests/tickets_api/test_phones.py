"""Repeat callers: every way of writing a number is one caller (E.164), what is not a
number is refused. (Numbers stored before E.164 were rewritten by a data migration that
the per-domain squash retired: no database predates it, docs/operations.md.)"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from hotline.platform.tenancy import use_scope
from hotline.tenants.kernel.errors import Invalid
from hotline.tenants.tickets.models import Ticket
from hotline.tenants.tickets.phones import mask_phone, normalize_phone, phone_hash

if TYPE_CHECKING:
    from tests.tickets_api.conftest import World

CREATE = """mutation($p: String) { createTicket(input: {
  channel: PHONE, kind: COMPLAINT, content: "楼下噪音扰民", citizenName: "王五",
  citizenPhone: $p, address: "泉城路 2 号"}) {
    ticket { id citizen { phone } } errors { field code message } } }"""
HISTORY = "query($p: String!) { citizenHistory(phone: $p) { number } }"


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("13800001234", "+8613800001234"),
        ("+86 138 0000 1234", "+8613800001234"),
        ("0086-13800001234", "+8613800001234"),
        ("138-0000-1234", "+8613800001234"),
        ("１３８００００１２３４", "+8613800001234"),
        ("0531-86012345", "+8653186012345"),
        ("(0531) 8601 2345", "+8653186012345"),
        ("400-123-4567", "+864001234567"),
        ("800 810 8888", "+868008108888"),
        ("0531-86012345-123", "+8653186012345;ext=123"),
        ("0531-86012345 转 123", "+8653186012345;ext=123"),
        ("0531-86012345 ext. 123", "+8653186012345;ext=123"),
        ("+1 650 253 0000", "+16502530000"),
    ],
)
def test_numbers_are_normalised_to_e164(typed: str, canonical: str) -> None:
    assert normalize_phone(typed) == canonical


@pytest.mark.parametrize("typed", ["12345", "86012345", "1380000123", "abc", "", "110", "+86"])
def test_what_is_not_a_number_is_refused(typed: str) -> None:
    with pytest.raises(Invalid) as caught:
        normalize_phone(typed)
    assert caught.value.field == "citizenPhone"


def test_the_three_spellings_of_one_caller_hash_the_same() -> None:
    hashes = {phone_hash(p) for p in ("13800001234", "+86 138 0000 1234", "0086-13800001234")}
    assert len(hashes) == 1
    assert phone_hash("13800001234") != phone_hash("13800001235")


def test_masks_read_like_the_national_number() -> None:
    assert mask_phone("+8613812345678") == "138****5678"
    assert mask_phone("+8653186012345;ext=123") == "053*****2345 转123"
    assert mask_phone("13812345678") == "138****5678"  # stored before normalisation


async def test_a_repeat_caller_is_found_however_the_number_was_typed(world: World) -> None:
    a = world.alpha
    first = await world.gql(a, "agent", CREATE, {"p": "0086-13800001234"})
    assert first["data"]["createTicket"]["errors"] == [], first
    second = await world.gql(a, "agent", CREATE, {"p": "+86 138 0000 1234"})
    assert second["data"]["createTicket"]["ticket"]["citizen"]["phone"] == "138****1234"
    found = await world.gql(a, "agent", HISTORY, {"p": "13800001234"})
    assert len(found["data"]["citizenHistory"]) == 2
    # the same number in beta is beta's caller, not alpha's
    other = await world.gql(world.beta, "agent", HISTORY, {"p": "13800001234"})
    assert other["data"]["citizenHistory"] == []
    tid = first["data"]["createTicket"]["ticket"]["id"]
    body = await world.gql(
        a, "agent", "query($id: ID!) { ticket(id: $id) { contact { phone } } }", {"id": tid}
    )
    assert body["data"]["ticket"]["contact"]["phone"] == "+8613800001234"


async def test_an_invalid_number_is_refused_and_nothing_is_created(world: World) -> None:
    a = world.alpha
    with use_scope(a.scope()):
        before = await Ticket.all().count()
    body = await world.gql(a, "agent", CREATE, {"p": "12345"})
    payload = body["data"]["createTicket"]
    assert payload["ticket"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("citizenPhone", "INVALID")]
    with use_scope(a.scope()):
        assert await Ticket.all().count() == before
