"""Open311 GeoReport v2 on the city's tickets (docs/channels.md): services from the
city's categories, requests in through the intake pipeline, requests out as the
standard's views. HTTP and the JSON/XML shapes live in ``hotline.schema.open311``.

Services are the city's active top-level categories (``service_code`` = the category's
code, else its id); a category's children are the service's ``subcategory`` attribute.
``service_request_id`` is the ticket number. The public list shows only tickets this
interface took (channel ``open311``) and never confidential ones, with no personal data:
the description redacted and the address coarsened as for published cases
(``statistics.redaction``), lat/long to 3 decimals.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from tortoise.queryset import QuerySet

from hotline.platform import clock
from hotline.platform.crypto import decrypt
from hotline.tenants.categories.models import Category
from hotline.tenants.categories.service import sibling_order
from hotline.tenants.channels import media
from hotline.tenants.channels.models import InboundMessage
from hotline.tenants.channels.pipeline import Submission, submit
from hotline.tenants.departments.models import Department
from hotline.tenants.evidence.received import Received
from hotline.tenants.kernel.access import Actor
from hotline.tenants.kernel.errors import Invalid, NotFound
from hotline.tenants.statistics.redaction import coarse_address, redact
from hotline.tenants.tickets import access
from hotline.tenants.tickets.flow import OPEN
from hotline.tenants.tickets.models import Assignment, Channel, Kind, Status, Ticket

SUBCATEGORY = "subcategory"
KIND = "kind"
MAX_LISTED = 1000
DEFAULT_DAYS = 90
MAX_DESCRIPTION = 4000
# a repeat of the same form by one key within this window is the client's retry; later
# it is another citizen's report (a client uses one key for all its users)
RETRY_WINDOW = timedelta(minutes=10)
_KIND_NAMES = {
    Kind.REPORT: "Report a problem",
    Kind.COMPLAINT: "Complaint",
    Kind.HELP: "Request for help",
    Kind.CONSULTATION: "Question",
    Kind.SUGGESTION: "Suggestion",
    Kind.PRAISE: "Praise",
}
_STATUS_NOTES = {
    Status.RECEIVED: "Received by the hotline center.",
    Status.DISPATCHED: "Sent to the responsible department.",
    Status.ACCEPTED: "The responsible department is handling it.",
    Status.RETURNED: "Being re-assigned by the hotline center.",
    Status.REPLIED: "The department has replied; the center is reviewing the reply.",
    Status.REVISIT: "Handled; the center will ask the citizen's satisfaction.",
    Status.REOPENED: "Reopened for further handling.",
    Status.CLOSED: "Closed.",
    Status.ANSWERED: "Answered by the hotline center.",
    Status.CANCELLED: "Cancelled.",
    Status.MERGED: "Merged with another request on the same matter.",
    Status.TRANSFERRED: "Transferred to another city.",
    Status.REJECTED: "Not accepted by the hotline center.",
}


@dataclass(frozen=True)
class Service:
    code: str
    name: str
    description: str
    group: str


@dataclass(frozen=True)
class AttributeValue:
    key: str
    name: str


@dataclass(frozen=True)
class Attribute:
    code: str
    description: str
    required: bool
    order: int
    values: list[AttributeValue]


@dataclass(frozen=True)
class RequestView:
    service_request_id: str
    status: str  # open | closed
    status_notes: str
    service_name: str
    service_code: str
    description: str
    agency_responsible: str
    requested_datetime: datetime
    updated_datetime: datetime
    expected_datetime: datetime | None
    address: str
    lat: Decimal | None
    long: Decimal | None


@dataclass(frozen=True)
class Created:
    service_request_id: str
    token: str | None
    service_notice: str
    created: bool


def service_code(category: Category) -> str:
    return category.code or str(category.id)


async def _roots() -> list[Category]:
    # in the order of the city's category tree (categoryTree): by code, uncoded last
    return sorted(await Category.filter(parent_id=None, is_active=True), key=sibling_order)


async def _service(code: str) -> Category:
    for root in await _roots():
        if service_code(root) == code:
            return root
    raise NotFound("service", field="service_code")


async def _service_with_children(code: str) -> tuple[Category, list[Category]]:
    """A service and its active subcategories in one read (roots are depth 0, their
    children depth 1): what ``POST requests`` needs, one round trip instead of two."""
    rows = sorted(await Category.filter(is_active=True, depth__lte=1), key=sibling_order)
    root = next((r for r in rows if r.parent_id is None and service_code(r) == code), None)
    if root is None:
        raise NotFound("service", field="service_code")
    return root, [r for r in rows if r.parent_id == root.id]


async def _children(root: Category) -> list[Category]:
    return sorted(await Category.filter(parent_id=root.id, is_active=True), key=sibling_order)


async def services() -> list[Service]:
    """The current city's services (each has attributes: at least the kind)."""
    return [
        Service(code=service_code(r), name=r.name, description=r.name, group=r.name)
        for r in await _roots()
    ]


