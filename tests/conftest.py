"""Session-wide real services, a migrated template database copied per test module, and
the shared test world (tests/world.py).

Services come from ``HOTLINE_DATABASE_URL`` / ``HOTLINE_REDIS_URL`` /
``HOTLINE_S3_ENDPOINT`` when set, otherwise from the embedded stack (started once).
Each test module gets its own database, copied from the template, plus its own
Redis key prefix and S3 bucket, so modules never see each other's rows or keys.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import pytest_asyncio
from tortoise import Tortoise

from hotline.platform.db.config import init_orm
from hotline.platform.db.migrate import (
    drop_database,
    ensure_app_role,
    ensure_database,
    run_migrations,
)
from hotline.platform.jobs import close_pools
from hotline.platform.redis import close_redis
from hotline.platform.settings import Settings, get_settings, reset_settings
from hotline.platform.storage import ensure_bucket
from tests import isolation_registry

if TYPE_CHECKING:
    from tests.world import World

RUN_ID = secrets.token_hex(3)
# A test process starts many apps, each warming up; freezing everything alive at each
# (HOTLINE_GC_FREEZE, a serving process's setting) would keep the garbage of earlier
# tests' cycles for the rest of the run. tests/knowledge/test_warmup.py turns it on.
os.environ.setdefault("HOTLINE_GC_FREEZE", "false")


def pytest_configure(config: pytest.Config) -> None:
    """One NOT_FOUND log per run; xdist workers inherit it from the controller."""
    if isolation_registry.LOG_ENV not in os.environ:
        fd, path = tempfile.mkstemp(prefix="hotline-not-found-", suffix=".log")
        os.close(fd)
        os.environ[isolation_registry.LOG_ENV] = path


# The modules that take longest (their setup included), longest first. `make pytest`
# hands out whole modules to its workers in collection order (``--dist loadfile
# --no-loadscope-reorder``), so these start first and the rest fill in around them; in
# xdist's own order (most tests first) they came late, and a run could end with one
# worker busy for minutes on one of them while the other sat idle.
SLOW_MODULES = (
    "tests/statistics/test_exports.py",
    "tests/cli/test_run.py",
    "tests/seed/test_demo.py",
    "tests/api/test_fuzz.py",
    "tests/replica/test_replica.py",
    "tests/platform/test_faults.py",
)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The slow modules first (SLOW_MODULES); every module's tests keep their order."""
    rank = {path: i for i, path in enumerate(SLOW_MODULES)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))


def _whole_suite(config: pytest.Config) -> bool:
    chosen = [Path(a.split("::")[0]).resolve() for a in config.args]
    whole = chosen == [Path(config.rootpath, "tests").resolve()]
    last_failed = getattr(config.option, "lf", False)  # the cache plugin's option
    narrowed = config.option.keyword or config.option.markexpr or last_failed
    return whole and not narrowed and not config.getoption("deselect", None)


