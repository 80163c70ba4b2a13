"""The one test world: Shandong (370000) with cities alpha (370100) and gamma (371400),
Jiangsu (320000) with beta (320100); both provinces' official calendars seeded.

Each city has a department tree (center → district → street → community, a bureau and a
duty room), two categories (urban management → illegal construction), two routing rules,
one published knowledge-base answer, and one actor per role, built directly through the
models and services (no GraphQL, no passwords: argon2 would cost seconds). Each province
has a province admin. ``tests/conftest.py`` exposes it as the module-scoped ``world`` fixture;
a directory whose tests want another shape keeps a thin view over it in its conftest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.accounts import sessions
from hotline.tenants.accounts.memberships import load_actor
from hotline.tenants.accounts.models import Membership, ProvinceRole, User
from hotline.tenants.categories.models import Category
from hotline.tenants.departments.models import Department, DepartmentKind
from hotline.tenants.kernel.access import Actor
from hotline.tenants.kernel.roles import PlatformRole, Role
from hotline.tenants.knowledge import articles
from hotline.tenants.knowledge.models import Article, ArticleStatus
from hotline.tenants.provinces.calendar import seed_official_calendar
from hotline.tenants.provinces.models import Province, Tenant
from hotline.tenants.routing.models import RoutingRule
from hotline.tenants.tickets import intake
from hotline.tenants.tickets.models import Channel, Kind, Ticket


@dataclass(frozen=True)
class City:
    tenant: Tenant
    center: Department
    district: Department
    street: Department
    community: Department
    bureau: Department
    duty_room: Department
    urban: Category  # urban management
    construction: Category  # → illegal construction
    article_id: int  # a published knowledge-base answer of this city
    agent: Actor
    dispatcher: Actor
    supervisor: Actor
    district_handler: Actor
    street_handler: Actor
    bureau_handler: Actor  # a department manager of the bureau
    duty_handler: Actor
    auditor: Actor
    leader: Actor
    admin: Actor  # the tenant admin
    district_manager: Actor  # a department manager of the district (its subtree only)

    @property
    def id(self) -> int:
        return int(self.tenant.id)

    @property
    def slug(self) -> str:
        return str(self.tenant.slug)

    @property
    def province_id(self) -> int:
        return int(self.tenant.province_id)

    @property
    def anonymous(self) -> Actor:
        """A citizen on the city's public pages: no user, the city from the host."""
        return Actor(user_id=None, tenant_id=self.tenant.id, province_id=self.tenant.province_id)

    def scope(self) -> Scope:
        return Scope.city(self.tenant.id, self.tenant.province_id)

    async def user(self, actor: Actor) -> User:
        """The user row behind one of the city's actors."""
        with use_scope(Scope.platform()):
            return await User.get(id=actor.user_id)

    async def token(self, actor: Actor, ttl: timedelta = timedelta(hours=1)) -> str:
        """A bearer token for one of the city's actors (no password login needed)."""
        user = await self.user(actor)
        return await sessions.issue_token_for(username=user.username, ttl=ttl)

    async def ticket(self, content: str = "路灯不亮，已经一周了", **extra: object) -> Ticket:
        created = await intake.create_ticket(
            actor=self.agent,
            channel=Channel.PHONE,
            kind=Kind.COMPLAINT,
            content=content,
            category_id=self.construction.id,
            area_id=self.street.id,
            citizen_name="张三",
            citizen_phone="138 0000 1234",
            **extra,  # type: ignore[arg-type]
        )
        return created.ticket


@dataclass(frozen=True)
class World:
    shandong: Province
    jiangsu: Province
    alpha: City
    beta: City
    gamma: City
    province_admin: Actor  # of Shandong (alpha, gamma), in province scope
    jiangsu_admin: Actor  # of Jiangsu (beta), in province scope

    @property
    def cities(self) -> tuple[City, City, City]:
        return (self.alpha, self.beta, self.gamma)


