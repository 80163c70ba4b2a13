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

:func:`open_encrypted` is the callback's whole check in this mode (window,
``msg_signature``, AES, AppID); :func:`read_xml` is the one way both modes parse a
callback's XML (defusedxml: no DTDs, no entities).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from datetime import datetime
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeXml
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from hotline.platform.crypto import decrypt as decrypt_at_rest
from hotline.tenants.channels.keys import check_window
from hotline.tenants.channels.models import WechatAccount
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


def read_xml(body: bytes) -> Element:
    """A callback's XML root; Invalid when it is not XML we read (a DTD, an entity)."""
    try:
        root: Element = SafeXml.fromstring(body)
    except Exception as exc:  # defusedxml raises several kinds; all mean "not ours"
        raise Invalid("the body is not a WeChat message", field="body") from exc
    return root


def xml_text(root: Element, name: str) -> str:
    found = root.find(name)
    return (found.text or "").strip() if found is not None else ""


async def secure_key() -> tuple[bytes, str] | None:
    """The current city's encrypted-mode key and AppID, when it set an EncodingAESKey."""
    account = await WechatAccount.all().first()
    if account is None or account.aes_key_enc is None:
        return None
    return aes_key(decrypt_at_rest(account.aes_key_enc)), account.app_id


def open_encrypted(
    *,
    token: str,
    key: bytes,
    app_id: str,
    timestamp: str,
    nonce: str,
    msg_signature: str,
    body: bytes,
    now: datetime,
) -> bytes:
    """An encrypted-mode callback's message: the window, ``msg_signature`` over the
    ``Encrypt`` element, then AES; AuthFailed on any failure."""
    check_window(timestamp, now)
    sealed = xml_text(read_xml(body), "Encrypt")
    if not sealed:
        raise AuthFailed("the account takes only encrypted messages")
    check_msg_signature(
        token=token, timestamp=timestamp, nonce=nonce, encrypt=sealed, signature=msg_signature
    )
    return decrypt(key=key, encrypt=sealed, app_id=app_id)
