"""Citizens' phone numbers: one canonical form, so a repeat caller is recognised.

Whatever a caller or agent types (``13800001234``, ``+86 138 0000 1234``,
``0086-13800001234``, ``0531-86012345``, ``400-123-4567``, ``0531-86012345 转 123``)
becomes E.164 (``+8613800001234``), with an extension as ``;ext=123`` (RFC 3966).
Numbers without a country code are read as Chinese ones; a landline needs its area
code. Only the canonical form is encrypted and hashed, so the same number always
gives the same :func:`phone_hash` (citizen history, duplicate detection).
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat

from hotline.platform.crypto import keyed_hash
from hotline.tenants.kernel.errors import Invalid

PHONE_PURPOSE = "citizen-phone"
DEFAULT_REGION = "CN"

# "转 123", "分机123", "ext. 123", "x123", "#123" at the end of the text.
_EXTENSION = re.compile(r"\s*(?:转|分机|ext\.?|extension|x|#)\s*(\d{1,6})\s*$", re.IGNORECASE)
# "0531-86012345-123": a dash-separated extension after a complete landline number.
_DASH_EXTENSION = re.compile(r"^(.*\d)\s*-\s*(\d{1,6})$")


def _parse(text: str, region: str) -> PhoneNumber | None:
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def normalize_phone(phone: str, *, region: str = DEFAULT_REGION) -> str:
    """The E.164 form of ``phone`` (plus ``;ext=N``), or Invalid on ``citizenPhone``."""
    text = unicodedata.normalize("NFKC", phone).strip()
    extension: str | None = None
    found = _EXTENSION.search(text)
    if found:
        extension, text = found.group(1), text[: found.start()]
    number = _parse(text, region) if text else None
    if number is None and extension is None and (dashed := _DASH_EXTENSION.match(text)):
        number = _parse(dashed.group(1), region)
        extension = dashed.group(2) if number is not None else None
    if number is None:
        raise Invalid(
            "not a phone number (a landline needs its area code, e.g. 0531-86012345)",
            field="citizenPhone",
        )
    extension = extension or number.extension or None
    canonical = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return f"{canonical};ext={extension}" if extension else canonical


def phone_hash(phone: str) -> str:
    """The keyed hash that finds a caller's history (same number, same hash)."""
    return keyed_hash(normalize_phone(phone), PHONE_PURPOSE)


def mask_phone(phone: str) -> str:
    """+8613812345678 → 138****5678, +8653186012345 → 053*****2345; other countries keep
    their code (+1******0000); a stored number that is not E.164 is masked as it is."""
    main, _, extension = phone.partition(";ext=")
    prefix, shown = "", main
    if main.startswith("+"):
        try:
            number: PhoneNumber | None = phonenumbers.parse(main, None)
        except NumberParseException:
            number = None
        if number is not None and number.country_code == 86:
            national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
            shown = re.sub(r"\D", "", national)
        elif number is not None:
            prefix = f"+{number.country_code}"
            shown = str(number.national_number)
    if len(shown) >= 11:
        masked = shown[:3] + "*" * (len(shown) - 7) + shown[-4:]
    else:
        masked = (
            "*" * max(len(shown) - 4, 2) + shown[-4:]
            if len(shown) > 6
            else ("*" * max(len(shown) - 2, 0) + shown[-2:])
        )
    masked = prefix + masked
    return f"{masked} 转{extension}" if extension else masked
