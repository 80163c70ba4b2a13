"""The evidence store's ORM app, declared through the ``hotline.orm_apps`` entry point."""

from hotline.platform.db.config import OrmApp

ORM_APP = OrmApp(
    label="evidence",
    models=["hotline.tenants.evidence.models"],
    migrations="hotline.tenants.evidence.migrations",
    order=200,  # after the domain app it points into (tickets, assignments)
)
