"""Encryption at rest, keyed hashes, the password policy and hashing, TOTP codes."""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Callable

import pyotp
import pytest
from argon2 import PasswordHasher
from cryptography.fernet import Fernet

from hotline.platform.auth.passwords import (
    hash_password,
    needs_rehash,
    password_problems,
    verify_password,
)
from hotline.platform.auth.totp import new_totp_secret, provisioning_uri, verify_totp
from hotline.platform.crypto import DecryptionError, decrypt, encrypt, keyed_hash, reencrypt


def test_encrypt_round_trip_and_tamper_detection() -> None:
    token = encrypt("13800138000")
    assert "13800138000" not in token
    assert token != encrypt("13800138000")  # random IV
    assert decrypt(token) == "13800138000"
    raw = bytearray(base64.urlsafe_b64decode(token))
    raw[-40] ^= 1
    with pytest.raises(DecryptionError):
        decrypt(base64.urlsafe_b64encode(bytes(raw)).decode())


def test_data_key_rotation(setting: Callable[[str, str], None]) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    setting("DATA_KEYS", old)
    stored = encrypt("张三")
    setting("DATA_KEYS", f"{new},{old}")
    assert decrypt(stored) == "张三"
    rotated = reencrypt(stored)
    setting("DATA_KEYS", new)
    assert decrypt(rotated) == "张三"
    with pytest.raises(DecryptionError):
        decrypt(stored)


def test_keyed_hash(setting: Callable[[str, str], None]) -> None:
    digest = keyed_hash("13800138000", "phone")
    assert len(digest) == 64
    assert digest == keyed_hash("13800138000", "phone")
    assert digest != keyed_hash("13800138000", "api-key")
    setting("HASH_KEY", os.urandom(16).hex())
    assert digest != keyed_hash("13800138000", "phone")


@pytest.mark.parametrize(
    ("password", "problems"),
    [
        ("Short-1", ["at least 10"]),
        ("alllowercase", ["mix at least 3"]),
        ("lowercase-1234", []),
        ("Upper-and-lower", []),
        ("correct horse battery", []),
        ("市民热线服务中心abc123", []),
        ("Alice-Secret-9", ["username"]),
        ("x" * 300, ["at most 256"]),
    ],
)
def test_password_policy(password: str, problems: list[str]) -> None:
    found = password_problems(password, username="alice")
    assert len(found) == len(problems)
    for problem, expected in zip(found, problems, strict=True):
        assert expected in problem


def test_password_hashing() -> None:
    hashed = hash_password("Correct-Horse-42")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "Correct-Horse-42")
    assert not verify_password(hashed, "correct-horse-42")
    assert not verify_password(None, "Correct-Horse-42")
    assert not verify_password("not-a-hash", "Correct-Horse-42")
    assert not needs_rehash(hashed)
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("Correct-Horse-42")
    assert verify_password(weak, "Correct-Horse-42")
    assert needs_rehash(weak)


def test_totp() -> None:
    secret = new_totp_secret()
    totp = pyotp.TOTP(secret)
    now = time.time()
    step = int(now // 30)
    assert verify_totp(secret, totp.at(now), for_time=now) == step
    assert verify_totp(secret, totp.at(now - 30), for_time=now) == step - 1
    assert verify_totp(secret, totp.at(now + 30), for_time=now) == step + 1
    assert verify_totp(secret, totp.at(now + 90), for_time=now) is None
    assert (
        verify_totp(secret, " " + totp.at(now)[:3] + " " + totp.at(now)[3:], for_time=now) == step
    )
    assert verify_totp(secret, "abcdef", for_time=now) is None
    assert verify_totp(secret, "١٢٣٤٥٦", for_time=now) is None
    uri = provisioning_uri(secret, account="alice", issuer="Hotline 12345")
    assert uri.startswith("otpauth://totp/Hotline%2012345:alice?secret=")
