"""The domain's ORM app, declared to ``platform`` through the ``hotline.orm_apps`` entry point."""

from hotline.platform.db.config import OrmApp

ORM_APP = OrmApp(
    label="hotline",
    models=[
        "hotline.tenants.kernel.audit",
        "hotline.tenants.provinces.models",
        "hotline.tenants.accounts.models",
        "hotline.tenants.departments.models",
        "hotline.tenants.categories.models",
        "hotline.tenants.routing.models",
        "hotline.tenants.tickets.models",
    ],
    migrations="hotline.tenants.migrations",
)
