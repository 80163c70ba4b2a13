"""Trained routing classifiers (one version per training run) and per-ticket suggestions."""

from __future__ import annotations

from typing import Any

from tortoise import fields

from hotline.platform.db.models import TenantModel


class RoutingModelVersion(TenantModel):
    version = fields.IntField()
    algorithm = fields.CharField(max_length=80)
    samples = fields.IntField()
    train_size = fields.IntField()
    test_size = fields.IntField()
    top1_accuracy = fields.FloatField()
    top3_accuracy = fields.FloatField()
    labels: Any = fields.JSONField(default=list)  # department ids the model can name
    # The fitted pipeline as a skops file (never a pickle: see classifier.loads); small
    # (a few MB at most), read with the row.
    blob = fields.BinaryField()
    is_active = fields.BooleanField(default=True)

    class Meta:
        table = "routing_model_versions"
        unique_together = (("tenant_id", "version"),)


class RoutingSuggestion(TenantModel):
    """What routing said about one ticket: a rule's department, or the model's top 3."""

    ticket_id = fields.BigIntField()
    source = fields.CharField(max_length=10)  # rule | model | none
    department_id = fields.BigIntField(null=True)
    confidence = fields.FloatField(null=True)
    # [{"department_id": 5, "confidence": 0.91}, …] best first
    suggestions: Any = fields.JSONField(default=list)
    model_version = fields.IntField(null=True)
    auto_dispatch = fields.BooleanField(default=False)

    class Meta:
        table = "routing_suggestions"
        unique_together = (("tenant_id", "ticket_id"),)
