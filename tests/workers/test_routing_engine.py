"""Routing a ticket with the catalogue: a city with no history is routed on its first
day by the province function model, a district matter goes to the district of the
ticket's area, an urgent matter goes to the duty room at once, and a province model
trained on the cities' history is stored and used."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio

from hotline.platform.outbox.models import OutboxMessage
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.departments.models import Department, DepartmentKind
from hotline.tenants.kernel.access import Actor
from hotline.tenants.kernel.roles import Role
from hotline.tenants.notifications.delivery import deliver_outbox
from hotline.tenants.routing import province
from hotline.tenants.routing.places_models import ProvinceRoutingModel
from hotline.tenants.tickets import intake
from hotline.tenants.tickets.autodispatch import score_ticket
from hotline.tenants.tickets.models import Assignment, Channel, Kind, Status, Ticket, TimelineEvent
from tests.statements import counting

if TYPE_CHECKING:
    from tests.workers.conftest import City, World


async def _add(
    city: City, parent: Department, kind: DepartmentKind, name: str, function: str
) -> Department:
    d = await Department.create(
        kind=kind,
        name=name,
        parent_id=parent.id,
        path="",
        depth=parent.depth + 1,
        function=function,
        is_duty_room=kind is DepartmentKind.DUTY_ROOM,
    )
    d.path = f"{parent.path}{d.id}/"
    await d.save(update_fields=["path"])
    city.depts[name] = d
    return d


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def tagged(world: World) -> City:
    """Alpha's tree tagged with the catalogue (and no closed ticket at all)."""
    await asyncio.to_thread(province.shipped_model)  # fitted once per process
    alpha = world.alpha
    with use_scope(alpha.scope()):
        await Department.filter(id=alpha.depts["urban"].id).update(function="urban_management")
        await Department.filter(id=alpha.depts["water"].id).update(function="water_supply")
        await Department.filter(id=alpha.depts["lixia"].id).update(function="district_government")
        await _add(
            alpha, alpha.depts["lixia"], DepartmentKind.STREET, "泉城路街道", "street_office"
        )
        await _add(alpha, alpha.center, DepartmentKind.UTILITY, "燃气公司", "gas")
        await _add(alpha, alpha.center, DepartmentKind.BUREAU, "税务局", "tax")
        await _add(alpha, alpha.center, DepartmentKind.DUTY_ROOM, "应急值班室", "duty_room")
    return alpha


async def test_a_city_without_history_is_routed_on_its_first_day(
    tagged: City, new_ticket: Any
) -> None:
    with use_scope(tagged.scope()):
        ticket, _ = await new_ticket(tagged, content="家里的自来水放出来发黄，还有一股铁锈味")
        row = await score_ticket(ticket_id=ticket.id)
    assert row.source == "model"
    assert row.model_version is None  # no city model: the province's alone
    assert row.department_id == tagged.depts["water"].id
    assert 1 <= len(row.suggestions) <= 3
    confidences = [s["confidence"] for s in row.suggestions]
    assert confidences == sorted(confidences, reverse=True)


async def test_a_district_matter_goes_to_the_district_of_the_ticket_s_area(
    tagged: City, new_ticket: Any
) -> None:
    with use_scope(tagged.scope()):
        ticket, _ = await new_ticket(tagged, content="小区门口流动摊贩占道经营，把人行道都占满了")
        without_area = await score_ticket(ticket_id=ticket.id)
        await Ticket.filter(id=ticket.id).update(area_id=tagged.depts["泉城路街道"].id)
        with_area = await score_ticket(ticket_id=ticket.id)
        street_matter, _ = await new_ticket(
            tagged, content="泉城路街道这个老院子没有物业，楼道里堆满了杂物，邻居互相推"
        )
        by_words = await score_ticket(ticket_id=street_matter.id)
    assert without_area.department_id == tagged.depts["urban"].id  # no place: the city bureau
    assert with_area.department_id == tagged.depts["lixia"].id
    assert tagged.depts["泉城路街道"].id in [s["department_id"] for s in by_words.suggestions]


