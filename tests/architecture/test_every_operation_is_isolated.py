"""Every query, mutation and subscription of the schema is exercised by a test module that
also checks the cross-tenant answer (NOT_FOUND) — the rule "every new query or mutation
gets a cross-tenant test", kept honest as the schema grows.

This is a coverage floor, not the isolation test itself: the cases live next to their
domain (tests/api/test_isolation.py, tests/tickets_api/, tests/knowledge/, tests/evidence/,
tests/workers/). Operations that take no ids of any city are listed below with a reason.
"""

from __future__ import annotations

import re
from pathlib import Path

from hotline.schema.schema import build_schema

TESTS = Path(__file__).resolve().parents[1]

# Operations acting only on the caller's own account or on nothing tenant-owned.
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


def _operations() -> set[str]:
    schema = build_schema()._schema
    names: set[str] = set()
    for root in (schema.query_type, schema.mutation_type, schema.subscription_type):
        if root is not None:
            names.update(root.fields)
    return names


def _isolation_modules() -> str:
    texts = [
        p.read_text(encoding="utf-8")
        for p in TESTS.rglob("test_*.py")
        if "NOT_FOUND" in p.read_text(encoding="utf-8")
    ]
    return "\n".join(texts)


def test_every_operation_has_a_cross_tenant_case() -> None:
    corpus = _isolation_modules()
    missing = sorted(
        name
        for name in _operations() - set(NO_CITY_IDS)
        if not re.search(rf"\b{re.escape(name)}\b", corpus)
    )
    assert missing == [], f"operations with no test module checking NOT_FOUND: {missing}"


def test_the_allowlist_names_real_operations() -> None:
    assert set(NO_CITY_IDS) <= _operations()
