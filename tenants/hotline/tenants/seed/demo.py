"""Seed the demo province; safe to run again (existing rows are kept as they are)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from hotline.platform.db.migrate import analyze
from hotline.platform.settings import get_settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.accounts import memberships, users
from hotline.tenants.accounts.models import Membership, ProvinceRole, User
from hotline.tenants.departments import service as departments
from hotline.tenants.departments.models import Department, DepartmentKind
from hotline.tenants.kernel.access import Actor
from hotline.tenants.kernel.roles import PlatformRole, Role
from hotline.tenants.knowledge import synonyms
from hotline.tenants.knowledge.models import SynonymGroup
from hotline.tenants.provinces import service as provinces
from hotline.tenants.provinces.calendar import seed_official_calendar
from hotline.tenants.provinces.models import Province, Tenant
from hotline.tenants.routing.ml_service import train_routing_model
from hotline.tenants.routing.places_models import ProvinceRoutingModel
from hotline.tenants.routing.province import train_province_model
from hotline.tenants.seed.business_demo import seed_business
from hotline.tenants.seed.corpus_demo import (
    seed_corpus_tickets,
    seed_gazetteer,
    sync_catalogue,
)
from hotline.tenants.seed.data import (
    DEMO_PASSWORD,
    DEZHOU,
    JINAN,
    PLATFORM_OPERATOR,
    PROVINCE,
    PROVINCE_ADMIN,
    PROVINCE_SYNONYMS,
    CityDemo,
    Dept,
)
from hotline.tenants.seed.knowledge_demo import seed_knowledge
from hotline.tenants.seed.routing_demo import seed_categories, seed_routing_rules
from hotline.tenants.seed.stats_demo import seed_history
from hotline.tenants.seed.tickets_demo import seed_closed_tickets
from hotline.tenants.tickets.models import Ticket

Progress = Callable[[str], None]

SYSTEM = Actor(user_id=None, platform_operator=True, username="system")


@dataclass
class SeedReport:
    province: str
    cities: list[str] = field(default_factory=list)
    users: list[tuple[str, str, str]] = field(default_factory=list)  # username, role, where
    routing: list[str] = field(default_factory=list)
    created: int = 0


async def _user(username: str, display_name: str, *, operator: bool = False) -> tuple[User, bool]:
    existing = await User.get_or_none(username=username)
    if existing is not None:
        return existing, False
    user = await users.create_user(
        actor=None,
        username=username,
        display_name=display_name,
        password=DEMO_PASSWORD,
        platform_operator=operator,
    )
    return user, True


async def _tree(
    actor: Actor, parent: Department, nodes: tuple[Dept, ...], codes: dict[str, int]
) -> int:
    created = 0
    for node in nodes:
        department = await Department.get_or_none(code=node.code)
        if department is None:
            department = await departments.create_department(
                actor=actor,
                parent_id=parent.id,
                kind=DepartmentKind(node.kind),
                name=node.name,
                code=node.code,
                duty_hours=node.duty_hours,
                function=node.function or None,
            )
            created += 1
        elif node.function and department.function != node.function:
            # a tree seeded before the catalogue: tag it
            department.function = node.function
            await department.save(update_fields=["function", "updated_at"])
        codes[node.code] = department.id
        created += await _tree(actor, department, node.children, codes)
    return created


async def _city(province: Province, city: CityDemo, report: SeedReport, progress: Progress) -> None:
    tenant = await Tenant.get_or_none(code=city.code)
    if tenant is None:
        tenant = await provinces.create_tenant(
            actor=SYSTEM,
            province_id=province.id,
            code=city.code,
            slug=city.slug,
            name=city.name,
            number_prefix=city.prefix,
            features={"business": True, "open311": True},
        )
        report.created += 1
    report.cities.append(f"{tenant.name} {tenant.code} ({tenant.slug})")
    actor = Actor(
        user_id=None,
        tenant_id=tenant.id,
        province_id=province.id,
        province_admin_of=frozenset({province.id}),
        username="system",
    )
    with use_scope(Scope.city(tenant.id, province.id)):
        center = await Department.get(code="center")
        codes: dict[str, int] = {"center": center.id}
        report.created += await _tree(actor, center, city.departments, codes)
        for username, display_name, role, dept_code in city.users:
            with use_scope(Scope.platform()):
                user, created = await _user(username, display_name)
            report.created += created
            if not await Membership.filter(user_id=user.id, role=Role(role)).exists():
                await memberships.grant_membership(
                    actor=actor,
                    user_id=user.id,
                    role=Role(role),
                    department_id=codes[dept_code] if dept_code else None,
                )
            report.users.append(
                (username, role, f"{city.slug}{'/' + dept_code if dept_code else ''}")
            )
        report.created += await seed_gazetteer(city.slug, codes)
        category_ids, new_categories = await seed_categories(actor=actor)
        new_rules = await seed_routing_rules(
            actor=actor, city=city, departments=codes, category_ids=category_ids
        )
        report.created += new_categories + new_rules
        report.routing.append(
            f"{tenant.name}: {len(category_ids)} categories, {new_rules} routing rules added"
        )
        progress(f"{tenant.name}: knowledge articles")
        report.created += await seed_knowledge(actor=actor, city=str(tenant.name))
        if "business" not in (tenant.features or {}):  # a city seeded before the extension
            tenant = await provinces.update_tenant(
                actor=actor, tenant_id=tenant.id, features={"business": True}
            )
        if (tenant.features or {}).get("business"):
            progress(f"{tenant.name}: the business registry, managers and a policy")
            business_rows, logins = await seed_business(actor=actor, city=city)
            report.created += business_rows
            report.users += logins
        if not await Ticket.exists():
            # Closed history for the routing model to learn from, then the first model.
            progress(f"{tenant.name}: closed tickets for the routing model to learn from")
            report.created += await seed_closed_tickets(
                tenant_id=tenant.id,
                province_id=province.id,
                departments=codes,
                per_topic=40,
                city=city,
                categories=category_ids,
            )
            report.created += await seed_corpus_tickets(
                tenant_id=tenant.id, province_id=province.id, slug=city.slug
            )
            # bulk-loaded history: the training query must not plan for empty tables
            await analyze(get_settings(), ["tickets", "assignments"])
            progress(f"{tenant.name}: training the routing model")
            model = await train_routing_model(actor=None)
            report.routing.append(
                f"{tenant.name}: routing model v{model.version} on {model.samples} closed "
                f"tickets, held-out top-1 {model.top1_accuracy:.1%}, "
                f"top-3 {model.top3_accuracy:.1%}"
            )
        progress(f"{tenant.name}: months of history for the dashboards and the public page")
        written = await seed_history(
            actor=actor,
            tenant=tenant,
            city=city,
            departments=codes,
            categories=category_ids,
        )
        report.created += written


async def _synonyms(province_id: int) -> int:
    """The province's shared synonym list for knowledge search, unless it has one."""
    if await SynonymGroup.filter(tenant_id=None, province_id=province_id).exists():
        return 0
    actor = Actor(
        user_id=None,
        province_id=province_id,
        province_admin_of=frozenset({province_id}),
        username="system",
    )
    for terms in PROVINCE_SYNONYMS:
        await synonyms.create_synonym_group(actor=actor, terms=terms, province_id=province_id)
    return len(PROVINCE_SYNONYMS)


