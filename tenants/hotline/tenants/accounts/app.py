"""People and how they act: users, memberships, province roles, refresh tokens, API keys
(one lifecycle: a user's deletion cascades through all of them).

The ``accounts`` ORM app, declared to ``platform`` through the ``hotline.orm_apps`` entry
point; its migrations live in ``accounts/migrations/`` (docs/architecture.md §2)."""

from hotline.platform.db.config import OrmApp

ORM_APP = OrmApp(
    label="accounts",
    models=[
        "hotline.tenants.accounts.models",
    ],
    migrations="hotline.tenants.accounts.migrations",
)