async def definition(code: str) -> tuple[str, list[Attribute]]:
    """A service's code and attributes: its subcategories (required when it has some)
    and the kind of request."""
    root = await _service(code)
    children = await _children(root)
    attributes: list[Attribute] = []
    if children:
        attributes.append(
            Attribute(
                code=SUBCATEGORY,
                description="What exactly is the problem?",
                required=True,
                order=1,
                values=[AttributeValue(key=service_code(c), name=c.name) for c in children],
            )
        )
    attributes.append(
        Attribute(
            code=KIND,
            description="What kind of request is this?",
            required=False,
            order=len(attributes) + 1,
            values=[AttributeValue(key=k.value, name=n) for k, n in _KIND_NAMES.items()],
        )
    )
    return service_code(root), attributes


def _decimal(value: str, name: str) -> Decimal:
    try:
        return Decimal(value.strip())
    except InvalidOperation as exc:
        raise Invalid("{name} must be a number", field=name, name=name) from exc


def _dedupe_key(api_key_id: int | None, form: Mapping[str, str]) -> str:
    """Identical POSTs by one key in one ``RETRY_WINDOW`` bucket are one request (a
    client's retry); the same form in a later bucket is a new request."""
    body = {k: v for k, v in sorted(form.items()) if k != "api_key"}
    digest = hashlib.sha256(json.dumps(body, ensure_ascii=False).encode()).hexdigest()
    bucket = int(clock.now().timestamp() // RETRY_WINDOW.total_seconds())
    return f"key{api_key_id}:{bucket}:{digest}"


async def create_request(*, actor: Actor, form: Mapping[str, str]) -> Created:
    """POST requests: validate everything (and fetch the media) before anything is stored."""
    code = form.get("service_code", "").strip()
    if not code:
        raise Invalid("service_code is required", field="service_code")
    lat, lng = form.get("lat", "").strip(), form.get("long", "").strip()
    address = form.get("address_string", "").strip()
    address_id = form.get("address_id", "").strip()
    if not (lat and lng) and not address and not address_id:
        raise Invalid(
            "a location is required: lat and long, address_string or address_id",
            field="lat",
        )
    description = form.get("description", "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise Invalid(
            "description has at most {max} characters", field="description", max=MAX_DESCRIPTION
        )
    with access.city_scope(actor):
        root, kids = await _service_with_children(code)
        children = {service_code(c): c for c in kids}
        chosen = form.get(f"attribute[{SUBCATEGORY}]", "").strip()
        if children and chosen not in children:
            raise Invalid(
                "attribute[subcategory] must be one of the service's values",
                field=f"attribute[{SUBCATEGORY}]",
            )
        category = children[chosen] if children else root
        kind_value = form.get(f"attribute[{KIND}]", "").strip() or Kind.REPORT.value
        if kind_value not in {k.value for k in Kind}:
            raise Invalid("attribute[kind] is not a known kind", field=f"attribute[{KIND}]")
        received: Received | None = None
        if form.get("media_url", "").strip():
            received = await media.fetch_media(form["media_url"])
    name = " ".join(p for p in (form.get("first_name", ""), form.get("last_name", "")) if p)
    intake = await submit(
        actor=actor,
        submission=Submission(
            channel=Channel.OPEN311,
            external_id=_dedupe_key(actor.api_key_id, form),
            content=description or f"{root.name}: {category.name}",
            kind=Kind(kind_value),
            title=category.name,
            citizen_name=name or None,
            citizen_phone=form.get("phone") or None,
            address=address or (f"address #{address_id}" if address_id else ""),
            lng=_decimal(lng, "long") if lat and lng else None,
            lat=_decimal(lat, "lat") if lat and lng else None,
            category_id=category.id,
            with_token=True,
            attachments=(received,) if received is not None else (),
            api_key_id=actor.api_key_id,
        ),
    )
    return Created(
        service_request_id=intake.ticket.number,
        token=intake.token,
        # the query code only to the POST that created the ticket, never to a repeat
        service_notice=(
            f"Query code {intake.query_code}" if intake.query_code and intake.created else ""
        ),
        created=intake.created,
    )


def _parse_time(value: str, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise Invalid("{name} must be a W3C date-time", field=name, name=name) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _coarse(degrees: Decimal | None) -> Decimal | None:
    """A coordinate to 3 decimals (about 100 m): the public reads show no exact spot."""
    return None if degrees is None else degrees.quantize(Decimal("0.001"))


async def _views(tickets: Sequence[Ticket]) -> list[RequestView]:
    ids = [t.id for t in tickets]
    leads: dict[int, int] = {}
    for a in await Assignment.filter(ticket_id__in=ids, is_lead=True, parent_id=None).order_by(
        "round"
    ):
        leads[a.ticket_id] = a.department_id
    departments = {d.id: d.name for d in await Department.filter(id__in=set(leads.values()))}
    category_ids = {t.category_id for t in tickets if t.category_id is not None}
    categories = {c.id: c for c in await Category.filter(id__in=category_ids)}
    root_ids = {
        int(c.path.strip("/").split("/")[0]) for c in categories.values() if c.path.strip("/")
    }
    roots = {c.id: c for c in await Category.filter(id__in=root_ids)}

    def root_of(ticket: Ticket) -> Category | None:
        category = categories.get(ticket.category_id or 0)
        if category is None or not category.path.strip("/"):
            return None
        return roots.get(int(category.path.strip("/").split("/")[0]))

    views = []
    for t in tickets:
        root = root_of(t)
        views.append(
            RequestView(
                service_request_id=t.number,
                status="open" if t.status in OPEN else "closed",
                status_notes=t.public_reply or _STATUS_NOTES[t.status],
                service_name=root.name if root else "",
                service_code=service_code(root) if root else "",
                description=redact(
                    t.content,
                    names=[decrypt(t.citizen_name_enc)] if t.citizen_name_enc else [],
                    addresses=[t.address] if t.address else [],
                ),
                agency_responsible=departments.get(leads.get(t.id, 0), ""),
                requested_datetime=t.received_at,
                updated_datetime=t.updated_at,
                expected_datetime=t.reply_deadline,
                address=coarse_address(t.address),
                lat=_coarse(t.lat),
                long=_coarse(t.lng),
            )
        )
    return views


def _public() -> QuerySet[Ticket]:
    return Ticket.filter(channel=Channel.OPEN311, confidential=False)


async def request_views(*, query: Mapping[str, str]) -> list[RequestView]:
    """GET requests with the standard's filters, in the current city."""
    base = _public()
    ids = [i.strip() for i in query.get("service_request_id", "").split(",") if i.strip()]
    if ids:
        found = await base.filter(number__in=[i.upper() for i in ids[:MAX_LISTED]]).order_by("id")
        return await _views(found)
    now = datetime.now(UTC)
    end = _parse_time(query["end_date"], "end_date") if query.get("end_date") else now
    start = (
        _parse_time(query["start_date"], "start_date")
        if query.get("start_date")
        else end - timedelta(days=DEFAULT_DAYS)
    )
    q = base.filter(received_at__gte=start, received_at__lte=end)
    codes = [c.strip() for c in query.get("service_code", "").split(",") if c.strip()]
    if codes:
        wanted = [r for r in await _roots() if service_code(r) in codes]
        if not wanted:
            return []
        category_ids: list[int] = []
        for root in wanted:
            category_ids += [c.id for c in await Category.filter(path__startswith=root.path)]
        q = q.filter(category_id__in=category_ids)
    statuses = {s.strip() for s in query.get("status", "").split(",") if s.strip()}
    if statuses - {"open", "closed"}:
        raise Invalid("status is open, closed or both", field="status")
    if statuses == {"open"}:
        q = q.filter(status__in=list(OPEN))
    elif statuses == {"closed"}:
        q = q.exclude(status__in=list(OPEN))
    return await _views(await q.order_by("-received_at", "-id").limit(MAX_LISTED))


async def request_view(number: str) -> RequestView:
    ticket = await _public().get_or_none(number=number.strip().upper())
    if ticket is None:
        raise NotFound("service request", field="service_request_id")
    return (await _views([ticket]))[0]


async def token_view(token: str) -> tuple[str, str]:
    """(token, service_request_id) of a POST that handed out ``token``."""
    inbound = await InboundMessage.get_or_none(token=token.strip(), channel=Channel.OPEN311.value)
    if inbound is None or inbound.ticket_id is None:
        raise NotFound("token", field="token")
    ticket = await Ticket.get(id=inbound.ticket_id)
    return token.strip(), ticket.number
