from __future__ import annotations

from datetime import datetime
from typing import Self

import strawberry
from strawberry import relay

from hotline.schema.context import Info
from hotline.schema.ids import encode_id
from hotline.tenants.evidence import access, downloads, models, rules, uploads

EvidenceStatus = models.EvidenceStatus
strawberry.enum(models.EvidenceStatus, name="EvidenceStatus")
EvidencePurpose = models.Purpose
strawberry.enum(models.Purpose, name="EvidencePurpose")
EvidenceKind = models.Kind
strawberry.enum(models.Kind, name="EvidenceKind")
EvidenceRejectReason = models.RejectReason
strawberry.enum(models.RejectReason, name="EvidenceRejectReason")
EvidenceVariant = models.Variant
strawberry.enum(models.Variant, name="EvidenceVariant")


@strawberry.type(description="A presigned GET link: valid for at most five minutes.")
class DownloadLink:
    url: str
    expires_at: datetime
    variant: EvidenceVariant

    @classmethod
    def from_link(cls, link: downloads.DownloadLink) -> Self:
        return cls(url=link.url, expires_at=link.expires_at, variant=link.variant)


@strawberry.type
class FormField:
    name: str
    value: str


@strawberry.type(
    description=(
        "POST `url` as multipart/form-data: every field of `fields` first, then the file as "
        "`file`. The policy fixes the key, the content type and the exact size."
    )
)
class PresignedUpload:
    url: str
    fields: list[FormField]
    expires_at: datetime

    @classmethod
    def from_upload(cls, upload: uploads.Upload) -> Self:
        return cls(
            url=upload.post.url,
            fields=[FormField(name=k, value=v) for k, v in upload.post.fields.items()],
            expires_at=upload.post.expires_at,
        )


def _seconds(ms: int | None) -> float | None:
    return None if ms is None else ms / 1000


@strawberry.type(description="A photo, video or audio file attached to a ticket.")
class Evidence(relay.Node):
    id: relay.NodeID[int]
    ticket_id: relay.GlobalID
    assignment_id: relay.GlobalID | None
    purpose: EvidencePurpose
    status: EvidenceStatus
    kind: EvidenceKind
    file_name: str
    content_type: str = strawberry.field(description="From the file's bytes once finalized.")
    size: int = strawberry.field(description="Bytes.")
    sha256: str
    reject_reason: EvidenceRejectReason | None
    reject_detail: str
    width: int | None
    height: int | None
    duration_seconds: float | None
    taken_at: datetime | None = strawberry.field(description="EXIF capture time.")
    gps_lat: float | None = strawberry.field(description="EXIF GPS, WGS-84.")
    gps_lng: float | None
    distance_meters: float | None = strawberry.field(
        description="From the ticket's location to where the photo/video was taken."
    )
    has_thumbnail: bool
    has_poster: bool
    published: bool
    published_at: datetime | None
    created_at: datetime
    verified_at: datetime | None
    processed_at: datetime | None
    expired_at: datetime | None

    @classmethod
    def from_model(cls, row: models.Evidence) -> Self:
        return cls(
            id=row.id,
            ticket_id=encode_id("Ticket", row.ticket_id),
            assignment_id=encode_id("Assignment", row.assignment_id) if row.assignment_id else None,
            purpose=row.purpose,
            status=row.status,
            kind=row.kind,
            file_name=row.file_name,
            content_type=row.content_type or row.declared_type,
            size=row.size,
            sha256=row.sha256,
            reject_reason=row.reject_reason,
            reject_detail=row.reject_detail,
            width=row.width,
            height=row.height,
            duration_seconds=_seconds(row.duration_ms),
            taken_at=row.taken_at,
            gps_lat=float(row.gps_lat) if row.gps_lat is not None else None,
            gps_lng=float(row.gps_lng) if row.gps_lng is not None else None,
            distance_meters=row.distance_m,
            has_thumbnail=row.thumbnail_key is not None,
            has_poster=row.poster_key is not None,
            published=row.published,
            published_at=row.published_at,
            created_at=row.created_at,
            verified_at=row.verified_at,
            processed_at=row.processed_at,
            expired_at=row.expired_at,
        )

    @strawberry.field(
        description="A short-lived link to one copy, after the access check; recorded. Null, "
        "with an error at this item's path, when this item has no such copy (rejected, not "
        "verified yet, no thumbnail): the other items of a list still answer."
    )
    async def download_url(
        self,
        info: Info,
        variant: EvidenceVariant = models.Variant.ORIGINAL,
    ) -> DownloadLink | None:
        link = await downloads.download_link(
            actor=info.context.actor, evidence_id=self.id, variant=variant, ip=info.context.ip
        )
        return DownloadLink.from_link(link)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: list[str], required: bool = False
    ) -> list[Evidence | None]:
        rows = await access.visible_evidence(
            actor=info.context.actor, evidence_ids=[int(k) for k in node_ids]
        )
        return [cls.from_model(r) if r else None for r in rows]


@strawberry.input(description="A citizen's proof: the ticket number and its query code.")
class CitizenTicketInput:
    number: str
    query_code: str

    def proof(self) -> access.CitizenProof:
        return access.CitizenProof(number=self.number, query_code=self.query_code)


@strawberry.type(description="What a citizen sees: no EXIF, no GPS, never the original.")
class PublicEvidence:
    id: relay.GlobalID
    kind: EvidenceKind
    content_type: str | None
    duration_seconds: float | None
    published: bool
    created_at: datetime
    proof: strawberry.Private[access.CitizenProof]
    evidence_id: strawberry.Private[int]

    @classmethod
    def from_model(cls, row: models.Evidence, proof: access.CitizenProof) -> Self:
        return cls(
            id=encode_id("Evidence", row.id),
            kind=row.kind,
            content_type=row.public_type,
            duration_seconds=_seconds(row.duration_ms),
            published=row.published,
            created_at=row.created_at,
            proof=proof,
            evidence_id=row.id,
        )

    @strawberry.field(
        description="The copy without metadata (PUBLIC) or the THUMBNAIL; null with an error "
        "at this item's path when this item has none (the rest of the list still answers)."
    )
    async def download_url(
        self,
        info: Info,
        variant: EvidenceVariant = models.Variant.PUBLIC,
    ) -> DownloadLink | None:
        link = await downloads.citizen_download_link(
            citizen=self.proof, evidence_id=self.evidence_id, variant=variant, ip=info.context.ip
        )
        return DownloadLink.from_link(link)


@strawberry.type
class EvidenceSizeLimits:
    photo: int
    video: int
    audio: int


@strawberry.type(description="A city's evidence rules (the defaults until it sets its own).")
class EvidencePolicy:
    allowed_types: list[str]
    max_bytes: EvidenceSizeLimits
    retention_days: int = strawberry.field(description="Counted from the ticket's closure.")
    is_default: bool

    @classmethod
    def from_policy(cls, policy: rules.Policy) -> Self:
        return cls(
            allowed_types=sorted(policy.allowed_types),
            max_bytes=EvidenceSizeLimits(
                photo=policy.limit(models.Kind.PHOTO),
                video=policy.limit(models.Kind.VIDEO),
                audio=policy.limit(models.Kind.AUDIO),
            ),
            retention_days=policy.retention_days,
            is_default=policy.is_default,
        )
