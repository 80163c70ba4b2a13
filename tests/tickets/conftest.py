"""The work-order tests use the shared world (tests/world.py, the ``world`` fixture of
tests/conftest.py) as it is; ``City`` and ``World`` stay importable from here."""

from tests.world import City, World

__all__ = ["City", "World"]