async def department(parent: Department, kind: DepartmentKind, name: str) -> Department:
    """A child of ``parent`` with its materialised path (in the city's scope)."""
    row = await Department.create(
        parent=parent,
        kind=kind,
        name=name,
        path=parent.path,
        depth=parent.depth + 1,
        is_duty_room=kind is DepartmentKind.DUTY_ROOM,
    )
    row.path = f"{parent.path}{row.id}/"
    await row.save(update_fields=["path"])
    return row


async def category(parent: Category | None, name: str) -> Category:
    """A category below ``parent`` (a root when None) with its materialised path."""
    row = await Category.create(
        parent=parent,
        name=name,
        path=parent.path if parent else "/",
        depth=parent.depth + 1 if parent else 0,
    )
    row.path = f"{parent.path if parent else '/'}{row.id}/"
    await row.save(update_fields=["path"])
    return row


async def actor(tenant: Tenant, name: str, role: Role, department: Department | None) -> Actor:
    """A user ``<slug>-<name>`` with one membership in ``tenant``, loaded as the API would."""
    with use_scope(Scope.platform()):
        user = await User.create(username=f"{tenant.slug}-{name}", display_name=name)
    with use_scope(Scope.city(tenant.id, tenant.province_id)):
        await Membership.create(
            user=user, role=role, department_id=department.id if department else None
        )
    return await load_actor(user_id=user.id, tenant_id=tenant.id, province_id=tenant.province_id)


# The people of each city: (user name suffix, role, department attribute or None).
PEOPLE = (
    ("agent", Role.AGENT, None),
    ("dispatcher", Role.DISPATCHER, None),
    ("supervisor", Role.SUPERVISOR, None),
    ("district", Role.DEPT_HANDLER, "district"),
    ("street", Role.DEPT_HANDLER, "street"),
    ("bureau", Role.DEPT_MANAGER, "bureau"),
    ("duty", Role.DEPT_HANDLER, "duty_room"),
    ("auditor", Role.AUDITOR, None),
    ("leader", Role.CITY_LEADER, None),
    ("admin", Role.TENANT_ADMIN, None),
    ("dmanager", Role.DEPT_MANAGER, "district"),
)
# City attribute → the person's user name suffix
ACTORS = {
    "agent": "agent",
    "dispatcher": "dispatcher",
    "supervisor": "supervisor",
    "district_handler": "district",
    "street_handler": "street",
    "bureau_handler": "bureau",
    "duty_handler": "duty",
    "auditor": "auditor",
    "leader": "leader",
    "admin": "admin",
    "district_manager": "dmanager",
}
DEPARTMENTS = {
    "district": "Lixia district",
    "street": "Quancheng street",
    "community": "Baotu community",
    "bureau": "Urban management bureau",
    "duty_room": "Duty room",
}
ARTICLE = "社保关系如何转移"


async def build_city(province: Province, code: str, slug: str, prefix: str) -> None:
    with use_scope(Scope.platform()):
        tenant = await Tenant.create(
            province=province, code=code, slug=slug, name=slug.title(), number_prefix=prefix
        )
    with use_scope(Scope.city(tenant.id, province.id)):
        center = await Department.create(kind=DepartmentKind.CENTER, name="center", path="/")
        center.path = f"/{center.id}/"
        await center.save(update_fields=["path"])
        district = await department(center, DepartmentKind.DISTRICT, DEPARTMENTS["district"])
        street = await department(district, DepartmentKind.STREET, DEPARTMENTS["street"])
        await department(street, DepartmentKind.COMMUNITY, DEPARTMENTS["community"])
        bureau = await department(center, DepartmentKind.BUREAU, DEPARTMENTS["bureau"])
        duty_room = await department(center, DepartmentKind.DUTY_ROOM, DEPARTMENTS["duty_room"])
        urban = await category(None, "urban management")
        await category(urban, "illegal construction")
        await RoutingRule.create(
            name="construction in Lixia",
            priority=10,
            area=district,
            category=urban,
            keywords=["违建", "违章"],
            department=district,
        )
        await RoutingRule.create(
            name="urban management anywhere", priority=20, category=urban, department=bureau
        )
    places = {"district": district, "street": street, "bureau": bureau, "duty_room": duty_room}
    for name, role, place in PEOPLE:
        await actor(tenant, name, role, places[place] if place else None)
    supervisor = await _actor(tenant, "supervisor")
    article = await articles.create_article(
        actor=supervisor, title=ARTICLE, answer="携带身份证到社保中心办理转移手续。"
    )
    await articles.publish_article(actor=supervisor, article_id=article.article.id)


