"""The daily aggregates and the bookkeeping that keeps them current (docs/statistics.md).

``stats_daily`` holds one row per city × department × category × channel × city-local
day, ``stats_daily_departments`` the same day summed per department (what dashboards
read), ``stats_monthly_departments`` a calendar month of those summed per department
(what a month's dashboard reads). Each column is one metric's numerator or denominator,
written only by :func:`hotline.tenants.statistics.aggregates.recompute_day` (delete +
insert of the day and its month: re-running it changes nothing). ``stats_dirty_days``
lists the days a ticket change touched and the worker has not recomputed yet;
``stats_ticket_days`` remembers the days each ticket counted in at its last change, so a
moved deadline or a re-dispatch also refreshes the day it left.
"""

from __future__ import annotations

from typing import Any

from tortoise import fields

from hotline.platform.db.models import TenantModel
from hotline.platform.tenancy import ScopeKind, current_scope


class Sums(TenantModel):
    """The summed columns of a day's or a month's figures (an abstract base)."""

    department_id = fields.BigIntField(null=True)  # the lead department; NULL = the center
    # Flows: what happened on the day (stage timestamps on that city-local day).
    received = fields.IntField(default=0)
    received_by: Any = fields.JSONField(default=dict)  # {"kind:…"|"priority:…"|"area:…": n}
    direct_answered = fields.IntField(default=0)
    dispatched = fields.IntField(default=0)
    signed = fields.IntField(default=0)
    signed_on_time = fields.IntField(default=0)
    # working seconds of the sign-fors and their histogram {"<bucket>": n} (histogram.py);
    # database defaults, so the previous release's INSERTs (which name neither) still work
    sign_seconds_sum = fields.BigIntField(default=0, db_default=0)
    sign_hist: Any = fields.JSONField(default=dict, db_default={})
    replied = fields.IntField(default=0)
    replied_on_time = fields.IntField(default=0)
    reply_seconds_sum = fields.BigIntField(default=0, db_default=0)  # the same for replies
    reply_hist: Any = fields.JSONField(default=dict, db_default={})
    overdue = fields.IntField(default=0)
    returned = fields.IntField(default=0)
    extended = fields.IntField(default=0)
    reopened = fields.IntField(default=0)
    merged = fields.IntField(default=0)
    cancelled = fields.IntField(default=0)
    closed = fields.IntField(default=0)
    revisit_calls = fields.IntField(default=0)
    revisit_reached = fields.IntField(default=0)
    satisfied = fields.IntField(default=0)
    basically_satisfied = fields.IntField(default=0)
    unsatisfied = fields.IntField(default=0)
    unreachable = fields.IntField(default=0)
    # The day's cohort: of the tickets received that day, where they stand now.
    cohort_valid = fields.IntField(default=0)
    cohort_handled = fields.IntField(default=0)
    cohort_completed = fields.IntField(default=0)

    class Meta:
        abstract = True


class Figures(Sums):
    """The columns of one day's figures (an abstract base of the two daily tables)."""

    day = fields.DateField()
    # the previous release's every single working time: no longer written (its database
    # default []) nor read; kept while that release may still serve, dropped in the next
    sign_seconds: Any = fields.JSONField(default=list, db_default=[])
    reply_seconds: Any = fields.JSONField(default=list, db_default=[])  # as sign_seconds

    class Meta:
        abstract = True


class DailyStat(Figures):
    """One city × department × category × channel × city-local day of figures."""

    category_id = fields.BigIntField(null=True)
    channel = fields.CharField(max_length=10)

    class Meta:
        table = "stats_daily"


class DepartmentDay(Figures):
    """The same day summed per department (``received_by`` also counts channel:… and
    category:…), written with it: what the dashboards read for ended days."""

    class Meta:
        table = "stats_daily_departments"


class DepartmentMonth(Sums):
    """A calendar month's stored days summed per department, written in the transaction
    that writes any of its days (``aggregates._recompute``): a month's dashboard and the
    province roll-up read these rows instead of every day's. ``days`` and ``written``
    are the version of the daily rows summed (how many, the sum of the transaction ids
    that wrote them, as the dashboard cache's version): a reader uses the month only
    while its daily rows still have that version."""

    month = fields.DateField()  # the first day of the month
    days = fields.IntField()  # stats_daily_departments rows of the city's month summed
    written = fields.BigIntField()  # the sum of their xmin

    class Meta:
        table = "stats_monthly_departments"


