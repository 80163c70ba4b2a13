"""The real type of a file from its first bytes (``filetype``), whatever its name says."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import filetype  # type: ignore[import-untyped]  # ships no type hints

# filetype reads at most this many bytes from the start of a file.
HEAD_BYTES = 8192


class MediaKind(enum.StrEnum):
    PHOTO = "photo"
    VIDEO = "video"
    AUDIO = "audio"


# The MIME types we can process, and their kind. filetype names HEIF stills image/heic
# and image/heif; QuickTime is what iPhones record.
KINDS: dict[str, MediaKind] = {
    "image/jpeg": MediaKind.PHOTO,
    "image/png": MediaKind.PHOTO,
    "image/webp": MediaKind.PHOTO,
    "image/heic": MediaKind.PHOTO,
    "image/heif": MediaKind.PHOTO,
    "video/mp4": MediaKind.VIDEO,
    "video/quicktime": MediaKind.VIDEO,
    "video/webm": MediaKind.VIDEO,
    "video/3gpp": MediaKind.VIDEO,
    "audio/mpeg": MediaKind.AUDIO,
    "audio/mp4": MediaKind.AUDIO,
    "audio/aac": MediaKind.AUDIO,
    "audio/amr": MediaKind.AUDIO,
    "audio/x-wav": MediaKind.AUDIO,
    "audio/ogg": MediaKind.AUDIO,
}

# Declared types that name the same thing differently.
_ALIASES = {"image/jpg": "image/jpeg", "audio/wav": "audio/x-wav", "audio/x-m4a": "audio/mp4"}


@dataclass(frozen=True)
class Sniffed:
    mime: str
    extension: str

    @property
    def kind(self) -> MediaKind | None:
        return KINDS.get(self.mime)


def normalize(mime: str) -> str:
    base = mime.split(";", 1)[0].strip().lower()
    return _ALIASES.get(base, base)


def kind_of(mime: str) -> MediaKind | None:
    return KINDS.get(normalize(mime))


def sniff(head: bytes) -> Sniffed | None:
    """What the bytes are, or None when no known signature matches."""
    guess = filetype.guess(head[:HEAD_BYTES])
    if guess is None:
        return None
    return Sniffed(mime=normalize(guess.mime), extension=guess.extension)
