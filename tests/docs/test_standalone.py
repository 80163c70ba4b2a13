"""The repository stands alone: no tracked file points at a document or path outside it.

Design notes live in docs/architecture.md (cited by section); a reference to a file
that only existed next to the checkout would leave the next engineer with nothing.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Spelled in pieces so this file does not match itself.
FORBIDDEN = ("DESIGN" + ".md", "../" + "shared/", "/" + "work/")
# Without a git checkout (an unpacked source tree), everything but these is "tracked".
UNTRACKED_DIRS = {".git", ".venv", ".tools", ".hotline", ".mypy_cache", ".ruff_cache"}


def _tracked_files() -> list[Path]:
    git = shutil.which("git")
    if git is not None and (ROOT / ".git").exists():
        out = subprocess.run(
            [git, "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
        ).stdout
        return [ROOT / name for name in out.decode("utf-8").split("\0") if name]
    return [
        path
        for path in ROOT.rglob("*")
        if path.is_file()
        and not UNTRACKED_DIRS.intersection(path.relative_to(ROOT).parts)
        and "__pycache__" not in path.parts
    ]


def test_the_files_are_found() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in _tracked_files()}
    assert {"README.md", "docs/architecture.md", "pyproject.toml"} <= names


def _mentions(paths: list[Path], root: Path) -> list[str]:
    found = []
    for path in paths:
        if not path.is_file():  # deleted in the work tree, not yet committed
            continue
        text = path.read_bytes().decode("utf-8", errors="ignore")
        for number, line in enumerate(text.splitlines(), start=1):
            found += [
                f"{path.relative_to(root)}:{number}: {word}" for word in FORBIDDEN if word in line
            ]
    return found


def test_no_file_points_outside_the_repository() -> None:
    offending = _mentions(_tracked_files(), ROOT)
    assert offending == [], "cite docs/architecture.md §n instead:\n" + "\n".join(offending)


@pytest.mark.parametrize("word", FORBIDDEN)
def test_the_scan_finds_each_word(tmp_path: Path, word: str) -> None:
    clean = tmp_path / "clean.md"
    clean.write_text("see docs/architecture.md §3\n", encoding="utf-8")
    dirty = tmp_path / "dirty.py"
    dirty.write_text(f"x = 1\n# see {word} §3\n", encoding="utf-8")
    assert _mentions([clean, dirty], tmp_path) == [f"dirty.py:2: {word}"]
