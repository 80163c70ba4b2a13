"""What a sender raises when a message could not be handed over (the outbox retries it)."""

from __future__ import annotations


class SendFailed(Exception):
    """A temporary or permanent failure to deliver; ``permanent`` skips further retries."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
