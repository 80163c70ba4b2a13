"""The business ORM app, declared through the ``hotline.orm_apps`` entry point."""

from hotline.platform.db.config import OrmApp

ORM_APP = OrmApp(
    label="business",
    models=["hotline.tenants.business.models"],
    migrations="hotline.tenants.business.migrations",
    order=210,  # after the domain apps it points into (departments, users)
)
