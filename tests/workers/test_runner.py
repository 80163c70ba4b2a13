"""A stop that cannot be lost: arq cancels a worker's main task once; on Python 3.11 a
cancellation can be swallowed by ``asyncio.wait_for`` (CPython gh-86296) inside redis-py,
and the worker went on polling after SIGTERM. ``hotline.workers.runner.Worker`` repeats it."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import pytest

from hotline.workers.runner import Worker


async def _noop(ctx: dict[str, Any]) -> None:
    return None


class _LosesOneCancel(Worker):
    """A worker whose main loop swallows the first cancellation, as Python 3.11's
    ``asyncio.wait_for`` (inside redis-py) does when the cancel meets a completing call."""

    swallowed = 0

    async def main(self) -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            self.swallowed += 1  # lost: the loop goes on polling
        await asyncio.sleep(60)


@pytest.mark.parametrize("graceful", [False, True], ids=["handle_sig", "drain"])
async def test_a_lost_cancellation_does_not_keep_the_worker_running(graceful: bool) -> None:
    worker = _LosesOneCancel(
        functions=[_noop],
        queue_name="hl:runner-test",
        handle_signals=False,
        job_completion_wait=1,
    )
    running = asyncio.create_task(worker.async_run())
    await asyncio.sleep(0.05)
    if graceful:  # arq's SIGTERM path when job_completion_wait is set
        worker.handle_sig_wait_for_completion(signal.SIGTERM)
    else:
        worker.handle_sig(signal.SIGTERM)
    done, _ = await asyncio.wait({running}, timeout=3)
    assert done, "the worker kept running after its stop"
    assert worker.swallowed == 1
