"""Provinces, their cities (the unit of tenancy) and the working calendar (calendar
entries and published years belong to a province or a city, and are read by SLA math).

The ``provinces`` ORM app, declared to ``platform`` through the ``hotline.orm_apps`` entry
point; its migrations live in ``provinces/migrations/`` (docs/architecture.md §2)."""

from hotline.platform.db.config import OrmApp

ORM_APP = OrmApp(
    label="provinces",
    models=[
        "hotline.tenants.provinces.models",
    ],
    migrations="hotline.tenants.provinces.migrations",
)
