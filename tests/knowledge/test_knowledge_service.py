"""Articles, versions and publishing; province-shared articles; isolation; dictionaries."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.kernel.errors import Invalid, NotFound, PermissionDenied
from hotline.tenants.knowledge import articles, search, segmentation, synonyms
from hotline.tenants.knowledge.models import ArticleStatus

from .conftest import World


async def test_versions_and_publishing(world: World) -> None:
    city = world.alpha
    admin = await world.actor(city.admin, city)
    agent = await world.actor(city.agent, city)
    with use_scope(city.scope(city.admin)):
        view = await articles.create_article(
            actor=admin,
            title="垃圾分类怎么分？",
            answer="生活垃圾分为四类。",
            tags=["环境卫生"],
            department_id=city.bureau.id,
        )
        article_id = view.article.id
        assert view.article.status is ArticleStatus.DRAFT
        assert view.article.department_id == city.bureau.id
        # a draft is invisible to readers and unsearchable
        with pytest.raises(NotFound):
            await articles.access_article(actor=agent, article_id=article_id)
        await articles.publish_article(actor=admin, article_id=article_id)
        edited = await articles.update_article(
            actor=admin, article_id=article_id, answer="可回收物、有害垃圾、厨余垃圾和其他垃圾。"
        )
        assert edited.latest.number == 2
        assert edited.published is not None
        assert edited.published.number == 1
        # the published text stays live until the edit is published
        assert edited.current.answer == "生活垃圾分为四类。"
        unchanged = await articles.update_article(
            actor=admin, article_id=article_id, title=" 垃圾分类怎么分？ "
        )
        assert unchanged.latest.number == 2
        assert await search.search_articles(actor=agent, text="可回收物") == []
        live = await articles.publish_article(actor=admin, article_id=article_id)
        assert live.published is not None
        assert live.published.number == 2
        hits = await search.search_articles(actor=agent, text="厨余垃圾是什么")
        assert hits[0].article_id == article_id
        assert "<mark>厨余垃圾</mark>" in hits[0].snippet
        versions = await articles.list_versions(actor=admin, article_id=article_id)
        assert [v.number for v in versions] == [2, 1]
        assert [v.is_live for v in versions] == [True, False]
        with pytest.raises(PermissionDenied):
            await articles.list_versions(actor=agent, article_id=article_id)
        assert await articles.article_answer(actor=agent, article_id=article_id) == (
            article_id,
            "可回收物、有害垃圾、厨余垃圾和其他垃圾。",
        )
        await articles.unpublish_article(actor=admin, article_id=article_id)
        assert await search.search_articles(actor=agent, text="可回收物") == []
        with pytest.raises(NotFound):
            await articles.article_answer(actor=agent, article_id=article_id)
        with pytest.raises(Invalid):
            await articles.unpublish_article(actor=admin, article_id=article_id)
        # agents read; they do not manage
        with pytest.raises(PermissionDenied):
            await articles.create_article(actor=agent, title="x", answer="y")


async def test_validity_dates(world: World) -> None:
    city = world.alpha
    admin = await world.actor(city.admin, city)
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()  # the city's today
    with use_scope(city.scope(city.admin)):
        with pytest.raises(Invalid):
            await articles.create_article(
                actor=admin,
                title="t",
                answer="a",
                valid_from=today,
                valid_until=today - timedelta(1),
            )
        view = await articles.create_article(
            actor=admin,
            title="冬季供暖期延长通知",
            answer="今年供暖期延长至三月底。",
            valid_until=today - timedelta(days=2),
        )
        await articles.publish_article(actor=admin, article_id=view.article.id)
        hits = await search.search_articles(actor=admin, text="供暖期延长")
        assert view.article.id not in [h.article_id for h in hits]
        with pytest.raises(Invalid):
            await articles.article_answer(actor=admin, article_id=view.article.id)
        await articles.update_article(actor=admin, article_id=view.article.id, valid_until=None)
        await articles.publish_article(actor=admin, article_id=view.article.id)
        hits = await search.search_articles(actor=admin, text="供暖期延长")
        assert hits[0].article_id == view.article.id


async def test_province_shared_articles(world: World) -> None:
    padmin = await world.actor(world.province_admin)
    pid = world.shandong.id
    view = await articles.create_article(
        actor=padmin,
        title="全省新生儿医保参保登记",
        answer="新生儿出生后可在全省任一医保经办窗口办理居民医保参保登记。",
        keywords=["新生儿参保"],
        province_id=pid,
    )
    shared_id = view.article.id
    assert view.article.tenant_id is None
    # not published yet: the cities do not see it
    alpha_agent = await world.actor(world.alpha.agent, world.alpha)
    with use_scope(world.alpha.scope(world.alpha.agent)), pytest.raises(NotFound):
        await articles.access_article(actor=alpha_agent, article_id=shared_id)
    await articles.publish_article(actor=padmin, article_id=shared_id, province_id=pid)
    for city in (world.alpha, world.gamma):
        agent = await world.actor(city.agent, city)
        with use_scope(city.scope(city.agent)):
            hits = await search.search_articles(actor=agent, text="新生儿怎么参保")
            assert hits[0].article_id == shared_id
            assert hits[0].shared
            assert (await articles.access_article(actor=agent, article_id=shared_id)).article.id
            assert (await articles.article_answer(actor=agent, article_id=shared_id))[
                0
            ] == shared_id
            listed = await articles.list_articles(actor=agent, shared=True)
            assert shared_id in [v.article.id for v in listed]
    # a city admin reads it but cannot change it
    admin = await world.actor(world.alpha.admin, world.alpha)
    with use_scope(world.alpha.scope(world.alpha.admin)), pytest.raises(PermissionDenied):
        await articles.update_article(actor=admin, article_id=shared_id, title="改")
    # a city admin cannot create shared articles; a city scope cannot name a province
    with pytest.raises(PermissionDenied):
        await articles.create_article(
            actor=await world.actor(world.alpha.admin), title="t", answer="a", province_id=pid
        )
    with use_scope(world.alpha.scope(world.alpha.admin)), pytest.raises(PermissionDenied):
        await articles.create_article(actor=admin, title="t", answer="a", province_id=pid)
    # another province sees nothing of it
    beta = world.beta
    beta_agent = await world.actor(beta.agent, beta)
    with use_scope(beta.scope(beta.agent)):
        assert shared_id not in [
            h.article_id for h in await search.search_articles(actor=beta_agent, text="新生儿参保")
        ]
        with pytest.raises(NotFound):
            await articles.access_article(actor=beta_agent, article_id=shared_id)
        with pytest.raises(NotFound):
            await articles.article_answer(actor=beta_agent, article_id=shared_id)
    # the province scope edits and unpublishes it
    edited = await articles.update_article(
        actor=padmin, article_id=shared_id, answer="新生儿可在线办理参保登记。", province_id=pid
    )
    assert edited.latest.number == 2
    with pytest.raises(Invalid):
        await articles.create_article(
            actor=padmin,
            title="t",
            answer="a",
            province_id=pid,
            department_id=world.alpha.bureau.id,
        )


async def test_city_articles_do_not_cross_cities(world: World) -> None:
    alpha, beta = world.alpha, world.beta
    admin = await world.actor(alpha.admin, alpha)
    with use_scope(alpha.scope(alpha.admin)):
        view = await articles.create_article(
            actor=admin, title="阿尔法市独有的停车政策", answer="阿尔法市夜间路边停车免费。"
        )
        await articles.publish_article(actor=admin, article_id=view.article.id)
    article_id = view.article.id
    beta_admin = await world.actor(beta.admin, beta)
    gamma_admin = await world.actor(world.gamma.admin, world.gamma)
    for city, actor in ((beta, beta_admin), (world.gamma, gamma_admin)):
        with use_scope(city.scope()):
            with pytest.raises(NotFound):
                await articles.access_article(actor=actor, article_id=article_id)
            with pytest.raises(NotFound):
                await articles.article_answer(actor=actor, article_id=article_id)
            for write in (articles.publish_article, articles.unpublish_article):
                with pytest.raises(NotFound):
                    await write(actor=actor, article_id=article_id)
            with pytest.raises(NotFound):
                await articles.update_article(actor=actor, article_id=article_id, title="x")
            hits = await search.search_articles(actor=actor, text="夜间路边停车免费")
            assert article_id not in [h.article_id for h in hits]
            assert article_id not in [
                v.article.id for v in await articles.list_articles(actor=actor)
            ]
            # a standard answer must name a department of the article's own city
            with pytest.raises(NotFound):
                await articles.create_article(
                    actor=actor, title="t", answer="a", department_id=alpha.bureau.id
                )


async def test_city_dictionary_keeps_place_names_whole(world: World) -> None:
    city = world.gamma
    admin = await world.actor(city.admin, city)
    place = "泺口服装城"
    with use_scope(city.scope(city.admin)):
        view = await articles.create_article(
            actor=admin, title="泺口服装城周边道路改造", answer="改造期间请绕行。"
        )
        await articles.publish_article(actor=admin, article_id=view.article.id)
        before = await search.segment(actor=admin, text=f"{place}附近修路")
        assert "泺口" not in before
        await search.add_dictionary_words(actor=admin, words=["泺口", place])
        after = await search.segment(actor=admin, text=f"{place}附近修路")
        assert "泺口" in after
        assert place in after
        assert [w.word for w in await search.list_dictionary_words(actor=admin)] == ["泺口", place]
        # live articles were re-indexed with the new words: the place name alone finds it
        hits = await search.search_articles(actor=admin, text="泺口")
        assert hits
        assert hits[0].article_id == view.article.id
        with pytest.raises(Invalid):
            await search.add_dictionary_words(actor=admin, words=["x"])
    # the words are the city's own: alpha (same province) still splits the name
    alpha_admin = await world.actor(world.alpha.admin, world.alpha)
    with use_scope(world.alpha.scope()):
        assert "泺口" not in await search.segment(actor=alpha_admin, text=place)
        assert await search.list_dictionary_words(actor=alpha_admin) == []
    with use_scope(Scope.city(city.id, city.province_id)):
        agent = await world.actor(city.agent, city)
        with pytest.raises(PermissionDenied):
            await search.add_dictionary_words(actor=agent, words=["洪家楼"])


async def test_equal_scores_are_ordered_by_relevance_not_id(world: World) -> None:
    city = world.gamma
    admin = await world.actor(city.admin, city)
    agent = await world.actor(city.agent, city)
    with use_scope(city.scope(city.admin)):
        ids = []
        for answer in (
            "请向管理部门咨询。本市还提供供水、供电、燃气、供暖、公交、教育、医疗、养老、"
            "就业、社保、户政、出入境、税务等多种便民服务，详情见政务服务网各栏目。",
            "请向管理部门咨询。",
        ):
            view = await articles.create_article(
                actor=admin, title="路边泊位收费标准", answer=answer
            )
            await articles.publish_article(actor=admin, article_id=view.article.id)
            ids.append(view.article.id)
    with use_scope(city.scope(city.agent)):
        hits = await search.search_articles(actor=agent, text="泊位收费")
    # the same title match: the article that is about it, not the older one, comes first
    assert [h.article_id for h in hits[:2]] == [ids[1], ids[0]]
    assert hits[0].score == hits[1].score


async def test_city_synonyms_reach_shared_articles_at_query_time(world: World) -> None:
    province_admin = await world.actor(world.province_admin)
    view = await articles.create_article(
        actor=province_admin,
        title="机动车驾驶证记分如何查询？",
        answer="可通过交管12123查询驾驶证记分。",
        province_id=world.shandong.id,
    )
    await articles.publish_article(
        actor=province_admin, article_id=view.article.id, province_id=world.shandong.id
    )
    gamma = world.gamma
    gamma_admin = await world.actor(gamma.admin, gamma)
    with use_scope(gamma.scope(gamma.admin)):
        before = await search.search_articles(actor=gamma_admin, text="本本扣了几分")
        assert view.article.id not in [h.article_id for h in before]
        group = await synonyms.create_synonym_group(actor=gamma_admin, terms=["本本", "驾驶证"])
        assert not group.shared
        hits = await search.search_articles(actor=gamma_admin, text="本本扣了几分")
        assert hits[0].article_id == view.article.id
        assert "<mark>驾驶证</mark>" in hits[0].snippet
    # gamma's list is gamma's: alpha neither applies nor sees it
    alpha = world.alpha
    alpha_agent = await world.actor(alpha.agent, alpha)
    with use_scope(alpha.scope(alpha.agent)):
        hits = await search.search_articles(actor=alpha_agent, text="本本扣了几分")
        assert view.article.id not in [h.article_id for h in hits]
        visible = await synonyms.list_synonym_groups(actor=alpha_agent)
        assert group.group.id not in [g.group.id for g in visible]
        with pytest.raises(NotFound):
            await synonyms.delete_synonym_group(
                actor=await world.actor(alpha.admin, alpha), group_id=group.group.id
            )


async def test_a_province_list_change_reindexes_cities_with_their_dictionaries(
    world: World,
) -> None:
    city = world.gamma
    admin = await world.actor(city.admin, city)
    with use_scope(city.scope(city.admin)):
        await search.add_dictionary_words(actor=admin, words=["趵突泉"])
        view = await articles.create_article(
            actor=admin, title="趵突泉景区门票价格", answer="成人票价40元，学生半价。"
        )
        await articles.publish_article(actor=admin, article_id=view.article.id)
        assert view.article.id not in [
            h.article_id for h in await search.search_articles(actor=admin, text="入园票几块钱")
        ]
    province_admin = await world.actor(world.province_admin)
    segmentation.forget()  # another process: gamma's dictionary is not in its memory
    await synonyms.create_synonym_group(
        actor=province_admin, terms=["门票", "入园票"], province_id=world.shandong.id
    )
    with use_scope(city.scope(city.admin)):
        hits = await search.search_articles(actor=admin, text="入园票几块钱")
        segmented = await search.segment(actor=admin, text="趵突泉门票")
    assert hits[0].article_id == view.article.id
    assert "趵突泉" in segmented
