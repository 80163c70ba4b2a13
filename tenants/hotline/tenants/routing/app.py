"""Routing: the rules, the trained classifier versions and per-ticket suggestions.

The ``routing`` ORM app, declared to ``platform`` through the ``hotline.orm_apps`` entry
point; its migrations live in ``routing/migrations/`` (docs/architecture.md §2)."""

from hotline.platform.db.config import OrmApp

ORM_APP = OrmApp(
    label="routing",
    models=[
        "hotline.tenants.routing.models",
        "hotline.tenants.routing.ml_models",
    ],
    migrations="hotline.tenants.routing.migrations",
)
