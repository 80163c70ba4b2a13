from __future__ import annotations

import strawberry
from strawberry import relay

from hotline.schema.context import Info
from hotline.schema.errors import Error, payload_errors
from hotline.schema.ids import decode_id
from hotline.schema.routing.types import GazetteerPlace
from hotline.tenants.routing import gazetteer


@strawberry.input
class SaveGazetteerPlaceInput:
    id: relay.GlobalID | None = strawberry.field(
        default=None, description="The place to change; none adds one."
    )
    name: str
    kind: str = strawberry.field(
        default="landmark", description="district | street | community | landmark"
    )
    aliases: list[str] = strawberry.field(default_factory=list)
    department_id: relay.GlobalID = strawberry.field(
        description="The district, street or community the name implies."
    )


@strawberry.type
class GazetteerPlacePayload:
    place: GazetteerPlace | None
    errors: list[Error]


@strawberry.type
class DeleteGazetteerPlacePayload:
    deleted: bool
    errors: list[Error]


@strawberry.type
class RoutingMutations:
    @strawberry.mutation(description="Add or change a name of the city's gazetteer.")
    async def save_gazetteer_place(
        self, info: Info, input: SaveGazetteerPlaceInput
    ) -> GazetteerPlacePayload:
        async def call() -> GazetteerPlace:
            row = await gazetteer.save_place(
                actor=info.context.actor,
                place_id=decode_id(input.id, "GazetteerPlace", field="id") if input.id else None,
                name=input.name,
                kind=input.kind,
                aliases=input.aliases,
                department_id=decode_id(input.department_id, "Department", field="departmentId"),
            )
            return GazetteerPlace.from_model(row)

        place, errors = await payload_errors(call)
        return GazetteerPlacePayload(place=place, errors=errors)

    @strawberry.mutation(description="Remove a name from the city's gazetteer.")
    async def delete_gazetteer_place(
        self, info: Info, id: relay.GlobalID
    ) -> DeleteGazetteerPlacePayload:
        async def call() -> bool:
            await gazetteer.delete_place(
                actor=info.context.actor, place_id=decode_id(id, "GazetteerPlace", field="id")
            )
            return True

        deleted, errors = await payload_errors(call)
        return DeleteGazetteerPlacePayload(deleted=bool(deleted), errors=errors)
