"""The function catalogue's mirror, the cities' gazetteers and the province models."""

from __future__ import annotations

from typing import Any

from tortoise import fields

from hotline.platform.db.models import Model, TenantModel


class RoutingFunction(Model):
    """One function of the catalogue (departments/functions.json), mirrored for the API."""

    code = fields.CharField(max_length=40, unique=True)
    name = fields.CharField(max_length=100)
    dispatch = fields.CharField(max_length=10)
    duties = fields.TextField()
    keywords: Any = fields.JSONField(default=list)
    routable = fields.BooleanField(default=True)

    class Meta:
        table = "routing_functions"


class GazetteerPlace(TenantModel):
    """A name in the city's gazetteer and the administrative unit (a department of the
    tree: district, street or community) it implies — or none: a name only, which says
    "this is a place" (SMS place detection) without resolving a unit."""

    name = fields.CharField(max_length=100)
    kind = fields.CharField(max_length=12)  # district | street | community | landmark
    aliases: Any = fields.JSONField(default=list)
    department_id = fields.BigIntField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "gazetteer_places"
        unique_together = (("tenant_id", "name", "department_id"),)


class ProvinceRoutingModel(Model):
    """A province-wide function classifier (every city's history + the shipped corpus +
    the catalogue's duties), one version per training run; the newest is used."""

    province_id = fields.BigIntField(db_index=True)
    version = fields.IntField()
    algorithm = fields.CharField(max_length=80)
    samples = fields.IntField()
    metrics: Any = fields.JSONField(default=dict)  # held-out top-1/3, reliability curve
    blob = fields.BinaryField()  # a skops file, never a pickle (classifier.loads)

    class Meta:
        table = "routing_province_models"
        unique_together = (("province_id", "version"),)
