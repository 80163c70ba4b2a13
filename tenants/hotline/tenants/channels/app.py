"""The channels ORM app, declared through the ``hotline.orm_apps`` entry point."""

from hotline.platform.db.config import OrmApp

ORM_APP = OrmApp(
    label="channels",
    models=["hotline.tenants.channels.models"],
    migrations="hotline.tenants.channels.migrations",
    order=210,  # after the domain app it points into (tickets)
)