def _silent(message: str) -> None:
    return None


async def seed_demo(*, progress: Progress = _silent) -> SeedReport:
    """Seed (idempotently); ``progress`` hears a line before each slow step."""
    with use_scope(Scope.platform()):
        province = await Province.get_or_none(code=PROVINCE["code"])
        report = SeedReport(province=f"{PROVINCE['name']} {PROVINCE['code']}")
        if province is None:
            province = await provinces.create_province(
                actor=SYSTEM, code=PROVINCE["code"], slug=PROVINCE["slug"], name=PROVINCE["name"]
            )
            report.created += 1
        operator, created = await _user(*PLATFORM_OPERATOR, operator=True)
        report.created += created
        report.users.append((operator.username, "platform_operator", "platform"))
        admin, created = await _user(*PROVINCE_ADMIN)
        report.created += created
        if not await ProvinceRole.exists(user_id=admin.id, province_id=province.id):
            await memberships.grant_province_role(
                actor=SYSTEM,
                user_id=admin.id,
                province_id=province.id,
                role=PlatformRole.PROVINCE_ADMIN,
            )
        report.users.append((admin.username, "province_admin", str(PROVINCE["slug"])))
        report.created += await sync_catalogue()
    with use_scope(Scope.province(province.id)):
        progress("the official holiday calendar")
        report.created += await seed_official_calendar(province_id=province.id)
        report.created += await _synonyms(province.id)
    for city in (JINAN, DEZHOU):
        progress(f"{city.name}: departments and people")
        with use_scope(Scope.platform()):
            await _city(province, city, report, progress)
    with use_scope(Scope.province(province.id)):
        has_model = await ProvinceRoutingModel.exists(province_id=province.id)
    if not has_model:
        progress("the province routing model (every city's history, by function)")
        model = await train_province_model(province.id)
        report.routing.append(
            f"province routing model v{model.version} on {model.samples} requests, "
            f"held-out top-1 {model.metrics['top1']:.1%}, top-3 {model.metrics['top3']:.1%}"
        )
    return report
