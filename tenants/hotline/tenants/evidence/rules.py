"""Pure evidence rules: a city's policy and its defaults, upload checks, who may see what."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hotline.platform.media.sniff import KINDS, kind_of, normalize
from hotline.tenants.evidence.models import Kind
from hotline.tenants.kernel.errors import Invalid
from hotline.tenants.tickets.models import Status

MIB = 1024 * 1024
UPLOAD_LINK_TTL = timedelta(minutes=15)
DOWNLOAD_LINK_TTL = timedelta(minutes=5)  # never longer: a leaked link dies quickly
UNFINALIZED_AFTER = timedelta(hours=6)
# An evidence stuck in `verifying` this long lost its job (Redis restart): enqueue again.
VERIFY_STALE_AFTER = timedelta(minutes=30)
# Citizen calls (number + query code) per ticket number and minute, right or wrong.
CITIZEN_CALLS_PER_MINUTE = 30
# One POST upload (S3 allows 5 GiB); sizes travel as GraphQL Int, which is 32-bit.
MAX_SINGLE_UPLOAD = 2**31 - 1
MAX_RETENTION_DAYS = 36500
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

# A ticket in one of these states is still being worked on: its evidence is never expired
# and may still grow.
OPEN_TICKET_STATUSES = frozenset(
    {
        Status.RECEIVED,
        Status.DISPATCHED,
        Status.ACCEPTED,
        Status.RETURNED,
        Status.REPLIED,
        Status.REVISIT,
        Status.REOPENED,
    }
)


@dataclass(frozen=True)
class Policy:
    allowed_types: frozenset[str]
    max_bytes: Mapping[Kind, int]
    retention_days: int
    is_default: bool = field(default=False, compare=False)

    def limit(self, kind: Kind) -> int:
        return self.max_bytes[kind]


DEFAULT_POLICY = Policy(
    allowed_types=frozenset(
        {
            "image/jpeg",
            "image/png",
            "image/heic",
            "image/heif",
            "image/webp",
            "video/mp4",
            "video/quicktime",
            "audio/mpeg",
            "audio/mp4",
            "audio/amr",
        }
    ),
    max_bytes={Kind.PHOTO: 20 * MIB, Kind.VIDEO: 200 * MIB, Kind.AUDIO: 20 * MIB},
    retention_days=730,
    is_default=True,
)


def policy_from(
    allowed_types: Iterable[str], max_bytes: Mapping[str, Any], retention_days: int
) -> Policy:
    """A validated policy from input (GraphQL) or from its JSON row."""
    types = frozenset(normalize(t) for t in allowed_types)
    unknown = sorted(t for t in types if t not in KINDS)
    if unknown:
        raise Invalid("types we cannot process: {types}", field="allowedTypes", types=list(unknown))
    if not types:
        raise Invalid("allow at least one type", field="allowedTypes")
    limits: dict[Kind, int] = dict(DEFAULT_POLICY.max_bytes)
    for name, value in max_bytes.items():
        try:
            kind = Kind(name)
        except ValueError as exc:
            raise Invalid("unknown kind {kind}", field="maxBytes", kind=repr(name)) from exc
        if not isinstance(value, int) or not 1 <= value <= MAX_SINGLE_UPLOAD:
            raise Invalid(
                "{kind}: between 1 byte and {max} bytes",
                field="maxBytes",
                kind=name,
                max=MAX_SINGLE_UPLOAD,
            )
        limits[kind] = value
    if not 1 <= retention_days <= MAX_RETENTION_DAYS:
        raise Invalid("between 1 and {max} days", field="retentionDays", max=MAX_RETENTION_DAYS)
    return Policy(allowed_types=types, max_bytes=limits, retention_days=retention_days)


def check_upload_request(
    policy: Policy, *, file_name: str, content_type: str, size: int, sha256: str
) -> tuple[Kind, str]:
    """The kind and normalized type of an upload the city accepts, or Invalid."""
    if not 1 <= len(file_name.strip()) <= 200:
        raise Invalid("a file name of 1 to 200 characters", field="fileName")
    mime = normalize(content_type)
    media = kind_of(mime)
    if media is None or mime not in policy.allowed_types:
        raise Invalid("{type} is not accepted by this city", field="contentType", type=content_type)
    kind = Kind(media.value)
    if not 1 <= size <= policy.limit(kind):
        raise Invalid(
            "a {kind} may be 1 to {max} bytes",
            field="size",
            kind=kind.value,
            max=policy.limit(kind),
        )
    if not _SHA256.match(sha256.lower()):
        raise Invalid("sha256 must be 64 hex digits", field="sha256")
    return kind, mime


def sniffed_type_problem(policy: Policy, *, declared_kind: Kind, sniffed: str | None) -> str | None:
    """Why the bytes' real type is refused, or None when it is fine."""
    if sniffed is None:
        return "the file's content matches no known media type"
    if sniffed not in policy.allowed_types:
        return f"the file's content is {sniffed}, which this city does not accept"
    media = kind_of(sniffed)
    if media is None or media.value != declared_kind.value:
        return f"the file's content is {sniffed}, not a {declared_kind.value}"
    return None


def departments_on_path(paths: Iterable[str]) -> frozenset[int]:
    """Every department on the materialized paths (``/1/5/23/``): each one and its ancestors."""
    return frozenset(int(part) for path in paths for part in path.split("/") if part)


def department_may_see(actor_departments: Iterable[int], assigned_paths: Iterable[str]) -> bool:
    """A department sees a ticket's evidence when it, or a department below it, is assigned."""
    return not departments_on_path(assigned_paths).isdisjoint(actor_departments)


def retention_cutoff(now: datetime, retention_days: int) -> datetime:
    """Tickets closed before this moment have outlived the city's retention."""
    return now - timedelta(days=retention_days)
