"""GraphQL types of work orders. Every relation goes through a per-request dataloader.

One module over 400 lines on purpose: the ticket, its assignments and their records
refer to each other (ticket ↔ assignments ↔ timeline, supervisions, suspensions), and
these types share one set of loaders and converters; split, each half would import
the other."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Self, TypeVar

import strawberry
from strawberry import relay
from strawberry.dataloader import DataLoader
from strawberry.scalars import JSON

from hotline.platform import clock
from hotline.schema.calendar import provisional
from hotline.schema.categories.types import Category, category_by_id
from hotline.schema.context import Info
from hotline.schema.datetimes import serialize_datetime
from hotline.schema.departments.types import Department, load_departments
from hotline.schema.ids import encode_id
from hotline.schema.loaders import loader
from hotline.schema.permissions import can
from hotline.schema.tickets.resolve import now_or_later
from hotline.tenants.departments.models import Department as DepartmentRow
from hotline.tenants.kernel.access import Action, Actor
from hotline.tenants.tickets import intake, lists, models, personal, reads

TicketStatus = models.Status
strawberry.enum(models.Status, name="TicketStatus")
TicketKind = models.Kind
strawberry.enum(models.Kind, name="TicketKind")
Channel = models.Channel
strawberry.enum(models.Channel, name="Channel")
Priority = models.Priority
strawberry.enum(models.Priority, name="Priority")
AssignmentStatus = models.AssignmentStatus
strawberry.enum(models.AssignmentStatus, name="AssignmentStatus")
Satisfaction = models.Satisfaction
strawberry.enum(models.Satisfaction, name="Satisfaction")
InboxBox = lists.InboxBox
strawberry.enum(lists.InboxBox, name="InboxBox")
CenterQueue = lists.CenterQueue
strawberry.enum(lists.CenterQueue, name="CenterQueue")
TicketSort = lists.TicketSort
strawberry.enum(lists.TicketSort, name="TicketSort")
ExtensionStatus = models.ExtensionStatus
strawberry.enum(models.ExtensionStatus, name="ExtensionStatus")
SupervisionStatus = models.SupervisionStatus
strawberry.enum(models.SupervisionStatus, name="SupervisionStatus")
SuspensionCause = models.SuspensionCause
strawberry.enum(models.SuspensionCause, name="SuspensionCause")
SuspensionStatus = models.SuspensionStatus
strawberry.enum(models.SuspensionStatus, name="SuspensionStatus")

# Ids in a timeline event's data, and the type each names: answered as global ids.
_DATA_IDS = {
    "lead": "Department",
    "co": "Department",
    "department": "Department",
    "child": "Assignment",
    "parent": "Assignment",
    "parent_department": "Department",
    "request": "ExtensionRequest",
    "supervision": "Supervision",
    "suspension": "Suspension",
    "into": "Ticket",
    "duplicate": "Ticket",
    "article_id": "Article",
    "from_tenant": "Tenant",
    "to_tenant": "Tenant",
    "enterprise": "Enterprise",
    "business_request": "BusinessRequest",
    "financing_application": "FinancingApplication",
    "product": "FinancingProduct",
    "bank": "Department",
}


def readable_data(data: dict[str, object]) -> dict[str, object]:
    """Event data as a frontend reads it: ids of objects as global ids, instants (stored
    as UTC ISO text in the hash chain) at the answer's offset like every DateTime."""

    def gid(type_name: str, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(encode_id(type_name, value))
        if isinstance(value, list):
            return [gid(type_name, v) for v in value]
        return value

    def shown(key: str, value: object) -> object:
        if key in _DATA_IDS:
            return gid(_DATA_IDS[key], value)
        if key.endswith(("deadline", "_at")) and isinstance(value, str):
            try:
                return serialize_datetime(datetime.fromisoformat(value))
            except ValueError:
                return value
        return value

    return {k: shown(k, v) for k, v in data.items()}


R = TypeVar("R")


def _many(
    info: Info,
    name: str,
    fetch: Callable[..., Awaitable[list[list[R]]]],
) -> DataLoader[int, list[R]]:
    """A loader of the rows of each ticket, fetched in one query per batch."""
    actor: Actor = info.context.actor

    async def batch(keys: list[int]) -> Sequence[list[R]]:
        return await fetch(actor=actor, ticket_ids=keys)

    return loader(info, name, batch)


def assignments_loader(info: Info) -> DataLoader[int, list[models.Assignment]]:
    return _many(info, "assignments_by_ticket", reads.assignments_of)


def ticket_loader(info: Info) -> DataLoader[int, models.Ticket | None]:
    actor = info.context.actor

    async def batch(keys: list[int]) -> list[models.Ticket | None]:
        return await reads.tickets_by_ids(actor=actor, ids=keys)

    return loader(info, "ticket", batch)


def department_loader(info: Info) -> DataLoader[int, DepartmentRow | None]:
    return loader(info, "department", load_departments)


def _department(info: Info, department_id: int | None) -> Department | None:
    if department_id is None:
        return None
    converted = info.context.converted
    made: Department | None = converted.get(("Department", department_id))
    if made is not None:
        return made

    def convert(row: DepartmentRow | None) -> Department | None:
        if row is None:
            return None
        made = converted[("Department", department_id)] = Department.from_model(row)
        return made

    return now_or_later(department_loader(info), department_id, convert)


@strawberry.type
class SuggestedDepartment:
    department: Department
    rule_name: str


@strawberry.type
class Location:
    lng: float
    lat: float


@strawberry.type(description="The citizen as every reader sees it: masked.")
class Citizen:
    name: str | None
    phone: str | None
    anonymous: bool
    confidential: bool


@strawberry.type(description="The citizen in clear; reading it is audited.")
class CitizenContact:
    name: str | None
    phone: str | None


@strawberry.type
class StageTimes:
    received_at: datetime
    answered_at: datetime | None
    dispatched_at: datetime | None
    accepted_at: datetime | None
    replied_at: datetime | None
    reviewed_at: datetime | None
    revisited_at: datetime | None
    closed_at: datetime | None


@strawberry.type
class TimelineEvent:
    seq: int
    action: str
    at: datetime
    actor_id: int | None = strawberry.field(
        deprecation_reason="Use actorName; ids of people are not for display."
    )
    actor_role: str
    from_status: str
    to_status: str
    reason: str
    data: JSON
    hash: str
    department_id: strawberry.Private[int | None]
    ticket_id: strawberry.Private[int]

    @classmethod
    def from_model(cls, row: models.TimelineEvent) -> Self:
        return cls(
            seq=row.seq,
            action=row.action,
            at=row.created_at,
            actor_id=row.actor_id,
            actor_role=row.actor_role,
            from_status=row.from_status,
            to_status=row.to_status,
            reason=row.reason,
            data=JSON(readable_data(row.data)),
            hash=row.hash,
            department_id=row.department_id,
            ticket_id=row.ticket_id,
        )

    @strawberry.field
    def department(self, info: Info) -> Department | None:
        return _department(info, self.department_id)

    @strawberry.field(description="Who acted, by name (none for the system or a citizen).")
    async def actor_name(self, info: Info) -> str | None:
        if self.actor_id is None:
            return None
        actor: Actor = info.context.actor

        async def batch(keys: list[int]) -> Sequence[str | None]:
            return await reads.people_names(actor=actor, ids=keys)

        return await loader(info, "person_name", batch).load(self.actor_id)


@strawberry.type
class ExtensionRequest(relay.Node):
    id: relay.NodeID[int]
    assignment_id: strawberry.Private[int]
    working_days: int
    reason: str
    status: ExtensionStatus
    requested_at: datetime
    decided_at: datetime | None
    decision_note: str
    new_deadline: datetime | None

    @classmethod
    def from_model(cls, row: models.ExtensionRequest) -> Self:
        return cls(
            id=row.id,
            assignment_id=row.assignment_id,
            working_days=row.working_days,
            reason=row.reason,
            status=models.ExtensionStatus(row.status),
            requested_at=row.created_at,
            decided_at=row.decided_at,
            decision_note=row.decision_note,
            new_deadline=row.new_deadline,
        )


@strawberry.type
class SupervisionComment:
    at: str
    by: int | None
    text: str


@strawberry.type
class Supervision(relay.Node):
    id: relay.NodeID[int]
    level: int
    status: SupervisionStatus
    reason: str
    automatic: bool
    opened_at: datetime
    escalate_at: datetime | None
    closed_at: datetime | None
    comments: list[SupervisionComment]
    department_id: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, row: models.Supervision) -> Self:
        return cls(
            id=row.id,
            level=row.level,
            status=models.SupervisionStatus(row.status),
            reason=row.reason,
            automatic=row.automatic,
            opened_at=row.created_at,
            escalate_at=row.escalate_at,
            closed_at=row.closed_at,
            comments=[
                SupervisionComment(at=str(c.get("at", "")), by=c.get("by"), text=c.get("text", ""))
                for c in row.comments
            ],
            department_id=row.department_id,
        )

    @strawberry.field
    def department(self, info: Info) -> Department | None:
        return _department(info, self.department_id)


