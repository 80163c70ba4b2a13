"""The ``notify`` ORM app: notification settings, templates, webhooks and notices;
declared through the ``hotline.orm_apps`` entry point."""

from hotline.platform.db.config import OrmApp

ORM_APP = OrmApp(
    label="notify",
    models=[
        "hotline.tenants.notifications.models",
    ],
    migrations="hotline.tenants.notifications.migrations",
    order=200,
)
