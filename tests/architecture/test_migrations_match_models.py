"""The models and the migrations on disk agree: `tortoise makemigrations` would write
nothing. A model change without its migration fails here, not on a deployed database."""

from __future__ import annotations

from tortoise import Tortoise
from tortoise.migrations.autodetector import MigrationAutodetector

from hotline.platform.db.config import tortoise_config
from hotline.platform.settings import Settings


async def test_no_model_change_lacks_its_migration(db: Settings) -> None:
    apps = tortoise_config(db)["apps"]
    pending = await MigrationAutodetector(Tortoise.apps, apps).changes()
    described = {
        w.app_label: [f"{type(op).__name__} {vars(op)}" for op in w.operations] for w in pending
    }
    assert described == {}, f"run `tortoise makemigrations`: {described}"
