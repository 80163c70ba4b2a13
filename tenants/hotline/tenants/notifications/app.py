"""The ``notify`` ORM app: notification settings and notices, routing model versions,
and sweep watermarks; declared through the ``hotline.orm_apps`` entry point."""

from hotline.platform.db.config import OrmApp

ORM_APP = OrmApp(
    label="notify",
    models=[
        "hotline.tenants.notifications.models",
        "hotline.tenants.routing.ml_models",
        "hotline.tenants.tickets.sweep_marks",
    ],
    migrations="hotline.tenants.notifications.migrations",
    order=200,
)
