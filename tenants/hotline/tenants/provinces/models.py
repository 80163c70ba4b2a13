"""Provinces and their cities (tenants), with calendars and SLA defaults.

Provinces and tenants are the catalog every request resolves against, so they are
global tables; what a city owns (calendar entries) is row-level secured.
"""

from __future__ import annotations

from typing import Any

from tortoise import fields

from hotline.platform.calendar import RestDayStart
from hotline.platform.db.models import Model


def default_locales() -> list[str]:
    return ["zh-CN", "en"]


class Province(Model):
    code = fields.CharField(max_length=6, unique=True)  # GB/T 2260, e.g. 370000
    slug = fields.CharField(max_length=40, unique=True)
    name = fields.CharField(max_length=100)
    timezone = fields.CharField(max_length=64, default="Asia/Shanghai")
    locales: Any = fields.JSONField(default=default_locales)
    # {"sign_for_hours": 2, "reply_days": 7, "max_total_days": 30, ...}
    sla_defaults: Any = fields.JSONField(default=dict)
    # weekday (0=Mon) -> [["09:00", "12:00"], ...]; empty = the platform default hours
    working_hours: Any = fields.JSONField(default=dict)
    # An external OpenID Connect issuer whose bearer tokens this province accepts.
    oidc: Any = fields.JSONField(default=dict)

    class Meta:
        table = "provinces"


class Tenant(Model):
    """A city: the unit of tenancy."""

    province: fields.ForeignKeyRelation[Province] = fields.ForeignKeyField(
        "provinces.Province", related_name="tenants", on_delete=fields.RESTRICT
    )
    province_id: int
    code = fields.CharField(max_length=6, unique=True)  # GB/T 2260, e.g. 370100
    slug = fields.CharField(max_length=40, unique=True)  # host: jinan.hotline.example
    name = fields.CharField(max_length=100)
    number_prefix = fields.CharField(max_length=4)  # ticket numbers: JN20261123000123
    timezone = fields.CharField(max_length=64, default="Asia/Shanghai")
    locales: Any = fields.JSONField(default=default_locales)
    sla_overrides: Any = fields.JSONField(default=dict)
    working_hours: Any = fields.JSONField(default=dict)
    features: Any = fields.JSONField(default=dict)  # on/off switches (KNOWN_FEATURES)
    settings: Any = fields.JSONField(default=dict)  # validated values (provinces.settings)
    is_active = fields.BooleanField(default=True)
    updated_at = fields.DatetimeField(auto_now=True)
    # How working days count from a start on a rest day (docs/calendar.md).
    rest_day_start = fields.CharEnumField(
        RestDayStart,
        max_length=20,
        default=RestDayStart.OFFICIAL,
        db_default=RestDayStart.OFFICIAL,
    )

    class Meta:
        table = "tenants"


class CalendarEntry(Model):
    """A dated exception to the weekly hours: a holiday or a make-up workday.

    ``tenant_id`` NULL = the province's calendar, shared by its cities; a city row
    overrides the province row for the same date. Row-level secured like a tenant
    table, with province rows readable by the province's cities.
    """

    province_id = fields.BigIntField()
    tenant_id = fields.BigIntField(null=True)
    day = fields.DateField()
    kind = fields.CharField(max_length=10)  # holiday | workday
    name = fields.CharField(max_length=100, default="")

    class Meta:
        table = "calendar_entries"
        # unique (province_id, tenant_id, day) NULLS NOT DISTINCT: in the migration


class CalendarYear(Model):
    """A year whose official holiday arrangement a province has published (imported).

    Together with the years ``chinese-calendar`` ships, these are the years whose
    deadlines are final; a deadline in any other year is provisional (docs/calendar.md).
    A catalog table like ``provinces``: not tenant-owned, no row-level security.
    """

    province_id = fields.BigIntField()
    year = fields.SmallIntField()
    # How it was published: "import" (CLI or GraphQL), with the notice's day count.
    source = fields.CharField(max_length=20, default="import")
    holidays = fields.SmallIntField(default=0)
    workdays = fields.SmallIntField(default=0)
    published_by_id = fields.BigIntField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "calendar_years"
        unique_together = (("province_id", "year"),)
