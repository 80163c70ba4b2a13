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
import os
import struct
import time
from collections.abc import Sequence
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

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
    """Fernet tokens of ``values`` under the current first key, the same format as
    :func:`encrypt` (so :func:`decrypt` opens them), for bulk imports: a fresh random IV
    per value, but one AES context for the whole batch. CBC is chained by hand over an
    ECB context (C_k = AES(P_k xor C_{k-1}), C_0 = IV), block k of every value encrypted
    in one call; Fernet's one-cipher-object-per-token costs tens of µs a value."""
    if not values:
        return []
    settings = get_settings()
    key = base64.urlsafe_b64decode(
        _keys(settings.data_keys.get_secret_value(), settings.hash_key.get_secret_value())[0]
    )
    # ECB only as the block function under the CBC chaining below (never on its own)
    ecb = Cipher(algorithms.AES(key[16:]), modes.ECB()).encryptor()  # noqa: S305
    signing = key[:16]
    prefix = b"\x80" + struct.pack(">Q", int(time.time()))
    ivs = os.urandom(16 * len(values))
    plain: list[bytes] = []
    for value in values:  # PKCS7, as Fernet pads
        data = value.encode()
        pad = 16 - len(data) % 16
        plain.append(data + bytes((pad,)) * pad)
    chained = [int.from_bytes(ivs[16 * i : 16 * i + 16], "big") for i in range(len(values))]
    cipher = [bytearray() for _ in values]
    rounds = max(len(p) for p in plain) // 16
    for k in range(rounds):
        todo = [i for i, p in enumerate(plain) if len(p) > 16 * k]
        block = b"".join(
            (int.from_bytes(plain[i][16 * k : 16 * k + 16], "big") ^ chained[i]).to_bytes(16, "big")
            for i in todo
        )
        out = ecb.update(block)
        for n, i in enumerate(todo):
            piece = out[16 * n : 16 * n + 16]
            cipher[i] += piece
            chained[i] = int.from_bytes(piece, "big")
    mac = hmac.new(signing, digestmod=hashlib.sha256)
    tokens: list[str] = []
    for i, body in enumerate(cipher):
        signed = prefix + ivs[16 * i : 16 * i + 16] + bytes(body)
        h = mac.copy()
        h.update(signed)
        tokens.append(base64.urlsafe_b64encode(signed + h.digest()).decode())
    return tokens


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
