"""``hotline routing evaluate``: the held-out accuracy of a city's routing model."""

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
@click.option("--tenant", "slug", help="City slug: report (or --train) its stored model.")
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
def evaluate(slug: str | None, train: bool, synthetic: int, seed: int) -> None:
    """Print top-1 and top-3 accuracy measured on a held-out split."""
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
