"""The business extension's tables (docs/business.md).

``business_enterprises`` is a city's registry, unique by USCC; the legal representative
is personal data (encrypted, masked in every answer). ``business_enterprise_members``
binds an enterprise user to one enterprise (the third wall, docs/architecture.md §3),
``business_manager_rules`` hold service managers' portfolios and ``business_imports``
one registry import each.
"""

from __future__ import annotations

import enum
from typing import Any

from tortoise import fields

from hotline.platform.db.models import TenantModel
from hotline.tenants.kernel.roles import Role


class EnterpriseStatus(enum.StrEnum):
    ACTIVE = "active"  # 存续 / 在业
    SUSPENDED = "suspended"  # 停业
    REVOKED = "revoked"  # 吊销
    CANCELLED = "cancelled"  # 注销


class SizeClass(enum.StrEnum):
    LARGE = "large"
    MEDIUM = "medium"
    SMALL = "small"
    MICRO = "micro"


class Enterprise(TenantModel):
    uscc = fields.CharField(max_length=18)  # unique per city: in the migration
    name = fields.CharField(max_length=200)
    legal_rep_enc = fields.TextField(null=True)
    industry = fields.CharField(max_length=2)  # GB/T 4754-2017 division ("65")
    section = fields.CharField(max_length=1)  # its section ("I")
    employees = fields.IntField(null=True)
    revenue = fields.DecimalField(max_digits=20, decimal_places=2, null=True)  # yuan a year
    size_class = fields.CharEnumField(SizeClass, max_length=6, null=True)
    area_id = fields.BigIntField(null=True)  # a department (same-city FK in the migration)
    registered_capital = fields.DecimalField(max_digits=20, decimal_places=2, null=True)
    founded_on = fields.DateField(null=True)
    status = fields.CharEnumField(EnterpriseStatus, max_length=10, default=EnterpriseStatus.ACTIVE)
    tags: Any = fields.JSONField(default=list)
    updated_at = fields.DatetimeField(auto_now=True)
    # keyed hash of the content an import wrote (registry_prepare.row_hash): the next import
    # leaves the row alone when it brings the same. Any other writer of an imported column
    # must set it to None, or a re-import of the old file would not restore the row.
    row_hash = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "business_enterprises"


class EnterpriseMember(TenantModel):
    """A user's place in one enterprise of the city (at most one per city)."""

    enterprise_id = fields.BigIntField()
    user_id = fields.BigIntField()
    role = fields.CharEnumField(Role, max_length=20)
    verified_by_id = fields.BigIntField(null=True)

    class Meta:
        table = "business_enterprise_members"


class RuleKind(enum.StrEnum):
    ENTERPRISE = "enterprise"  # one named enterprise (wins over the others)
    INDUSTRY = "industry"  # a GB/T 4754 division, optionally inside an area subtree
    AREA = "area"  # a department subtree (the deepest one wins)


class ManagerRule(TenantModel):
    """One piece of a service manager's portfolio."""

    manager_id = fields.BigIntField()  # a user with the service_manager role here
    kind = fields.CharEnumField(RuleKind, max_length=10)
    enterprise_id = fields.BigIntField(null=True)
    industry = fields.CharField(max_length=2, null=True)
    area_id = fields.BigIntField(null=True)
    area_path = fields.CharField(max_length=255, null=True)  # the area's path when set

    class Meta:
        table = "business_manager_rules"


class ImportStatus(enum.StrEnum):
    AWAITING_UPLOAD = "awaiting_upload"
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # the file as a whole was refused: nothing written


