"""Ticket reads: detail, search, department inboxes, center queues, the citizen's lookup."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay

from hotline.schema.categories.types import category_loader
from hotline.schema.context import Info
from hotline.schema.ids import decode_id
from hotline.schema.pagination import Connection, build_connection, page_size
from hotline.schema.permissions import can
from hotline.schema.tickets.types import (
    Assignment,
    CenterQueue,
    Channel,
    InboxBox,
    PublicTicket,
    Ticket,
    TicketKind,
    TicketSort,
    TicketStatus,
    assignments_loader,
    department_loader,
    ticket_loader,
)
from hotline.tenants.kernel.access import Action
from hotline.tenants.kernel.errors import Invalid
from hotline.tenants.tickets import access, lists, models, personal, reads


def encode_cursor(cursor: lists.Cursor) -> str:
    value = cursor.value.isoformat() if cursor.value is not None else ""
    return base64.urlsafe_b64encode(f"c:{value}|{cursor.id}".encode()).decode()


def decode_cursor(text: str | None) -> lists.Cursor | None:
    if text is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(text.encode()).decode()
        if not raw.startswith("c:"):
            raise ValueError(raw)
        value, _, key = raw[2:].rpartition("|")
        return lists.Cursor(value=datetime.fromisoformat(value) if value else None, id=int(key))
    except ValueError as exc:
        raise Invalid("malformed cursor", field="after") from exc


def _selected(info: Info) -> set[str]:
    """Every field name selected below the current field (all levels flattened)."""
    names: set[str] = set()
    stack: list[Any] = list(info.selected_fields)
    while stack:
        node = stack.pop()
        name = getattr(node, "name", None)
        if name:
            names.add(name)
        stack.extend(getattr(node, "selections", ()))
    return names


async def prefetch(
    info: Info,
    tickets: Sequence[models.Ticket],
    *,
    names: set[str],
    department_ids: Iterable[int] = (),
) -> None:
    """Prime this request's loaders for a page of tickets, one batch per relation the
    query selects, so the relation fields resolve without a task each."""
    actor = info.context.actor
    ids = [t.id for t in tickets]
    wanted = set(department_ids)
    if "area" in names:
        wanted.update(t.area_id for t in tickets if t.area_id is not None)
    with_assignments = bool(names & {"assignments", "allAssignments", "children"})

    async def categories() -> None:
        keys = sorted({t.category_id for t in tickets if t.category_id is not None})
        if "parent" in names:
            rows = await reads.categories_with_parents(actor=actor, ids=keys)
            category_loader(info).prime_many({c.id: c for c in rows})
        await category_loader(info).load_many(keys)

    async def departments() -> None:
        rows = await reads.departments_of_tickets(
            actor=actor, ticket_ids=ids if with_assignments else [], also=wanted
        )
        department_loader(info).prime_many({d.id: d for d in rows})

    # independent relations load side by side, each on its own pooled connection
    await asyncio.gather(
        *([categories()] if "category" in names else []),
        *([assignments_loader(info).load_many(ids)] if with_assignments else []),
        *([departments()] if names & {"department", "area"} else []),
    )


@strawberry.input
class TicketFilter:
    status: list[TicketStatus] | None = None
    kind: list[TicketKind] | None = None
    channel: list[Channel] | None = None
    category_id: relay.GlobalID | None = strawberry.field(
        default=None, description="The category or any below it."
    )
    area_id: relay.GlobalID | None = strawberry.field(
        default=None, description="The area department or any below it."
    )
    received_from: datetime | None = None
    received_to: datetime | None = strawberry.field(default=None, description="Exclusive.")
    keyword: str | None = strawberry.field(
        default=None, description="The exact number, or words of the content or address."
    )
    overdue: bool | None = None

    def to_selector(self) -> lists.TicketFilter:
        return lists.TicketFilter(
            statuses=[models.Status(s) for s in self.status or ()],
            kinds=[models.Kind(k) for k in self.kind or ()],
            channels=[models.Channel(c) for c in self.channel or ()],
            category_id=decode_id(self.category_id, "Category", field="categoryId")
            if self.category_id
            else None,
            area_id=decode_id(self.area_id, "Department", field="areaId") if self.area_id else None,
            received_from=self.received_from,
            received_to=self.received_to,
            keyword=self.keyword,
            overdue=self.overdue,
        )


@strawberry.type
class TicketQueries:
    @strawberry.field(permission_classes=[can(Action.TICKET_READ)])
    async def ticket(self, info: Info, id: relay.GlobalID) -> Ticket:
        row = await access.access_ticket(
            actor=info.context.actor, ticket_id=decode_id(id, "Ticket", field="id")
        )
        return Ticket.from_model(row)

    @strawberry.field(permission_classes=[can(Action.TICKET_READ)])
    async def ticket_by_number(self, info: Info, number: str) -> Ticket:
        return Ticket.from_model(
            await access.ticket_by_number(actor=info.context.actor, number=number)
        )

    @strawberry.field(
        permission_classes=[can(Action.TICKET_READ)],
        description="Search the tickets one may see; newest first or earliest deadline first.",
    )
    async def tickets(
        self,
        info: Info,
        filter: TicketFilter | None = None,
        sort: TicketSort = lists.TicketSort.RECEIVED_DESC,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Ticket]:
        size = page_size(first)
        order = lists.TicketSort(sort)
        rows = await lists.search_tickets(
            actor=info.context.actor,
            filter=filter.to_selector() if filter else lists.TicketFilter(),
            sort=order,
            limit=size + 1,
            after=decode_cursor(after),
        )
        await prefetch(info, rows[:size], names=_selected(info))
        return build_connection(
            rows,
            size,
            lambda r: lists.ticket_cursor(r, order),
            Ticket.from_model,
            after=after,
            encode=encode_cursor,
        )

    @strawberry.field(
        permission_classes=[can(Action.TICKET_READ)],
        description="A department's own assignments in one box, earliest deadline first.",
    )
    async def inbox(
        self,
        info: Info,
        department_id: relay.GlobalID,
        box: InboxBox,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Assignment]:
        size = page_size(first)
        key = decode_id(department_id, "Department", field="departmentId")
        rows = await lists.department_inbox(
            actor=info.context.actor,
            department_id=key,
            box=lists.InboxBox(box),
            limit=size + 1,
            after=decode_cursor(after),
        )
        names = _selected(info)
        if "ticket" in names:
            tickets = await ticket_loader(info).load_many([r.ticket_id for r in rows[:size]])
            await prefetch(info, [t for t in tickets if t], names=names, department_ids=[key])
        return build_connection(
            rows,
            size,
            lists.assignment_cursor,
            Assignment.from_model,
            after=after,
            encode=encode_cursor,
        )

    @strawberry.field(permission_classes=[can(Action.TICKET_QUEUE_READ)])
    async def center_queue(
        self,
        info: Info,
        queue: CenterQueue,
        sort: TicketSort = lists.TicketSort.RECEIVED_DESC,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Ticket]:
        size = page_size(first)
        order = lists.TicketSort(sort)
        rows = await lists.center_queue(
            actor=info.context.actor,
            queue=lists.CenterQueue(queue),
            sort=order,
            limit=size + 1,
            after=decode_cursor(after),
        )
        await prefetch(info, rows[:size], names=_selected(info))
        return build_connection(
            rows,
            size,
            lambda r: lists.ticket_cursor(r, order),
            Ticket.from_model,
            after=after,
            encode=encode_cursor,
        )

    @strawberry.field(
        permission_classes=[can(Action.CITIZEN_HISTORY)],
        description="A caller's earlier tickets, newest first (audited).",
    )
    async def citizen_history(
        self, info: Info, phone: str, first: int | None = None
    ) -> list[Ticket]:
        rows = await personal.citizen_history(
            actor=info.context.actor, phone=phone, limit=page_size(first), ip=info.context.ip
        )
        return [Ticket.from_model(r) for r in rows]

    @strawberry.field(
        description=(
            "For citizens, no login: a ticket's progress by its number and query code. "
            "Rate-limited; shows no personal data."
        )
    )
    async def public_ticket(self, info: Info, number: str, query_code: str) -> PublicTicket:
        view = await personal.public_ticket(
            actor=info.context.actor, number=number, query_code=query_code, ip=info.context.ip
        )
        return PublicTicket.from_view(view)