@strawberry.type(description="A suspension (挂起): the ticket waits, its deadlines paused.")
class Suspension(relay.Node):
    id: relay.NodeID[int]
    cause: SuspensionCause
    reason: str
    status: SuspensionStatus
    requested_at: datetime
    decided_at: datetime | None
    decision_note: str
    started_at: datetime | None
    ended_at: datetime | None
    paused_working_hours: float = strawberry.field(
        description="Working time the clocks stood still (set on resumption)."
    )
    department_id: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, row: models.Suspension) -> Self:
        return cls(
            id=row.id,
            cause=models.SuspensionCause(row.cause),
            reason=row.reason,
            status=models.SuspensionStatus(row.status),
            requested_at=row.created_at,
            decided_at=row.decided_at,
            decision_note=row.decision_note,
            started_at=row.started_at,
            ended_at=row.ended_at,
            paused_working_hours=round(row.paused_seconds / 3600, 2),
            department_id=row.department_id,
        )

    @strawberry.field
    def department(self, info: Info) -> Department | None:
        return _department(info, self.department_id)


@strawberry.type
class Revisit:
    attempt: int
    reached: bool
    grade: Satisfaction | None
    resolved: bool | None
    source: str
    note: str
    at: datetime

    @classmethod
    def from_model(cls, row: models.Revisit) -> Self:
        return cls(
            attempt=row.attempt,
            reached=row.reached,
            grade=row.grade,
            resolved=row.resolved,
            source=row.source,
            note=row.note,
            at=row.created_at,
        )


