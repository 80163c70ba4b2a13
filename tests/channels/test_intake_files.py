"""Files an intake stored belong to the ticket once it commits: a cancellation after the
commit (a job timing out, a shutdown) leaves them in place for the evidence rows that
name them (the intake used to remove them on any exception, committed or not)."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import pytest
from PIL import Image

from hotline.platform import jobs, storage
from hotline.platform.tenancy import use_scope
from hotline.tenants.channels import pipeline
from hotline.tenants.evidence.models import Evidence
from hotline.tenants.evidence.received import check_received
from hotline.tenants.tickets.models import Channel, Ticket
from tests.world import World


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 120, 10)).save(buffer, format="PNG")
    return buffer.getvalue()


async def test_a_cancellation_after_the_commit_keeps_the_files(
    shared_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    alpha = shared_world.alpha
    with use_scope(alpha.scope()):
        photo = await check_received(file_name="hole.png", content_type="image/png", data=_png())

    async def cancelled(*args: Any, **kwargs: Any) -> None:
        raise asyncio.CancelledError  # the task cancelled while announcing the files

    monkeypatch.setattr(jobs, "enqueue", cancelled)
    submission = pipeline.Submission(
        channel=Channel.EMAIL,
        external_id="<cancelled-after-commit@example.cn>",
        content="泉城路1号井盖丢了",
        attachments=(photo,),
    )
    with pytest.raises(asyncio.CancelledError):
        await pipeline.submit(actor=alpha.agent, submission=submission)
    with use_scope(alpha.scope()):
        ticket = await Ticket.get(content="泉城路1号井盖丢了")
        [evidence] = await Evidence.filter(ticket_id=ticket.id)
        assert evidence.object_key is not None
        assert await storage.stat(evidence.object_key) is not None
