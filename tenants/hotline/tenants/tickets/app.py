"""Tickets and the work on them: assignments, timeline, extensions, suspensions,
supervisions, revisits, numbering and the deadline sweeps' marks (one transaction locks
them together, and their same-city keys point at the ticket).

The ``tickets`` ORM app, declared to ``platform`` through the ``hotline.orm_apps`` entry
point; its migrations live in ``tickets/migrations/`` (docs/architecture.md §2)."""

from hotline.platform.db.config import OrmApp

ORM_APP = OrmApp(
    label="tickets",
    models=[
        "hotline.tenants.tickets.models",
        "hotline.tenants.tickets.sweep_marks",
    ],
    migrations="hotline.tenants.tickets.migrations",
)
