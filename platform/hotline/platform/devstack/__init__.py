"""The embedded development stack: real PostgreSQL, Redis and an S3 stand-in, no fixed ports."""

from hotline.platform.devstack.stack import EmbeddedStack

__all__ = ["EmbeddedStack"]
