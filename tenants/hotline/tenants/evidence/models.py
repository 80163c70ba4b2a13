"""Photos, videos and audio attached to tickets; who downloaded what; each city's policy."""

from __future__ import annotations

import enum
from typing import Any

from tortoise import fields

from hotline.platform.db.models import TenantModel
from hotline.tenants.tickets.models import Assignment, Ticket


class EvidenceStatus(enum.StrEnum):
    PENDING = "pending"  # upload link handed out, not finalized yet
    VERIFYING = "verifying"  # size and type checked; the worker is hashing it
    VERIFIED = "verified"
    REJECTED = "rejected"  # object deleted; see reject_reason
    ABANDONED = "abandoned"  # never finalized; swept
    EXPIRED = "expired"  # removed by the city's retention; the record stays


class Purpose(enum.StrEnum):
    CITIZEN = "citizen"  # sent by the citizen
    INTAKE = "intake"  # attached by the center when taking the ticket
    HANDLING = "handling"  # a department's proof of handling, linked to its assignment


class Kind(enum.StrEnum):
    PHOTO = "photo"
    VIDEO = "video"
    AUDIO = "audio"


class RejectReason(enum.StrEnum):
    SIZE_MISMATCH = "size_mismatch"
    TYPE_NOT_ALLOWED = "type_not_allowed"
    HASH_MISMATCH = "hash_mismatch"
    UPLOAD_MISSING = "upload_missing"


class Variant(enum.StrEnum):
    ORIGINAL = "original"
    THUMBNAIL = "thumbnail"
    POSTER = "poster"
    PUBLIC = "public"  # the stripped copy (no EXIF/GPS) for citizens and publication


class Evidence(TenantModel):
    ticket: fields.ForeignKeyRelation[Ticket] = fields.ForeignKeyField(
        "tickets.Ticket", related_name=False, on_delete=fields.RESTRICT
    )
    ticket_id: int
    assignment: fields.ForeignKeyNullableRelation[Assignment] = fields.ForeignKeyField(
        "tickets.Assignment", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    assignment_id: int | None
    purpose = fields.CharEnumField(Purpose, max_length=10)
    status = fields.CharEnumField(EvidenceStatus, max_length=10, default=EvidenceStatus.PENDING)
    kind = fields.CharEnumField(Kind, max_length=5)
    file_name = fields.CharField(max_length=200)
    declared_type = fields.CharField(max_length=100)
    size = fields.BigIntField()
    sha256 = fields.CharField(max_length=64)  # declared by the uploader, checked by the worker
    content_type = fields.CharField(max_length=100, null=True)  # from the magic bytes
    object_key = fields.CharField(max_length=300, null=True)  # NULL once deleted
    thumbnail_key = fields.CharField(max_length=300, null=True)
    poster_key = fields.CharField(max_length=300, null=True)
    public_key = fields.CharField(max_length=300, null=True)
    public_type = fields.CharField(max_length=100, null=True)
    uploaded_by_id = fields.BigIntField(null=True)  # the user; NULL: citizen or API key
    uploaded_by_api_key_id = fields.BigIntField(null=True)  # an integration
    reject_reason = fields.CharEnumField(RejectReason, max_length=20, null=True)
    reject_detail = fields.CharField(max_length=300, default="")
    width = fields.IntField(null=True)
    height = fields.IntField(null=True)
    duration_ms = fields.IntField(null=True)
    taken_at = fields.DatetimeField(null=True)  # EXIF capture time
    gps_lat = fields.DecimalField(max_digits=10, decimal_places=7, null=True)  # WGS-84
    gps_lng = fields.DecimalField(max_digits=10, decimal_places=7, null=True)
    distance_m = fields.FloatField(null=True)  # from the ticket's location
    published = fields.BooleanField(default=False)
    published_at = fields.DatetimeField(null=True)
    published_by_id = fields.BigIntField(null=True)
    upload_expires_at = fields.DatetimeField()
    finalized_at = fields.DatetimeField(null=True)
    verified_at = fields.DatetimeField(null=True)
    processed_at = fields.DatetimeField(null=True)
    expired_at = fields.DatetimeField(null=True)
    processing_error = fields.CharField(max_length=300, default="")
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "evidence"

    def stored_keys(self) -> list[str]:
        """Every stored object of this evidence."""
        keys = (self.object_key, self.thumbnail_key, self.poster_key, self.public_key)
        return [k for k in keys if k]


class EvidenceDownload(TenantModel):
    """One download link handed out: by whom, for which copy (links are short-lived)."""

    evidence: fields.ForeignKeyRelation[Evidence] = fields.ForeignKeyField(
        "evidence.Evidence", related_name="downloads", on_delete=fields.RESTRICT
    )
    evidence_id: int
    variant = fields.CharEnumField(Variant, max_length=10)
    user_id = fields.BigIntField(null=True)  # NULL: the citizen (number + query code)
    api_key_id = fields.BigIntField(null=True)
    ip = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "evidence_downloads"


class EvidencePolicy(TenantModel):
    """A city's rules; absent = the defaults in ``rules.DEFAULT_POLICY``."""

    allowed_types: Any = fields.JSONField()  # ["image/jpeg", ...]
    max_bytes: Any = fields.JSONField()  # {"photo": 20971520, "video": ..., "audio": ...}
    retention_days = fields.IntField()
    updated_by_id = fields.BigIntField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "evidence_policies"
        unique_together = (("tenant_id",),)
