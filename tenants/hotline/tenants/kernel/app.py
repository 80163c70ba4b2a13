"""The audit log: the kernel's one table (every domain appends to it, none owns it).

The ``kernel`` ORM app, declared to ``platform`` through the ``hotline.orm_apps`` entry
point; its migrations live in ``kernel/migrations/`` (docs/architecture.md §2)."""

from hotline.platform.db.config import OrmApp

ORM_APP = OrmApp(
    label="kernel",
    models=[
        "hotline.tenants.kernel.audit",
    ],
    migrations="hotline.tenants.kernel.migrations",
)
