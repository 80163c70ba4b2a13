from __future__ import annotations

import strawberry
from strawberry import relay

from hotline.schema.context import Info
from hotline.schema.errors import Error, payload_errors
from hotline.schema.evidence.types import (
    CitizenTicketInput,
    Evidence,
    EvidencePolicy,
    EvidencePurpose,
    PresignedUpload,
)
from hotline.schema.ids import decode_id
from hotline.tenants.evidence import policy, processing, uploads, verification
from hotline.tenants.kernel.errors import Invalid


@strawberry.input
class RequestEvidenceUploadInput:
    ticket_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Staff name the ticket; citizens give `citizen` instead."
    )
    file_name: str
    content_type: str
    size: int
    sha256: str = strawberry.field(description="Hex sha256 of the file, checked after upload.")
    purpose: EvidencePurpose | None = None
    assignment_id: relay.GlobalID | None = strawberry.field(
        default=None, description="The assignment a department's handling evidence proves."
    )
    citizen: CitizenTicketInput | None = None


@strawberry.type
class RequestEvidenceUploadPayload:
    evidence: Evidence | None
    upload: PresignedUpload | None
    errors: list[Error]


@strawberry.type
class EvidencePayload:
    evidence: Evidence | None
    errors: list[Error]


@strawberry.input
class EvidenceSizeLimitsInput:
    photo: int | None = None
    video: int | None = None
    audio: int | None = None


@strawberry.input
class SetEvidencePolicyInput:
    allowed_types: list[str]
    max_bytes: EvidenceSizeLimitsInput
    retention_days: int


@strawberry.type
class EvidencePolicyPayload:
    policy: EvidencePolicy | None
    errors: list[Error]


async def _request(info: Info, input: RequestEvidenceUploadInput) -> uploads.Upload:
    if input.citizen is not None:
        return await uploads.request_citizen_upload(
            citizen=input.citizen.proof(),
            file_name=input.file_name,
            content_type=input.content_type,
            size=input.size,
            sha256=input.sha256,
        )
    if input.ticket_id is None:
        raise Invalid("name the ticket", field="ticketId")
    return await uploads.request_upload(
        actor=info.context.actor,
        ticket_id=decode_id(input.ticket_id, "Ticket", field="ticketId"),
        file_name=input.file_name,
        content_type=input.content_type,
        size=input.size,
        sha256=input.sha256,
        purpose=input.purpose,
        assignment_id=(
            decode_id(input.assignment_id, "Assignment", field="assignmentId")
            if input.assignment_id
            else None
        ),
    )


@strawberry.type
class EvidenceMutations:
    @strawberry.mutation(
        description=(
            "A presigned POST for one file: upload it straight to the object store, then "
            "call finalizeEvidence. The API never receives the file."
        )
    )
    async def request_evidence_upload(
        self, info: Info, input: RequestEvidenceUploadInput
    ) -> RequestEvidenceUploadPayload:
        upload, errors = await payload_errors(lambda: _request(info, input))
        if upload is None:
            return RequestEvidenceUploadPayload(evidence=None, upload=None, errors=errors)
        return RequestEvidenceUploadPayload(
            evidence=Evidence.from_model(upload.evidence),
            upload=PresignedUpload.from_upload(upload),
            errors=[],
        )

    @strawberry.mutation(
        description=(
            "Check the upload now (it exists, its size matches, its bytes are an allowed type) "
            "and mark it VERIFYING; a worker then checks its sha256. A wrong size or type "
            "deletes the file and rejects the evidence."
        )
    )
    async def finalize_evidence(
        self, info: Info, evidence_id: relay.GlobalID, citizen: CitizenTicketInput | None = None
    ) -> EvidencePayload:
        async def call() -> Evidence:
            key = decode_id(evidence_id, "Evidence", field="evidenceId")
            if citizen is not None:
                row = await verification.finalize_citizen_evidence(
                    citizen=citizen.proof(), evidence_id=key
                )
            else:
                row = await verification.finalize_evidence(
                    actor=info.context.actor, evidence_id=key
                )
            return Evidence.from_model(row)

        evidence, errors = await payload_errors(call)
        return EvidencePayload(evidence=evidence, errors=errors)

    @strawberry.mutation(
        description="Show verified evidence to the citizen/public, as a copy without EXIF/GPS."
    )
    async def publish_evidence(self, info: Info, evidence_id: relay.GlobalID) -> EvidencePayload:
        async def call() -> Evidence:
            row = await processing.publish_evidence(
                actor=info.context.actor,
                evidence_id=decode_id(evidence_id, "Evidence", field="evidenceId"),
            )
            return Evidence.from_model(row)

        evidence, errors = await payload_errors(call)
        return EvidencePayload(evidence=evidence, errors=errors)

    @strawberry.mutation(description="The city's allowed types, size limits and retention.")
    async def set_evidence_policy(
        self, info: Info, input: SetEvidencePolicyInput
    ) -> EvidencePolicyPayload:
        limits = {k: v for k, v in vars(input.max_bytes).items() if v is not None}

        async def call() -> EvidencePolicy:
            saved = await policy.set_evidence_policy(
                actor=info.context.actor,
                allowed_types=input.allowed_types,
                max_bytes=limits,
                retention_days=input.retention_days,
            )
            return EvidencePolicy.from_policy(saved)

        shaped, errors = await payload_errors(call)
        return EvidencePolicyPayload(policy=shaped, errors=errors)
