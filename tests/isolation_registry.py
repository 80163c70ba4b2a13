"""Which GraphQL operations this test run saw answer NOT_FOUND — the executed proof
behind "every query, mutation and subscription has a cross-city case".

Every GraphQL helper of the suite passes its answers to :func:`record`; an operation
counts once one of its answers was NOT_FOUND (in its payload's ``errors`` or as a
top-level error at its path). At the end of a full run (``make test``, xdist or not)
``tests/conftest.py`` fails the session if an operation of the schema, other than those
taking no city ids (``NO_CITY_IDS``), was never seen refusing. A test file merely
mentioning an operation's name no longer counts: the refusal must have been executed.
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
    "provinceStatistics": "the caller's own province; other provinces' cities never appear "
    "(tests/statistics/test_api.py)",
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
    seen: set[str] = set()
    for key, name in _root_fields(query):
        value = data.get(key) if isinstance(data, Mapping) else None
        if isinstance(value, Mapping) and "NOT_FOUND" in _codes(value.get("errors")):
            seen.add(name)
        for error in top:
            path = error.get("path") or []
            if path[:1] == [key] and "NOT_FOUND" in _codes([error]):
                seen.add(name)
    return seen


def record(query: str, body: Mapping[str, Any]) -> None:
    names = refused(query, body)
    path = os.environ.get(LOG_ENV)
    if names and path:
        with Path(path).open("a", encoding="utf-8") as log:
            log.write("".join(f"{n}\n" for n in sorted(names)))


def seen_refusing() -> set[str]:
    path = os.environ.get(LOG_ENV)
    if not path or not Path(path).exists():
        return set()
    return set(Path(path).read_text(encoding="utf-8").split())
