"""A city's category tree.

The ``categories`` ORM app, declared to ``platform`` through the ``hotline.orm_apps`` entry
point; its migrations live in ``categories/migrations/`` (docs/architecture.md §2)."""

from hotline.platform.db.config import OrmApp

ORM_APP = OrmApp(
    label="categories",
    models=[
        "hotline.tenants.categories.models",
    ],
    migrations="hotline.tenants.categories.migrations",
)