async def test_an_urgent_matter_goes_to_the_duty_room_at_once(
    tagged: City, new_ticket: Any
) -> None:
    with use_scope(tagged.scope()):
        ticket, _ = await new_ticket(tagged, content="楼道里一股很浓的煤气味，三楼那家好像漏气了")
        flagged = await score_ticket(ticket_id=ticket.id)
    assert flagged.source == "urgent"
    assert flagged.department_id == tagged.depts["应急值班室"].id
    assert flagged.confidence == 1.0
    # created through intake: routed through the outbox and dispatched with no threshold set
    agent = Actor(
        user_id=None,
        tenant_id=tagged.id,
        province_id=tagged.tenant.province_id,
        roles=frozenset({Role.AGENT}),
    )
    created = await intake.create_ticket(
        actor=agent,
        channel=Channel.PHONE,
        kind=Kind.HELP,
        content="路口有个井盖没了，黑乎乎一个大洞，刚才差点有人掉进去",
    )
    with use_scope(Scope.platform()):
        message = await OutboxMessage.get(
            kind=intake.ROUTE_KIND, tenant_id=tagged.id, payload={"ticket_id": created.ticket.id}
        )
    with use_scope(tagged.scope()):
        assert await deliver_outbox(outbox_id=message.id) == "sent"
        routed = await Ticket.get(id=created.ticket.id)
        lead = await Assignment.get(ticket_id=routed.id, is_lead=True)
        event = await TimelineEvent.get(ticket_id=routed.id, action="dispatch")
    assert routed.status is Status.DISPATCHED
    assert lead.department_id == tagged.depts["应急值班室"].id
    assert "urgent" in event.reason


async def test_the_shipped_model_is_fitted_once_and_stored_for_the_province(
    tagged: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    province_id = tagged.tenant.province_id
    with use_scope(Scope.province(province_id)):
        await ProvinceRoutingModel.filter(province_id=province_id).delete()
    with use_scope(tagged.scope()):
        fitted = await province.province_model()
    with use_scope(Scope.province(province_id)):
        rows = await ProvinceRoutingModel.filter(province_id=province_id).order_by("version")
    assert [r.version for r in rows] == [0]
    assert rows[0].metrics["history"] == 0
    assert rows[0].metrics["top1"] > 0.7
    # a release whose corpus, catalogue or algorithm differ refits and replaces it
    with use_scope(Scope.province(province_id)):
        await ProvinceRoutingModel.filter(province_id=province_id, version=0).update(
            metrics={**rows[0].metrics, "fingerprint": "an older release"}
        )
    with use_scope(tagged.scope()):
        await province.province_model()
    with use_scope(Scope.province(province_id)):
        rows = await ProvinceRoutingModel.filter(province_id=province_id).order_by("version")
    assert [(r.version, r.metrics["fingerprint"]) for r in rows] == [
        (0, province.shipped_fingerprint())
    ]
    # a second process (nothing fitted in it) loads the stored row and fits nothing
    province.shipped_model.cache_clear()
    with use_scope(tagged.scope()):
        loaded = await province.province_model()
    assert province.shipped_model.cache_info().currsize == 0
    assert loaded.metrics["version"] == 0
    texts = ["家里的自来水放出来发黄，还有一股铁锈味", "个税APP上有一笔不认识的公司给我发的收入"]
    assert loaded.rank(texts) == fitted.rank(texts)
    # and routes with it from then on reading the version, not the megabytes again
    with counting(monkeypatch) as sent, use_scope(tagged.scope()):
        again = await province.province_model()
    assert again is loaded
    assert [q for q in sent if "routing_province_models" in q and "blob" in q] == []


async def test_a_trained_province_model_is_stored_and_used(
    world: World, tagged: City, new_ticket: Any
) -> None:
    province_id = tagged.tenant.province_id
    row = await province.train_province_model(province_id)
    assert row.version == 1
    assert row.metrics["history"] == 0  # alpha has no closed tickets led by a tagged department
    assert row.metrics["top1"] > 0.7
    assert bytes(row.blob).startswith(b"PK\x03\x04")
    with use_scope(tagged.scope()):
        assert await ProvinceRoutingModel.filter(version=1).exists()
        model = await province.province_model()
        assert model.metrics["version"] == 1
        ticket, _ = await new_ticket(tagged, content="个税APP上有一笔不认识的公司给我发的收入")
        routed = await score_ticket(ticket_id=ticket.id)
    assert routed.department_id == tagged.depts["税务局"].id
    # another province's city does not read it
    with use_scope(world.beta.scope()):
        assert not await ProvinceRoutingModel.all().exists()
