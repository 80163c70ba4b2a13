"""The bulk encryptor writes Fernet tokens that :func:`decrypt` opens, each with its
own IV."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hotline.platform.crypto import decrypt, encrypt_many


@given(st.lists(st.text(max_size=70), max_size=30))
def test_encrypt_many_round_trips(values: list[str]) -> None:
    tokens = encrypt_many(values)
    assert [decrypt(t) for t in tokens] == values


def test_equal_values_get_different_tokens() -> None:
    tokens = encrypt_many(["王伟"] * 50 + ["a" * 16, "b" * 32])
    assert len(set(tokens)) == len(tokens)
    assert decrypt(tokens[-1]) == "b" * 32
