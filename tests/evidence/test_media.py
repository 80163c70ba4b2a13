"""The media toolkit on files made in the test: types by magic bytes, EXIF, thumbnails,
poster frames, stripped copies. No services needed."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from pathlib import Path

import av
from PIL import ExifTags, Image

from hotline.platform.media import images, sniff, video


def test_types_come_from_the_bytes_not_the_name(tmp_path: Path, kit) -> None:
    assert sniff.sniff(kit.photo()) == sniff.Sniffed("image/jpeg", "jpg")
    assert sniff.sniff(kit.mp4(tmp_path / "v.mp4", seconds=1)) == sniff.Sniffed("video/mp4", "mp4")
    elf = sniff.sniff(kit.ELF)
    assert elf is not None
    assert elf.kind is None
    assert sniff.sniff(b"just some text") is None
    assert sniff.kind_of("image/JPG") is sniff.MediaKind.PHOTO


def test_exif_time_and_gps_in_wgs84_decimal_degrees(tmp_path: Path, kit) -> None:
    path = tmp_path / "p.jpg"
    path.write_bytes(kit.photo(offset="+08:00"))
    info = images.inspect_image(path)
    assert (info.width, info.height) == (640, 480)
    assert info.exif.lat is not None
    assert info.exif.lng is not None
    assert abs(info.exif.lat - kit.PHOTO_LAT) < 1e-6
    assert abs(info.exif.lng - kit.PHOTO_LNG) < 1e-6
    assert info.exif.taken_at == datetime(2026, 11, 20, 9, 30, tzinfo=timezone(timedelta(hours=8)))

    path.write_bytes(kit.photo(lat=-33.8568, lng=-151.2153, offset=None))
    south_west = images.inspect_image(path).exif
    assert south_west.lat is not None
    assert south_west.lng is not None
    assert (round(south_west.lat, 4), round(south_west.lng, 4)) == (-33.8568, -151.2153)
    # naive: no offset written, so the camera's zone is unknown
    assert south_west.taken_at == datetime(2026, 11, 20, 9, 30)  # noqa: DTZ001

    path.write_bytes(kit.photo(lat=None, lng=None))
    assert images.inspect_image(path).exif.lat is None


def test_thumbnail_and_stripped_copy_carry_no_metadata(tmp_path: Path, kit) -> None:
    path = tmp_path / "p.jpg"
    path.write_bytes(kit.photo(size=(1600, 1200)))
    with Image.open(io.BytesIO(images.thumbnail(path))) as thumb:
        assert thumb.size == (320, 240)
        assert not thumb.getexif()
    data, mime = images.stripped_copy(path)
    assert mime == "image/jpeg"
    with Image.open(io.BytesIO(data)) as clean:
        assert clean.size == (1600, 1200)
        assert not clean.getexif()
        assert not clean.getexif().get_ifd(ExifTags.IFD.GPSInfo)


def test_heic_opens_and_its_published_copy_is_a_plain_jpeg(tmp_path: Path, kit) -> None:
    path = tmp_path / "p.heic"
    with Image.open(io.BytesIO(kit.photo())) as source:
        source.save(path, format="HEIF", exif=source.getexif().tobytes())
    assert sniff.sniff(path.read_bytes()) == sniff.Sniffed("image/heic", "heic")
    assert images.inspect_image(path).exif.lat is not None
    data, mime = images.stripped_copy(path)
    assert mime == "image/jpeg"
    with Image.open(io.BytesIO(data)) as clean:
        assert not clean.getexif()


def test_video_poster_duration_place_and_stripped_copy(tmp_path: Path, kit) -> None:
    source = tmp_path / "v.mp4"
    kit.mp4(source, seconds=2, location="+36.6625+117.0207/")
    info = video.probe(source)
    assert info.duration_seconds is not None
    assert abs(info.duration_seconds - 2.0) < 0.2
    assert (info.width, info.height) == (160, 120)
    assert info.poster is not None
    assert info.poster.size == (160, 120)
    assert (info.lat, info.lng) == (36.6625, 117.0207)

    target = tmp_path / "clean.mp4"
    video.strip_metadata(source, target, muxer="mp4")
    with av.open(str(target)) as clean:
        assert "location" not in clean.metadata
        assert clean.streams.video[0].frames == 24
    assert video.probe(target).lat is None


def test_iso6709_locations() -> None:
    assert video.parse_iso6709("-33.8568+151.2153+010.000/") == (-33.8568, 151.2153)
    assert video.parse_iso6709("nonsense") is None
    assert video.parse_iso6709("+95.0+10.0/") is None