class RegistryImport(TenantModel):
    file_name = fields.CharField(max_length=200)
    object_key = fields.CharField(max_length=255)
    status = fields.CharEnumField(ImportStatus, max_length=16)
    total_rows = fields.IntField(default=0)
    processed_rows = fields.IntField(default=0)
    inserted = fields.IntField(default=0)
    updated = fields.IntField(default=0)  # already in the registry (unchanged included)
    unchanged = fields.IntField(default=0)  # already there with the same content: not written
    rejected = fields.IntField(default=0)
    encoding = fields.CharField(max_length=10, null=True)
    error = fields.TextField(null=True)
    report_key = fields.CharField(max_length=255, null=True)  # CSV of the rejected rows
    rejected_sample: Any = fields.JSONField(default=list)  # the first rejected rows
    created_by_id = fields.BigIntField(null=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "business_imports"


class RequestTopic(enum.StrEnum):
    POLICY = "policy"  # policy consultation
    FINANCING = "financing"  # a financing need
    LEGAL = "legal"  # legal service
    APPROVAL = "approval"  # approval / licensing help
    COMPLAINT = "complaint"  # a complaint about the business environment


class Usefulness(enum.StrEnum):
    USEFUL = "useful"
    PARTLY = "partly"
    NOT_USEFUL = "not_useful"


class BusinessRequest(TenantModel):
    """What makes a ticket a business request: its enterprise, topic and manager, the
    manager's first-response deadline and the enterprise's rating. The work itself
    (status, assignments, deadlines, timeline) is the ticket's."""

    ticket_id = fields.BigIntField()  # unique, same-city FK: in the migration
    enterprise_id = fields.BigIntField()
    topic = fields.CharEnumField(RequestTopic, max_length=10)
    submitted_by_id = fields.BigIntField(null=True)
    manager_id = fields.BigIntField(null=True)  # the enterprise's manager at submission
    response_deadline = fields.DatetimeField()
    responded_at = fields.DatetimeField(null=True)  # answered or dispatched by the manager
    warn_at = fields.DatetimeField(null=True)  # the manager is warned from here (due soon)
    warned_at = fields.DatetimeField(null=True)  # when the warning went out (once)
    rating = fields.CharEnumField(Usefulness, max_length=10, null=True)
    rating_comment = fields.TextField(default="")
    rated_at = fields.DatetimeField(null=True)

    class Meta:
        table = "business_requests"


class PolicyStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


class Policy(TenantModel):
    """A policy a department issues, with its eligibility rules as data (``eligibility``)."""

    title = fields.CharField(max_length=200)
    body = fields.TextField()
    department_id = fields.BigIntField()  # the issuing department
    valid_from = fields.DateField(null=True)
    valid_until = fields.DateField(null=True)
    rules: Any = fields.JSONField(default=dict)
    status = fields.CharEnumField(PolicyStatus, max_length=10, default=PolicyStatus.DRAFT)
    published_at = fields.DatetimeField(null=True)
    created_by_id = fields.BigIntField(null=True)
    notified = fields.IntField(default=0)  # enterprises notified so far
    # when the notice job finished; NULL on a published policy = its job is still owed
    notify_finished_at = fields.DatetimeField(null=True)
    # runs of the notice job so far (retries and re-queues included), the last failure's
    # reason, and when the job was given up after MAX_NOTIFY_ATTEMPTS runs (never re-queued)
    notify_attempts = fields.IntField(default=0)
    notify_error = fields.TextField(null=True)
    notify_failed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "business_policies"


class PolicyNotice(TenantModel):
    """One eligible enterprise told of one policy (unique: at most once each)."""

    policy_id = fields.BigIntField()
    enterprise_id = fields.BigIntField()

    class Meta:
        table = "business_policy_notices"


class Collateral(enum.StrEnum):
    """What secures a loan (担保方式)."""

    CREDIT = "credit"  # 信用: none needed
    GUARANTEE = "guarantee"  # 保证 (a guarantor or guarantee company)
    MORTGAGE = "mortgage"  # 抵押 (real estate, equipment)
    PLEDGE = "pledge"  # 质押 (receivables, IP, deposits)


class ProductStatus(enum.StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"


class FinancingProduct(TenantModel):
    """A bank's loan product (a department with the ``bank`` function). Who it is for is
    the policies' rule language (``rules``: industries, size classes and anything else);
    amount, rate, term and collateral are the product's own terms."""

    bank_id = fields.BigIntField()  # a department of function "bank" (same-city FK)
    name = fields.CharField(max_length=200)
    description = fields.TextField(default="")
    min_amount = fields.DecimalField(max_digits=20, decimal_places=2)  # yuan
    max_amount = fields.DecimalField(max_digits=20, decimal_places=2)
    min_rate = fields.DecimalField(max_digits=6, decimal_places=3)  # % a year
    max_rate = fields.DecimalField(max_digits=6, decimal_places=3)
    min_term_months = fields.IntField()
    max_term_months = fields.IntField()
    collateral: Any = fields.JSONField(default=list)  # Collateral values it accepts
    rules: Any = fields.JSONField(default=dict)  # eligibility rule (industries, sizes …)
    status = fields.CharEnumField(ProductStatus, max_length=10, default=ProductStatus.ACTIVE)
    created_by_id = fields.BigIntField(null=True)

    class Meta:
        table = "business_financing_products"


class FinancingNeed(TenantModel):
    """What a financing request (a business request of topic financing) asks for."""

    request_id = fields.BigIntField()  # unique, same-city FK: in the migration
    amount = fields.DecimalField(max_digits=20, decimal_places=2)  # yuan
    term_months = fields.IntField()
    collateral: Any = fields.JSONField(default=list)  # Collateral values it can offer

    class Meta:
        table = "business_financing_needs"


class ApplicationStatus(enum.StrEnum):
    APPLIED = "applied"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class FinancingApplication(TenantModel):
    """An enterprise's application for one product on one financing request, and its
    outcome (approved with an amount, rejected, or withdrawn by the enterprise)."""

    request_id = fields.BigIntField()
    product_id = fields.BigIntField()
    enterprise_id = fields.BigIntField()
    amount = fields.DecimalField(max_digits=20, decimal_places=2)  # asked for, yuan
    status = fields.CharEnumField(ApplicationStatus, max_length=10)
    approved_amount = fields.DecimalField(max_digits=20, decimal_places=2, null=True)
    note = fields.TextField(default="")
    applied_by_id = fields.BigIntField(null=True)
    decided_by_id = fields.BigIntField(null=True)
    decided_at = fields.DatetimeField(null=True)

    class Meta:
        table = "business_financing_applications"
