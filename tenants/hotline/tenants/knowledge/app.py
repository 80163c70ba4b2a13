"""The knowledge base's ORM app, declared through the ``hotline.orm_apps`` entry point.

A separate app (label ``knowledge``) so its migrations never collide with the
domain app's; it references departments as ``hotline.Department``.
"""

from hotline.platform.db.config import OrmApp

ORM_APP = OrmApp(
    label="knowledge",
    models=["hotline.tenants.knowledge.models"],
    migrations="hotline.tenants.knowledge.migrations",
    order=200,
)
