"""Which routing rules match a request (``routing.service.matching_rules``, matched in the
database): the request's area inside the rule's area subtree, its category inside the
rule's category subtree, and no keywords or one non-empty keyword in the content; active
rules only, the current city's only, in priority order."""

from __future__ import annotations

from typing import Any, cast

from hotline.platform.tenancy import use_scope
from hotline.tenants.categories.models import Category
from hotline.tenants.routing.models import RoutingRule
from hotline.tenants.routing.service import matching_rules
from tests.world import World


async def test_rules_match_by_subtree_keyword_and_order(world: World) -> None:
    alpha, beta = world.alpha, world.beta
    with use_scope(alpha.scope()):
        construction = await Category.get(name="illegal construction")
        made = {
            name: await RoutingRule.create(name=name, department=alpha.bureau, **fields)
            for name, fields in cast(
                dict[str, dict[str, Any]],
                {
                    "street lamps": {"priority": 1, "keywords": ["路灯"]},
                    "empty keyword only": {"priority": 2, "keywords": [""]},
                    "lamps in the street": {
                        "priority": 3,
                        "keywords": ["路灯"],
                        "area": alpha.street,
                    },
                    "district, any text": {"priority": 4, "area": alpha.district},
                    "construction": {"priority": 5, "category": construction},
                    "switched off": {"priority": 6, "keywords": ["路灯"], "is_active": False},
                },
            ).items()
        }
    with use_scope(beta.scope()):
        await RoutingRule.create(
            name="beta lamps", priority=0, keywords=["路灯"], department=beta.bureau
        )

    try:

        async def names(
            content: str, area: int | None = None, category: int | None = None
        ) -> list[str]:
            with use_scope(alpha.scope()):
                rules = await matching_rules(content=content, area_id=area, category_id=category)
            return [r.name for r in rules if r.name in made]

        assert await names("小区路灯不亮") == ["street lamps"]
        # the community lies in the street's subtree, which lies in the district's
        assert await names("小区路灯不亮", area=alpha.community.id) == [
            "street lamps",
            "lamps in the street",
            "district, any text",
        ]
        assert await names("噪音扰民", area=alpha.district.id) == ["district, any text"]
        # the district is above the street: a street rule does not take it
        assert "lamps in the street" not in await names("路灯", area=alpha.district.id)
        # a child category is in its parent's subtree; the parent is not in the child's
        assert "construction" in await names("违建", category=construction.id)
        assert "construction" not in await names("违建", category=alpha.urban.id)
        # another city's area id is nobody's area here
        assert await names("噪音", area=beta.district.id) == []
        with use_scope(alpha.scope()):
            rule = await matching_rules(content="路灯", area_id=None, category_id=None)
        assert rule[0].department_id == alpha.bureau.id
        assert rule[0].keywords == ["路灯"]
    finally:  # the world is shared by the module's tests: its rules stay as they were
        with use_scope(alpha.scope()):
            await RoutingRule.filter(name__in=list(made)).delete()
        with use_scope(beta.scope()):
            await RoutingRule.filter(name="beta lamps").delete()
