"""The knowledge API through HTTP: every query and mutation tried across cities."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest_asyncio

from hotline.platform.settings import Settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.schema.app import create_app
from hotline.schema.ids import encode_id
from hotline.tenants.accounts.sessions import issue_token_for
from tests import isolation_registry

from .conftest import World

ARTICLE_FIELDS = "id status shared title answer latest { number } published { number }"


class Api:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.tokens: dict[str, str] = {}

    async def __call__(
        self, user: str, query: str, city: str | None = None, **variables: Any
    ) -> dict[str, Any]:
        if user not in self.tokens:
            with use_scope(Scope.platform()):
                self.tokens[user] = await issue_token_for(username=user, ttl=timedelta(hours=1))
        headers = {"Authorization": f"Bearer {self.tokens[user]}"}
        if city:
            headers["X-Hotline-Tenant"] = city
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
        body: dict[str, Any] = response.json()
        isolation_registry.record(query, body)
        body["status"] = response.status_code
        return body


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api(db: Settings, world: World) -> AsyncIterator[Api]:
    transport = httpx.ASGITransport(app=create_app(db, manage_orm=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield Api(client)


def codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors") or []]


def payload_codes(body: dict[str, Any], name: str) -> list[str]:
    return [e["code"] for e in body["data"][name]["errors"]]


CREATE = f"""mutation($input: CreateArticleInput!) {{
  createArticle(input: $input) {{ article {{ {ARTICLE_FIELDS} }} errors {{ field code }} }} }}"""
UPDATE = f"""mutation($input: UpdateArticleInput!) {{
  updateArticle(input: $input) {{ article {{ {ARTICLE_FIELDS} }} errors {{ field code }} }} }}"""
PUBLISH = f"""mutation($id: ID!, $p: ID) {{ publishArticle(
  articleId: $id, provinceId: $p) {{ article {{ {ARTICLE_FIELDS} }} errors {{ code }} }} }}"""
UNPUBLISH = f"""mutation($id: ID!, $p: ID) {{ unpublishArticle(
  articleId: $id, provinceId: $p) {{ article {{ {ARTICLE_FIELDS} }} errors {{ code }} }} }}"""
ARTICLE = f"""query($id: ID!) {{ article(id: $id) {{ {ARTICLE_FIELDS}
  department {{ name }} versions {{ number isLive }} }} }}"""
ARTICLES = """query($shared: Boolean, $p: ID) {
  articles(shared: $shared, provinceId: $p, first: 50) {
    nodes { id shared status } pageInfo { hasNextPage } } }"""
SEARCH = """query($text: String!) { knowledgeSearch(text: $text, first: 5) {
  articleId title snippet score shared } }"""
WORDS = """mutation($words: [String!]!) {
  addDictionaryWords(words: $words) { words errors { code } } }"""


async def test_city_article_lifecycle_and_isolation(api: Api, world: World) -> None:
    alpha = world.alpha
    department = str(encode_id("Department", alpha.bureau.id))
    created = await api(
        "alpha-admin",
        CREATE,
        "alpha",
        input={
            "title": "住房公积金怎么提取？",
            "answer": "可通过公积金中心网上服务大厅办理提取。",
            "keywords": ["公积金提取"],
            "departmentId": department,
        },
    )
    article = created["data"]["createArticle"]["article"]
    assert article["status"] == "DRAFT"
    assert not article["shared"]
    gid = article["id"]
    published = await api("alpha-admin", PUBLISH, "alpha", id=gid)
    assert published["data"]["publishArticle"]["article"]["published"] == {"number": 1}
    updated = await api(
        "alpha-admin", UPDATE, "alpha", input={"articleId": gid, "answer": "线上办理。"}
    )
    assert updated["data"]["updateArticle"]["article"]["latest"] == {"number": 2}
    detail = await api("alpha-admin", ARTICLE, "alpha", id=gid)
    assert detail["data"]["article"]["department"] == {"name": "住房公积金中心"}
    assert detail["data"]["article"]["versions"] == [
        {"number": 2, "isLive": False},
        {"number": 1, "isLive": True},
    ]
    search = await api("alpha-agent", SEARCH, "alpha", text="公积金怎么取")
    assert search["data"]["knowledgeSearch"][0]["articleId"] == gid
    assert "<mark>" in search["data"]["knowledgeSearch"][0]["snippet"]

    # beta (another province) and gamma (same province) cannot reach alpha's article
    for user, city in (("beta-admin", "beta"), ("gamma-admin", "gamma")):
        body = await api(user, ARTICLE, city, id=gid)
        assert codes(body) == ["NOT_FOUND"]
        listed = await api(user, ARTICLES, city)
        assert gid not in [n["id"] for n in listed["data"]["articles"]["nodes"]]
        found = await api(user, SEARCH, city, text="公积金怎么取")
        assert gid not in [h["articleId"] for h in found["data"]["knowledgeSearch"]]
        for mutation, name in ((PUBLISH, "publishArticle"), (UNPUBLISH, "unpublishArticle")):
            body = await api(user, mutation, city, id=gid)
            assert payload_codes(body, name) == ["NOT_FOUND"]
        body = await api(user, UPDATE, city, input={"articleId": gid, "title": "x"})
        assert payload_codes(body, "updateArticle") == ["NOT_FOUND"]
        body = await api(
            user, CREATE, city, input={"title": "t", "answer": "a", "departmentId": department}
        )
        assert payload_codes(body, "createArticle") == ["NOT_FOUND"]
    # a member of beta cannot select alpha at all
    assert (await api("beta-admin", ARTICLE, "alpha", id=gid))["status"] == 404
    # agents read, they do not manage
    body = await api("alpha-agent", UNPUBLISH, "alpha", id=gid)
    assert payload_codes(body, "unpublishArticle") == ["PERMISSION_DENIED"]
    body = await api("alpha-agent", WORDS, "alpha", words=["泉城广场"])
    assert payload_codes(body, "addDictionaryWords") == ["PERMISSION_DENIED"]
    body = await api("alpha-admin", UNPUBLISH, "alpha", id=gid)
    assert body["data"]["unpublishArticle"]["article"]["status"] == "UNPUBLISHED"
    assert codes(await api("alpha-agent", ARTICLE, "alpha", id=gid)) == ["NOT_FOUND"]


async def test_province_shared_articles_over_graphql(api: Api, world: World) -> None:
    province = str(encode_id("Province", world.shandong.id))
    other = str(encode_id("Province", world.jiangsu.id))
    created = await api(
        "shandong-admin",
        CREATE,
        input={
            "title": "全省统一的低保申请流程",
            "answer": "低保向户籍所在地街道申请。",
            "provinceId": province,
        },
    )
    article = created["data"]["createArticle"]["article"]
    assert article["shared"]
    gid = article["id"]
    published = await api("shandong-admin", PUBLISH, id=gid, p=province)
    assert published["data"]["publishArticle"]["article"]["status"] == "PUBLISHED"
    listed = await api("shandong-admin", ARTICLES, p=province)
    assert [n["id"] for n in listed["data"]["articles"]["nodes"]] == [gid]
    for user, city in (("alpha-agent", "alpha"), ("gamma-agent", "gamma")):
        hits = await api(user, SEARCH, city, text="低保怎么申请")
        assert hits["data"]["knowledgeSearch"][0]["articleId"] == gid
        assert hits["data"]["knowledgeSearch"][0]["shared"]
    # beta's province: nothing; the Shandong admin cannot write in Jiangsu
    hits = await api("beta-agent", SEARCH, "beta", text="低保怎么申请")
    assert gid not in [h["articleId"] for h in hits["data"]["knowledgeSearch"]]
    assert codes(await api("beta-agent", ARTICLE, "beta", id=gid)) == ["NOT_FOUND"]
    body = await api(
        "shandong-admin", CREATE, input={"title": "t", "answer": "a", "provinceId": other}
    )
    assert payload_codes(body, "createArticle") == ["PERMISSION_DENIED"]
    body = await api("shandong-admin", PUBLISH, id=gid, p=other)
    assert payload_codes(body, "publishArticle") == ["PERMISSION_DENIED"]
    # a city admin sees the shared article but cannot change it
    body = await api("alpha-admin", UPDATE, "alpha", input={"articleId": gid, "title": "改"})
    assert payload_codes(body, "updateArticle") == ["PERMISSION_DENIED"]
    body = await api("alpha-admin", UNPUBLISH, "alpha", id=gid)
    assert payload_codes(body, "unpublishArticle") == ["PERMISSION_DENIED"]


async def test_dictionary_words_stay_in_their_city(api: Api, world: World) -> None:
    body = await api("beta-admin", WORDS, "beta", words=["新街口", "夫子庙"])
    assert body["data"]["addDictionaryWords"] == {"words": ["新街口", "夫子庙"], "errors": []}
    created = await api(
        "alpha-admin",
        CREATE,
        "alpha",
        input={"title": "夫子庙附近停车", "answer": "请使用公共停车场。"},
    )
    gid = created["data"]["createArticle"]["article"]["id"]
    await api("alpha-admin", PUBLISH, "alpha", id=gid)
    # alpha's index does not know beta's word, yet the characters still match
    hits = await api("alpha-agent", SEARCH, "alpha", text="夫子庙停车")
    assert hits["data"]["knowledgeSearch"][0]["articleId"] == gid
    body = await api("alpha-agent", SEARCH, "alpha", text="")
    assert codes(body) == ["INVALID"]


SYNONYMS = """query($p: ID) { synonymGroups(provinceId: $p) { id terms shared } }"""
CREATE_SYNONYMS = """mutation($terms: [String!]!, $p: ID) {
  createSynonymGroup(terms: $terms, provinceId: $p) {
    group { id terms shared } errors { field code } } }"""
UPDATE_SYNONYMS = """mutation($id: ID!, $terms: [String!]!, $p: ID) {
  updateSynonymGroup(id: $id, terms: $terms, provinceId: $p) {
    group { id terms } errors { code } } }"""
DELETE_SYNONYMS = """mutation($id: ID!, $p: ID) {
  deleteSynonymGroup(id: $id, provinceId: $p) { deletedId errors { code } } }"""


async def test_synonym_groups_per_city_and_province(api: Api, world: World) -> None:
    created = await api(
        "alpha-admin",
        CREATE,
        "alpha",
        input={"title": "公交卡在哪里充值？", "answer": "可在公交集团营业厅或手机应用充值。"},
    )
    gid = created["data"]["createArticle"]["article"]["id"]
    await api("alpha-admin", PUBLISH, "alpha", id=gid)

    async def found(user: str, city: str, text: str) -> list[str]:
        body = await api(user, SEARCH, city, text=text)
        return [h["articleId"] for h in body["data"]["knowledgeSearch"]]

    assert gid not in await found("alpha-agent", "alpha", "泉城通怎么充钱")
    body = await api("alpha-admin", CREATE_SYNONYMS, "alpha", terms=["泉城通", "公交卡"])
    group = body["data"]["createSynonymGroup"]["group"]
    assert group["terms"] == ["泉城通", "公交卡"]
    assert not group["shared"]
    # applied at once to alpha's index and query
    assert (await found("alpha-agent", "alpha", "泉城通怎么充钱"))[0] == gid
    listed = await api("alpha-agent", SYNONYMS, "alpha")
    assert group["id"] in [g["id"] for g in listed["data"]["synonymGroups"]]

    # bad input: a clear error, nothing stored
    body = await api("alpha-admin", CREATE_SYNONYMS, "alpha", terms=["泉城通"])
    assert body["data"]["createSynonymGroup"]["errors"] == [{"field": "terms", "code": "INVALID"}]
    body = await api("alpha-admin", CREATE_SYNONYMS, "alpha", terms=["公交卡", "乘车卡"])
    assert body["data"]["createSynonymGroup"]["errors"] == [{"field": "terms", "code": "CONFLICT"}]
    body = await api("alpha-agent", CREATE_SYNONYMS, "alpha", terms=["乘车码", "二维码"])
    assert payload_codes(body, "createSynonymGroup") == ["PERMISSION_DENIED"]
    assert len((await api("alpha-agent", SYNONYMS, "alpha"))["data"]["synonymGroups"]) == 1

    # gamma (same province) and beta (another) neither see nor change alpha's group
    for user, city in (("gamma-admin", "gamma"), ("beta-admin", "beta")):
        listed = await api(user, SYNONYMS, city)
        assert group["id"] not in [g["id"] for g in listed["data"]["synonymGroups"]]
        body = await api(user, UPDATE_SYNONYMS, city, id=group["id"], terms=["甲甲", "乙乙"])
        assert payload_codes(body, "updateSynonymGroup") == ["NOT_FOUND"]
        body = await api(user, DELETE_SYNONYMS, city, id=group["id"])
        assert payload_codes(body, "deleteSynonymGroup") == ["NOT_FOUND"]
    assert (await api("alpha-agent", SYNONYMS, "alpha"))["data"]["synonymGroups"][0] == group

    # the province's shared list reaches every city of the province, and only it
    province = str(encode_id("Province", world.shandong.id))
    body = await api("shandong-admin", CREATE_SYNONYMS, terms=["暂住证", "居住证"], p=province)
    shared = body["data"]["createSynonymGroup"]["group"]
    assert shared["shared"]
    for city in ("alpha", "gamma"):
        listed = await api(f"{city}-agent", SYNONYMS, city)
        assert shared["id"] in [g["id"] for g in listed["data"]["synonymGroups"]]
    listed = await api("beta-agent", SYNONYMS, "beta")
    assert shared["id"] not in [g["id"] for g in listed["data"]["synonymGroups"]]
    body = await api("alpha-admin", DELETE_SYNONYMS, "alpha", id=shared["id"])
    assert payload_codes(body, "deleteSynonymGroup") == ["PERMISSION_DENIED"]
    other = str(encode_id("Province", world.jiangsu.id))
    absent = str(encode_id("Province", 10**9))
    body = await api("shandong-admin", CREATE_SYNONYMS, terms=["甲甲", "乙乙"], p=other)
    assert payload_codes(body, "createSynonymGroup") == ["PERMISSION_DENIED"]
    missing = await api("shandong-admin", CREATE_SYNONYMS, terms=["甲甲", "乙乙"], p=absent)
    assert payload_codes(missing, "createSynonymGroup") == ["PERMISSION_DENIED"]
    isolation_registry.record_same_as_missing("createSynonymGroup")
    # another province's lists and articles answer like a province that does not exist
    for query, name in ((SYNONYMS, "synonymGroups"), (ARTICLES, "articles")):
        foreign = await api("shandong-admin", query, p=other)
        nowhere = await api("shandong-admin", query, p=absent)
        assert foreign == nowhere, (foreign, nowhere)
        isolation_registry.record_same_as_missing(name)
    body = await api("shandong-admin", SYNONYMS, p=province)
    assert [g["id"] for g in body["data"]["synonymGroups"]] == [shared["id"]]

    # update and delete by the owner re-index
    body = await api(
        "alpha-admin", UPDATE_SYNONYMS, "alpha", id=group["id"], terms=["泉城一卡通", "公交卡"]
    )
    assert body["data"]["updateSynonymGroup"]["group"]["terms"] == ["泉城一卡通", "公交卡"]
    body = await api("alpha-admin", DELETE_SYNONYMS, "alpha", id=group["id"])
    assert body["data"]["deleteSynonymGroup"]["deletedId"] == group["id"]
    assert gid not in await found("alpha-agent", "alpha", "泉城一卡通怎么充钱")
