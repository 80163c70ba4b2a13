"""Legal services through GraphQL: the city's law firms and legal-aid centers, and a
legal request dispatched to one (docs/business.md, "Legal services")."""

from __future__ import annotations

import strawberry
from strawberry import relay

from hotline.schema.business.requests import BusinessRequest, BusinessRequestPayload
from hotline.schema.context import Info
from hotline.schema.errors import payload_errors
from hotline.schema.ids import decode_id, encode_id
from hotline.schema.permissions import can
from hotline.tenants.business import legal
from hotline.tenants.kernel.access import Action

ProviderKind = legal.ProviderKind
strawberry.enum(legal.ProviderKind, name="LegalProviderKind")


@strawberry.type(description="A law firm or legal-aid center (a department of that function).")
class LegalServiceProvider:
    id: relay.GlobalID = strawberry.field(description="The department's id.")
    name: str
    kind: ProviderKind
    duty_hours: str


@strawberry.type
class LegalQueries:
    @strawberry.field(
        permission_classes=[can(Action.ENTERPRISE_READ)],
        description="The city's legal service providers: legal-aid centers first.",
    )
    async def legal_service_providers(
        self, info: Info, kind: ProviderKind | None = None
    ) -> list[LegalServiceProvider]:
        rows = await legal.providers(actor=info.context.actor, kind=kind)
        return [
            LegalServiceProvider(
                id=encode_id("Department", d.id),
                name=d.name,
                kind=ProviderKind(d.function or ""),
                duty_hours=d.duty_hours,
            )
            for d in rows
        ]


@strawberry.type
class LegalMutations:
    @strawberry.mutation(
        permission_classes=[can(Action.BUSINESS_REQUEST_HANDLE)],
        description=(
            "The manager dispatches a legal request to a law firm or legal-aid center: "
            "an ordinary dispatch with the provider as lead department."
        ),
    )
    async def dispatch_legal_request(
        self, info: Info, id: relay.GlobalID, provider_id: relay.GlobalID, reason: str = ""
    ) -> BusinessRequestPayload:
        async def call() -> BusinessRequest:
            got = await legal.dispatch_legal_request(
                actor=info.context.actor,
                request_id=decode_id(id, "BusinessRequest", field="id"),
                provider_id=decode_id(provider_id, "Department", field="providerId"),
                reason=reason,
            )
            return BusinessRequest.from_request(got)

        found, errors = await payload_errors(call)
        return BusinessRequestPayload(request=found, errors=errors)
