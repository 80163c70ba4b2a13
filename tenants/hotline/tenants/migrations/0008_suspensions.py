"""Suspensions (挂起): the table, its tenancy (RLS, same-city keys), and the paused marks
on tickets and assignments. Frozen as literals: no live model or enum is imported."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

_CITY_OR_PROVINCE = (
    "((current_setting('app.scope', true) = 'city' AND tenant_id = "
    "NULLIF(current_setting('app.tenant_id', true), '')::bigint) OR "
    "(current_setting('app.scope', true) = 'province' AND province_id = "
    "NULLIF(current_setting('app.province_id', true), '')::bigint))"
)

SQL = [
    'ALTER TABLE "suspensions" ADD CONSTRAINT "suspensions_tenant_fk" FOREIGN KEY (tenant_id) '
    'REFERENCES "tenants" (id) ON DELETE RESTRICT',
    'ALTER TABLE "suspensions" ADD CONSTRAINT "suspensions_tenant_id_id_key" UNIQUE (tenant_id, id)',
    'ALTER TABLE "suspensions" ENABLE ROW LEVEL SECURITY',
    'ALTER TABLE "suspensions" FORCE ROW LEVEL SECURITY',
    f'CREATE POLICY "suspensions_read" ON "suspensions" FOR SELECT USING {_CITY_OR_PROVINCE}',
    f'CREATE POLICY "suspensions_insert" ON "suspensions" FOR INSERT WITH CHECK {_CITY_OR_PROVINCE}',
    f'CREATE POLICY "suspensions_update" ON "suspensions" FOR UPDATE USING {_CITY_OR_PROVINCE}'
    f" WITH CHECK {_CITY_OR_PROVINCE}",
    f'CREATE POLICY "suspensions_delete" ON "suspensions" FOR DELETE USING {_CITY_OR_PROVINCE}',
    'ALTER TABLE "suspensions" ADD CONSTRAINT "suspensions_ticket_id_same_tenant" '
    'FOREIGN KEY (tenant_id, "ticket_id") REFERENCES "tickets" (tenant_id, id) ON DELETE RESTRICT',
    'CREATE INDEX "suspensions_ticket" ON "suspensions" (tenant_id, ticket_id, status)',
    # One open suspension (requested or active) per ticket.
    'CREATE UNIQUE INDEX "suspensions_one_open" ON "suspensions" (tenant_id, ticket_id) '
    "WHERE status IN ('requested', 'active')",
]


class Migration(migrations.Migration):
    dependencies = [("hotline", "0007_citizen_phones_e164")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Ticket",
            name="suspended_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name="Assignment",
            name="paused_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.CreateModel(
            name="Suspension",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("tenant_id", fields.BigIntField(db_index=True)),
                ("province_id", fields.BigIntField()),
                ("ticket", fields.ForeignKeyField("hotline.Ticket", source_field="ticket_id", db_constraint=True, to_field="id", related_name="suspensions", on_delete=OnDelete.RESTRICT)),
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
            options={"table": "suspensions", "app": "hotline", "pk_attr": "id", "table_description": "A suspension (挂起) of a work order: requested with a cause and a reason, approved"},
            bases=["TenantModel"],
        ),
        ops.RunSQL(SQL),
    ]
