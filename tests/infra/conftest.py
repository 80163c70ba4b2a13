"""The backup round trip builds on the two cities of tests/tickets_api."""

from __future__ import annotations

from tests.tickets_api.conftest import world  # noqa: F401  (the fixture)
