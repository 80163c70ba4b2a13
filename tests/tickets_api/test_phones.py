"""Repeat callers: every way of writing a number is one caller (E.164), what is not a
number is refused, and the data migration rewrites numbers stored before."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

import pytest
from tortoise.transactions import in_transaction

from hotline.platform.crypto import decrypt, encrypt, keyed_hash
from hotline.platform.tenancy import use_scope
from hotline.tenants.kernel.errors import Invalid
from hotline.tenants.tickets.models import Ticket
from hotline.tenants.tickets.phones import PHONE_PURPOSE, mask_phone, normalize_phone, phone_hash

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


async def _legacy(world: World, city_name: str, stored: str) -> Ticket:
    """A ticket as the code before E.164 stored it: separators stripped, nothing else."""
    city = getattr(world, city_name)
    made = await world.ticket(city, phone=None)
    with use_scope(city.scope()):
        await Ticket.filter(id=made.ticket.id).update(
            citizen_phone_enc=encrypt(stored),
            citizen_phone_hash=keyed_hash(stored, PHONE_PURPOSE),
        )
    return made.ticket


async def test_the_migration_rewrites_stored_numbers_in_every_city(world: World) -> None:
    migration = importlib.import_module("hotline.tenants.migrations.0007_citizen_phones_e164")
    rows = {
        "alpha_plain": await _legacy(world, "alpha", "13800009999"),
        "alpha_00": await _legacy(world, "alpha", "008613800009999"),
        "alpha_plus": await _legacy(world, "alpha", "+8613800009999"),
        "beta_landline": await _legacy(world, "beta", "053186012345"),
        "beta_short": await _legacy(world, "beta", "12345"),
    }
    async with in_transaction() as conn:
        counts = await migration.renormalize_citizen_phones(conn)
    assert counts["changed"] >= 3  # +8613800009999 was already canonical
    assert counts["invalid"] >= 1

    async def stored(city_name: str, ticket: Ticket) -> tuple[str, str]:
        with use_scope(getattr(world, city_name).scope()):
            row = await Ticket.get(id=ticket.id)
        assert row.citizen_phone_enc
        assert row.citizen_phone_hash
        return decrypt(row.citizen_phone_enc), row.citizen_phone_hash

    for key in ("alpha_plain", "alpha_00", "alpha_plus"):
        assert await stored("alpha", rows[key]) == ("+8613800009999", phone_hash("13800009999"))
    assert await stored("beta", rows["beta_landline"]) == (
        "+8653186012345",
        phone_hash("0531-86012345"),
    )
    # not a number: left as it was
    assert await stored("beta", rows["beta_short"]) == (
        "12345",
        keyed_hash("12345", PHONE_PURPOSE),
    )
    # the repeat caller is now one caller in the history
    found = await world.gql(world.alpha, "agent", HISTORY, {"p": "+86 13800009999"})
    assert {r["number"] for r in found["data"]["citizenHistory"]} == {
        rows[k].number for k in ("alpha_plain", "alpha_00", "alpha_plus")
    }
    # a second run changes nothing
    async with in_transaction() as conn:
        again = await migration.renormalize_citizen_phones(conn)
    assert again["changed"] == 0
