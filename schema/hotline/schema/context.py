"""The per-request GraphQL context: the actor, the request, and per-request dataloaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import HTTPConnection
from starlette.responses import Response
from strawberry.dataloader import DataLoader
from strawberry.types import Info as StrawberryInfo

from hotline.tenants.kernel.access import Actor

ANONYMOUS = Actor(user_id=None)


@dataclass
class Context:
    request: HTTPConnection
    response: Response | None
    actor: Actor
    # Loaders are created lazily per request, keyed by name (see ``loader``).
    loaders: dict[str, DataLoader[Any, Any]] = field(default_factory=dict)
    # GraphQL objects made once per request from a loaded row, by (type, key): a page
    # names the same few departments and categories hundreds of times.
    converted: dict[tuple[str, int], Any] = field(default_factory=dict)

    @property
    def ip(self) -> str | None:
        return self.request.client.host if self.request.client else None


Info = StrawberryInfo[Context, None]


def actor_of(connection: HTTPConnection) -> Actor:
    actor = connection.scope.get("state", {}).get("actor")
    return actor if isinstance(actor, Actor) else ANONYMOUS
