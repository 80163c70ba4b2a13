"""Attachments on business requests through GraphQL: ticket evidence behind the business
request's wall (docs/business.md, "Attachments")."""

from __future__ import annotations

from datetime import datetime
from typing import Self

import strawberry
from strawberry import relay

from hotline.schema.context import Info
from hotline.schema.errors import Error, payload_errors
from hotline.schema.evidence.types import (
    DownloadLink,
    EvidenceKind,
    EvidencePurpose,
    EvidenceRejectReason,
    EvidenceStatus,
    EvidenceVariant,
    PresignedUpload,
)
from hotline.schema.ids import decode_id, encode_id
from hotline.schema.permissions import can
from hotline.tenants.business import attachments
from hotline.tenants.evidence import models
from hotline.tenants.kernel.access import Action


@strawberry.type(description="A file on a business request (evidence of its ticket).")
class BusinessAttachment:
    id: relay.GlobalID = strawberry.field(description="The evidence id.")
    purpose: EvidencePurpose = strawberry.field(
        description="CITIZEN: the enterprise's own; others: the handling side's."
    )
    status: EvidenceStatus
    kind: EvidenceKind
    file_name: str
    content_type: str
    size: int
    reject_reason: EvidenceRejectReason | None
    published: bool
    created_at: datetime
    evidence_id: strawberry.Private[int]

    @classmethod
    def from_model(cls, row: models.Evidence) -> Self:
        return cls(
            id=encode_id("Evidence", row.id),
            purpose=row.purpose,
            status=row.status,
            kind=row.kind,
            file_name=row.file_name,
            content_type=row.content_type or row.declared_type,
            size=row.size,
            reject_reason=row.reject_reason,
            published=row.published,
            created_at=row.created_at,
            evidence_id=row.id,
        )

    @strawberry.field(
        description="A short-lived recorded link; null with an error at this item's path "
        "when it has no such copy (yet)."
    )
    async def download_url(
        self, info: Info, variant: EvidenceVariant = models.Variant.ORIGINAL
    ) -> DownloadLink | None:
        link = await attachments.download_link(
            actor=info.context.actor,
            evidence_id=self.evidence_id,
            variant=variant,
            ip=info.context.ip,
        )
        return DownloadLink.from_link(link)


@strawberry.input
class RequestBusinessAttachmentUploadInput:
    request_id: relay.GlobalID
    file_name: str
    content_type: str
    size: int
    sha256: str = strawberry.field(description="Hex sha256 of the file, checked after upload.")


@strawberry.type
class BusinessAttachmentUploadPayload:
    attachment: BusinessAttachment | None
    upload: PresignedUpload | None
    errors: list[Error]


@strawberry.type
class BusinessAttachmentPayload:
    attachment: BusinessAttachment | None
    errors: list[Error]


@strawberry.type
class AttachmentQueries:
    @strawberry.field(
        permission_classes=[can(Action.ENTERPRISE_READ)],
        description="A request's files: an enterprise sees its own uploads and published "
        "ones; its manager and the city's staff all of them.",
    )
    async def business_request_attachments(
        self, info: Info, request_id: relay.GlobalID
    ) -> list[BusinessAttachment]:
        rows = await attachments.listed(
            actor=info.context.actor,
            request_id=decode_id(request_id, "BusinessRequest", field="requestId"),
        )
        return [BusinessAttachment.from_model(r) for r in rows]


@strawberry.type
class AttachmentMutations:
    @strawberry.mutation(
        permission_classes=[can(Action.BUSINESS_REQUEST_SUBMIT)],
        description="A presigned upload for a file on the enterprise's own request (the "
        "city's evidence policy: types and sizes); finalize it after the upload.",
    )
    async def request_business_attachment_upload(
        self, info: Info, input: RequestBusinessAttachmentUploadInput
    ) -> BusinessAttachmentUploadPayload:
        async def call() -> tuple[BusinessAttachment, PresignedUpload]:
            made = await attachments.request_upload(
                actor=info.context.actor,
                request_id=decode_id(input.request_id, "BusinessRequest", field="requestId"),
                file_name=input.file_name,
                content_type=input.content_type,
                size=input.size,
                sha256=input.sha256,
            )
            return (
                BusinessAttachment.from_model(made.evidence),
                PresignedUpload.from_upload(made),
            )

        found, errors = await payload_errors(call)
        return BusinessAttachmentUploadPayload(
            attachment=found[0] if found else None,
            upload=found[1] if found else None,
            errors=errors,
        )

    @strawberry.mutation(
        permission_classes=[can(Action.BUSINESS_REQUEST_SUBMIT)],
        description="Check the uploaded file now (exists, size, real type); a worker then "
        "checks its sha256, as for any evidence.",
    )
    async def finalize_business_attachment(
        self, info: Info, id: relay.GlobalID
    ) -> BusinessAttachmentPayload:
        async def call() -> BusinessAttachment:
            row = await attachments.finalize(
                actor=info.context.actor, evidence_id=decode_id(id, "Evidence", field="id")
            )
            return BusinessAttachment.from_model(row)

        found, errors = await payload_errors(call)
        return BusinessAttachmentPayload(attachment=found, errors=errors)
