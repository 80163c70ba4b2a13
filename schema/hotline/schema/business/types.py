from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Self

import strawberry
from strawberry import relay

from hotline.schema.evidence.types import FormField
from hotline.schema.ids import encode_id
from hotline.tenants.business import models
from hotline.tenants.business.registry import masked_legal_rep
from hotline.tenants.business.registry_import import Upload
from hotline.tenants.business.rules import Industry as IndustryRow

SizeClass = models.SizeClass
EnterpriseStatus = models.EnterpriseStatus
ImportStatus = models.ImportStatus
RuleKind = models.RuleKind
strawberry.enum(models.SizeClass, name="EnterpriseSizeClass")
strawberry.enum(models.EnterpriseStatus, name="EnterpriseStatus")
strawberry.enum(models.ImportStatus, name="EnterpriseImportStatus")
strawberry.enum(models.RuleKind, name="PortfolioRuleKind")


@strawberry.type(description="A GB/T 4754-2017 division (门类 section, 大类 division).")
class Industry:
    section: str
    code: str
    name_zh: str
    name_en: str

    @classmethod
    def from_row(cls, row: IndustryRow) -> Self:
        return cls(section=row.section, code=row.division, name_zh=row.name_zh, name_en=row.name_en)


@strawberry.type(description="An enterprise of the city's registry (docs/business.md).")
class Enterprise:
    id: relay.GlobalID
    uscc: str = strawberry.field(description="Unified social credit code (GB 32100-2015).")
    name: str
    legal_representative: str | None = strawberry.field(
        description="Masked (张*); businessManage staff reveal it with revealLegalRepresentative."
    )
    industry: str = strawberry.field(description="GB/T 4754-2017 division code.")
    section: str
    employees: int | None
    revenue: Decimal | None = strawberry.field(description="Yuan a year.")
    size_class: SizeClass | None
    area_id: relay.GlobalID | None = strawberry.field(description="A Department.")
    registered_capital: Decimal | None = strawberry.field(description="Yuan.")
    founded_on: date | None
    status: EnterpriseStatus
    tags: list[str]

    @classmethod
    def from_model(cls, row: models.Enterprise) -> Self:
        return cls(
            id=encode_id("Enterprise", row.id),
            uscc=row.uscc,
            name=row.name,
            legal_representative=masked_legal_rep(row),
            industry=row.industry,
            section=row.section,
            employees=row.employees,
            revenue=row.revenue,
            size_class=row.size_class,
            area_id=encode_id("Department", row.area_id) if row.area_id else None,
            registered_capital=row.registered_capital,
            founded_on=row.founded_on,
            status=row.status,
            tags=list(row.tags or []),
        )


@strawberry.type
class RejectedRow:
    row: int
    uscc: str
    field: str
    reason: str


@strawberry.type(description="A registry import and its progress.")
class EnterpriseImport:
    id: relay.GlobalID
    file_name: str
    status: ImportStatus
    encoding: str | None = strawberry.field(description="utf-8, gbk (CSV) or xlsx.")
    total_rows: int
    processed_rows: int
    inserted: int
    updated: int = strawberry.field(
        description="Rows whose USCC was already in the registry (unchanged ones included)."
    )
    unchanged: int = strawberry.field(
        description="Of the updated rows, those whose content was the same: not rewritten."
    )
    rejected: int
    error: str | None = strawberry.field(description="Why the file as a whole was refused.")
    rejected_rows: list[RejectedRow] = strawberry.field(
        description="The first 100 rejected rows; rejectedReportUrl has them all."
    )
    rejected_report_url: str | None = strawberry.field(
        description="A short-lived link to a CSV of every rejected row and its reason."
    )
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def from_model(cls, row: models.RegistryImport, report_url: str | None) -> Self:
        sample: list[dict[str, Any]] = list(row.rejected_sample or [])
        return cls(
            id=encode_id("EnterpriseImport", row.id),
            file_name=row.file_name,
            status=row.status,
            encoding=row.encoding,
            total_rows=row.total_rows,
            processed_rows=row.processed_rows,
            inserted=row.inserted,
            updated=row.updated,
            unchanged=row.unchanged,
            rejected=row.rejected,
            error=row.error,
            rejected_rows=[RejectedRow(**r) for r in sample],
            rejected_report_url=report_url,
            created_at=row.created_at,
            finished_at=row.finished_at,
        )


@strawberry.type
class EnterpriseImportUpload:
    url: str
    fields: list[FormField]
    expires_at: datetime

    @classmethod
    def from_upload(cls, upload: Upload) -> Self:
        return cls(
            url=upload.post.url,
            fields=[FormField(name=k, value=v) for k, v in upload.post.fields.items()],
            expires_at=upload.post.expires_at,
        )


@strawberry.type(description="One piece of a service manager's portfolio.")
class PortfolioRule:
    id: relay.GlobalID
    manager_id: relay.GlobalID = strawberry.field(description="A User.")
    kind: RuleKind
    enterprise_id: relay.GlobalID | None
    industry: str | None
    area_id: relay.GlobalID | None

    @classmethod
    def from_model(cls, row: models.ManagerRule) -> Self:
        return cls(
            id=encode_id("PortfolioRule", row.id),
            manager_id=encode_id("User", row.manager_id),
            kind=row.kind,
            enterprise_id=encode_id("Enterprise", row.enterprise_id) if row.enterprise_id else None,
            industry=row.industry,
            area_id=encode_id("Department", row.area_id) if row.area_id else None,
        )


@strawberry.type
class EnterpriseMember:
    user_id: relay.GlobalID
    username: str
    display_name: str
    role: str
    verified: bool
