"""The work-order state machine (docs/architecture.md §4, §10) as data: pure, no database.

A ticket's status follows its lead assignment; each assignment has its own status.
``TICKET`` and ``ASSIGNMENT`` map (status, action) to the next status; anything not
in a table is illegal and :func:`check` / :func:`check_assignment` raise
:class:`IllegalTransition` before anything is written.
"""

from __future__ import annotations

import enum

from hotline.tenants.kernel.errors import Conflict
from hotline.tenants.tickets.models import AssignmentStatus as A
from hotline.tenants.tickets.models import Status as S


class IllegalTransition(Conflict):
    """The action is not possible in the object's current state; nothing changed."""

    def __init__(self, what: str, status: str, action: str) -> None:
        super().__init__(f"cannot {action}: the {what} is {status}", field="status")
        self.status = status
        self.action = action


class Action(enum.StrEnum):
    CREATE = "create"
    DISPATCH = "dispatch"
    ANSWER = "answer"  # directly, from the knowledge base
    CLOSE_ANSWERED = "close_answered"
    SAMPLE_REVISIT = "sample_revisit"  # a direct answer picked for a revisit
    SIGN_FOR = "sign_for"  # the lead signs
    RETURN = "return"  # the lead is returned (before signing, or an approved request)
    REPLY = "reply"  # the lead replies
    REVIEW_APPROVE = "review_approve"
    REVIEW_REJECT = "review_reject"
    REVISIT_ATTEMPT = "revisit_attempt"  # the citizen was not reached, below the limit
    REVISIT_UNREACHABLE = "revisit_unreachable"  # the limit was reached
    REVISIT_SATISFIED = "revisit_satisfied"  # satisfied or basically satisfied
    REVISIT_UNSATISFIED = "revisit_unsatisfied"
    CANCEL = "cancel"
    MERGE = "merge"
    TRANSFER = "transfer"
    REJECT = "reject"  # not accepted / out of scope (不予受理)
    # Actions that keep the ticket's status but need it open or in hand.
    URGE = "urge"
    RECLASSIFY = "reclassify"
    SUPERVISE = "supervise"
    HANDLE = "handle"  # sub-dispatch, extensions, return requests, co-handler work


OPEN: frozenset[S] = frozenset(
    {S.RECEIVED, S.DISPATCHED, S.ACCEPTED, S.RETURNED, S.REPLIED, S.REVISIT, S.REOPENED}
)
FINAL: frozenset[S] = frozenset({S.CLOSED, S.CANCELLED, S.MERGED, S.TRANSFERRED, S.REJECTED})
# Where the center holds the ticket and may dispatch, answer or refuse it.
IN_CENTER: frozenset[S] = frozenset({S.RECEIVED, S.RETURNED, S.REOPENED})
IN_DEPARTMENT: frozenset[S] = frozenset({S.DISPATCHED, S.ACCEPTED})


def _each(sources: frozenset[S], action: Action, target: S | None) -> dict[tuple[S, Action], S]:
    """``target`` None keeps the status."""
    return {(s, action): s if target is None else target for s in sources}


TICKET: dict[tuple[S, Action], S] = {
    **_each(IN_CENTER, Action.DISPATCH, S.DISPATCHED),
    **_each(IN_CENTER, Action.ANSWER, S.ANSWERED),
    (S.ANSWERED, Action.CLOSE_ANSWERED): S.CLOSED,
    (S.ANSWERED, Action.SAMPLE_REVISIT): S.REVISIT,
    (S.DISPATCHED, Action.SIGN_FOR): S.ACCEPTED,
    **_each(IN_DEPARTMENT, Action.RETURN, S.RETURNED),
    (S.ACCEPTED, Action.REPLY): S.REPLIED,
    (S.REPLIED, Action.REVIEW_APPROVE): S.REVISIT,
    (S.REPLIED, Action.REVIEW_REJECT): S.ACCEPTED,
    (S.REVISIT, Action.REVISIT_ATTEMPT): S.REVISIT,
    (S.REVISIT, Action.REVISIT_UNREACHABLE): S.CLOSED,
    (S.REVISIT, Action.REVISIT_SATISFIED): S.CLOSED,
    (S.REVISIT, Action.REVISIT_UNSATISFIED): S.REOPENED,
    **_each(OPEN, Action.CANCEL, S.CANCELLED),
    **_each(OPEN, Action.MERGE, S.MERGED),
    **_each(OPEN, Action.TRANSFER, S.TRANSFERRED),
    **_each(IN_CENTER, Action.REJECT, S.REJECTED),
    **_each(OPEN, Action.URGE, None),
    **_each(OPEN, Action.RECLASSIFY, None),
    **_each(OPEN, Action.SUPERVISE, None),
    **_each(IN_DEPARTMENT | {S.REPLIED}, Action.HANDLE, None),
}


