"""Policies through GraphQL: drafted and published by departments, "policies you may
qualify for" with reasons, why / why not for one enterprise, eligible counts."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Self

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from hotline.schema.business.types import Enterprise
from hotline.schema.context import Info
from hotline.schema.errors import Error, payload_errors
from hotline.schema.ids import decode_id, encode_id
from hotline.schema.pagination import Connection, build_connection, decode_cursor, page_size
from hotline.schema.permissions import can
from hotline.tenants.business import eligibility, models, policies
from hotline.tenants.business.policies import SHOWN
from hotline.tenants.kernel.access import Action, allowed

PolicyStatus = models.PolicyStatus
strawberry.enum(models.PolicyStatus, name="PolicyStatus")


@strawberry.enum(description="Where a published policy's notices to eligible enterprises stand.")
class PolicyNoticeStatus(enum.Enum):
    SENDING = "sending"  # the notice job is owed, queued or running (re-queued if lost)
    SENT = "sent"
    FAILED = "failed"  # given up after the bound of runs: never re-queued


def notice_status(row: models.Policy) -> PolicyNoticeStatus | None:
    if row.notify_failed_at is not None:
        return PolicyNoticeStatus.FAILED
    if row.notify_finished_at is not None:
        return PolicyNoticeStatus.SENT
    if row.status is models.PolicyStatus.PUBLISHED:
        return PolicyNoticeStatus.SENDING
    return None  # a draft, or withdrawn before its notices


@strawberry.type
class Policy:
    id: relay.GlobalID
    title: str
    body: str
    department_id: relay.GlobalID
    valid_from: date | None
    valid_until: date | None
    rules: JSON = strawberry.field(description="Eligibility rules (docs/business.md).")
    status: PolicyStatus
    published_at: datetime | None
    notified: int = strawberry.field(description="Enterprises notified so far.")
    notice_status: PolicyNoticeStatus | None = strawberry.field(
        description="The notices' progress (none before publication)."
    )
    notice_attempts: int = strawberry.field(
        description="Runs of the notice job so far (retries included)."
    )
    notice_failed_at: datetime | None
    _notice_error: strawberry.Private[str | None]

    @strawberry.field(
        description="The notice job's last failure, for the city's staff (null for others)."
    )
    def notice_error(self, info: Info) -> str | None:
        actor = info.context.actor
        staff = allowed(actor, Action.BUSINESS_READ) or allowed(actor, Action.POLICY_MANAGE)
        return self._notice_error if staff else None

    @classmethod
    def from_model(cls, row: models.Policy) -> Self:
        return cls(
            id=encode_id("Policy", row.id),
            title=row.title,
            body=row.body,
            department_id=encode_id("Department", row.department_id),
            valid_from=row.valid_from,
            valid_until=row.valid_until,
            rules=row.rules,
            status=row.status,
            published_at=row.published_at,
            notified=row.notified,
            notice_status=notice_status(row),
            notice_attempts=row.notify_attempts,
            notice_failed_at=row.notify_failed_at,
            _notice_error=row.notify_error,
        )


@strawberry.type
class EligibilityReason:
    met: bool
    text: str
    text_zh: str


@strawberry.type
class Eligibility:
    eligible: bool
    reasons: list[EligibilityReason] = strawberry.field(description="One per condition.")
    why_not: list[EligibilityReason] = strawberry.field(description="The unmet conditions.")

    @classmethod
    def from_verdict(cls, verdict: eligibility.Verdict) -> Self:
        def one(r: eligibility.Reason) -> EligibilityReason:
            return EligibilityReason(met=r.met, text=r.text, text_zh=r.text_zh)

        return cls(
            eligible=verdict.eligible,
            reasons=[one(r) for r in verdict.reasons],
            why_not=[one(r) for r in verdict.unmet],
        )


@strawberry.type
class PolicyMatch:
    policy: Policy
    eligibility: Eligibility


@strawberry.type
class PolicyPayload:
    policy: Policy | None
    errors: list[Error]


@strawberry.input
class CreatePolicyInput:
    title: str
    body: str
    department_id: relay.GlobalID = strawberry.field(description="The issuing department.")
    rules: JSON
    valid_from: date | None = None
    valid_until: date | None = None


@strawberry.type
class PolicyQueries:
    @strawberry.field(
        permission_classes=[can(Action.ENTERPRISE_READ)],
        description="The city's policies, newest first (enterprises: the published ones).",
    )
    async def policies(
        self,
        info: Info,
        status: PolicyStatus | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Policy]:
        size = page_size(first)
        rows = await policies.list_policies(
            actor=info.context.actor, status=status, after=decode_cursor(after), first=size
        )
        return build_connection(rows, size, lambda r: r.id, Policy.from_model, after=after)

    @strawberry.field(permission_classes=[can(Action.ENTERPRISE_READ)])
    async def policy(self, info: Info, id: relay.GlobalID) -> Policy:
        row = await policies.access_policy(
            actor=info.context.actor, policy_id=decode_id(id, "Policy", field="id")
        )
        return Policy.from_model(row)

    @strawberry.field(
        permission_classes=[can(Action.ENTERPRISE_READ)],
        description=(
            "Policies you may qualify for, the `first` (1-100) most relevant: the eligible "
            "ones with their reasons (newest first), then near misses (one condition "
            "unmet) with why not. Staff name the enterprise."
        ),
    )
    async def policies_for_enterprise(
        self,
        info: Info,
        enterprise_id: relay.GlobalID | None = None,
        first: int = SHOWN,
    ) -> list[PolicyMatch]:
        rows = await policies.policies_for(
            actor=info.context.actor,
            enterprise_id=decode_id(enterprise_id, "Enterprise", field="enterpriseId")
            if enterprise_id
            else None,
            first=first,
        )
        return [
            PolicyMatch(
                policy=Policy.from_model(m.policy), eligibility=Eligibility.from_verdict(m.verdict)
            )
            for m in rows
        ]

    @strawberry.field(
        permission_classes=[can(Action.ENTERPRISE_READ)],
        description="Why the enterprise qualifies for the policy, or why not.",
    )
    async def policy_eligibility(
        self, info: Info, policy_id: relay.GlobalID, enterprise_id: relay.GlobalID
    ) -> Eligibility:
        verdict = await policies.check(
            actor=info.context.actor,
            policy_id=decode_id(policy_id, "Policy", field="policyId"),
            enterprise_id=decode_id(enterprise_id, "Enterprise", field="enterpriseId"),
        )
        return Eligibility.from_verdict(verdict)

    @strawberry.field(
        permission_classes=[can(Action.BUSINESS_READ)],
        description="How many of the city's enterprises qualify today.",
    )
    async def policy_eligible_count(self, info: Info, policy_id: relay.GlobalID) -> int:
        return await policies.eligible_count(
            actor=info.context.actor, policy_id=decode_id(policy_id, "Policy", field="policyId")
        )

    @strawberry.field(permission_classes=[can(Action.BUSINESS_READ)])
    async def policy_eligible_enterprises(
        self,
        info: Info,
        policy_id: relay.GlobalID,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Enterprise]:
        size = page_size(first)
        rows = await policies.eligible_enterprises(
            actor=info.context.actor,
            policy_id=decode_id(policy_id, "Policy", field="policyId"),
            after=decode_cursor(after),
            first=size,
        )
        return build_connection(rows, size, lambda r: r.id, Enterprise.from_model, after=after)


@strawberry.type
class PolicyMutations:
    @strawberry.mutation(
        permission_classes=[can(Action.POLICY_MANAGE)],
        description="A draft policy of a department (a department manager: its subtree's).",
    )
    async def create_policy(self, info: Info, input: CreatePolicyInput) -> PolicyPayload:
        async def call() -> Policy:
            row = await policies.create_policy(
                actor=info.context.actor,
                title=input.title,
                body=input.body,
                department_id=decode_id(input.department_id, "Department", field="departmentId"),
                rules=input.rules,
                valid_from=input.valid_from,
                valid_until=input.valid_until,
            )
            return Policy.from_model(row)

        found, errors = await payload_errors(call)
        return PolicyPayload(policy=found, errors=errors)

    @strawberry.mutation(
        permission_classes=[can(Action.POLICY_MANAGE)],
        description="Publish a draft; eligible enterprises are notified once each.",
    )
    async def publish_policy(self, info: Info, id: relay.GlobalID) -> PolicyPayload:
        async def call() -> Policy:
            row = await policies.publish_policy(
                actor=info.context.actor, policy_id=decode_id(id, "Policy", field="id")
            )
            return Policy.from_model(row)

        found, errors = await payload_errors(call)
        return PolicyPayload(policy=found, errors=errors)

    @strawberry.mutation(permission_classes=[can(Action.POLICY_MANAGE)])
    async def withdraw_policy(self, info: Info, id: relay.GlobalID) -> PolicyPayload:
        async def call() -> Policy:
            row = await policies.withdraw_policy(
                actor=info.context.actor, policy_id=decode_id(id, "Policy", field="id")
            )
            return Policy.from_model(row)

        found, errors = await payload_errors(call)
        return PolicyPayload(policy=found, errors=errors)
