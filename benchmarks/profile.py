"""Profile ticket creation and the department inbox exactly as ``benchmarks.tickets`` runs
them (our schema, in-process, no HTTP), on the same city as the benchmark.

``python -m benchmarks.profile [create|inbox|list|both] [repeats]`` prints, per operation
(``list``: the ticket list, 50 rows nested; ``both``: creation and the inbox):

1. pyinstrument's wall-clock call tree (a dev dependency): where each operation waits,
   database round trips included; the full HTML goes to ``.hotline/profile-<what>.html``;
2. a CPU profile (cProfile) summed by layer — strawberry/graphql, our schema types and
   resolvers, tortoise/pypika (ORM), asyncpg, our services — and its top functions by
   own time: what the process itself spends, without the waiting.
"""

from __future__ import annotations

import asyncio
import cProfile
import itertools
import pstats
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from pyinstrument import Profiler
from tortoise import Tortoise

from benchmarks.environment import bench_environment
from benchmarks.tickets import CREATE, INBOX, INBOX_ROWS, LIST, _context, _ok, _world
from hotline.platform.db.config import init_orm
from hotline.platform.db.migrate import ensure_app_role, run_migrations
from hotline.platform.redis import close_redis
from hotline.platform.settings import get_settings
from hotline.platform.tenancy import use_scope
from hotline.schema.ids import encode_id
from hotline.schema.schema import build_schema
from hotline.tenants.provinces.current import remember, request_cities
from hotline.tenants.tickets import dispatch, intake
from hotline.tenants.tickets.models import Channel, Kind


async def _profile(what: str, repeats: int, out: Path) -> None:
    settings = get_settings()
    await run_migrations(settings)
    await ensure_app_role(settings)
    await init_orm(settings)
    try:
        city = await _world()
        ours = build_schema(settings)
        with use_scope(city.scope):
            create_vars = {
                "c": str(encode_id("Category", city.category.id)),
                "a": str(encode_id("Department", city.district.id)),
            }

            callers = itertools.count()

            async def create() -> None:
                n = next(callers)  # a new caller each time, as benchmarks.tickets's first
                caller = {"p": f"139{n:08d}", "at": f"泉城路 {n} 号"}
                with request_cities():  # as benchmarks.tickets: identity read the city
                    remember(city.tenant)
                    _ok(
                        await ours.execute(
                            CREATE,
                            variable_values={**create_vars, **caller},
                            context_value=_context(city.actor),
                        )
                    )

            for _ in range(INBOX_ROWS):
                made = await intake.create_ticket(
                    actor=city.actor,
                    channel=Channel.PHONE,
                    kind=Kind.COMPLAINT,
                    content="路灯不亮",
                    category_id=city.category.id,
                    area_id=city.district.id,
                )
                await dispatch.dispatch_ticket(
                    actor=city.actor,
                    ticket_id=made.ticket.id,
                    lead_department_id=city.district.id,
                    co_department_ids=[city.bureau.id],
                )
            inbox_vars = {"d": str(encode_id("Department", city.district.id))}

            async def inbox() -> None:
                _ok(
                    await ours.execute(
                        INBOX, variable_values=inbox_vars, context_value=_context(city.actor)
                    )
                )

            async def ticket_list() -> None:
                _ok(
                    await ours.execute(
                        LIST, variable_values={"n": INBOX_ROWS}, context_value=_context(city.actor)
                    )
                )

            for name, step in (("create", create), ("inbox", inbox), ("list", ticket_list)):
                if what != name and not (what == "both" and name != "list"):
                    continue
                await step()  # warm: parser, prepared statements, pools
                profiler = Profiler(interval=0.0005, async_mode="enabled")
                profiler.start()
                for _ in range(repeats):
                    await step()
                profiler.stop()
                print(f"\n===== {name}: {repeats} operations =====")
                print(profiler.output_text(unicode=True, color=False))
                html = out / f"profile-{name}.html"
                html.write_text(profiler.output_html())
                print(f"(full profile: {html})")
                await _cpu(name, step, repeats)
    finally:
        await close_redis()
        await Tortoise.close_connections()


LAYERS = (
    ("strawberry", "strawberry/"),
    ("graphql-core", "graphql/"),
    ("hotline.schema (types, resolvers, ids)", "hotline/schema/"),
    ("hotline.tenants (the domain)", "hotline/tenants/"),
    ("hotline.platform", "hotline/platform/"),
    ("tortoise + pypika (ORM)", "tortoise/"),
    ("tortoise + pypika (ORM)", "pypika"),
    ("asyncpg", "asyncpg/"),
    ("asyncio (event loop)", "asyncio/"),
    ("redis", "redis/"),
)


def _layer(filename: str) -> str:
    for name, marker in LAYERS:
        if marker in filename:
            return name
    return "other (stdlib, builtins)"


async def _cpu(name: str, step: Callable[[], Awaitable[None]], repeats: int) -> None:
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(repeats):
        await step()
    profile.disable()
    stats = pstats.Stats(profile)
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, object]]
    raw = stats.stats  # type: ignore[attr-defined]
    by_layer: dict[str, float] = {}
    calls_by_layer: dict[str, int] = {}
    for (filename, _, _), (_, calls, own, _, _) in raw.items():
        layer = _layer(filename)
        by_layer[layer] = by_layer.get(layer, 0.0) + own
        calls_by_layer[layer] = calls_by_layer.get(layer, 0) + calls
    total = sum(by_layer.values())
    print(f"\n----- {name}: CPU by layer (cProfile own time, {repeats} operations) -----")
    print(f"{'layer':42} {'ms/op':>8} {'share':>6} {'calls/op':>9}")
    for layer, own in sorted(by_layer.items(), key=lambda kv: -kv[1]):
        print(
            f"{layer:42} {own / repeats * 1000:8.2f} {own / total:6.0%} "
            f"{calls_by_layer[layer] / repeats:9.0f}"
        )
    print(f"{'total':42} {total / repeats * 1000:8.2f}")
    print(f"\n----- {name}: top functions by own time -----")
    stats.sort_stats("tottime").print_stats(25)


def main(what: str = "both", repeats: int = 50) -> int:
    out = Path(".hotline")
    out.mkdir(exist_ok=True)
    with bench_environment(need_s3=False):
        asyncio.run(_profile(what, repeats, out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "both", *map(int, sys.argv[2:3])))
