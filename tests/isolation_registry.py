"""Which GraphQL operations this test run saw refuse another city's ids — the executed
proof behind "every query, mutation and subscription taking ids has a cross-city case".

Every GraphQL helper of the suite passes its answers to :func:`record`; an operation
counts once one of its answers was NOT_FOUND (in its payload's ``errors``, or as a
top-level error at its path or of a one-field operation), or once a test proved its
answer to another city's ids equal to its answer to ids that do not exist
(:func:`record_same_as_missing`). At the end of a green run of the whole suite
``tests/conftest.py`` fails the session if an operation taking ids (an ``ID`` argument,
directly or in its input) was never seen refusing. Operations without ids act on the
caller's own city or account, which the scope filters (their list tests show it).
A test file merely mentioning an operation's name does not count.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from graphql import FieldNode, OperationDefinitionNode, parse

LOG_ENV = "HOTLINE_TEST_NOT_FOUND_LOG"

# Operations that take no ids of any city: nothing to refuse across cities.
NO_CITY_IDS = {
    "login": "credentials only",
    "refreshToken": "the caller's own session",
    "logout": "the caller's own session",
    "changePassword": "the caller's own account",
    "requestPasswordReset": "answers the same for every input",
    "resetPassword": "a signed single-use token",
    "beginTotpEnrolment": "the caller's own account",
    "confirmTotp": "the caller's own account",
    "me": "the caller's own memberships",
    "provinces": "filtered by the caller's roles (tests/api)",
    "noticeReceived": "the caller's own notice channel, keyed by its city and user",
}


def _root_fields(query: str) -> list[tuple[str, str]]:
    """(response key, field name) of each root field of the document's operations."""
    out: list[tuple[str, str]] = []
    for definition in parse(query).definitions:
        if isinstance(definition, OperationDefinitionNode):
            for selection in definition.selection_set.selections:
                if isinstance(selection, FieldNode):
                    key = selection.alias.value if selection.alias else selection.name.value
                    out.append((key, selection.name.value))
    return out


def _codes(errors: Iterable[Mapping[str, Any]] | None) -> list[str | None]:
    return [e.get("code") or (e.get("extensions") or {}).get("code") for e in errors or [] if e]


def refused(query: str, body: Mapping[str, Any]) -> set[str]:
    """The root fields of ``query`` that ``body`` answered with NOT_FOUND."""
    data = body.get("data") or {}
    top = body.get("errors") or []
    roots = _root_fields(query)
    seen: set[str] = set()
    for key, name in roots:
        value = data.get(key) if isinstance(data, Mapping) else None
        if isinstance(value, Mapping) and "NOT_FOUND" in _codes(value.get("errors")):
            seen.add(name)
        for error in top:
            path = error.get("path") or []
            mine = path[:1] == [key] or (not path and len(roots) == 1)
            if mine and "NOT_FOUND" in _codes([error]):
                seen.add(name)
    return seen


def record(query: str, body: Mapping[str, Any]) -> None:
    names = refused(query, body)
    path = os.environ.get(LOG_ENV)
    if names and path:
        with Path(path).open("a", encoding="utf-8") as log:
            log.write("".join(f"{n}\n" for n in sorted(names)))


def record_same_as_missing(name: str) -> None:
    """A test proved ``name``'s answer to another city's ids equal to its answer to ids
    that do not exist (whatever the code: a province action refused outright, say)."""
    path = os.environ.get(LOG_ENV)
    if path:
        with Path(path).open("a", encoding="utf-8") as log:
            log.write(f"{name}\n")


def seen_refusing() -> set[str]:
    path = os.environ.get(LOG_ENV)
    if not path or not Path(path).exists():
        return set()
    return set(Path(path).read_text(encoding="utf-8").split())
