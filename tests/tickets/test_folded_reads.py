"""Reads folded into fewer statements keep their answers: a creation's opening (checks,
number, id) refuses bad input with its typed error and changes nothing — not even the
day's counter —, a dispatch checks all its departments in one read, and the SLA layers
of a category's chain come out root first."""

from __future__ import annotations

import pytest

from hotline.platform.tenancy import use_scope
from hotline.tenants.departments.models import DepartmentKind
from hotline.tenants.kernel.errors import DomainError, Invalid, NotFound
from hotline.tenants.tickets import dispatch, intake, policy
from hotline.tenants.tickets.models import Assignment, Channel, Kind, Status, Ticket
from tests.world import category, department

from .conftest import City, World


async def _create(city: City, **extra: object) -> intake.CreatedTicket:
    return await intake.create_ticket(
        actor=city.agent,
        channel=Channel.PHONE,
        kind=Kind.REPORT,
        content="井盖缺失",
        **extra,  # type: ignore[arg-type]
    )


def _serial(ticket: Ticket) -> int:
    return int(ticket.number[-6:])


async def _count(city: City) -> int:
    with use_scope(city.scope()):
        return await Ticket.all().count()


async def test_a_refused_creation_takes_no_number(world: World) -> None:
    city, other = world.alpha, world.beta
    with use_scope(city.scope()):
        closed = await category(city.urban, "已停用")
        closed.is_active = False
        await closed.save(update_fields=["is_active"])
        gone = await department(city.district, DepartmentKind.STREET, "撤销的街道")
        gone.is_active = False
        await gone.save(update_fields=["is_active"])
    first = (await _create(city)).ticket
    tickets = await _count(city)
    refused: list[tuple[dict[str, int], type[DomainError], str]] = [
        ({"category_id": other.construction.id}, NotFound, "categoryId"),  # another city's
        ({"category_id": closed.id}, Invalid, "categoryId"),
        ({"area_id": other.street.id}, NotFound, "areaId"),
        ({"area_id": gone.id}, Invalid, "areaId"),
        # the category is checked first, as before
        ({"category_id": closed.id, "area_id": gone.id}, Invalid, "categoryId"),
        ({"category_id": city.construction.id, "area_id": gone.id}, Invalid, "areaId"),
    ]
    for extra, error, field in refused:
        with pytest.raises(error) as raised:
            await _create(city, **extra)
        assert raised.value.field == field, extra
    assert await _count(city) == tickets
    # nothing taken: the next creation's serial follows the first's
    second = (await _create(city, category_id=city.construction.id, area_id=city.street.id)).ticket
    assert _serial(second) == _serial(first) + 1
    assert second.number[:-6] == first.number[:-6]
    assert second.received_at >= first.received_at


async def test_dispatch_checks_its_departments_in_order_and_changes_nothing(
    world: World,
) -> None:
    city, other = world.alpha, world.beta
    with use_scope(city.scope()):
        gone = await department(city.center, DepartmentKind.BUREAU, "撤并的局")
        gone.is_active = False
        await gone.save(update_fields=["is_active"])
    ticket = await city.ticket()
    refused: list[tuple[int, list[int], type[DomainError], str]] = [
        (other.district.id, [], NotFound, "leadDepartmentId"),
        (gone.id, [city.bureau.id], Invalid, "leadDepartmentId"),
        (city.district.id, [city.bureau.id, gone.id], Invalid, "coDepartmentIds"),
        (city.district.id, [other.bureau.id], NotFound, "coDepartmentIds"),
        (city.district.id, [city.center.id], Invalid, "leadDepartmentId"),  # the center
    ]
    for lead, co, error, field in refused:
        with pytest.raises(error) as raised:
            await dispatch.dispatch_ticket(
                actor=city.dispatcher,
                ticket_id=ticket.id,
                lead_department_id=lead,
                co_department_ids=co,
            )
        assert raised.value.field == field, (lead, co)
    with use_scope(city.scope()):
        assert (await Ticket.get(id=ticket.id)).status is Status.RECEIVED
        assert not await Assignment.filter(ticket_id=ticket.id).exists()
    done = await dispatch.dispatch_ticket(
        actor=city.dispatcher,
        ticket_id=ticket.id,
        lead_department_id=city.district.id,
        co_department_ids=[city.bureau.id, city.street.id],
    )
    with use_scope(city.scope()):
        made = await Assignment.filter(ticket_id=ticket.id).order_by("id")
    assert [(a.department_id, a.is_lead) for a in made] == [
        (city.district.id, True),
        (city.bureau.id, False),
        (city.street.id, False),
    ]
    assert all(a.round == 1 and a.reply_deadline == done.reply_deadline for a in made)


async def test_sla_layers_follow_the_category_chain_root_first(world: World) -> None:
    city, other = world.alpha, world.beta
    with use_scope(city.scope()):
        root = await category(None, "SLA 根")
        root.sla_overrides = {"reply_working_days": 5, "sign_for_working_hours": 3}
        await root.save(update_fields=["sla_overrides"])
        child = await category(root, "SLA 子")
        child.sla_overrides = {"sign_for_working_hours": 4}
        await child.save(update_fields=["sla_overrides"])
        leaf = await category(child, "SLA 孙")
        leaf.sla_overrides = {"reply_working_days": 6}
        await leaf.save(update_fields=["sla_overrides"])
        base = await policy.sla(city.tenant, None)
        on_leaf = await policy.sla(city.tenant, leaf.id)
        on_child = await policy.sla(city.tenant, child.id)
        # another city's category is no layer here (as if none were given)
        foreign = await policy.sla(city.tenant, other.construction.id)
        missing = await policy.sla(city.tenant, 2_000_000_000)
    assert (on_leaf.reply_working_days, on_leaf.sign_for_working_hours) == (6, 4)
    assert (on_child.reply_working_days, on_child.sign_for_working_hours) == (5, 4)
    assert on_leaf.due_soon_ratio == base.due_soon_ratio
    assert foreign == base
    assert missing == base


async def test_a_deactivated_department_is_not_read_as_active(world: World) -> None:
    """``active_departments`` answers each id as ``active_department`` does."""
    city = world.alpha
    with use_scope(city.scope()):
        gone = await department(city.district, DepartmentKind.STREET, "停用")
        gone.is_active = False
        await gone.save(update_fields=["is_active"])
        found = await policy.active_departments([(city.street.id, "a"), (city.bureau.id, "b")])
        assert [d.id for d in found] == [city.street.id, city.bureau.id]
        with pytest.raises(Invalid) as raised:
            await policy.active_departments([(city.street.id, "a"), (gone.id, "b")])
        assert raised.value.field == "b"
