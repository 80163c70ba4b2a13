"""The statistics ORM app, declared through the ``hotline.orm_apps`` entry point."""

from hotline.platform.db.config import OrmApp

ORM_APP = OrmApp(
    label="statistics",
    models=["hotline.tenants.statistics.models"],
    migrations="hotline.tenants.statistics.migrations",
    order=200,  # after the domain app it points into (tickets, departments, categories)
)
