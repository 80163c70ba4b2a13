"""A city's department tree.

The ``departments`` ORM app, declared to ``platform`` through the ``hotline.orm_apps`` entry
point; its migrations live in ``departments/migrations/`` (docs/architecture.md §2)."""

from hotline.platform.db.config import OrmApp

ORM_APP = OrmApp(
    label="departments",
    models=[
        "hotline.tenants.departments.models",
    ],
    migrations="hotline.tenants.departments.migrations",
)
