"""Time-based one-time passwords (RFC 6238): 6 digits, 30-second steps."""

from __future__ import annotations

import pyotp
from pyotp.exceptions import OTPVerificationError

# One step either side tolerates a phone clock that is up to 30 seconds off.
VALID_WINDOW = 1
STEP_SECONDS = 30


def new_totp_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads from a QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def verify_totp(secret: str, code: str, *, for_time: float | None = None) -> int | None:
    """The time step ``code`` belongs to, or None when it does not match.

    Callers remember used steps to refuse a replayed code within its window.
    """
    code = code.strip().replace(" ", "")
    if not (code.isascii() and code.isdigit()):
        return None
    try:
        return pyotp.TOTP(secret).verify_and_get_timecode(
            code, for_time=for_time, valid_window=VALID_WINDOW
        )
    except OTPVerificationError:
        return None
