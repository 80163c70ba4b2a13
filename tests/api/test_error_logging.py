"""Expected errors (a typed domain error, a refusal, an invalid query) are one INFO line
without traceback; an unexpected one stays an ERROR of ``strawberry.execution`` with it."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pytest
from graphql import GraphQLError

from hotline.schema.schema import build_schema

if TYPE_CHECKING:
    from tests.api.conftest import Gql, World


def _records(caplog: pytest.LogCaptureFixture, name: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == name]


async def test_client_errors_log_quietly(
    gql: Gql, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token, tenant = world.alpha.admin.token, "alpha"
    missing = await gql('{ ticket(id: "VGlja2V0Ojk5OTk5OTk=") { id } }', token=token, tenant=tenant)
    assert missing.codes == ["NOT_FOUND"], missing.body
    denied = await gql(
        '{ provinceStatistics(from: "2026-01-01", to: "2026-01-31") { __typename } }',
        token=world.alpha.agent.token,
        tenant="alpha",
    )
    assert denied.errors, denied.body
    invalid = await gql("{ noSuchField }", token=token, tenant=tenant)
    assert invalid.errors, invalid.body
    assert _records(caplog, "strawberry.execution") == []
    quiet = _records(caplog, "hotline.graphql.expected")
    assert len(quiet) >= 3
    assert all(r.levelno == logging.INFO and r.exc_info is None for r in quiet)
    assert any("expected_error NOT_FOUND path=ticket" in r.getMessage() for r in quiet), [
        r.getMessage() for r in quiet
    ]


def test_unexpected_errors_stay_errors_with_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    try:
        raise RuntimeError("a bug")
    except RuntimeError as exc:
        error = GraphQLError("a bug", original_error=exc)
    build_schema().process_errors([error])
    [record] = _records(caplog, "strawberry.execution")
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert record.exc_info[0] is RuntimeError
    assert _records(caplog, "hotline.graphql.expected") == []
