"""arq's worker, with a stop that cannot be lost.

arq stops a worker by cancelling its main task once (on SIGTERM, or after the drain wait).
On Python 3.11 ``asyncio.wait_for`` swallows a cancellation that lands in the same loop
iteration as the awaited call completes (CPython gh-86296, fixed in 3.12), and redis-py
wraps every command's send in ``wait_for``: under load the one cancel was sometimes lost
and the worker went on polling after SIGTERM until it was killed (the workers benchmark
waited for it in vain). This worker repeats the cancel until its main task has ended.
"""

from __future__ import annotations

from signal import Signals
from typing import Any

from arq.worker import Worker as ArqWorker
from arq.worker import get_kwargs

REPEAT_CANCEL_SECONDS = 0.5


class Worker(ArqWorker):
    def handle_sig(self, signum: Signals) -> None:
        super().handle_sig(signum)
        self._keep_cancelling()

    async def _wait_for_tasks_to_complete(self, signum: Signals) -> None:
        await super()._wait_for_tasks_to_complete(signum)  # ends by cancelling main_task
        self._keep_cancelling()

    def _keep_cancelling(self) -> None:
        task = self.main_task

        def again() -> None:
            if task is not None and not task.done():
                task.cancel()
                self.loop.call_later(REPEAT_CANCEL_SECONDS, again)

        again()


def run(settings_class: type[Any], **overrides: Any) -> None:
    """``arq.worker.run_worker`` with this worker class."""
    worker = Worker(**{**get_kwargs(settings_class), **overrides})
    worker.run()
