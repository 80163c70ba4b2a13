"""Ticket reads: detail, search, department inboxes, center queues, the citizen's lookup."""

from __future__ import annotations

import base64
from datetime import datetime

import strawberry
from strawberry import relay
from tortoise.queryset import QuerySet

from hotline.schema.context import Info
from hotline.schema.ids import decode_id
from hotline.schema.pagination import Connection, build_connection, page_size
from hotline.schema.permissions import can
from hotline.schema.tickets import pages as page_objects
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
)
from hotline.tenants.kernel.access import Action
from hotline.tenants.kernel.errors import Invalid
from hotline.tenants.tickets import access, lists, models, pages, personal


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


async def _ticket_page(
    info: Info,
    query: QuerySet[models.Ticket],
    size: int,
    order: lists.TicketSort,
    after: str | None,
) -> Connection[Ticket]:
    """A page of a ticket list and what it selects of the tickets' relations, read in one
    statement per level; the objects made once (``tickets.pages``)."""
    rows, related = await pages.ticket_page(
        actor=info.context.actor,
        query=query,
        limit=size + 1,
        wanted=page_objects.wanted(info, inbox=False),
    )
    return _connection(info, rows, related, size, order, after)


def _connection(
    info: Info,
    rows: list[models.Ticket],
    related: pages.Related,
    size: int,
    order: lists.TicketSort,
    after: str | None,
) -> Connection[Ticket]:
    made = page_objects.PageObjects(info, related)
    return build_connection(
        rows,
        size,
        lambda r: lists.ticket_cursor(r, order),
        made.ticket,
        after=after,
        encode=encode_cursor,
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
        actor = info.context.actor
        selector = filter.to_selector() if filter else lists.TicketFilter()
        cursor = decode_cursor(after)
        if selector.keyword and selector.keyword.strip():
            # a keyword's page is read through its index (tickets.search), its relations
            # one statement per level
            rows = await lists.search_tickets(
                actor=actor, filter=selector, sort=order, limit=size + 1, after=cursor
            )
            related = await pages.ticket_relations(
                actor=actor, tickets=rows[:size], wanted=page_objects.wanted(info, inbox=False)
            )
            return _connection(info, rows, related, size, order, after)
        query = await lists.search_query(actor=actor, filter=selector, sort=order, after=cursor)
        return await _ticket_page(info, query, size, order, after)

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
        page = await pages.department_inbox(
            actor=info.context.actor,
            department_id=decode_id(department_id, "Department", field="departmentId"),
            box=lists.InboxBox(box),
            limit=size + 1,
            after=decode_cursor(after),
            wanted=page_objects.wanted(info, inbox=True),
        )
        made = page_objects.PageObjects(info, page.related)
        return build_connection(
            page.rows,
            size,
            lists.assignment_cursor,
            made.assignment,
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
        query = lists.center_queue_query(
            actor=info.context.actor,
            queue=lists.CenterQueue(queue),
            sort=order,
            after=decode_cursor(after),
        )
        return await _ticket_page(info, query, size, order, after)

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
