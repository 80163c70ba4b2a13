"""One ORM app and one ``migrations/`` per domain (docs/architecture.md §2), and they agree
with the models: `tortoise makemigrations` would write nothing for any app. A model change
without its migration fails here, not on a deployed database. Migrations are history, so
they are frozen literals: they import no live model, enum or helper of the domain."""

from __future__ import annotations

import ast
from importlib import import_module
from pathlib import Path

import pytest
from tortoise import Tortoise
from tortoise.migrations.autodetector import MigrationAutodetector

from hotline.platform.db.config import orm_apps, tortoise_config
from hotline.platform.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = sorted(
    p for p in ROOT.glob("*/hotline/**/migrations/[0-9]*.py") if ".venv" not in p.parts
)
# The one import a migration may make besides tortoise and the standard library: the
# platform's RLS SQL builders, whose output is frozen by contract (their docstring).
ALLOWED = {"hotline.platform.db.rls"}


async def test_no_model_change_lacks_its_migration(db: Settings) -> None:
    apps = tortoise_config(db)["apps"]
    pending = await MigrationAutodetector(Tortoise.apps, apps).changes()
    described = {
        w.app_label: [f"{type(op).__name__} {vars(op)}" for op in w.operations] for w in pending
    }
    assert described == {}, f"run `tortoise makemigrations`: {described}"


def test_every_app_has_its_own_migrations_next_to_its_models() -> None:
    apps = orm_apps()
    assert len({a.label for a in apps}) == len(apps)
    for app in apps:
        assert app.migrations, f"{app.label} has no migrations/"
        package = app.migrations.rsplit(".", 1)[0]
        assert (Path(import_module(app.migrations).__file__ or "").parent / "__init__.py").exists()
        for models in app.models:
            assert models.startswith(package + "."), (
                f"{models} is registered by {app.label}, whose migrations are in {package}"
            )


@pytest.mark.parametrize("path", MIGRATIONS, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_migration_imports_no_live_code(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports in a migration"
            imported.add(node.module or "")
    ours = {name for name in imported if name.split(".")[0] == "hotline"}
    assert ours <= ALLOWED, f"freeze these as literals: {sorted(ours - ALLOWED)}"


def test_migrations_are_found() -> None:
    labels = {path.parent.parent.name for path in MIGRATIONS}
    assert {"tickets", "categories", "routing", "accounts", "statistics"} <= labels
