"""The call center's CTI system pushes its call records (docs/statistics.md, "Calls")."""

from __future__ import annotations

from datetime import datetime

import strawberry

from hotline.schema.context import Info
from hotline.schema.errors import Error, payload_errors
from hotline.tenants.statistics import calls

strawberry.enum(calls.CallOutcome, name="CallOutcome")


@strawberry.input(description="One call as the CTI system saw it; the call id is its key.")
class CallRecordInput:
    call_id: str = strawberry.field(description="The CTI system's id of the call (≤ 100).")
    started_at: datetime
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    queue: str
    seat: str | None = None
    seat_group: str | None = None
    caller_number: str | None = strawberry.field(
        default=None, description="Stored encrypted and hashed, like a citizen's phone."
    )
    outcome: calls.CallOutcome
    ticket_number: str | None = strawberry.field(
        default=None, description="The city's ticket the call opened or followed."
    )
    recording_url: str | None = strawberry.field(
        default=None,
        description="Where the CTI keeps the call's recording (http/https, ≤ 1000): once "
        "the call is linked to a ticket it is fetched as the ticket's audio evidence.",
    )

    def to_call(self) -> calls.CallInput:
        return calls.CallInput(
            call_id=self.call_id,
            started_at=self.started_at,
            answered_at=self.answered_at,
            ended_at=self.ended_at,
            queue=self.queue,
            seat=self.seat,
            seat_group=self.seat_group,
            caller_number=self.caller_number,
            outcome=calls.CallOutcome(self.outcome),
            ticket_number=self.ticket_number,
            recording_url=self.recording_url,
        )


@strawberry.type(description="What a push did: new calls, changed calls, replays.")
class PushCallRecordsPayload:
    created: int
    updated: int
    unchanged: int
    errors: list[Error]


@strawberry.type
class StatisticsMutations:
    @strawberry.mutation(
        description=(
            "The call center's system (its API key, a center role) pushes up to 1,000 call "
            "records; idempotent by call id: a replay changes nothing, an update replaces "
            "the call once. All or nothing."
        )
    )
    async def push_call_records(
        self, info: Info, records: list[CallRecordInput]
    ) -> PushCallRecordsPayload:
        result, errors = await payload_errors(
            lambda: calls.push_calls(actor=info.context.actor, calls=[r.to_call() for r in records])
        )
        if result is None:
            return PushCallRecordsPayload(created=0, updated=0, unchanged=0, errors=errors)
        return PushCallRecordsPayload(
            created=result.created, updated=result.updated, unchanged=result.unchanged, errors=[]
        )
