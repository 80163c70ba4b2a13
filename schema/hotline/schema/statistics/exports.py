"""Exports through GraphQL: ask for one, follow its progress, download it
(docs/statistics.md, "Exports")."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import date, datetime
from typing import Annotated, Self

import strawberry
from strawberry import relay

from hotline.platform import pubsub
from hotline.schema.context import Info
from hotline.schema.errors import Error, payload_errors
from hotline.schema.ids import decode_id, encode_id
from hotline.schema.live import while_allowed
from hotline.schema.permissions import signed_in
from hotline.schema.tickets.queries import TicketFilter
from hotline.tenants.statistics import export_files, exports
from hotline.tenants.statistics.models import ExportJob

strawberry.enum(exports.ExportKind, name="ExportKind")
strawberry.enum(exports.ExportFormat, name="ExportFormat")
strawberry.enum(exports.ExportStatus, name="ExportStatus")


@strawberry.type(description="A presigned GET of a finished export, valid a few minutes.")
class ExportDownload:
    url: str
    expires_at: datetime


@strawberry.type(description="An export the caller asked for, and how far it has come.")
class Export:
    id: relay.GlobalID
    kind: exports.ExportKind
    format: exports.ExportFormat
    status: exports.ExportStatus
    rows_done: int
    rows_total: int | None = strawberry.field(description="Known once the worker counted.")
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    expires_at: datetime | None = strawberry.field(description="The file is gone after this.")
    _row: strawberry.Private[ExportJob]

    @classmethod
    def from_model(cls, row: ExportJob) -> Self:
        return cls(
            id=encode_id("Export", row.id),
            kind=exports.ExportKind(row.kind),
            format=exports.ExportFormat(row.format),
            status=exports.ExportStatus(row.status),
            rows_done=row.rows_done,
            rows_total=row.rows_total,
            error=row.error,
            created_at=row.created_at,
            finished_at=row.finished_at,
            expires_at=row.expires_at,
            _row=row,
        )

    @strawberry.field(description="Null until the export is done, and after it expires.")
    async def download(self, info: Info) -> ExportDownload | None:
        link = await exports.download_link(actor=info.context.actor, job=self._row)
        return None if link is None else ExportDownload(url=link.url, expires_at=link.expires_at)


@strawberry.input
class RequestExportInput:
    kind: exports.ExportKind
    format: exports.ExportFormat
    filter: TicketFilter | None = strawberry.field(
        default=None, description="TICKETS: the ticket list's filters."
    )
    first: date | None = strawberry.field(
        default=None, name="from", description="CITY_REPORT: the period's first day."
    )
    last: date | None = strawberry.field(default=None, name="to")
    department_id: relay.GlobalID | None = strawberry.field(
        default=None, description="CITY_REPORT: a department's subtree."
    )

    def to_request(self) -> exports.ExportRequest:
        return exports.ExportRequest(
            kind=exports.ExportKind(self.kind),
            format=exports.ExportFormat(self.format),
            filter=self.filter.to_selector() if self.filter else None,
            first=self.first,
            last=self.last,
            department_id=None
            if self.department_id is None
            else decode_id(self.department_id, "Department", field="departmentId"),
        )


@strawberry.type
class RequestExportPayload:
    export: Export | None
    errors: list[Error]


@strawberry.type
class ExportMutations:
    @strawberry.mutation(
        description=(
            "Export a ticket list (with its filters) or the city report as CSV or XLSX — "
            "or, for a province admin, the province's ticket list or report: a worker "
            "writes it into the object store; follow it with `exportProgress(id:)` or "
            "`export(id:)`."
        )
    )
    async def request_export(self, info: Info, input: RequestExportInput) -> RequestExportPayload:
        row, errors = await payload_errors(
            lambda: exports.request_export(actor=info.context.actor, request=input.to_request())
        )
        return RequestExportPayload(
            export=None if row is None else Export.from_model(row), errors=errors
        )


@strawberry.type
class ExportQueries:
    @strawberry.field(
        permission_classes=[signed_in],
        description="One of the caller's own exports: status, progress, download link.",
    )
    async def export(
        self, info: Info, export_id: Annotated[relay.GlobalID, strawberry.argument(name="id")]
    ) -> Export:
        row = await exports.access_export(
            actor=info.context.actor, export_id=decode_id(export_id, "Export", field="id")
        )
        return Export.from_model(row)


_FINISHED = frozenset({exports.ExportStatus.DONE, exports.ExportStatus.FAILED})


@strawberry.type
class ExportSubscriptions:
    @strawberry.subscription(
        permission_classes=[signed_in],
        description=(
            "One of the caller's own exports as it progresses: its state now, then again "
            "at every progress step the worker writes; ends once it is DONE or FAILED."
        ),
    )
    async def export_progress(
        self, info: Info, export_id: Annotated[relay.GlobalID, strawberry.argument(name="id")]
    ) -> AsyncGenerator[Export, None]:
        actor = info.context.actor
        key = decode_id(export_id, "Export", field="id")
        row = await exports.access_export(actor=actor, export_id=key)
        # subscribed before the first read: a step between the two is not missed
        async with pubsub.subscribe(export_files.progress_channel(row)) as notices:
            row = await exports.access_export(actor=actor, export_id=key)
            yield Export.from_model(row)
            if exports.ExportStatus(row.status) in _FINISHED:
                return
            seen = (row.status, row.rows_done, row.rows_total)
            async for _ in while_allowed(actor, notices):
                row = await exports.access_export(actor=actor, export_id=key)
                if (row.status, row.rows_done, row.rows_total) != seen:
                    seen = (row.status, row.rows_done, row.rows_total)
                    yield Export.from_model(row)
                if exports.ExportStatus(row.status) in _FINISHED:
                    return
