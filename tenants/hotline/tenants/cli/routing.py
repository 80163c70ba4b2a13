"""``hotline routing evaluate``: the held-out accuracy of a city's routing model, or
routing measured on a JSONL file of labelled requests; ``train-province``."""

from __future__ import annotations

import click

from hotline.tenants.cli import _run


@click.group()
def routing() -> None:
    """Learned routing."""


def _line(version: object, samples: int, test: int, top1: float, top3: float) -> str:
    return (
        f"model {version}: {samples} tickets, held out {test}: top-1 {top1:.1%}, top-3 {top3:.1%}"
    )


@routing.command("evaluate")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option("--tenant", "slug", help="City slug: report (or --train) its stored model.")
@click.option(
    "--demo",
    type=click.Choice(["jinan", "dezhou"]),
    help="With FILE, no database: the demo city's tree and gazetteer, the shipped model.",
)
@click.option("--no-places", is_flag=True, help="With FILE: without place resolution.")
@click.option(
    "--train", is_flag=True, help="Train a new version on the city's closed tickets first."
)
@click.option(
    "--synthetic",
    type=int,
    default=0,
    help="No database: train and evaluate on N generated demo tickets per department.",
)
@click.option("--seed", type=int, default=2026, show_default=True)
def evaluate(
    file: str | None,
    slug: str | None,
    demo: str | None,
    no_places: bool,
    train: bool,
    synthetic: int,
    seed: int,
) -> None:
    """Print top-1 and top-3 accuracy measured on a held-out split; with FILE (JSON
    lines: text, location?, expected_function, expected_department?, expected_place?)
    top-1/top-3 per function, the confusion pairs and the place-resolution accuracy of
    the deployed routing of --tenant, or of a --demo city without a database."""
    if file:
        _evaluate_file(file, slug, demo, not no_places)
        return
    if synthetic:
        from hotline.tenants.routing.classifier import train as fit
        from hotline.tenants.seed.tickets_demo import generate

        tickets = generate(per_topic=synthetic, seed=seed)
        codes = sorted({t.department for t in tickets})
        trained = fit(
            [t.content for t in tickets],
            [codes.index(t.department) for t in tickets],
            seed=seed,
        )
        e = trained.evaluation
        click.echo(_line("synthetic", len(tickets), e.test_size, e.top1, e.top3))
        return
    if not slug:
        raise click.UsageError("give --tenant SLUG, or --synthetic N")

    async def work() -> str:
        from hotline.platform.tenancy import Scope, use_scope
        from hotline.tenants.provinces.models import Tenant
        from hotline.tenants.routing.ml_service import active_model, train_routing_model

        with use_scope(Scope.platform()):
            tenant = await Tenant.get_or_none(slug=slug)
        if tenant is None:
            raise click.ClickException(f"no city {slug!r}")
        with use_scope(Scope.city(tenant.id, tenant.province_id)):
            model = await train_routing_model(actor=None) if train else await active_model()
        if model is None:
            return f"{slug}: no model yet (run with --train)"
        return _line(
            model.version, model.samples, model.test_size, model.top1_accuracy, model.top3_accuracy
        )

    click.echo(_run(work))


def _evaluate_file(path: str, slug: str | None, demo: str | None, use_places: bool) -> None:
    from hotline.tenants.routing.insight import parse_rows

    with open(path, encoding="utf-8") as f:
        rows = parse_rows(f.read())
    if demo:
        from hotline.tenants.routing.engine import Engine, evaluate
        from hotline.tenants.routing.province import shipped_model
        from hotline.tenants.seed.places_demo import demo_places

        tree, places = demo_places(demo)
        report = evaluate(Engine(shipped_model(), tree, places, use_places=use_places), rows)
        click.echo("\n".join(report.lines()))
        return
    if not slug:
        raise click.UsageError("with FILE, give --tenant SLUG (deployed) or --demo CITY")

    async def work() -> str:
        from hotline.platform.tenancy import Scope, use_scope
        from hotline.tenants.provinces.models import Tenant
        from hotline.tenants.routing import ml_service
        from hotline.tenants.routing.engine import evaluate

        with use_scope(Scope.platform()):
            tenant = await Tenant.get_or_none(slug=slug)
        if tenant is None:
            raise click.ClickException(f"no city {slug!r}")
        with use_scope(Scope.city(tenant.id, tenant.province_id)):
            engine = await ml_service.city_engine()
        if engine is None:
            raise click.ClickException(f"{slug}: no department carries a routable function")
        engine.use_places = use_places
        return "\n".join(evaluate(engine, rows).lines())

    click.echo(_run(work))


@routing.command("train-province")
@click.option("--province", "slug", required=True, help="Province slug, e.g. shandong.")
def train_province(slug: str) -> None:
    """Train the province-wide function model on every city's closed history."""

    async def work() -> str:
        from hotline.platform.tenancy import Scope, use_scope
        from hotline.tenants.provinces.models import Province
        from hotline.tenants.routing.province import train_province_model

        with use_scope(Scope.platform()):
            province = await Province.get_or_none(slug=slug)
        if province is None:
            raise click.ClickException(f"no province {slug!r}")
        row = await train_province_model(province.id)
        m = row.metrics
        return (
            f"province model v{row.version}: {row.samples} requests ({m['history']} closed "
            f"tickets), corpus held-out top-1 {m['top1']:.1%}, top-3 {m['top3']:.1%}"
        )

    click.echo(_run(work))
