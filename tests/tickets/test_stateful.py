"""Random action sequences on one ticket (hypothesis stateful testing).

After every step: the status is one of the machine's, the lead assignment agrees with
the ticket, the stage timestamps fit the status, the ticket's deadlines are the
lead's, and the timeline is one unbroken hash chain; no open work outlives what it
belongs to (docs/tickets.md "Open work"): an ended ticket has no open supervision order
and no pending extension request, a pending request's assignment still works, no open
supervision order is aimed at an assignment that no longer works (returned, recalled,
cancelled, closed), and a replied assignment has no child still working — nor has an
assignment that came back or ended. A refused step (a typed domain error)
must have changed nothing.

Hypothesis drives the machine synchronously in a worker thread; each service call is
run on the test's event loop, which owns the database connections.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from hotline.platform.tenancy import use_scope
from hotline.tenants.kernel.errors import DomainError
from hotline.tenants.tickets import center, dispatch, extensions, flow, review, supervision
from hotline.tenants.tickets.models import (
    Assignment,
    AssignmentStatus,
    ExtensionRequest,
    Satisfaction,
    Status,
    Supervision,
    Ticket,
    TimelineEvent,
)
from hotline.tenants.tickets.timeline import verify_chain

from .conftest import City, World

T = TypeVar("T")
A = AssignmentStatus
LEAD_FOR: dict[Status, frozenset[AssignmentStatus]] = {
    Status.DISPATCHED: frozenset({A.PENDING_SIGN}),
    Status.ACCEPTED: frozenset({A.SIGNED, A.RETURN_REQUESTED}),
    Status.REPLIED: frozenset({A.REPLIED}),
    Status.RETURNED: frozenset({A.RETURNED}),
}


def machine(city: City, loop: asyncio.AbstractEventLoop) -> type[RuleBasedStateMachine]:
    def run(call: Awaitable[T]) -> T:
        return asyncio.run_coroutine_threadsafe(call, loop).result(timeout=30)  # type: ignore[arg-type]

    async def state(ticket_id: int) -> tuple[Ticket, list[Assignment], list[TimelineEvent]]:
        with use_scope(city.scope()):
            ticket = await Ticket.get(id=ticket_id)
            assignments = await Assignment.filter(ticket_id=ticket_id).order_by("id")
            events = await TimelineEvent.filter(ticket_id=ticket_id).order_by("seq")
        return ticket, assignments, events

    async def open_supervisions(ticket_id: int) -> list[Supervision]:
        with use_scope(city.scope()):
            return await Supervision.filter(ticket_id=ticket_id, status="open").order_by("id")

    async def pending_extensions(ticket_id: int) -> list[ExtensionRequest]:
        with use_scope(city.scope()):
            return await ExtensionRequest.filter(ticket_id=ticket_id, status="pending").order_by(
                "id"
            )

    class TicketMachine(RuleBasedStateMachine):
        ticket_id = 0

        @initialize()
        def create(self) -> None:
            self.ticket_id = run(city.ticket()).id

        def attempt(self, call: Callable[[], Awaitable[Any]]) -> None:
            before, _, _ = run(state(self.ticket_id))
            try:
                run(call())
            except DomainError:
                after, _, _ = run(state(self.ticket_id))
                assert (after.version, after.timeline_seq) == (before.version, before.timeline_seq)

        def current(self, which: str) -> Assignment | None:
            _, assignments, _ = run(state(self.ticket_id))
            if not assignments:
                return None
            top = max(a.round for a in assignments)
            pick = {
                "lead": [a for a in assignments if a.is_lead and a.parent_id is None],
                "co": [a for a in assignments if not a.is_lead and a.parent_id is None],
                "child": [a for a in assignments if a.parent_id is not None],
            }[which]
            pick = [a for a in pick if a.round == top]
            return pick[-1] if pick else None

        def on(self, which: str, call: Callable[[int], Awaitable[Any]]) -> None:
            found = self.current(which)
            if found is not None:
                self.attempt(lambda: call(found.id))

        @rule(co=st.booleans())
        def dispatch(self, co: bool) -> None:
            self.attempt(
                lambda: dispatch.dispatch_ticket(
                    actor=city.agent,
                    ticket_id=self.ticket_id,
                    lead_department_id=city.district.id,
                    co_department_ids=[city.bureau.id] if co else [],
                )
            )

        @rule(which=st.sampled_from(["lead", "co", "child"]))
        def sign(self, which: str) -> None:
            handler = {"lead": city.district_handler, "co": city.bureau_handler}.get(
                which, city.street_handler
            )
            self.on(which, lambda i: dispatch.sign_for_assignment(actor=handler, assignment_id=i))

        @rule(which=st.sampled_from(["lead", "co", "child"]))
        def give_back(self, which: str) -> None:
            handler = {"lead": city.district_handler, "co": city.bureau_handler}.get(
                which, city.street_handler
            )
            self.on(
                which,
                lambda i: dispatch.return_assignment(actor=handler, assignment_id=i, reason="no"),
            )

        @rule(which=st.sampled_from(["lead", "co", "child"]), approve=st.booleans())
        def decide_return(self, which: str, approve: bool) -> None:
            self.on(
                which,
                lambda i: dispatch.decide_return(
                    actor=city.supervisor, assignment_id=i, approve=approve
                ),
            )

        @rule(by=st.sampled_from(["lead", "center", "child"]))
        def recall(self, by: str) -> None:
            """The lead (or the center) takes back the sub-dispatch; the child itself may not."""
            actor = {"lead": city.district_handler, "center": city.dispatcher}.get(
                by, city.street_handler
            )
            self.on(
                "child",
                lambda i: dispatch.recall_assignment(actor=actor, assignment_id=i, reason="back"),
            )

        @rule()
        def sub_dispatch(self) -> None:
            self.on(
                "lead",
                lambda i: dispatch.sub_dispatch(
                    actor=city.district_handler, assignment_id=i, department_id=city.street.id
                ),
            )

        @rule(days=st.integers(min_value=0, max_value=25), approve=st.booleans())
        def extension(self, days: int, approve: bool) -> None:
            async def both(i: int) -> None:
                request = await extensions.request_extension(
                    actor=city.district_handler, assignment_id=i, working_days=days, reason="r"
                )
                await extensions.decide_extension(
                    actor=city.supervisor, extension_id=request.id, approve=approve
                )

            self.on("lead", both)

        @rule(which=st.sampled_from(["lead", "co"]), days=st.integers(min_value=1, max_value=5))
        def ask_extension(self, which: str, days: int) -> None:
            """A request left pending: a later reply, return or end withdraws it."""
            handler = city.district_handler if which == "lead" else city.bureau_handler
            self.on(
                which,
                lambda i: extensions.request_extension(
                    actor=handler, assignment_id=i, working_days=days, reason="r"
                ),
            )

        @rule(approve=st.booleans())
        def decide_pending(self, approve: bool) -> None:
            pending = run(pending_extensions(self.ticket_id))
            if pending:
                self.attempt(
                    lambda: extensions.decide_extension(
                        actor=city.supervisor, extension_id=pending[0].id, approve=approve
                    )
                )

        @rule(which=st.sampled_from(["lead", "co", "child"]))
        def reply(self, which: str) -> None:
            handler = {"lead": city.district_handler, "co": city.bureau_handler}.get(
                which, city.street_handler
            )
            self.on(
                which,
                lambda i: dispatch.reply_assignment(actor=handler, assignment_id=i, reply="done"),
            )

        @rule(approve=st.booleans())
        def review(self, approve: bool) -> None:
            self.attempt(
                lambda: review.review_reply(
                    actor=city.dispatcher, ticket_id=self.ticket_id, approve=approve, reason="r"
                )
            )

        @rule(
            grade=st.sampled_from(
                [None, Satisfaction.SATISFIED, Satisfaction.UNSATISFIED, Satisfaction.UNREACHABLE]
            )
        )
        def revisit(self, grade: Satisfaction | None) -> None:
            self.attempt(
                lambda: review.revisit_ticket(
                    actor=city.agent,
                    ticket_id=self.ticket_id,
                    reached=grade is not None,
                    grade=grade,
                )
            )

        @rule(
            step=st.sampled_from(
                [Satisfaction.SATISFIED, Satisfaction.UNSATISFIED, Satisfaction.UNSATISFIED]
            )
        )
        def progress(self, step: Satisfaction) -> None:
            """The natural next step, so sequences get deep into the flow."""
            ticket, _, _ = run(state(self.ticket_id))
            s = ticket.status
            if s in flow.IN_CENTER:
                self.dispatch(co=True)
            elif s is Status.DISPATCHED:
                self.sign("lead")
            elif s is Status.ACCEPTED:
                self.reply("lead")
            elif s is Status.REPLIED:
                self.review(approve=True)
            elif s is Status.REVISIT:
                self.revisit(step)

        @rule(rare=st.integers(min_value=0, max_value=5))
        def answer(self, rare: int) -> None:
            if rare:
                return
            self.attempt(
                lambda: review.answer_from_article(
                    actor=city.agent, ticket_id=self.ticket_id, article_id=city.article_id
                )
            )

        @rule(what=st.sampled_from(["cancel", "reject", *["urge"] * 6]))
        def center(self, what: str) -> None:
            if what == "urge":
                self.attempt(lambda: center.urge_ticket(actor=city.agent, ticket_id=self.ticket_id))
                return
            call = center.cancel_ticket if what == "cancel" else center.reject_ticket
            self.attempt(lambda: call(actor=city.agent, ticket_id=self.ticket_id, reason="r"))

        @rule(
            step=st.sampled_from(["open", "escalate", "close"]),
            which=st.sampled_from([None, "lead", "co", "child"]),
        )
        def supervise(self, step: str, which: str | None) -> None:
            if step == "open":
                target = self.current(which) if which is not None else None
                self.attempt(
                    lambda: supervision.open_supervision(
                        actor=city.supervisor,
                        ticket_id=self.ticket_id,
                        reason="late",
                        assignment_id=target.id if target is not None else None,
                    )
                )
                return
            orders = run(open_supervisions(self.ticket_id))
            if orders:
                call = (
                    supervision.escalate_supervision
                    if step == "escalate"
                    else supervision.close_supervision
                )
                self.attempt(lambda: call(actor=city.supervisor, supervision_id=orders[0].id))

        @invariant()
        def consistent(self) -> None:
            if not self.ticket_id:
                return
            ticket, assignments, events = run(state(self.ticket_id))
            assert ticket.status in set(Status)
            assert verify_chain(events)
            assert ticket.timeline_seq == len(events)
            assert events[-1].to_status == ticket.status.value
            # Stage timestamps fit the status.
            s = ticket.status
            if s is Status.DISPATCHED:
                assert ticket.dispatched_at is not None
            if s is Status.ACCEPTED:
                assert ticket.dispatched_at is not None
                assert ticket.accepted_at is not None
                assert ticket.accepted_at >= ticket.dispatched_at
            if s is Status.REPLIED:
                assert ticket.replied_at is not None
                assert ticket.accepted_at is not None
                assert ticket.replied_at >= ticket.accepted_at
            if s is Status.REVISIT:
                assert ticket.reviewed_at is not None
            if s in flow.FINAL:
                assert ticket.closed_at is not None
                assert ticket.closed_at >= ticket.received_at
            # The lead decides the ticket; outside the departments nothing is active.
            active = [a for a in assignments if a.status in flow.ACTIVE]
            leads = [a for a in active if a.is_lead and a.parent_id is None]
            assert len(leads) <= 1
            if s in LEAD_FOR:
                lead = [a for a in assignments if a.is_lead and a.parent_id is None][-1]
                assert lead.status in LEAD_FOR[s]
            if s in flow.IN_DEPARTMENT or s is Status.REPLIED:
                assert len(leads) == 1
                assert ticket.reply_deadline == leads[0].reply_deadline
            else:
                assert active == []
            if s in {Status.RETURNED, Status.REOPENED}:
                assert ticket.reply_deadline is None
            # No open work outlives what it belongs to.
            pending = run(pending_extensions(self.ticket_id))
            by_id = {a.id: a for a in assignments}
            for request in pending:
                assert by_id[request.assignment_id].status in {A.SIGNED, A.RETURN_REQUESTED}
            orders = run(open_supervisions(self.ticket_id))
            for order in orders:
                if order.assignment_id is not None:
                    assert by_id[order.assignment_id].status in flow.ACTIVE, order.id
            if s in flow.FINAL:
                assert pending == []
                assert orders == []
            working = {A.PENDING_SIGN, A.SIGNED, A.RETURN_REQUESTED}
            for a in assignments:
                if a.status is A.REPLIED or a.status not in flow.ACTIVE:
                    children = [c for c in assignments if c.parent_id == a.id]
                    assert all(c.status not in working for c in children)

    return TicketMachine


async def test_random_action_sequences(world: World) -> None:
    loop = asyncio.get_running_loop()
    await asyncio.to_thread(
        run_state_machine_as_test,
        machine(world.alpha, loop),
        settings=settings(
            max_examples=25,
            stateful_step_count=30,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
