"""Routing's own ORM app (the catalogue mirror, the gazetteer, the province models),
declared through the ``hotline.orm_apps`` entry point. The older routing tables (rules,
model versions, suggestions) still live in the apps they started in."""

from hotline.platform.db.config import OrmApp

ORM_APP = OrmApp(
    label="routing_places",
    models=["hotline.tenants.routing.places_models"],
    migrations="hotline.tenants.routing.migrations",
    order=150,  # after the domain app whose departments it points into
)
