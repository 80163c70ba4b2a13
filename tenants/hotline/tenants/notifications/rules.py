"""Who gets what for each work-order event, written to the outbox in the change's
transaction.

:func:`on_ticket_events` is an in-transaction handler of the domain events
(:mod:`hotline.tenants.kernel.events`, registered by :func:`register` through the
``hotline.event_handlers`` entry point): a ticket change or a deadline sweep never calls
this module. It reads the ticket only from the events' snapshots. Nothing here sends
anything: delivery is the workers' job (``hotline.tenants.notifications.delivery``).
"""

from __future__ import annotations

import enum
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hotline.platform import outbox
from hotline.platform.senders.config import get_delivery_settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.accounts.models import Membership
from hotline.tenants.departments.models import Department
from hotline.tenants.kernel.errors import Invalid
from hotline.tenants.kernel.events import (
    Bus,
    TicketChanged,
    TicketEvent,
    defer_outbox,
    once,
    remember,
)
from hotline.tenants.kernel.roles import Role
from hotline.tenants.notifications.models import (
    Channel,
    NotificationPreference,
    NotificationTemplate,
    WebhookEndpoint,
)
from hotline.tenants.notifications.templates import Rendered, Templates, cap_sms, ticket_context
from hotline.tenants.provinces.models import Tenant

log = logging.getLogger(__name__)


class Audience(enum.StrEnum):
    CITIZEN = "citizen"
    DEPARTMENT = "department"  # handlers and managers of the department
    MANAGERS = "managers"  # the department's managers (supervision level 1)
    LEADERS = "leaders"  # city leadership (the last escalation level)
    CENTER = "center"  # the hotline center's dispatchers and supervisors


# Domain event -> (notification event, audience). Every event on the timeline also goes
# to the webhooks subscribed to "ticket.<action>".
ACTION_EVENTS: dict[TicketEvent, tuple[str, Audience]] = {
    TicketEvent.CREATED: ("ticket.received", Audience.CITIZEN),
    TicketEvent.DISPATCHED: ("ticket.dispatched", Audience.DEPARTMENT),
    TicketEvent.ANSWERED: ("ticket.replied", Audience.CITIZEN),
    TicketEvent.REVIEW_APPROVED: ("ticket.replied", Audience.CITIZEN),
    TicketEvent.RETURNED: ("ticket.returned", Audience.CENTER),
    TicketEvent.REPLIED: ("ticket.reply_submitted", Audience.CENTER),
    TicketEvent.REVIEW_REJECTED: ("ticket.reply_rejected", Audience.DEPARTMENT),
    TicketEvent.URGED: ("ticket.urged", Audience.DEPARTMENT),
    TicketEvent.RECALLED: ("ticket.recalled", Audience.DEPARTMENT),
    TicketEvent.SUPERVISION_OPENED: ("ticket.supervised", Audience.MANAGERS),
    TicketEvent.SUPERVISION_ESCALATED: ("supervision.escalated", Audience.LEADERS),
    TicketEvent.SUSPENSION_REQUESTED: ("ticket.suspension_requested", Audience.CENTER),
    TicketEvent.SUSPENDED: ("ticket.suspended", Audience.DEPARTMENT),
    TicketEvent.RESUMED: ("ticket.resumed", Audience.DEPARTMENT),
    TicketEvent.SUPPLEMENTED: ("ticket.supplemented", Audience.DEPARTMENT),
    TicketEvent.DUE_SOON: ("ticket.due_soon", Audience.DEPARTMENT),
    TicketEvent.SIGN_OVERDUE: ("ticket.sign_overdue", Audience.CENTER),
}
# An automatic supervision order is the overdue notice of its department's managers.
OVERDUE = ("ticket.overdue", Audience.MANAGERS)
EVENT_NAMES = frozenset({name for name, _ in ACTION_EVENTS.values()} | {OVERDUE[0]})

_ROLES: dict[Audience, frozenset[Role]] = {
    Audience.DEPARTMENT: frozenset({Role.DEPT_HANDLER, Role.DEPT_MANAGER}),
    Audience.MANAGERS: frozenset({Role.DEPT_MANAGER}),
    Audience.LEADERS: frozenset({Role.CITY_LEADER}),
    Audience.CENTER: frozenset({Role.DISPATCHER, Role.SUPERVISOR}),
}
_STAFF_CHANNELS = (Channel.INAPP, Channel.EMAIL)


@dataclass(frozen=True)
class Recipient:
    user_id: int
    department_id: int | None
    email: str | None


