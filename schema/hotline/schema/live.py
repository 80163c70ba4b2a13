"""The life of a live view: a subscription lasts only as long as its credentials.

Every subscription reads its notices through :func:`while_allowed`, which re-checks the
actor (``identity.still_allowed``: token expiry, logout / revoked session, membership,
API key) before each event *and* on a timer — every ``HOTLINE_SUBSCRIPTION_RECHECK_SECONDS``
and at the token's expiry — so a logged-out or expired subscriber stops receiving
within that interval even when nothing happens on its channel.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from hotline.platform.pubsub import Notices
from hotline.platform.settings import get_settings
from hotline.tenants.accounts import identity
from hotline.tenants.kernel.access import Actor


async def while_allowed(actor: Actor, notices: Notices) -> AsyncIterator[dict[str, Any]]:
    """The notices, for as long as ``actor`` still stands; returns (ending the
    subscription) as soon as it does not."""
    recheck = get_settings().subscription_recheck_seconds
    while True:
        wait = recheck
        if actor.expires_at is not None:
            wait = min(wait, max(0.0, actor.expires_at - time.time()) + 0.01)
        notice = await notices.get(wait=wait)
        if not await identity.still_allowed(actor):
            return
        if notice is not None:
            yield notice
