"""Work orders: the ticket, its assignment tree, its append-only timeline, and the
records of extensions, supervision and revisits. State changes go through
``service.py`` only; the transition rules are in ``flow.py``."""

from __future__ import annotations

import enum
from typing import Any

from tortoise import fields

from hotline.platform.db.models import TenantModel
from hotline.tenants.categories.models import Category
from hotline.tenants.departments.models import Department


class Channel(enum.StrEnum):
    PHONE = "phone"
    SMS = "sms"
    WEB = "web"
    APP = "app"
    WECHAT = "wechat"
    EMAIL = "email"
    OPEN311 = "open311"
    WALK_IN = "walk_in"


class Kind(enum.StrEnum):
    CONSULTATION = "consultation"
    COMPLAINT = "complaint"
    HELP = "help"  # request for help
    SUGGESTION = "suggestion"
    REPORT = "report"
    PRAISE = "praise"


class Priority(enum.StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"
    EMERGENCY = "emergency"  # straight to the duty room, wall-clock minutes


class Status(enum.StrEnum):
    RECEIVED = "received"
    ANSWERED = "answered"  # answered directly (knowledge base)
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"  # the lead department signed for it
    RETURNED = "returned"  # back in the center's queue
    REPLIED = "replied"  # the lead replied; awaiting the center's review
    REVISIT = "revisit"  # review passed; awaiting the citizen's grade
    REOPENED = "reopened"  # unsatisfied: to be re-dispatched
    CLOSED = "closed"
    CANCELLED = "cancelled"
    MERGED = "merged"  # a duplicate of another ticket
    TRANSFERRED = "transferred"  # handed to another city
    REJECTED = "rejected"  # not accepted / out of scope (不予受理)


class AssignmentStatus(enum.StrEnum):
    PENDING_SIGN = "pending_sign"
    SIGNED = "signed"
    RETURN_REQUESTED = "return_requested"
    RETURNED = "returned"
    REPLIED = "replied"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class Satisfaction(enum.StrEnum):
    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    UNSATISFIED = "unsatisfied"
    UNREACHABLE = "unreachable"  # closed after the revisit attempt limit; outside the denominator


# The longest ticket number: a longer one names no ticket (never a query error).
NUMBER_MAX = 24


class Ticket(TenantModel):
    number = fields.CharField(max_length=NUMBER_MAX)  # JN20261123000123, unique per city
    query_code_hash = fields.CharField(max_length=64)  # keyed hash of the citizen's query code
    channel = fields.CharEnumField(Channel, max_length=10)
    kind = fields.CharEnumField(Kind, max_length=12)
    priority = fields.CharEnumField(Priority, max_length=10, default=Priority.NORMAL)
    status = fields.CharEnumField(Status, max_length=12, default=Status.RECEIVED)
    title = fields.CharField(max_length=200, default="")
    content = fields.TextField()
    # Citizen: encrypted at rest, a keyed hash to find a caller's history.
    citizen_name_enc = fields.TextField(null=True)
    citizen_phone_enc = fields.TextField(null=True)
    citizen_phone_hash = fields.CharField(max_length=64, null=True)
    anonymous = fields.BooleanField(default=False)
    confidential = fields.BooleanField(default=False)
    # Location, stored in WGS-84.
    address = fields.CharField(max_length=300, default="")
    lng = fields.DecimalField(max_digits=10, decimal_places=7, null=True)
    lat = fields.DecimalField(max_digits=10, decimal_places=7, null=True)
    category: fields.ForeignKeyNullableRelation[Category] = fields.ForeignKeyField(
        "categories.Category", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    category_id: int | None
    area: fields.ForeignKeyNullableRelation[Department] = fields.ForeignKeyField(
        "departments.Department", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    area_id: int | None
    idempotency_key = fields.CharField(max_length=100, null=True)
    created_by_id = fields.BigIntField(null=True)  # user; NULL for a gateway or the citizen
    # Stage timestamps (statistics never scan the timeline).
    received_at = fields.DatetimeField()
    answered_at = fields.DatetimeField(null=True)
    dispatched_at = fields.DatetimeField(null=True)
    accepted_at = fields.DatetimeField(null=True)
    replied_at = fields.DatetimeField(null=True)
    reviewed_at = fields.DatetimeField(null=True)
    revisited_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)
    # The lead assignment's deadlines, copied here so inboxes and sweeps use one index.
    sign_deadline = fields.DatetimeField(null=True)
    reply_deadline = fields.DatetimeField(null=True)
    due_soon_at = fields.DatetimeField(null=True)
    # Outcome
    direct_answer = fields.BooleanField(default=False)
    article_id = fields.BigIntField(null=True)
    public_reply = fields.TextField(default="")
    resolved = fields.BooleanField(null=True)
    satisfaction = fields.CharEnumField(Satisfaction, max_length=20, null=True)
    satisfaction_source = fields.CharField(max_length=10, null=True)  # center | citizen
    revisit_attempts = fields.SmallIntField(default=0)
    reopen_count = fields.SmallIntField(default=0)
    urge_count = fields.SmallIntField(default=0)
    reject_reason = fields.TextField(default="")
    # Set while an approved suspension (挂起) pauses the ticket's deadline clocks.
    suspended_at = fields.DatetimeField(null=True)
    merged_into: fields.ForeignKeyNullableRelation[Ticket] = fields.ForeignKeyField(
        "tickets.Ticket", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    merged_into_id: int | None
    # Transfers between cities keep a linked record on both sides (ids in the other city).
    transferred_to_tenant_id = fields.BigIntField(null=True)
    transferred_to_ticket_id = fields.BigIntField(null=True)
    transferred_from_tenant_id = fields.BigIntField(null=True)
    transferred_from_ticket_id = fields.BigIntField(null=True)
    timeline_seq = fields.IntField(default=0)
    timeline_hash = fields.CharField(max_length=64, default="")
    version = fields.IntField(default=0)  # optimistic lock for concurrent transitions
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "tickets"
        unique_together = (("tenant_id", "number"), ("tenant_id", "idempotency_key"))


class Assignment(TenantModel):
    """One department's share of a ticket: lead, co-handler, or a sub-dispatch below one."""

    ticket: fields.ForeignKeyRelation[Ticket] = fields.ForeignKeyField(
        "tickets.Ticket", related_name="assignments", on_delete=fields.CASCADE
    )
    ticket_id: int
    department: fields.ForeignKeyRelation[Department] = fields.ForeignKeyField(
        "departments.Department", related_name=False, on_delete=fields.RESTRICT
    )
    department_id: int
    parent: fields.ForeignKeyNullableRelation[Assignment] = fields.ForeignKeyField(
        "tickets.Assignment", related_name="children", null=True, on_delete=fields.CASCADE
    )
    parent_id: int | None
    is_lead = fields.BooleanField(default=False)
    status = fields.CharEnumField(
        AssignmentStatus, max_length=20, default=AssignmentStatus.PENDING_SIGN
    )
    round = fields.SmallIntField(default=1)  # re-dispatch after return/reopen starts a new round
    # Set while the ticket is suspended: the sweep and the overdue boxes pass it by.
    paused_at = fields.DatetimeField(null=True)
    sign_deadline = fields.DatetimeField(null=True)
    reply_deadline = fields.DatetimeField()
    due_soon_at = fields.DatetimeField(null=True)
    extended_days = fields.SmallIntField(default=0)
    assigned_by_id = fields.BigIntField(null=True)
    signed_at = fields.DatetimeField(null=True)
    signed_by_id = fields.BigIntField(null=True)
    replied_at = fields.DatetimeField(null=True)
    replied_by_id = fields.BigIntField(null=True)
    reply = fields.TextField(default="")  # the lead's reply, or a co-handler's opinion
    resolved = fields.BooleanField(null=True)
    return_reason = fields.TextField(default="")
    version = fields.IntField(default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "assignments"


class TimelineEvent(TenantModel):
    """Append-only, hash-chained per ticket: hash = sha256(prev_hash + canonical event)."""

    ticket: fields.ForeignKeyRelation[Ticket] = fields.ForeignKeyField(
        "tickets.Ticket", related_name="timeline", on_delete=fields.RESTRICT
    )
    ticket_id: int
    seq = fields.IntField()
    action = fields.CharField(max_length=40)
    actor_id = fields.BigIntField(null=True)
    actor_role = fields.CharField(max_length=20, default="")
    department_id = fields.BigIntField(null=True)
    assignment_id = fields.BigIntField(null=True)
    from_status = fields.CharField(max_length=20, default="")
    to_status = fields.CharField(max_length=20, default="")
    reason = fields.TextField(default="")
    data: Any = fields.JSONField(default=dict)
    prev_hash = fields.CharField(max_length=64, default="")
    hash = fields.CharField(max_length=64)

    class Meta:
        table = "timeline_events"
        # with the partition key (docs/operations.md "Partitioning"); the chain head's
        # row lock keeps a ticket's seq unique
        unique_together = (("ticket", "seq", "created_at"),)


class ExtensionRequest(TenantModel):
    assignment: fields.ForeignKeyRelation[Assignment] = fields.ForeignKeyField(
        "tickets.Assignment", related_name="extensions", on_delete=fields.CASCADE
    )
    assignment_id: int
    ticket_id = fields.BigIntField()
    working_days = fields.SmallIntField()
    reason = fields.TextField()
    # pending | approved | rejected | withdrawn (its assignment replied or stopped working)
    status = fields.CharField(max_length=10, default="pending")
    requested_by_id = fields.BigIntField(null=True)
    decided_by_id = fields.BigIntField(null=True)
    decided_at = fields.DatetimeField(null=True)
    decision_note = fields.TextField(default="")
    new_deadline = fields.DatetimeField(null=True)

    class Meta:
        table = "extension_requests"


class ExtensionStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"  # the assignment replied, was returned or ended first


class SupervisionStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class SuspensionCause(enum.StrEnum):
    """Why a work order waits, its clocks paused."""

    CITIZEN = "citizen"  # waiting for the citizen (materials, access, a date)
    COURT = "court"  # a court or arbitration decides first
    AUTHORITY = "authority"  # another authority decides first
    OTHER = "other"


class SuspensionStatus(enum.StrEnum):
    REQUESTED = "requested"  # asked by the department, for the center to decide
    ACTIVE = "active"  # the clocks are paused
    REJECTED = "rejected"
    ENDED = "ended"  # resumed; the deadlines moved by the paused working time


class Suspension(TenantModel):
    """A suspension (挂起) of a work order: requested with a cause and a reason, approved
    by the center, then resumed; while active the ticket's deadline clocks stand still."""

    ticket: fields.ForeignKeyRelation[Ticket] = fields.ForeignKeyField(
        "tickets.Ticket", related_name="suspensions", on_delete=fields.RESTRICT
    )
    ticket_id: int
    assignment_id = fields.BigIntField(null=True)  # the requesting department's assignment
    department_id = fields.BigIntField(null=True)
    cause = fields.CharField(max_length=10)  # SuspensionCause
    reason = fields.TextField()
    status = fields.CharField(max_length=10, default="requested")  # SuspensionStatus
    requested_by_id = fields.BigIntField(null=True)
    decided_by_id = fields.BigIntField(null=True)
    decided_at = fields.DatetimeField(null=True)
    decision_note = fields.TextField(default="")
    started_at = fields.DatetimeField(null=True)
    ended_at = fields.DatetimeField(null=True)
    ended_by_id = fields.BigIntField(null=True)
    paused_seconds = fields.IntField(default=0)  # working time the clocks stood still

    class Meta:
        table = "suspensions"


class Supervision(TenantModel):
    """A supervision order (督办) on overdue or troubled work; escalates until closed."""

    ticket: fields.ForeignKeyRelation[Ticket] = fields.ForeignKeyField(
        "tickets.Ticket", related_name="supervisions", on_delete=fields.RESTRICT
    )
    ticket_id: int
    assignment_id = fields.BigIntField(null=True)
    department_id = fields.BigIntField(null=True)
    level = fields.SmallIntField(default=1)  # 1 department manager, 2 city leadership
    status = fields.CharField(max_length=10, default="open")  # open | closed
    reason = fields.TextField(default="")
    automatic = fields.BooleanField(default=False)
    opened_by_id = fields.BigIntField(null=True)
    escalate_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)
    closed_by_id = fields.BigIntField(null=True)
    comments: Any = fields.JSONField(default=list)  # [{"at", "by", "text"}]

    class Meta:
        table = "supervisions"


class Revisit(TenantModel):
    """One attempt to reach the citizen for a grade, or the citizen's own rating."""

    ticket: fields.ForeignKeyRelation[Ticket] = fields.ForeignKeyField(
        "tickets.Ticket", related_name="revisits", on_delete=fields.RESTRICT
    )
    ticket_id: int
    attempt = fields.SmallIntField()
    reached = fields.BooleanField()
    grade = fields.CharEnumField(Satisfaction, max_length=20, null=True)
    resolved = fields.BooleanField(null=True)
    source = fields.CharField(max_length=10, default="center")  # center | citizen
    note = fields.TextField(default="")
    by_id = fields.BigIntField(null=True)

    class Meta:
        table = "revisits"


class TicketCounter(TenantModel):
    """The last number handed out per city and day (row-locked while numbering)."""

    day = fields.DateField()
    last_number = fields.IntField(default=0)

    class Meta:
        table = "ticket_counters"
        unique_together = (("tenant_id", "day"),)
