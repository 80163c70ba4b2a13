"""Video and audio through PyAV (FFmpeg): duration, a poster frame, metadata-free remux."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import av
from PIL import Image

POSTER_SIDE = 1280


class MediaError(ValueError):
    """The file could not be decoded as audio/video."""


@dataclass(frozen=True)
class AvInfo:
    duration_seconds: float | None
    width: int | None = None
    height: int | None = None
    poster: Image.Image | None = None
    # Where it was recorded (QuickTime/MP4 ISO 6709 "location" tag), WGS-84.
    lat: float | None = None
    lng: float | None = None


_ISO6709 = re.compile(r"^([+-]\d{1,2}(?:\.\d+)?)([+-]\d{1,3}(?:\.\d+)?)")


def parse_iso6709(text: str) -> tuple[float, float] | None:
    """``+36.6512+117.1201/`` (degrees; altitude ignored) → (lat, lng)."""
    match = _ISO6709.match(text.strip())
    if match is None:
        return None
    lat, lng = float(match.group(1)), float(match.group(2))
    if abs(lat) > 90 or abs(lng) > 180:
        return None
    return lat, lng


def probe(path: Path, *, want_poster: bool = True) -> AvInfo:
    """Duration of the container (or its longest stream) and the first video frame."""
    try:
        with av.open(str(path)) as container:
            duration: float | None = None
            if container.duration is not None:
                duration = container.duration / av.time_base
            else:
                for stream in container.streams:
                    if stream.duration is not None and stream.time_base is not None:
                        length = float(stream.duration * stream.time_base)
                        duration = max(duration or 0.0, length)
            place = parse_iso6709(container.metadata.get("location", ""))
            lat, lng = place if place else (None, None)
            if not container.streams.video:
                return AvInfo(duration_seconds=duration, lat=lat, lng=lng)
            video = container.streams.video[0]
            poster = None
            if want_poster:
                for frame in container.decode(video):
                    poster = frame.to_image()  # type: ignore[no-untyped-call]
                    break
            return AvInfo(
                duration_seconds=duration,
                width=video.codec_context.width,
                height=video.codec_context.height,
                poster=poster,
                lat=lat,
                lng=lng,
            )
    except av.FFmpegError as exc:
        raise MediaError(str(exc)) from exc


# Container (FFmpeg muxer) to write a stripped copy in, per MIME type.
MUXERS = {
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/webm": "webm",
    "video/3gpp": "3gp",
    "audio/mpeg": "mp3",
    "audio/mp4": "ipod",
    "audio/ogg": "ogg",
}


def strip_metadata(source: Path, target: Path, *, muxer: str) -> None:
    """Copy the audio/video packets into a new container without any metadata
    (GPS in QuickTime's ©xyz, ID3 tags, creation times): no re-encoding."""
    try:
        with av.open(str(source)) as inp, av.open(str(target), "w", format=muxer) as out:
            streams = [s for s in inp.streams if s.type in ("video", "audio")]
            mapping = {s.index: out.add_stream_from_template(s) for s in streams}
            for packet in inp.demux(streams):
                if packet.dts is None:  # the demuxer's flush packet
                    continue
                packet.stream = mapping[packet.stream.index]
                out.mux(packet)
    except av.FFmpegError as exc:
        raise MediaError(str(exc)) from exc