def _takes_ids(field: Any) -> bool:
    """Whether a root field takes an ``ID`` argument, directly or inside its input."""
    from graphql import GraphQLInputObjectType, get_named_type

    seen: set[str] = set()

    def has_id(type_: Any) -> bool:
        named = get_named_type(type_)
        if named.name == "ID":
            return True
        if isinstance(named, GraphQLInputObjectType) and named.name not in seen:
            seen.add(named.name)
            return any(has_id(f.type) for f in named.fields.values())
        return False

    return any(has_id(arg.type) for arg in field.args.values())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After a green run of the whole suite: every operation of the schema that takes
    city ids must have been seen answering NOT_FOUND (tests/isolation_registry.py)."""
    if hasattr(session.config, "workerinput") or exitstatus != 0:
        return
    if not _whole_suite(session.config):
        return
    from hotline.schema.schema import build_schema

    schema = build_schema()._schema
    operations: set[str] = set()
    for root in (schema.query_type, schema.mutation_type, schema.subscription_type):
        if root is not None:
            operations.update(n for n, f in root.fields.items() if _takes_ids(f))
    missing = sorted(
        operations - set(isolation_registry.NO_CITY_IDS) - isolation_registry.seen_refusing()
    )
    if missing:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                f"operations never seen answering NOT_FOUND across cities: {missing}", red=True
            )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


@pytest.fixture(scope="session")
def services() -> Iterator[dict[str, str]]:
    """HOTLINE_* URLs of real PostgreSQL, Redis and S3 servers for this session."""
    wanted = ("HOTLINE_DATABASE_URL", "HOTLINE_REDIS_URL", "HOTLINE_S3_ENDPOINT")
    if all(os.environ.get(k) for k in wanted):
        yield {k: os.environ[k] for k in wanted}
        return
    from hotline.platform.devstack.stack import EmbeddedStack

    home = Path(tempfile.mkdtemp(prefix="hotline-test-"))
    stack = EmbeddedStack(home=home, persist_s3=False)
    stack.start()
    try:
        env = stack.env()
        yield env
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def template_db(services: dict[str, str]) -> Iterator[str]:
    """A database migrated once; every module copies it (CREATE DATABASE … TEMPLATE)."""
    name = f"hotline_tpl_{RUN_ID}"
    settings = Settings(database_url=_with_database(services["HOTLINE_DATABASE_URL"], name))
    asyncio.run(run_migrations(settings))
    yield name
    asyncio.run(drop_database(services["HOTLINE_DATABASE_URL"], name))


@contextlib.contextmanager
def _database_env(services: dict[str, str], name: str, slug: str) -> Iterator[Settings]:
    """The process environment and settings of one database, Redis prefix and bucket."""
    server = services["HOTLINE_DATABASE_URL"]
    env = {
        **services,
        "HOTLINE_DATABASE_URL": _with_database(server, name),
        "HOTLINE_REDIS_PREFIX": f"hltest:{RUN_ID}:{slug}",
        "HOTLINE_S3_BUCKET": f"hltest-{RUN_ID}-{slug}",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    reset_settings()
    try:
        yield get_settings()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        reset_settings()


@pytest.fixture(scope="session")
def world_template(services: dict[str, str], template_db: str) -> Iterator[str]:
    """A copy of the migrated database with tests/world.py's world built in it, once per
    test process: a module using the world copies this one (building the world costs a
    module seconds; copying it costs nothing more than copying the empty one)."""
    name = f"hotline_world_{RUN_ID}"
    server = services["HOTLINE_DATABASE_URL"]

    async def build(settings: Settings) -> None:
        from tests.world import build_world  # the domain imported under pytest's filters

        await ensure_database(settings, template=template_db)
        await ensure_app_role(settings)
        await init_orm(settings)
        try:
            await build_world()
        finally:
            await Tortoise.close_connections()
            await close_pools()
            await close_redis()

    with _database_env(services, name, "world") as settings:
        asyncio.run(build(settings))
    yield name
    asyncio.run(drop_database(server, name))


@pytest.fixture(scope="module")
def module_settings(
    request: pytest.FixtureRequest, services: dict[str, str], template_db: str
) -> Iterator[Settings]:
    """Environment and settings for one module: its own database, Redis prefix and bucket.
    A module whose tests use the shared world starts from a copy with the world in it."""
    template = (
        request.getfixturevalue("world_template")
        if "shared_world" in request.fixturenames
        else template_db
    )
    slug = secrets.token_hex(4)
    name = f"hotline_t_{RUN_ID}_{slug}"
    server = services["HOTLINE_DATABASE_URL"]
    asyncio.run(
        ensure_database(Settings(database_url=_with_database(server, name)), template=template)
    )
    with _database_env(services, name, slug) as settings:
        asyncio.run(ensure_app_role(settings))
        asyncio.run(ensure_bucket(settings))
        try:
            yield settings
        finally:
            asyncio.run(drop_database(server, name))


@pytest.fixture(scope="module")
async def db(module_settings: Settings) -> AsyncIterator[Settings]:
    """Tortoise initialised on the module's database as the runtime (non-owner) role.
    At the module's end the enqueueing pool its jobs opened is closed too: it is keyed
    by the module's Redis prefix, so no later module uses it, and left open it was
    collected at interpreter exit ("unclosed Connection" ResourceWarning tracebacks
    after the run's summary, one connection per module that enqueued). So is the
    loop's shared Redis client (``redis_client()``) when a module's code opened it
    and no fixture of the module closed it: tests/seed/test_demo.py (tokens, the API,
    the public page) left it, run alone, to interpreter exit ("unclosed" ResourceWarning)."""
    await init_orm(module_settings)
    try:
        yield module_settings
    finally:
        await Tortoise.close_connections()
        await close_pools()
        await close_redis()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def shared_world(db: Settings) -> AsyncIterator[World]:
    """The two-province, three-city world of tests/world.py: read from the module's
    database, a copy of ``world_template`` (built here where the module's first test did
    not ask for it)."""
    from tests.world import build_world, load_world

    yield await load_world() or await build_world()
    await close_redis()


@pytest.fixture(scope="module")
def world(shared_world: World) -> World:
    """The shared world. A directory that wants another shape overrides ``world`` with a
    view over this one, or with a world of its own (then ``shared_world`` is not built)."""
    return shared_world