async def _recipients(audience: Audience, department_id: int | None) -> list[Recipient]:
    query = Membership.filter(is_active=True, role__in=list(_ROLES[audience]))
    if audience in (Audience.DEPARTMENT, Audience.MANAGERS):
        if department_id is None:
            return []
        query = query.filter(department_id=department_id)
    # the memberships of active users, with their e-mail, in one read (a join)
    rows = (
        await query.filter(user__is_active=True)
        .order_by("user_id")
        .values("user_id", "department_id", "user__email")
    )
    seen: set[int] = set()
    out: list[Recipient] = []
    for row in rows:
        if row["user_id"] in seen:
            continue
        seen.add(row["user_id"])
        out.append(Recipient(row["user_id"], row["department_id"], row["user__email"]))
    return out


class _Preferences:
    """The city's switches for one event: user beats department beats city beats default."""

    def __init__(self, rows: list[NotificationPreference], event: str) -> None:
        # at the same level, the exact event beats "*" (sorted last, so it wins)
        self._rows = sorted(rows, key=lambda r: r.event == event)

    def enabled(self, channel: Channel, *, user_id: int | None, department_id: int | None) -> bool:
        decided: dict[int, bool] = {}
        for row in self._rows:
            if row.channel != channel:
                continue
            if row.user_id is not None:
                if row.user_id == user_id:
                    decided[3] = row.enabled
            elif row.department_id is not None:
                if row.department_id == department_id:
                    decided[2] = row.enabled
            else:
                decided[1] = row.enabled
        return decided[max(decided)] if decided else True


# What a notifier reads of its city besides the row: three small tables, one round trip
# (``$1``: the city). The columns may ride on another statement of the unit of work (a
# ticket's creation reads them with its number, :func:`remember_settings`).
SETTINGS_COLUMNS = """
  (SELECT COALESCE(json_agg(json_build_object('event', event, 'channel', channel,
      'locale', locale, 'subject', subject, 'body', body)), '[]')
   FROM notification_templates WHERE tenant_id = $1) AS templates,
  (SELECT COALESCE(json_agg(json_build_object('id', id, 'name', name, 'url', url,
      'event_types', event_types) ORDER BY id), '[]')
   FROM webhook_endpoints WHERE tenant_id = $1 AND is_active) AS webhooks,
  (SELECT COALESCE(json_agg(json_build_object('department_id', department_id,
      'user_id', user_id, 'event', event, 'channel', channel, 'enabled', enabled)), '[]')
   FROM notification_preferences WHERE tenant_id = $1) AS preferences
"""
_SETTINGS = f"SELECT {SETTINGS_COLUMNS}"
_SETTINGS_KEY = "notifier-settings"


@dataclass(frozen=True)
class CitySettings:
    """A city's templates, active webhooks and switches."""

    templates: list[NotificationTemplate]
    webhooks: list[WebhookEndpoint]
    preferences: list[NotificationPreference]


def _settings(row: dict[str, Any]) -> CitySettings:
    found = {
        k: json.loads(v) if isinstance(v, str) else v
        for k, v in row.items()
        if k in ("templates", "webhooks", "preferences")
    }
    return CitySettings(
        [NotificationTemplate(**_channel(r)) for r in found["templates"]],
        [WebhookEndpoint(**r) for r in found["webhooks"]],
        [NotificationPreference(**_channel(r)) for r in found["preferences"]],
    )


def remember_settings(tenant_id: int, row: dict[str, Any]) -> None:
    """The city's settings as another statement of this unit of work read them (its
    :data:`SETTINGS_COLUMNS`): the unit's notifier does not read them again."""
    remember((_SETTINGS_KEY, tenant_id), _settings(row))


async def _read_settings(tenant_id: int) -> CitySettings:
    rows = await Tenant._meta.db.execute_query_dict(_SETTINGS, [tenant_id])
    return _settings(rows[0])


# A staff notice's department name and its audience (active memberships of active users
# in the roles $3, of the department $2 when $4), in one read.
_DEPARTMENT_AND_PEOPLE = """
SELECT (SELECT name FROM departments WHERE tenant_id = $1 AND id = $2) AS department,
  (SELECT COALESCE(json_agg(json_build_object('user_id', m.user_id,
      'department_id', m.department_id, 'email', u.email) ORDER BY m.user_id, m.id), '[]')
   FROM memberships m JOIN users u ON u.id = m.user_id AND u.is_active
   WHERE m.tenant_id = $1 AND m.is_active AND m.role = ANY($3::text[])
     AND (NOT $4::bool OR m.department_id = $2)) AS people
"""


def _channel(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "channel": Channel(row["channel"])}


