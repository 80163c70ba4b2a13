"""Personal data at rest: Fernet encryption with rotatable keys, and keyed lookup hashes.

``HOTLINE_DATA_KEYS`` holds one or more Fernet keys separated by commas: the first
encrypts, every key decrypts, so a key is rotated by putting a new one first and
dropping the old one once every value has been re-encrypted (:func:`reencrypt`).

Encrypted values cannot be searched, so a column that must be looked up (a phone
number, an API key's secret, a refresh token) also stores :func:`keyed_hash` of the
value: an HMAC with ``HOTLINE_HASH_KEY``, which an attacker holding only the database
cannot brute-force the way a plain hash of an 11-digit phone number can be.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from hotline.platform.settings import get_settings


class DecryptionError(ValueError):
    """A ciphertext that none of the configured data keys can open (or was tampered with)."""


def _keys(data_keys: str, hash_key: str) -> list[str]:
    keys = [k.strip() for k in data_keys.split(",") if k.strip()]
    if not keys:
        # DEVELOPMENT ONLY: with no data keys configured, derive one from the hash key so
        # a dev stack works out of the box. Production must set HOTLINE_DATA_KEYS.
        digest = hashlib.sha256(b"hotline-dev-data-key\x00" + hash_key.encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    return keys


@lru_cache(maxsize=4)
def _fernet(data_keys: str, hash_key: str) -> MultiFernet:
    return MultiFernet([Fernet(k) for k in _keys(data_keys, hash_key)])


def _current() -> MultiFernet:
    settings = get_settings()
    return _fernet(settings.data_keys.get_secret_value(), settings.hash_key.get_secret_value())


def encrypt_many(values: Sequence[str]) -> list[str]:
    """:func:`encrypt` for a batch (bulk imports): one key lookup for the whole batch,
    each value its own Fernet token (fresh IV). The cipher stays the library's own:
    no hand-made modes, whatever a profile says."""
    fernet = _current()
    return [fernet.encrypt(value.encode()).decode() for value in values]


def encrypt(value: str) -> str:
    return _current().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _current().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError("value cannot be decrypted with the configured data keys") from exc


def reencrypt(token: str) -> str:
    """The same plaintext under the current first key (for a key-rotation sweep)."""
    try:
        return _current().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError("value cannot be decrypted with the configured data keys") from exc


def keyed_hash(value: str, purpose: str) -> str:
    """Hex HMAC-SHA256 of ``value``; ``purpose`` separates the uses of one key."""
    key = get_settings().hash_key.get_secret_value().encode()
    return hmac.new(key, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()
