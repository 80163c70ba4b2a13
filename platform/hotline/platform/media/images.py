"""Photos: size, EXIF capture time and GPS (WGS-84 decimal degrees), thumbnails, and
copies without any metadata. HEIC/HEIF open through pillow-heif's Pillow plugin."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from PIL import ExifTags, Image, ImageOps
from pillow_heif import register_heif_opener

register_heif_opener()

THUMBNAIL_SIDE = 320
_GPS_LAT_REF, _GPS_LAT, _GPS_LNG_REF, _GPS_LNG = 1, 2, 3, 4
_DATETIME = 0x0132
_DATETIME_ORIGINAL = 0x9003
_OFFSET_TIME_ORIGINAL = 0x9011


@dataclass(frozen=True)
class ExifData:
    """``taken_at`` is aware when the camera wrote its UTC offset, naive (camera-local) if not."""

    taken_at: datetime | None = None
    lat: float | None = None
    lng: float | None = None


@dataclass(frozen=True)
class ImageInfo:
    width: int
    height: int
    exif: ExifData


def _degrees(value: Any, ref: Any, limit: float) -> float | None:
    try:
        d, m, s = (float(v) for v in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    result = d + m / 60 + s / 3600
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "replace")
    if str(ref).strip().upper() in ("S", "W"):
        result = -result
    if math.isnan(result) or abs(result) > limit:
        return None
    return round(result, 7)


def _taken_at(exif: Image.Exif) -> datetime | None:
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    raw = sub.get(_DATETIME_ORIGINAL) or exif.get(_DATETIME)
    if not isinstance(raw, str):
        return None
    try:
        # The camera's wall time; its zone is only known from the offset tag below, so
        # without one it stays naive on purpose (it is never compared with instants).
        moment = datetime.strptime(raw.strip("\x00 "), "%Y:%m:%d %H:%M:%S")  # noqa: DTZ007
    except ValueError:
        return None
    offset = sub.get(_OFFSET_TIME_ORIGINAL)
    if isinstance(offset, str) and len(offset) == 6 and offset[0] in "+-":
        try:
            hours, minutes = int(offset[1:3]), int(offset[4:6])
        except ValueError:
            return moment
        sign = -1 if offset[0] == "-" else 1
        return moment.replace(tzinfo=timezone(sign * timedelta(hours=hours, minutes=minutes)))
    return moment


def read_exif(image: Image.Image) -> ExifData:
    exif = image.getexif()
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    lat = lng = None
    if _GPS_LAT in gps and _GPS_LNG in gps:
        lat = _degrees(gps[_GPS_LAT], gps.get(_GPS_LAT_REF, "N"), 90)
        lng = _degrees(gps[_GPS_LNG], gps.get(_GPS_LNG_REF, "E"), 180)
        if lat is None or lng is None:
            lat = lng = None
    return ExifData(taken_at=_taken_at(exif), lat=lat, lng=lng)


def inspect_image(path: Path) -> ImageInfo:
    with Image.open(path) as image:
        return ImageInfo(width=image.width, height=image.height, exif=read_exif(image))


def _jpeg(image: Image.Image, *, quality: int) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()


def thumbnail(path: Path, *, side: int = THUMBNAIL_SIDE) -> bytes:
    """A JPEG no larger than ``side`` on either edge, upright, without metadata."""
    with Image.open(path) as image:
        # JPEG decodes straight at a reduced scale: most of the cost of a big photo saved.
        image.draft("RGB", (side, side))
        upright = ImageOps.exif_transpose(image)
        upright.thumbnail((side, side))
        return _jpeg(upright, quality=80)


def poster_thumbnail(image: Image.Image, *, side: int = THUMBNAIL_SIDE) -> bytes:
    copy = image.copy()
    copy.thumbnail((side, side))
    return _jpeg(copy, quality=80)


# Formats we re-encode as themselves; anything else (HEIC…) becomes JPEG.
_KEEP_FORMAT = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


def stripped_copy(path: Path) -> tuple[bytes, str]:
    """The picture re-encoded with no EXIF/GPS/XMP at all, rotated upright; (bytes, MIME)."""
    with Image.open(path) as image:
        fmt = image.format or ""
        upright = ImageOps.exif_transpose(image)
        if fmt not in _KEEP_FORMAT:
            return _jpeg(upright, quality=90), "image/jpeg"
        out = io.BytesIO()
        if fmt == "JPEG":
            upright.convert("RGB").save(out, "JPEG", quality=90)
        else:
            # A fresh image carries only pixels: no info dict, no exif, no text chunks.
            clean = Image.new(upright.mode, upright.size)
            clean.paste(upright)
            clean.save(out, fmt)
        return out.getvalue(), _KEEP_FORMAT[fmt]
