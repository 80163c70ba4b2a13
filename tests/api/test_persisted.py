"""Persisted queries: registered documents run by hash, automatic registration for the
callers allowed ad-hoc queries, and a caller class limited to registered documents."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import pytest_asyncio

from hotline.platform.settings import Settings
from hotline.schema.persisted import sha256
from hotline.schema.schema import build_schema

if TYPE_CHECKING:
    from tests.api.conftest import World

REGISTERED = "query Me { me { platformOperator } }"
AD_HOC = "query Other { me { platformOperator user { username } } }"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def http(
    db: Settings, world: World, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[httpx.AsyncClient]:
    from hotline.schema.app import create_app

    manifest = tmp_path_factory.mktemp("apq") / "persisted-queries.json"
    manifest.write_text(json.dumps({sha256(REGISTERED): REGISTERED}), encoding="utf-8")
    settings = db.model_copy(update={"persisted_queries": manifest, "persisted_only": "anonymous"})
    transport = httpx.ASGITransport(app=create_app(settings, manage_orm=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def _apq(digest: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


async def _post(
    http: httpx.AsyncClient, body: dict[str, Any], token: str | None = None
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.post("/graphql", json=body, headers=headers)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _codes(answer: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in answer.get("errors") or []]


async def test_a_registered_hash_runs_without_its_text(http: httpx.AsyncClient) -> None:
    answer = await _post(http, {"extensions": _apq(sha256(REGISTERED))})
    assert answer["data"] == {"me": {"platformOperator": False}}
    # the text with its hash, or the registered text alone, run too
    both = await _post(http, {"query": REGISTERED, "extensions": _apq(sha256(REGISTERED))})
    assert both["data"] == answer["data"]
    assert (await _post(http, {"query": REGISTERED}))["data"] == answer["data"]


async def test_anonymous_callers_are_limited_to_registered_queries(
    http: httpx.AsyncClient,
) -> None:
    ad_hoc = await _post(http, {"query": AD_HOC})
    assert ad_hoc["data"] is None
    assert _codes(ad_hoc) == ["PERSISTED_QUERY_REQUIRED"]
    unknown = await _post(http, {"extensions": _apq(sha256(AD_HOC))})
    assert _codes(unknown) == ["PERSISTED_QUERY_REQUIRED"]
    # and they cannot register one
    register = await _post(http, {"query": AD_HOC, "extensions": _apq(sha256(AD_HOC))})
    assert _codes(register) == ["PERSISTED_QUERY_REQUIRED"]
    assert _codes(await _post(http, {"extensions": _apq(sha256(AD_HOC))})) == [
        "PERSISTED_QUERY_REQUIRED"
    ]


async def test_signed_in_callers_register_automatically(
    http: httpx.AsyncClient, world: World
) -> None:
    token = world.alpha.agent.token
    digest = sha256(AD_HOC)
    first = await _post(http, {"extensions": _apq(digest)}, token)
    assert first["data"] is None
    assert first["errors"][0]["message"] == "PersistedQueryNotFound"  # what Apollo expects
    assert _codes(first) == ["PERSISTED_QUERY_NOT_FOUND"]
    registered = await _post(http, {"query": AD_HOC, "extensions": _apq(digest)}, token)
    assert registered["data"]["me"]["user"]["username"] == "alpha_agent@alpha"
    again = await _post(http, {"extensions": _apq(digest)}, token)
    assert again["data"] == registered["data"]
    # ad-hoc text without a hash is fine for them
    assert (await _post(http, {"query": AD_HOC}, token))["data"] == registered["data"]


async def test_a_wrong_hash_is_refused(http: httpx.AsyncClient, world: World) -> None:
    token = world.alpha.agent.token
    wrong = await _post(http, {"query": AD_HOC, "extensions": _apq(sha256(REGISTERED))}, token)
    assert _codes(wrong) == ["PERSISTED_QUERY_HASH_MISMATCH"]
    malformed = await _post(http, {"extensions": _apq("not-a-hash")}, token)
    assert _codes(malformed) == ["PERSISTED_QUERY_HASH_MISMATCH"]


def test_bad_configuration_fails_at_start(db: Settings, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown caller classes"):
        build_schema(db.model_copy(update={"persisted_only": "anonymous,robots"}))
    lying = tmp_path / "lying.json"
    lying.write_text(json.dumps({sha256(REGISTERED): AD_HOC}), encoding="utf-8")
    with pytest.raises(ValueError, match="another hash"):
        build_schema(db.model_copy(update={"persisted_queries": lying}))
