"""Published calendar years per province, and the city's rest-day counting rule."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from hotline.platform.calendar import RestDayStart


class Migration(migrations.Migration):
    dependencies = [("hotline", "0005_user_created_in_tenant")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Tenant",
            name="rest_day_start",
            field=fields.CharEnumField(
                RestDayStart,
                max_length=20,
                default=RestDayStart.OFFICIAL,
                # existing cities get the official count
                db_default=RestDayStart.OFFICIAL,
                description="OFFICIAL: official\nNEXT_WORKING_DAY: next_working_day",
            ),
        ),
        ops.CreateModel(
            name="CalendarYear",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("province_id", fields.BigIntField()),
                ("year", fields.SmallIntField()),
                ("source", fields.CharField(default="import", max_length=20)),
                ("holidays", fields.SmallIntField(default=0)),
                ("workdays", fields.SmallIntField(default=0)),
                ("published_by_id", fields.BigIntField(null=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "calendar_years",
                "app": "hotline",
                "unique_together": (("province_id", "year"),),
                "pk_attr": "id",
                "table_description": (
                    "A year whose official holiday arrangement a province has published"
                    " (imported)."
                ),
            },
            bases=["Model"],
        ),
        ops.RunSQL(
            'ALTER TABLE "calendar_years" ADD CONSTRAINT "calendar_years_province_fk" '
            'FOREIGN KEY (province_id) REFERENCES "provinces" (id) ON DELETE CASCADE'
        ),
    ]
