"""The platform's own ORM app (no domain tables)."""

from hotline.platform.db.config import OrmApp

ORM_APP = OrmApp(
    label="platform",
    models=["hotline.platform.auth.models", "hotline.platform.outbox.models"],
    migrations="hotline.platform.migrations",
    order=0,
)
