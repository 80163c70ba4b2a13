"""The rule "every query, mutation and subscription gets a cross-city test", kept by
execution: every GraphQL helper of the suite tells ``tests/isolation_registry.py`` which
operations answered NOT_FOUND, and after a green run of the whole suite
``tests/conftest.py`` fails the session if an operation taking city ids never did. The
cases live next to their domain (tests/api/test_isolation.py, tests/tickets_api/, …).

Here: that the registry reads answers right, and that its allowlist is real."""

from __future__ import annotations

from hotline.schema.schema import build_schema
from tests.isolation_registry import NO_CITY_IDS, refused


def _operations() -> set[str]:
    schema = build_schema()._schema
    names: set[str] = set()
    for root in (schema.query_type, schema.mutation_type, schema.subscription_type):
        if root is not None:
            names.update(root.fields)
    return names


def test_the_allowlist_names_real_operations() -> None:
    assert set(NO_CITY_IDS) <= _operations()


def test_a_refusal_counts_only_when_the_answer_is_not_found() -> None:
    query = 'mutation { a: cancelTicket(ticketId: 1, reason: "x") { errors { code } } }'
    assert refused(query, {"data": {"a": {"errors": [{"code": "NOT_FOUND"}]}}}) == {"cancelTicket"}
    assert refused(query, {"data": {"a": {"errors": [{"code": "INVALID"}]}}}) == set()
    assert refused(query, {"data": {"a": {"errors": []}}}) == set()
    top = {
        "data": None,
        "errors": [{"path": ["ticket"], "extensions": {"code": "NOT_FOUND"}}],
    }
    assert refused("{ ticket(id: 1) { id } }", top) == {"ticket"}
    assert refused("{ tickets { edges { cursor } } }", top) == set()
