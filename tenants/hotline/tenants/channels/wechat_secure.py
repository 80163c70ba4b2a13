"""WeChat's encrypted mode (安全模式, docs/channels.md): the callback's body is
``<xml><ToUserName/><Encrypt/></xml>`` and the query carries ``encrypt_type=aes`` and
``msg_signature = sha1(sorted(token, timestamp, nonce, Encrypt))`` — unlike the plain
mode's signature, it covers the body.

``Encrypt`` is base64 of AES-256-CBC (key = base64 of the account's 43-character
EncodingAESKey, IV = its first 16 bytes, PKCS#7 padding to 32-byte blocks — WeChat's
protocol, not our choice) over ``random(16) ‖ length(4, big-endian) ‖ message ‖ AppID``.
The cipher and the padding are the ``cryptography`` package's primitives; nothing here
chains blocks by hand. The tests encrypt with wechatpy's ``WeChatCrypto`` (an independent
implementation) and this module must read what it writes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from hotline.tenants.kernel.errors import AuthFailed, Invalid

AES_KEY_LENGTH = 43  # characters of an EncodingAESKey (base64 of 32 bytes, no "=")
_BLOCK_BITS = 256  # WeChat pads to 32 bytes


def aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte key of an EncodingAESKey; Invalid when it is not one."""
    text = encoding_aes_key.strip()
    if len(text) != AES_KEY_LENGTH:
        raise Invalid("an EncodingAESKey is {length} characters", field="encodingAesKey", length=43)
    try:
        key = base64.b64decode(text + "=", validate=True)
    except binascii.Error:
        raise Invalid(
            "an EncodingAESKey is {length} characters", field="encodingAesKey", length=43
        ) from None
    return key


def msg_signature(*, token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    joined = "".join(sorted([token, timestamp, nonce, encrypt]))
    return hashlib.sha1(joined.encode()).hexdigest()  # noqa: S324 — WeChat's scheme


def check_msg_signature(
    *, token: str, timestamp: str, nonce: str, encrypt: str, signature: str
) -> None:
    expected = msg_signature(token=token, timestamp=timestamp, nonce=nonce, encrypt=encrypt)
    if not hmac.compare_digest(expected, signature.strip().lower()):
        raise AuthFailed("the request's signature is wrong")


def decrypt(*, key: bytes, encrypt: str, app_id: str) -> bytes:
    """The message inside ``Encrypt``; AuthFailed when it does not open with this key or
    was not written for this AppID (the signature was right: a wrong key or a forgery)."""
    try:
        sealed = base64.b64decode(encrypt, validate=True)
    except binascii.Error:
        raise AuthFailed("the encrypted message cannot be read") from None
    if not sealed or len(sealed) % 16:
        raise AuthFailed("the encrypted message cannot be read")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    padded = decryptor.update(sealed) + decryptor.finalize()
    unpadder = padding.PKCS7(_BLOCK_BITS).unpadder()
    try:
        plain = unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise AuthFailed("the encrypted message cannot be read") from None
    if len(plain) < 20:
        raise AuthFailed("the encrypted message cannot be read")
    (length,) = struct.unpack(">I", plain[16:20])
    message, sender = plain[20 : 20 + length], plain[20 + length :]
    if len(message) != length or not hmac.compare_digest(sender, app_id.encode()):
        raise AuthFailed("the encrypted message was not written for this account")
    return message
