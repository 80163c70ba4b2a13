# ruff: noqa  (a migration is history: frozen literals, excluded from lint)
"""Tickets and their work: assignments, the append-only timeline, extensions,
suspensions, supervisions, revisits, numbering and the sweeps' marks; their tenancy (RLS,
same-city keys) and the queue indexes. Frozen as literals: nothing of the live domain is
imported (a migration is history)."""

import enum
import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from hotline.platform.db.rls import enable_tenant_rls, same_tenant_fk


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
    HELP = "help"
    SUGGESTION = "suggestion"
    REPORT = "report"
    PRAISE = "praise"


class Priority(enum.StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"
    EMERGENCY = "emergency"


class Status(enum.StrEnum):
    RECEIVED = "received"
    ANSWERED = "answered"
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    RETURNED = "returned"
    REPLIED = "replied"
    REVISIT = "revisit"
    REOPENED = "reopened"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    MERGED = "merged"
    TRANSFERRED = "transferred"
    REJECTED = "rejected"


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
    UNREACHABLE = "unreachable"


TABLES = (
    "tickets",
    "assignments",
    "timeline_events",
    "extension_requests",
    "supervisions",
    "revisits",
    "ticket_counters",
    "suspensions",
    "sweep_marks",
)

SQL = [
    *[
        f'ALTER TABLE "{t}" ADD CONSTRAINT "{t}_tenant_fk" FOREIGN KEY (tenant_id) '
        'REFERENCES "tenants" (id) ON DELETE RESTRICT'
        for t in TABLES
    ],
    *[sql for t in TABLES for sql in enable_tenant_rls(t)],
    same_tenant_fk("tickets", "category_id", "categories"),
    same_tenant_fk("tickets", "area_id", "departments"),
    same_tenant_fk("tickets", "merged_into_id", "tickets"),
    same_tenant_fk("assignments", "ticket_id", "tickets", on_delete="CASCADE"),
    same_tenant_fk("assignments", "department_id", "departments"),
    same_tenant_fk("assignments", "parent_id", "assignments", on_delete="CASCADE"),
    same_tenant_fk("timeline_events", "ticket_id", "tickets"),
    same_tenant_fk("extension_requests", "assignment_id", "assignments", on_delete="CASCADE"),
    same_tenant_fk("extension_requests", "ticket_id", "tickets"),
    same_tenant_fk("supervisions", "ticket_id", "tickets"),
    same_tenant_fk("revisits", "ticket_id", "tickets"),
    same_tenant_fk("suspensions", "ticket_id", "tickets"),
    # Center queues, filters and deadline sweeps: status first, then the deadline.
    'CREATE INDEX "tickets_queue" ON "tickets" (tenant_id, status, reply_deadline)',
    'CREATE INDEX "tickets_sign_due" ON "tickets" (tenant_id, status, sign_deadline)',
    'CREATE INDEX "tickets_received" ON "tickets" (tenant_id, received_at DESC, id DESC)',
    'CREATE INDEX "tickets_caller" ON "tickets" (tenant_id, citizen_phone_hash, received_at DESC)',
    'CREATE INDEX "tickets_place" ON "tickets" (tenant_id, category_id, area_id, received_at DESC)',
    # Department inboxes and assignment sweeps.
    'CREATE INDEX "assignments_inbox" ON "assignments" (tenant_id, department_id, status, reply_deadline)',
    'CREATE INDEX "assignments_due" ON "assignments" (tenant_id, status, reply_deadline)',
    'CREATE INDEX "assignments_ticket" ON "assignments" (ticket_id)',
    'CREATE INDEX "assignments_due_soon" ON "assignments" (tenant_id, status, due_soon_at)',
    'CREATE INDEX "assignments_sign_due" ON "assignments" (tenant_id, status, sign_deadline)',
    'CREATE INDEX "supervisions_open" ON "supervisions" (tenant_id, status, escalate_at)',
    # At most one open automatic supervision per assignment: two sweeps racing (or one
    # repeated) insert it once — ON CONFLICT DO NOTHING.
    'CREATE UNIQUE INDEX "supervisions_one_open_auto" ON "supervisions" (tenant_id, assignment_id) '
    "WHERE status = 'open' AND automatic",
    'CREATE INDEX "suspensions_ticket" ON "suspensions" (tenant_id, ticket_id, status)',
    # One open suspension (requested or active) per ticket.
    'CREATE UNIQUE INDEX "suspensions_one_open" ON "suspensions" (tenant_id, ticket_id) '
    "WHERE status IN ('requested', 'active')",
    # The timeline is append-only for everyone, owner included.
    """
    CREATE FUNCTION hotline_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
    END $$
    """,
    'CREATE TRIGGER "timeline_events_append_only" BEFORE UPDATE OR DELETE ON "timeline_events" '
    "FOR EACH ROW EXECUTE FUNCTION hotline_append_only()",
]


class Migration(migrations.Migration):
    dependencies = [('provinces', '0001_initial'), ('departments', '0001_initial'), ('categories', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='Ticket',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('tenant_id', fields.BigIntField(db_index=True)),
                ('province_id', fields.BigIntField()),
                ('number', fields.CharField(max_length=24)),
                ('query_code_hash', fields.CharField(max_length=64)),
                ('channel', fields.CharEnumField(description='PHONE: phone\nSMS: sms\nWEB: web\nAPP: app\nWECHAT: wechat\nEMAIL: email\nOPEN311: open311\nWALK_IN: walk_in', enum_type=Channel, max_length=10)),
                ('kind', fields.CharEnumField(description='CONSULTATION: consultation\nCOMPLAINT: complaint\nHELP: help\nSUGGESTION: suggestion\nREPORT: report\nPRAISE: praise', enum_type=Kind, max_length=12)),
                ('priority', fields.CharEnumField(default=Priority.NORMAL, description='NORMAL: normal\nURGENT: urgent\nEMERGENCY: emergency', enum_type=Priority, max_length=10)),
                ('status', fields.CharEnumField(default=Status.RECEIVED, description='RECEIVED: received\nANSWERED: answered\nDISPATCHED: dispatched\nACCEPTED: accepted\nRETURNED: returned\nREPLIED: replied\nREVISIT: revisit\nREOPENED: reopened\nCLOSED: closed\nCANCELLED: cancelled\nMERGED: merged\nTRANSFERRED: transferred\nREJECTED: rejected', enum_type=Status, max_length=12)),
                ('title', fields.CharField(default='', max_length=200)),
                ('content', fields.TextField(unique=False)),
                ('citizen_name_enc', fields.TextField(null=True, unique=False)),
                ('citizen_phone_enc', fields.TextField(null=True, unique=False)),
                ('citizen_phone_hash', fields.CharField(null=True, max_length=64)),
                ('anonymous', fields.BooleanField(default=False)),
                ('confidential', fields.BooleanField(default=False)),
                ('address', fields.CharField(default='', max_length=300)),
                ('lng', fields.DecimalField(null=True, max_digits=10, decimal_places=7)),
                ('lat', fields.DecimalField(null=True, max_digits=10, decimal_places=7)),
                ('category', fields.ForeignKeyField('categories.Category', source_field='category_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('area', fields.ForeignKeyField('departments.Department', source_field='area_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('idempotency_key', fields.CharField(null=True, max_length=100)),
                ('created_by_id', fields.BigIntField(null=True)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('answered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('dispatched_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('accepted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('replied_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('reviewed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revisited_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('sign_deadline', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('reply_deadline', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('due_soon_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('direct_answer', fields.BooleanField(default=False)),
                ('article_id', fields.BigIntField(null=True)),
                ('public_reply', fields.TextField(default='', unique=False)),
                ('resolved', fields.BooleanField(null=True)),
                ('satisfaction', fields.CharEnumField(null=True, description='SATISFIED: satisfied\nBASICALLY_SATISFIED: basically_satisfied\nUNSATISFIED: unsatisfied\nUNREACHABLE: unreachable', enum_type=Satisfaction, max_length=20)),
                ('satisfaction_source', fields.CharField(null=True, max_length=10)),
                ('revisit_attempts', fields.SmallIntField(default=0)),
                ('reopen_count', fields.SmallIntField(default=0)),
                ('urge_count', fields.SmallIntField(default=0)),
                ('reject_reason', fields.TextField(default='', unique=False)),
                ('merged_into', fields.ForeignKeyField('tickets.Ticket', source_field='merged_into_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('transferred_to_tenant_id', fields.BigIntField(null=True)),
                ('transferred_to_ticket_id', fields.BigIntField(null=True)),
                ('transferred_from_tenant_id', fields.BigIntField(null=True)),
                ('transferred_from_ticket_id', fields.BigIntField(null=True)),
                ('timeline_seq', fields.IntField(default=0)),
                ('timeline_hash', fields.CharField(default='', max_length=64)),
                ('version', fields.IntField(default=0)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('suspended_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'tickets', 'app': 'tickets', 'unique_together': (('tenant_id', 'number'), ('tenant_id', 'idempotency_key')), 'pk_attr': 'id'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='Assignment',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('tenant_id', fields.BigIntField(db_index=True)),
                ('province_id', fields.BigIntField()),
                ('ticket', fields.ForeignKeyField('tickets.Ticket', source_field='ticket_id', db_constraint=True, to_field='id', related_name='assignments', on_delete=OnDelete.CASCADE)),
                ('department', fields.ForeignKeyField('departments.Department', source_field='department_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('parent', fields.ForeignKeyField('tickets.Assignment', source_field='parent_id', null=True, db_constraint=True, to_field='id', related_name='children', on_delete=OnDelete.CASCADE)),
                ('is_lead', fields.BooleanField(default=False)),
                ('status', fields.CharEnumField(default=AssignmentStatus.PENDING_SIGN, description='PENDING_SIGN: pending_sign\nSIGNED: signed\nRETURN_REQUESTED: return_requested\nRETURNED: returned\nREPLIED: replied\nCLOSED: closed\nCANCELLED: cancelled', enum_type=AssignmentStatus, max_length=20)),
                ('round', fields.SmallIntField(default=1)),
                ('sign_deadline', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('reply_deadline', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('due_soon_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('extended_days', fields.SmallIntField(default=0)),
                ('assigned_by_id', fields.BigIntField(null=True)),
                ('signed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('signed_by_id', fields.BigIntField(null=True)),
                ('replied_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('replied_by_id', fields.BigIntField(null=True)),
                ('reply', fields.TextField(default='', unique=False)),
                ('resolved', fields.BooleanField(null=True)),
                ('return_reason', fields.TextField(default='', unique=False)),
                ('version', fields.IntField(default=0)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('paused_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'assignments', 'app': 'tickets', 'pk_attr': 'id', 'table_description': "One department's share of a ticket: lead, co-handler, or a sub-dispatch below one."},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='TimelineEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('tenant_id', fields.BigIntField(db_index=True)),
                ('province_id', fields.BigIntField()),
                ('ticket', fields.ForeignKeyField('tickets.Ticket', source_field='ticket_id', db_constraint=True, to_field='id', related_name='timeline', on_delete=OnDelete.RESTRICT)),
                ('seq', fields.IntField()),
                ('action', fields.CharField(max_length=40)),
                ('actor_id', fields.BigIntField(null=True)),
                ('actor_role', fields.CharField(default='', max_length=20)),
                ('department_id', fields.BigIntField(null=True)),
                ('assignment_id', fields.BigIntField(null=True)),
                ('from_status', fields.CharField(default='', max_length=20)),
                ('to_status', fields.CharField(default='', max_length=20)),
                ('reason', fields.TextField(default='', unique=False)),
                ('data', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('prev_hash', fields.CharField(default='', max_length=64)),
                ('hash', fields.CharField(max_length=64)),
            ],
            options={'table': 'timeline_events', 'app': 'tickets', 'unique_together': (('ticket', 'seq'),), 'pk_attr': 'id', 'table_description': 'Append-only, hash-chained per ticket: hash = sha256(prev_hash + canonical event).'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='ExtensionRequest',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('tenant_id', fields.BigIntField(db_index=True)),
                ('province_id', fields.BigIntField()),
                ('assignment', fields.ForeignKeyField('tickets.Assignment', source_field='assignment_id', db_constraint=True, to_field='id', related_name='extensions', on_delete=OnDelete.CASCADE)),
                ('ticket_id', fields.BigIntField()),
                ('working_days', fields.SmallIntField()),
                ('reason', fields.TextField(unique=False)),
                ('status', fields.CharField(default='pending', max_length=10)),
                ('requested_by_id', fields.BigIntField(null=True)),
                ('decided_by_id', fields.BigIntField(null=True)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('decision_note', fields.TextField(default='', unique=False)),
                ('new_deadline', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'extension_requests', 'app': 'tickets', 'pk_attr': 'id'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name="Suspension",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("tenant_id", fields.BigIntField(db_index=True)),
                ("province_id", fields.BigIntField()),
                ("ticket", fields.ForeignKeyField("tickets.Ticket", source_field="ticket_id", db_constraint=True, to_field="id", related_name="suspensions", on_delete=OnDelete.RESTRICT)),
                ("assignment_id", fields.BigIntField(null=True)),
                ("department_id", fields.BigIntField(null=True)),
                ("cause", fields.CharField(max_length=10)),
                ("reason", fields.TextField(unique=False)),
                ("status", fields.CharField(default="requested", max_length=10)),
                ("requested_by_id", fields.BigIntField(null=True)),
                ("decided_by_id", fields.BigIntField(null=True)),
                ("decided_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("decision_note", fields.TextField(default="", unique=False)),
                ("started_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("ended_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("ended_by_id", fields.BigIntField(null=True)),
                ("paused_seconds", fields.IntField(default=0)),
            ],
            options={"table": "suspensions", "app": "tickets", "pk_attr": "id", "table_description": "A suspension (挂起) of a work order: requested with a cause and a reason, approved"},
            bases=["TenantModel"],
        ),
        ops.CreateModel(
            name='Supervision',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('tenant_id', fields.BigIntField(db_index=True)),
                ('province_id', fields.BigIntField()),
                ('ticket', fields.ForeignKeyField('tickets.Ticket', source_field='ticket_id', db_constraint=True, to_field='id', related_name='supervisions', on_delete=OnDelete.RESTRICT)),
                ('assignment_id', fields.BigIntField(null=True)),
                ('department_id', fields.BigIntField(null=True)),
                ('level', fields.SmallIntField(default=1)),
                ('status', fields.CharField(default='open', max_length=10)),
                ('reason', fields.TextField(default='', unique=False)),
                ('automatic', fields.BooleanField(default=False)),
                ('opened_by_id', fields.BigIntField(null=True)),
                ('escalate_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('closed_by_id', fields.BigIntField(null=True)),
                ('comments', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'supervisions', 'app': 'tickets', 'pk_attr': 'id', 'table_description': 'A supervision order (督办) on overdue or troubled work; escalates until closed.'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='Revisit',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('tenant_id', fields.BigIntField(db_index=True)),
                ('province_id', fields.BigIntField()),
                ('ticket', fields.ForeignKeyField('tickets.Ticket', source_field='ticket_id', db_constraint=True, to_field='id', related_name='revisits', on_delete=OnDelete.RESTRICT)),
                ('attempt', fields.SmallIntField()),
                ('reached', fields.BooleanField()),
                ('grade', fields.CharEnumField(null=True, description='SATISFIED: satisfied\nBASICALLY_SATISFIED: basically_satisfied\nUNSATISFIED: unsatisfied\nUNREACHABLE: unreachable', enum_type=Satisfaction, max_length=20)),
                ('resolved', fields.BooleanField(null=True)),
                ('source', fields.CharField(default='center', max_length=10)),
                ('note', fields.TextField(default='', unique=False)),
                ('by_id', fields.BigIntField(null=True)),
            ],
            options={'table': 'revisits', 'app': 'tickets', 'pk_attr': 'id', 'table_description': "One attempt to reach the citizen for a grade, or the citizen's own rating."},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='TicketCounter',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('tenant_id', fields.BigIntField(db_index=True)),
                ('province_id', fields.BigIntField()),
                ('day', fields.DateField()),
                ('last_number', fields.IntField(default=0)),
            ],
            options={'table': 'ticket_counters', 'app': 'tickets', 'unique_together': (('tenant_id', 'day'),), 'pk_attr': 'id', 'table_description': 'The last number handed out per city and day (row-locked while numbering).'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name="SweepMark",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("tenant_id", fields.BigIntField(db_index=True)),
                ("province_id", fields.BigIntField()),
                ("kind", fields.CharField(max_length=20)),
                ("swept_until", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "sweep_marks",
                "app": "tickets",
                "unique_together": (("tenant_id", "kind"),),
                "pk_attr": "id",
            },
            bases=["TenantModel"],
        ),
        ops.RunSQL(SQL),
    ]