class Notifier:
    """Collects the outbox rows of one unit of work (a ticket change, a sweep batch) with
    the city's settings loaded once, and writes them in one statement (:meth:`flush`)."""

    def __init__(
        self,
        tenant: Tenant,
        templates: Templates,
        webhooks: list[WebhookEndpoint] | None = None,
        preferences: list[NotificationPreference] | None = None,
    ) -> None:
        self.tenant = tenant
        self.locale = (tenant.locales or ["zh-CN"])[0]
        self.templates = templates
        self.pending: list[outbox.NewMessage] = []
        self._prefs: dict[str, _Preferences] = {}
        self._preferences = preferences
        self._recipients: dict[tuple[Audience, int | None], list[Recipient]] = {}
        self._departments: dict[int, str] = {}
        self._webhooks = webhooks
        self._max_attempts = get_delivery_settings().outbox_max_attempts

    @classmethod
    async def for_tenant(cls, tenant_id: int) -> Notifier:
        """The city's notifier: its row (once per unit of work: the change that published
        has read it), then its templates, active webhooks and switches in one read (none
        when the unit read them already, :func:`remember_settings`)."""
        tenant = await once(("city", tenant_id), lambda: Tenant.get_or_none(id=tenant_id))
        if tenant is None:
            tenant = await Tenant.get(id=tenant_id)
        found = await once((_SETTINGS_KEY, tenant_id), lambda: _read_settings(tenant_id))
        return cls(
            tenant,
            Templates(list(found.templates)),
            list(found.webhooks),
            list(found.preferences),
        )

    async def _pref(self, event: str) -> _Preferences:
        if event not in self._prefs:
            if self._preferences is None:
                self._preferences = list(await NotificationPreference.all())
            rows = [r for r in self._preferences if r.event in (event, "*")]
            self._prefs[event] = _Preferences(rows, event)
        return self._prefs[event]

    async def _people(self, audience: Audience, department_id: int | None) -> list[Recipient]:
        key = (audience, department_id)
        if key not in self._recipients:
            self._recipients[key] = await _recipients(audience, department_id)
        return self._recipients[key]

    async def _department_and_people(
        self, audience: Audience, department_id: int | None
    ) -> tuple[str, list[Recipient]]:
        """:meth:`_department` and :meth:`_people`; one read when neither is known yet."""
        key = (audience, department_id)
        if department_id is None or department_id in self._departments or key in self._recipients:
            return await self._department(department_id), await self._people(*key)
        by_department = audience in (Audience.DEPARTMENT, Audience.MANAGERS)
        rows = await Tenant._meta.db.execute_query_dict(
            _DEPARTMENT_AND_PEOPLE,
            [
                self.tenant.id,
                department_id,
                sorted(r.value for r in _ROLES[audience]),
                by_department,
            ],
        )
        name = rows[0]["department"]
        self._departments[department_id] = name or ""
        people = rows[0]["people"]
        seen: set[int] = set()
        found: list[Recipient] = []
        for row in json.loads(people) if isinstance(people, str | bytes) else people:
            if row["user_id"] in seen:
                continue
            seen.add(row["user_id"])
            found.append(Recipient(row["user_id"], row["department_id"], row["email"]))
        self._recipients[key] = found
        return self._departments[department_id], found

    async def _department(self, department_id: int | None) -> str:
        if department_id is None:
            return ""
        if department_id not in self._departments:
            row = await Department.get_or_none(id=department_id)
            self._departments[department_id] = row.name if row else ""
        return self._departments[department_id]

    def _render(
        self, ticket: TicketChanged, event: str, channel: Channel, context: dict[str, Any]
    ) -> Rendered | None:
        """One message's text, or None: a template failing on these values skips this
        message only (logged); it never blocks or rolls back the ticket change."""
        try:
            return self.templates.render(
                event=event, channel=channel, locale=self.locale, context=context
            )
        except Exception as exc:  # a city's template must never break a ticket change
            log.warning(
                "notification skipped: template %s/%s/%s of city %s failed for ticket %s: %s",
                event,
                channel.value,
                self.locale,
                ticket.tenant_id,
                ticket.ticket_id,
                exc.message if isinstance(exc, Invalid) else type(exc).__name__,
            )
            return None

    def _add(
        self, ticket: TicketChanged, kind: Channel, send_key: str, payload: dict[str, Any]
    ) -> None:
        self.pending.append(
            outbox.NewMessage(
                kind=kind.value,
                tenant_id=ticket.tenant_id,
                province_id=ticket.province_id,
                payload={"ticket_id": ticket.ticket_id, **payload},
                send_key=send_key,
                max_attempts=self._max_attempts,
            )
        )

    async def ticket(
        self,
        *,
        ticket: TicketChanged,
        event: str,
        audience: Audience,
        key: str,
        department_id: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """Queue one notification; ``key`` names the occurrence. Send keys derive from it,
        so writing the same occurrence twice (a repeated sweep) adds nothing."""
        tz = self.tenant.timezone
        people: list[Recipient] = []
        if audience is Audience.CITIZEN:
            department = await self._department(department_id)
        else:
            department, people = await self._department_and_people(audience, department_id)
        context = ticket_context(
            number=ticket.number,
            title=ticket.title,
            content=ticket.content,
            status=ticket.status,
            department=department,
            sign_deadline=ticket.sign_deadline,
            reply_deadline=ticket.reply_deadline,
            timezone=tz,
            **(extra or {}),
        )
        prefs = await self._pref(event)
        prefix = f"{ticket.tenant_id}:{key}:{event}"
        if audience is Audience.CITIZEN:
            if ticket.anonymous or not ticket.citizen_phone_enc:
                return
            if not prefs.enabled(Channel.SMS, user_id=None, department_id=None):
                return
            sms = self._render(ticket, event, Channel.SMS, context)
            if sms is not None:
                self._add(
                    ticket,
                    Channel.SMS,
                    f"{prefix}:sms:citizen",
                    {
                        "event": event,
                        # the phone stays encrypted at rest: the delivery job decrypts it
                        "to_enc": ticket.citizen_phone_enc,
                        "text": cap_sms(get_delivery_settings().sms_signature + sms.body),
                        "timezone": tz,
                    },
                )
            return
        rendered: dict[Channel, Rendered | None] = {}  # the text is the same for everyone
        for person in people:
            for channel in _STAFF_CHANNELS:
                if channel is Channel.EMAIL and not person.email:
                    continue
                if not prefs.enabled(
                    channel, user_id=person.user_id, department_id=person.department_id
                ):
                    continue
                if channel not in rendered:
                    rendered[channel] = self._render(ticket, event, channel, context)
                message = rendered[channel]
                if message is None:
                    continue
                payload: dict[str, Any] = {
                    "event": event,
                    "subject": message.subject,
                    "body": message.body,
                }
                if channel is Channel.EMAIL:
                    payload["to"] = person.email
                else:
                    payload["user_id"] = person.user_id
                self._add(ticket, channel, f"{prefix}:{channel.value}:u{person.user_id}", payload)

    async def webhooks(
        self, *, ticket: TicketChanged, action: str, key: str, data: dict[str, Any]
    ) -> None:
        if self._webhooks is None:
            self._webhooks = await WebhookEndpoint.filter(is_active=True).order_by("id")
        event_type = f"ticket.{action}"
        for endpoint in self._webhooks:
            if endpoint.event_types and event_type not in endpoint.event_types:
                continue
            send_key = f"{ticket.tenant_id}:{key}:{event_type}:webhook:e{endpoint.id}"
            self._add(
                ticket,
                Channel.WEBHOOK,
                send_key,
                {
                    "endpoint_id": endpoint.id,
                    "event": {"id": send_key, "type": event_type, "data": data},
                },
            )

    async def flush(self) -> None:
        """Write the queued rows (in the caller's transaction), with the change's other
        outbox rows when it publishes (one statement, :func:`~.events.defer_outbox`)."""
        pending, self.pending = self.pending, []
        if not defer_outbox(pending):
            await outbox.add_many(pending)


async def on_ticket_events(events: Sequence[TicketChanged]) -> None:
    """Notify everyone concerned by each event, in the change's transaction. The city's
    settings, recipients and templates are read once per city for the whole batch."""
    notifiers: dict[int, Notifier] = {}
    for event in events:
        # the event's own city (a transfer runs under its province's scope)
        with use_scope(Scope.city(event.tenant_id, event.province_id)):
            notifier = notifiers.get(event.tenant_id)
            if notifier is None:
                notifier = notifiers[event.tenant_id] = await Notifier.for_tenant(event.tenant_id)
            await _notify(notifier, event)
    for tenant_id, notifier in notifiers.items():
        with use_scope(Scope.city(tenant_id, notifier.tenant.province_id)):
            await notifier.flush()


async def _notify(notifier: Notifier, event: TicketChanged) -> None:
    if event.timeline_event_id is not None:
        await notifier.webhooks(
            ticket=event,
            action=event.kind.value,
            key=event.key,
            data={
                "ticket_id": event.ticket_id,
                "number": event.number,
                "status": event.status,
                "action": event.kind.value,
                "department_id": event.department_id,
                "actor_id": event.actor_user_id,
                "occurred_at": event.occurred_at.isoformat(),
            },
        )
    mapped = ACTION_EVENTS.get(event.kind)
    if event.kind is TicketEvent.SUPERVISION_OPENED and event.data.get("automatic"):
        mapped = OVERDUE
    if mapped is None:
        return
    name, audience = mapped
    if audience in (Audience.DEPARTMENT, Audience.MANAGERS) and event.department_id is None:
        return
    extra: dict[str, Any] = {"reason": event.reason}
    if "level" in event.data:
        extra["level"] = event.data["level"]
    await notifier.ticket(
        ticket=event,
        event=name,
        audience=audience,
        key=event.key,
        department_id=event.department_id,
        extra=extra,
    )


def register(bus: Bus) -> None:
    """Entry point of ``hotline.event_handlers``."""
    bus.subscribe(on_ticket_events)