class AssignmentAction(enum.StrEnum):
    SIGN_FOR = "sign_for"
    RETURN = "return"  # before signing: at once
    REQUEST_RETURN = "request_return"  # after signing: a supervisor decides
    APPROVE_RETURN = "approve_return"
    REJECT_RETURN = "reject_return"
    REPLY = "reply"
    REOPEN = "reopen"  # the center rejected the reply
    SUB_DISPATCH = "sub_dispatch"
    RECALL = "recall"  # the parent's department (or the center) takes back a sub-dispatch
    EXTEND = "extend"
    CLOSE = "close"  # the ticket's round ended well
    CANCEL = "cancel"  # the ticket left the department (returned, cancelled, moved)


ACTIVE: frozenset[A] = frozenset({A.PENDING_SIGN, A.SIGNED, A.RETURN_REQUESTED, A.REPLIED})

ASSIGNMENT: dict[tuple[A, AssignmentAction], A] = {
    (A.PENDING_SIGN, AssignmentAction.SIGN_FOR): A.SIGNED,
    (A.PENDING_SIGN, AssignmentAction.RETURN): A.RETURNED,
    (A.SIGNED, AssignmentAction.REQUEST_RETURN): A.RETURN_REQUESTED,
    (A.RETURN_REQUESTED, AssignmentAction.APPROVE_RETURN): A.RETURNED,
    (A.RETURN_REQUESTED, AssignmentAction.REJECT_RETURN): A.SIGNED,
    (A.SIGNED, AssignmentAction.REPLY): A.REPLIED,
    (A.REPLIED, AssignmentAction.REOPEN): A.SIGNED,
    (A.SIGNED, AssignmentAction.SUB_DISPATCH): A.SIGNED,
    (A.SIGNED, AssignmentAction.EXTEND): A.SIGNED,
    # Only a sub-dispatch that has not replied: a reply is its parent's to weigh.
    **{(s, AssignmentAction.RECALL): A.CANCELLED for s in ACTIVE - {A.REPLIED}},
    **{(s, AssignmentAction.CLOSE): A.CLOSED for s in ACTIVE},
    **{(s, AssignmentAction.CANCEL): A.CANCELLED for s in ACTIVE},
}


def check(status: S, action: Action) -> S:
    """The ticket's next status, or IllegalTransition."""
    target = TICKET.get((status, action))
    if target is None:
        raise IllegalTransition("ticket", status.value, action.value)
    return target


def check_assignment(status: A, action: AssignmentAction) -> A:
    """The assignment's next status, or IllegalTransition."""
    target = ASSIGNMENT.get((status, action))
    if target is None:
        raise IllegalTransition("assignment", status.value, action.value)
    return target


def is_open(status: S) -> bool:
    return status in OPEN


# The stage timestamp each entered status writes (first time only for ``received``).
STAGE_FIELD: dict[S, str] = {
    S.ANSWERED: "answered_at",
    S.DISPATCHED: "dispatched_at",
    S.ACCEPTED: "accepted_at",
    S.REPLIED: "replied_at",
    S.REVISIT: "reviewed_at",
    S.CLOSED: "closed_at",
    S.CANCELLED: "closed_at",
    S.MERGED: "closed_at",
    S.TRANSFERRED: "closed_at",
    S.REJECTED: "closed_at",
}