async def _actor(tenant: Tenant, name: str) -> Actor:
    with use_scope(Scope.platform()):
        user = await User.get(username=f"{tenant.slug}-{name}")
    return await load_actor(user_id=user.id, tenant_id=tenant.id, province_id=tenant.province_id)


async def load_city(code: str) -> City:
    """A city of the world as built (by its code), read back from the database."""
    with use_scope(Scope.platform()):
        tenant = await Tenant.get(code=code)
    with use_scope(Scope.city(tenant.id, tenant.province_id)):
        center = await Department.get(kind=DepartmentKind.CENTER)
        departments = {k: await Department.get(name=v) for k, v in DEPARTMENTS.items()}
        urban = await Category.get(name="urban management")
        construction = await Category.get(name="illegal construction")
        article = await Article.get(tenant_id=tenant.id, status=ArticleStatus.PUBLISHED)
    people = {k: await _actor(tenant, v) for k, v in ACTORS.items()}
    return City(
        tenant=tenant,
        article_id=article.id,
        center=center,
        urban=urban,
        construction=construction,
        district=departments["district"],
        street=departments["street"],
        community=departments["community"],
        bureau=departments["bureau"],
        duty_room=departments["duty_room"],
        agent=people["agent"],
        dispatcher=people["dispatcher"],
        supervisor=people["supervisor"],
        district_handler=people["district_handler"],
        street_handler=people["street_handler"],
        bureau_handler=people["bureau_handler"],
        duty_handler=people["duty_handler"],
        auditor=people["auditor"],
        leader=people["leader"],
        admin=people["admin"],
        district_manager=people["district_manager"],
    )


async def build_world() -> World:
    """Build the world in the current module's database (see the module docstring)."""
    with use_scope(Scope.platform()):
        shandong = await Province.create(code="370000", slug="shandong", name="Shandong")
        jiangsu = await Province.create(code="320000", slug="jiangsu", name="Jiangsu")
    for province in (shandong, jiangsu):
        with use_scope(Scope.province(province.id)):
            await seed_official_calendar(province_id=province.id, since_year=2026)
    await build_city(shandong, "370100", "alpha", "AL")
    await build_city(jiangsu, "320100", "beta", "BE")
    await build_city(shandong, "371400", "gamma", "GA")
    for province in (shandong, jiangsu):
        with use_scope(Scope.platform()):
            admin = await User.create(
                username=f"{province.slug}-admin", display_name="Province admin"
            )
            await ProvinceRole.create(
                user=admin, province_id=province.id, role=PlatformRole.PROVINCE_ADMIN
            )
    world = await load_world()
    assert world is not None
    return world


async def load_world() -> World | None:
    """The world of this database (a copy of one built once per test process: see
    ``shared_world`` in tests/conftest.py), or None where it was never built."""
    with use_scope(Scope.platform()):
        shandong = await Province.get_or_none(code="370000")
        jiangsu = await Province.get_or_none(code="320000")
    if shandong is None or jiangsu is None:
        return None
    return World(
        shandong=shandong,
        jiangsu=jiangsu,
        alpha=await load_city("370100"),
        beta=await load_city("320100"),
        gamma=await load_city("371400"),
        province_admin=await province_admin(shandong),
        jiangsu_admin=await province_admin(jiangsu),
    )


async def province_admin(province: Province) -> Actor:
    """The user ``<slug>-admin`` administering ``province``, loaded in province scope."""
    with use_scope(Scope.platform()):
        admin = await User.get(username=f"{province.slug}-admin")
    return await load_actor(user_id=admin.id, tenant_id=None, province_id=province.id)