@strawberry.type
class Assignment(relay.Node):
    id: relay.NodeID[int]
    is_lead: bool
    status: AssignmentStatus
    round: int
    sign_deadline: datetime | None
    reply_deadline: datetime
    due_soon_at: datetime | None
    extended_days: int
    signed_at: datetime | None
    replied_at: datetime | None
    reply: str
    resolved: bool | None
    return_reason: str
    overdue: bool
    due_soon: bool
    row: strawberry.Private[models.Assignment]

    @classmethod
    def from_model(cls, row: models.Assignment) -> Self:
        now = clock.now()
        return cls(
            overdue=lists.assignment_overdue(row, now),
            due_soon=lists.assignment_due_soon(row, now),
            id=row.id,
            is_lead=row.is_lead,
            status=row.status,
            round=row.round,
            sign_deadline=row.sign_deadline,
            reply_deadline=row.reply_deadline,
            due_soon_at=row.due_soon_at,
            extended_days=row.extended_days,
            signed_at=row.signed_at,
            replied_at=row.replied_at,
            reply=row.reply,
            resolved=row.resolved,
            return_reason=row.return_reason,
            row=row,
        )

    @strawberry.field
    def department(self, info: Info) -> Department | None:
        return _department(info, self.row.department_id)

    @strawberry.field(description=provisional.DESCRIPTION)
    def deadline_provisional(self, info: Info) -> bool:
        return provisional.deadline_provisional(info, self.row.province_id, self.row.reply_deadline)

    @strawberry.field
    def ticket(self, info: Info) -> Ticket | None:
        return now_or_later(
            ticket_loader(info),
            self.row.ticket_id,
            lambda row: Ticket.from_model(row) if row else None,
        )

    @strawberry.field(description="Sub-dispatches below this assignment.")
    def children(self, info: Info) -> list[Assignment]:
        own = self.row.id
        return now_or_later(
            assignments_loader(info),
            self.row.ticket_id,
            lambda rows: [Assignment.from_model(a) for a in rows if a.parent_id == own],
        )

    @strawberry.field
    def extensions(self, info: Info) -> list[ExtensionRequest]:
        own = self.row.id
        return now_or_later(
            _many(info, "extensions_by_ticket", reads.extensions_of),
            self.row.ticket_id,
            lambda rows: [ExtensionRequest.from_model(e) for e in rows if e.assignment_id == own],
        )


