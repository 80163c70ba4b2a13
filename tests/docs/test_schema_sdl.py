"""docs/schema.graphql is the live schema: frontends generate their types from it."""

from __future__ import annotations

from pathlib import Path

from hotline.schema.schema import build_schema

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_sdl_matches_the_schema() -> None:
    committed = (ROOT / "docs" / "schema.graphql").read_text(encoding="utf-8")
    live = build_schema().as_str() + "\n"
    assert committed == live, "regenerate it: make schema"
