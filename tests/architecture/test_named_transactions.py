"""Transactions name their connection: with a read replica configured Tortoise holds two
connections, and an unnamed ``in_transaction()`` then raises ``ParamsError`` — only in
deployments with a replica, so no other test would notice (docs/operations.md
"Read replicas")."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UNNAMED = re.compile(r"(?<![\w.])(in_transaction|atomic)\(\s*\)")


def test_no_unnamed_transactions_in_the_source_roots() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for root in ("platform", "tenants", "schema", "workers")
        for path in sorted((ROOT / root).rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if UNNAMED.search(line)
    ]
    assert offenders == []