@strawberry.type
class Ticket(relay.Node):
    id: relay.NodeID[int]
    number: str
    status: TicketStatus
    kind: TicketKind
    channel: Channel
    priority: Priority
    title: str
    content: str
    address: str
    reply_deadline: datetime | None
    sign_deadline: datetime | None
    due_soon_at: datetime | None
    direct_answer: bool
    public_reply: str
    resolved: bool | None
    satisfaction: Satisfaction | None
    revisit_attempts: int
    reopen_count: int
    urge_count: int
    reject_reason: str
    suspended_at: datetime | None = strawberry.field(
        description="Set while a suspension pauses the deadlines."
    )
    updated_at: datetime
    overdue: bool
    due_soon: bool
    row: strawberry.Private[models.Ticket]

    @classmethod
    def from_model(cls, row: models.Ticket) -> Self:
        now = clock.now()
        return cls(
            overdue=lists.is_overdue(row, now),
            due_soon=lists.is_due_soon(row, now),
            id=row.id,
            number=row.number,
            status=row.status,
            kind=row.kind,
            channel=row.channel,
            priority=row.priority,
            title=row.title,
            content=row.content,
            address=row.address,
            reply_deadline=row.reply_deadline,
            sign_deadline=row.sign_deadline,
            due_soon_at=row.due_soon_at,
            direct_answer=row.direct_answer,
            public_reply=row.public_reply,
            resolved=row.resolved,
            satisfaction=row.satisfaction,
            revisit_attempts=row.revisit_attempts,
            reopen_count=row.reopen_count,
            urge_count=row.urge_count,
            reject_reason=row.reject_reason,
            suspended_at=row.suspended_at,
            updated_at=row.updated_at,
            row=row,
        )

    @strawberry.field(description=provisional.DESCRIPTION)
    def deadline_provisional(self, info: Info) -> bool:
        return provisional.deadline_provisional(info, self.row.province_id, self.row.reply_deadline)

    @strawberry.field
    def location(self) -> Location | None:
        if self.row.lng is None or self.row.lat is None:
            return None
        return Location(lng=float(self.row.lng), lat=float(self.row.lat))

    @strawberry.field
    def stages(self) -> StageTimes:
        r = self.row
        return StageTimes(
            received_at=r.received_at,
            answered_at=r.answered_at,
            dispatched_at=r.dispatched_at,
            accepted_at=r.accepted_at,
            replied_at=r.replied_at,
            reviewed_at=r.reviewed_at,
            revisited_at=r.revisited_at,
            closed_at=r.closed_at,
        )

    @strawberry.field
    def citizen(self) -> Citizen:
        masked = personal.masked_citizen(self.row)
        return Citizen(
            name=masked.name,
            phone=masked.phone,
            anonymous=self.row.anonymous,
            confidential=self.row.confidential,
        )

    @strawberry.field(
        permission_classes=[can(Action.CITIZEN_REVEAL)],
        description="The citizen's name and phone in clear. Every read is audited.",
    )
    async def contact(self, info: Info) -> CitizenContact:
        contact = await personal.reveal_citizen(
            actor=info.context.actor, ticket_id=self.row.id, ip=info.context.ip
        )
        return CitizenContact(name=contact.name, phone=contact.phone)

    @strawberry.field
    def category(self, info: Info) -> Category | None:
        if self.row.category_id is None:
            return None
        return category_by_id(info, self.row.category_id)

    @strawberry.field
    def area(self, info: Info) -> Department | None:
        return _department(info, self.row.area_id)

    @strawberry.field(description="The assignment tree's roots: the lead and the co-handlers.")
    def assignments(self, info: Info) -> list[Assignment]:
        return now_or_later(
            assignments_loader(info),
            self.row.id,
            lambda rows: [Assignment.from_model(a) for a in rows if a.parent_id is None],
        )

    @strawberry.field(description="Every assignment of the ticket, sub-dispatches included.")
    def all_assignments(self, info: Info) -> list[Assignment]:
        return now_or_later(
            assignments_loader(info),
            self.row.id,
            lambda rows: [Assignment.from_model(a) for a in rows],
        )

    @strawberry.field
    def timeline(self, info: Info) -> list[TimelineEvent]:
        return now_or_later(
            _many(info, "timeline_by_ticket", reads.timeline_of),
            self.row.id,
            lambda rows: [TimelineEvent.from_model(e) for e in rows],
        )

    @strawberry.field
    def supervisions(self, info: Info) -> list[Supervision]:
        return now_or_later(
            _many(info, "supervisions_by_ticket", reads.supervisions_of),
            self.row.id,
            lambda rows: [Supervision.from_model(s) for s in rows],
        )

    @strawberry.field
    def extensions(self, info: Info) -> list[ExtensionRequest]:
        return now_or_later(
            _many(info, "extensions_by_ticket", reads.extensions_of),
            self.row.id,
            lambda rows: [ExtensionRequest.from_model(e) for e in rows],
        )

    @strawberry.field
    def suspensions(self, info: Info) -> list[Suspension]:
        return now_or_later(
            _many(info, "suspensions_by_ticket", reads.suspensions_of),
            self.row.id,
            lambda rows: [Suspension.from_model(s) for s in rows],
        )

    @strawberry.field
    def revisits(self, info: Info) -> list[Revisit]:
        return now_or_later(
            _many(info, "revisits_by_ticket", reads.revisits_of),
            self.row.id,
            lambda rows: [Revisit.from_model(r) for r in rows],
        )

    @strawberry.field(
        permission_classes=[can(Action.TICKET_CREATE)],
        description="Departments the routing rules suggest, first is the rules' choice; "
        "for an urgent matter the duty room comes first (ruleName 'urgent: <kind>'), as "
        "routing decides. For one ticket's page: each ticket asks separately.",
    )
    async def suggested_departments(self, info: Info) -> list[SuggestedDepartment] | None:
        found = await intake.suggest_departments(
            actor=info.context.actor,
            content=self.row.content,
            title=self.row.title,
            category_id=self.row.category_id,
            area_id=self.row.area_id,
        )
        return [
            SuggestedDepartment(
                department=Department.from_model(s.department), rule_name=s.rule_name
            )
            for s in found
        ]

    @strawberry.field(
        permission_classes=[can(Action.TICKET_DISPATCH)],
        description="Possible duplicates: same caller, or same category and area, "
        "within 30 days. For one ticket's page: each ticket asks separately.",
    )
    async def duplicates(self, info: Info) -> list[Ticket] | None:
        rows = await intake.duplicate_candidates(actor=info.context.actor, ticket_id=self.row.id)
        return [Ticket.from_model(r) for r in rows]

    @strawberry.field
    async def merged_into(self, info: Info) -> Ticket | None:
        if self.row.merged_into_id is None:
            return None
        row = await ticket_loader(info).load(self.row.merged_into_id)
        return Ticket.from_model(row) if row else None


@strawberry.type(description="A citizen's view of a ticket: progress only, no personal data.")
class PublicTicket:
    number: str
    status: TicketStatus
    kind: TicketKind
    category_name: str | None
    received_at: datetime
    dispatched_at: datetime | None
    accepted_at: datetime | None
    replied_at: datetime | None
    closed_at: datetime | None
    public_reply: str
    rated: bool
    merged_into_number: str | None = strawberry.field(
        description="A duplicate merged into another work order: the number to follow."
    )

    @classmethod
    def from_view(cls, view: personal.PublicTicket) -> Self:
        return cls(
            number=view.number,
            status=view.status,
            kind=view.kind,
            category_name=view.category_name,
            received_at=view.received_at,
            dispatched_at=view.dispatched_at,
            accepted_at=view.accepted_at,
            replied_at=view.replied_at,
            closed_at=view.closed_at,
            public_reply=view.public_reply,
            rated=view.rated,
            merged_into_number=view.merged_into_number,
        )