class DirtyDay(TenantModel):
    """A day a ticket change touched, waiting for the worker."""

    day = fields.DateField()
    marked_at = fields.DatetimeField()

    class Meta:
        table = "stats_dirty_days"
        unique_together = (("tenant_id", "day"),)


class TicketDays(TenantModel):
    """The city-local days a ticket counted in at its last change."""

    ticket_id = fields.BigIntField()
    days: Any = fields.JSONField(default=list)  # ["2026-03-02", …]

    class Meta:
        table = "stats_ticket_days"
        unique_together = (("tenant_id", "ticket_id"),)


class CallRecord(TenantModel):
    """One call of the city's call center, as its CTI system pushed it (idempotent by
    ``call_id``): the caller's number encrypted and hashed like a citizen's phone."""

    call_id = fields.CharField(max_length=100)
    day = fields.DateField()  # the city-local day the call started
    started_at = fields.DatetimeField()
    answered_at = fields.DatetimeField(null=True)
    ended_at = fields.DatetimeField(null=True)
    queue = fields.CharField(max_length=64)
    seat = fields.CharField(max_length=64, null=True)
    seat_group = fields.CharField(max_length=64, null=True)
    outcome = fields.CharField(max_length=10)  # answered | abandoned | overflow | ivr
    caller_phone_enc = fields.TextField(null=True)
    caller_phone_hash = fields.CharField(max_length=64, null=True)
    ticket_number = fields.CharField(max_length=40, null=True)
    ticket_id = fields.BigIntField(null=True)  # the linked ticket, when it is the city's
    digest = fields.CharField(max_length=64)  # keyed hash of the pushed content
    updated_at = fields.DatetimeField()
    # where the CTI keeps the call's recording; fetched as the linked ticket's audio
    # evidence by the ``call_recording`` outbox job, which sets the evidence's id once
    recording_url = fields.CharField(max_length=1000, null=True)
    recording_evidence_id = fields.BigIntField(null=True)

    class Meta:
        table = "call_records"
        unique_together = (("tenant_id", "call_id", "day"),)


class ExportJob(TenantModel):
    """An export of a ticket list or a report, written by a worker into the object store.
    A province-wide export has no city (``tenant_id`` NULL): only the province scope
    reads or writes it (row-level security's province policy)."""

    tenant_id = fields.BigIntField(null=True, db_index=True)

    requested_by = fields.BigIntField(null=True)  # the user; its download is checked
    kind = fields.CharField(max_length=20)  # tickets | statistics | calls
    format = fields.CharField(max_length=4)  # csv | xlsx
    params: Any = fields.JSONField(default=dict)
    status = fields.CharField(max_length=10, default="queued")  # queued|running|done|failed
    rows_total = fields.IntField(null=True)
    rows_done = fields.IntField(default=0)
    object_key = fields.CharField(max_length=300, null=True)
    error = fields.TextField(null=True)
    finished_at = fields.DatetimeField(null=True)
    expires_at = fields.DatetimeField(null=True)
    # runs started, and the running one's last sign of life (export_runs.py); the
    # database default fills the rows that existed before the columns
    attempts = fields.IntField(default=0, db_default=0)
    heartbeat_at = fields.DatetimeField(null=True)

    class Meta:
        table = "export_jobs"

    def _stamp_scope(self) -> None:
        scope = current_scope()
        if scope.kind is ScopeKind.PROVINCE and self.tenant_id is None:
            self.province_id = scope.province_id  # province-wide: the scope's own province
            return
        super()._stamp_scope()


class PublishedMonth(TenantModel):
    """A month's figures as the city published them (what the public sees stays what
    was published, whatever later repairs change)."""

    month = fields.DateField()  # the first day of the month
    figures: Any = fields.JSONField(default=dict)
    published_by = fields.BigIntField(null=True)
    published_at = fields.DatetimeField()

    class Meta:
        table = "published_months"
        unique_together = (("tenant_id", "month"),)


class PublishedCase(TenantModel):
    """A closed case published anonymized: redacted text only, no link to the citizen."""

    ticket_id = fields.BigIntField()
    month = fields.DateField()  # the month it was received
    category = fields.CharField(max_length=200, default="")
    kind = fields.CharField(max_length=12)
    title = fields.CharField(max_length=200, default="")
    content = fields.TextField()
    reply = fields.TextField(default="")
    published_by = fields.BigIntField(null=True)
    published_at = fields.DatetimeField()

    class Meta:
        table = "published_cases"
        unique_together = (("tenant_id", "ticket_id"),)
