"""The layout rules of docs/architecture.md §2, read from the source: roots, namespace,
import direction."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PARTS = ("platform", "tenants", "schema", "workers")
# Which parts each part may import (besides itself).
ALLOWED: dict[str, set[str]] = {
    "platform": set(),
    "tenants": {"platform"},
    "schema": {"tenants", "platform"},
    "workers": {"tenants", "platform"},
}


def _python_files(part: str) -> list[Path]:
    return sorted((ROOT / part).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    """Dotted names of the absolute imports in one file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _imported_parts(path: Path) -> set[str]:
    return {
        bits[1]
        for name in _imports(path)
        if (bits := name.split("."))[0] == "hotline" and len(bits) > 1 and bits[1] in PARTS
    }


@pytest.mark.parametrize("part", PARTS)
def test_dependency_direction(part: str) -> None:
    offending = {
        str(path.relative_to(ROOT)): sorted(bad)
        for path in _python_files(part)
        if (bad := _imported_parts(path) - ALLOWED[part] - {part})
    }
    assert offending == {}, f"{part} imports parts above it: {offending}"


@pytest.mark.parametrize("part", PARTS)
def test_part_is_a_namespace_package_root(part: str) -> None:
    card = ROOT / part
    assert not list(card.glob("*.py")), f"no .py file directly in {part}/"
    assert not (card / "hotline" / "__init__.py").exists(), "hotline must stay a namespace package"
    assert (card / "hotline" / part / "__init__.py").exists()
    assert [
        p.name for p in (card / "hotline").iterdir() if p.is_dir() and p.name != "__pycache__"
    ] == [part]


def test_no_init_in_tests() -> None:
    assert not list((ROOT / "tests").rglob("__init__.py"))


def test_stdlib_platform_not_shadowed_from_repo_root() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import uuid, platform; print(platform.system(), uuid.uuid4().version)",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split() == [__import__("platform").system(), "4"]


def test_only_workers_and_platform_import_arq() -> None:
    """Domain and web code enqueue through the jobs port in platform, never arq itself."""
    users = [
        str(path.relative_to(ROOT))
        for path in _python_files("tenants") + _python_files("schema")
        if any(name.split(".")[0] == "arq" for name in _imports(path))
    ]
    assert users == []
