"""Password hashing (argon2id) and the password policy.

Hashing costs tens of milliseconds of CPU on purpose; async callers run these
functions in a worker thread (``asyncio.to_thread``) so the event loop keeps serving.
"""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
# A passphrase this long passes without mixing character classes.
PASSPHRASE_LENGTH = 16
MAX_LENGTH = 256

_hasher = PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash("hotline-dummy-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; with no hash (unknown user) it spends the same time."""
    try:
        return (
            _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with older parameters than the current ones."""
    return _hasher.check_needs_rehash(password_hash)


def _classes(password: str) -> int:
    return sum(
        (
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            # symbols, and letters without case such as Chinese characters
            any(not (c.islower() or c.isupper() or c.isdigit()) for c in password),
        )
    )


def password_problems(password: str, *, username: str = "") -> list[str]:
    """What is wrong with ``password`` under the policy; an empty list means it passes."""
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append(f"must be at least {MIN_LENGTH} characters long")
    if len(password) > MAX_LENGTH:
        problems.append(f"must be at most {MAX_LENGTH} characters long")
    if len(password) < PASSPHRASE_LENGTH and _classes(password) < 3:
        problems.append(
            "must mix at least 3 of lowercase, uppercase, digits and other characters "
            f"(or be at least {PASSPHRASE_LENGTH} characters long)"
        )
    if username and len(username) >= 3 and username.casefold() in password.casefold():
        problems.append("must not contain the username")
    return problems
