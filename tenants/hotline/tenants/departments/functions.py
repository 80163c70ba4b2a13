"""The province catalogue of department functions (``functions.json`` beside this file).

A function is what a department does for a 12345 center — water supply, tax, street
office… — with its duties (职责, as a 三定 summary states them) and the words callers
use. Every department is tagged with one (``Department.function``); routing predicts a
function and then picks the concrete department of the city (docs/routing.md). The
file is the source of truth under version control; ``routing_functions`` mirrors it in
the database for the API.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CATALOGUE_FILE = Path(__file__).with_name("functions.json")


@dataclass(frozen=True)
class Function:
    code: str
    name: str
    dispatch: str  # city | district | street: which node of the tree handles it
    duties: str
    keywords: tuple[str, ...]
    routable: bool  # False: tree levels routing never predicts (center, community…)


@cache
def catalogue() -> dict[str, Function]:
    """Code → function, in the file's order."""
    raw = json.loads(CATALOGUE_FILE.read_text(encoding="utf-8"))
    return {
        f["code"]: Function(
            code=f["code"],
            name=f["name"],
            dispatch=f["dispatch"],
            duties=f["duties"],
            keywords=tuple(f["keywords"]),
            routable=bool(f.get("routable", True)),
        )
        for f in raw["functions"]
    }


def routable() -> list[Function]:
    return [f for f in catalogue().values() if f.routable]


def is_known(code: str) -> bool:
    return code in catalogue()
