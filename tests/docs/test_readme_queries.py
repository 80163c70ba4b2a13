"""Every GraphQL example in the README and docs/ is valid against the real schema, so the
tour cannot drift from the API (placeholders like "<ticket id>" are string literals)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import parse, validate

from hotline.schema.schema import build_schema

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"```graphql\n(.*?)```", re.DOTALL)
SCHEMA = build_schema()._schema


def _examples() -> list[tuple[str, str]]:
    found = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for block in BLOCK.findall(path.read_text(encoding="utf-8")):
            # a block may hold several operations separated by blank lines
            for operation in re.split(r"\n\s*\n", block.strip()):
                found.append((f"{path.name}: {operation[:40]}", operation))
    return found


EXAMPLES = _examples()


def test_the_readme_has_examples() -> None:
    assert len([e for e in EXAMPLES if e[0].startswith("README.md")]) >= 10


@pytest.mark.parametrize(("where", "operation"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_example_is_valid(where: str, operation: str) -> None:
    errors = validate(SCHEMA, parse(operation))
    assert errors == [], f"{where}: {[e.message for e in errors]}"
