"""Who gets what for each ticket event, written to the outbox in the caller's transaction.

The ticket service calls :func:`on_ticket_event` after it appended a timeline event
(inside the same ``in_transaction()``); the deadline sweeps use a :class:`Notifier`
for due-soon, overdue, escalation and unsigned-in-time. Nothing here sends anything:
delivery is the workers' job (``hotline.tenants.notifications.delivery``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from hotline.platform import outbox
from hotline.platform.senders.config import get_delivery_settings
from hotline.tenants.access import Actor
from hotline.tenants.accounts.models import Membership, Role, User
from hotline.tenants.departments.models import Department
from hotline.tenants.notifications.models import Channel, NotificationPreference, WebhookEndpoint
from hotline.tenants.notifications.templates import Templates
from hotline.tenants.provinces.models import Tenant
from hotline.tenants.tickets.models import Assignment, AssignmentStatus, Ticket, TimelineEvent


class Audience(enum.StrEnum):
    CITIZEN = "citizen"
    DEPARTMENT = "department"  # handlers and managers of the department
    MANAGERS = "managers"  # the department's managers (supervision level 1)
    LEADERS = "leaders"  # city leadership (the last escalation level)
    CENTER = "center"  # the hotline center's dispatchers and supervisors


# Timeline action (tickets/flow.py) -> (notification event, audience). Every action also
# goes to the webhooks subscribed to "ticket.<action>".
ACTION_EVENTS: dict[str, tuple[str, Audience]] = {
    "create": ("ticket.received", Audience.CITIZEN),
    "dispatch": ("ticket.dispatched", Audience.DEPARTMENT),
    "answer": ("ticket.replied", Audience.CITIZEN),
    "review_approve": ("ticket.replied", Audience.CITIZEN),
    "return": ("ticket.returned", Audience.CENTER),
    "reply": ("ticket.reply_submitted", Audience.CENTER),
    "review_reject": ("ticket.reply_rejected", Audience.DEPARTMENT),
    "urge": ("ticket.urged", Audience.DEPARTMENT),
    "supervise": ("ticket.supervised", Audience.MANAGERS),
}

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


def _local(value: datetime | None, timezone: str) -> str:
    return value.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M") if value else ""


async def _lead_department(ticket: Ticket) -> int | None:
    lead = (
        await Assignment.filter(ticket_id=ticket.id, is_lead=True)
        .exclude(status=AssignmentStatus.CANCELLED)
        .order_by("-round", "-id")
        .first()
    )
    return lead.department_id if lead else None


async def _recipients(audience: Audience, department_id: int | None) -> list[Recipient]:
    query = Membership.filter(is_active=True, role__in=list(_ROLES[audience]))
    if audience in (Audience.DEPARTMENT, Audience.MANAGERS):
        if department_id is None:
            return []
        query = query.filter(department_id=department_id)
    memberships = await query.order_by("user_id")
    ids = sorted({m.user_id for m in memberships})
    users = {u.id: u for u in await User.filter(id__in=ids, is_active=True)} if ids else {}
    seen: set[int] = set()
    out: list[Recipient] = []
    for m in memberships:
        user = users.get(m.user_id)
        if user is None or user.id in seen:
            continue
        seen.add(user.id)
        out.append(Recipient(user.id, m.department_id, user.email))
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


class Notifier:
    """Collects the outbox rows of one unit of work (a ticket change, a sweep batch) with
    the city's settings loaded once, and writes them in one statement (:meth:`flush`)."""

    def __init__(self, tenant: Tenant, templates: Templates) -> None:
        self.tenant = tenant
        self.locale = (tenant.locales or ["zh-CN"])[0]
        self.templates = templates
        self.pending: list[outbox.NewMessage] = []
        self._prefs: dict[str, _Preferences] = {}
        self._recipients: dict[tuple[Audience, int | None], list[Recipient]] = {}
        self._departments: dict[int, str] = {}
        self._webhooks: list[WebhookEndpoint] | None = None
        self._max_attempts = get_delivery_settings().outbox_max_attempts

    @classmethod
    async def for_tenant(cls, tenant_id: int) -> Notifier:
        return cls(await Tenant.get(id=tenant_id), await Templates.load())

    async def _pref(self, event: str) -> _Preferences:
        if event not in self._prefs:
            rows = await NotificationPreference.filter(event__in=[event, "*"])
            self._prefs[event] = _Preferences(rows, event)
        return self._prefs[event]

    async def _people(self, audience: Audience, department_id: int | None) -> list[Recipient]:
        key = (audience, department_id)
        if key not in self._recipients:
            self._recipients[key] = await _recipients(audience, department_id)
        return self._recipients[key]

    async def _department(self, department_id: int | None) -> str:
        if department_id is None:
            return ""
        if department_id not in self._departments:
            row = await Department.get_or_none(id=department_id)
            self._departments[department_id] = row.name if row else ""
        return self._departments[department_id]

    def _add(self, ticket: Ticket, kind: Channel, send_key: str, payload: dict[str, Any]) -> None:
        self.pending.append(
            outbox.NewMessage(
                kind=kind.value,
                tenant_id=ticket.tenant_id,
                province_id=ticket.province_id,
                payload={"ticket_id": ticket.id, **payload},
                send_key=send_key,
                max_attempts=self._max_attempts,
            )
        )

    async def ticket(
        self,
        *,
        ticket: Ticket,
        event: str,
        audience: Audience,
        key: str,
        department_id: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """Queue one notification; ``key`` names the occurrence. Send keys derive from it,
        so writing the same occurrence twice (a repeated sweep) adds nothing."""
        tz = self.tenant.timezone
        context: dict[str, Any] = {
            "number": ticket.number,
            "title": ticket.title,
            "content": ticket.content[:60],
            "status": ticket.status.value,
            "department": await self._department(department_id),
            "sign_deadline": _local(ticket.sign_deadline, tz),
            "reply_deadline": _local(ticket.reply_deadline, tz),
            "reason": "",
            "level": 1,
            **(extra or {}),
        }
        prefs = await self._pref(event)
        prefix = f"{ticket.tenant_id}:{key}:{event}"
        if audience is Audience.CITIZEN:
            if ticket.anonymous or not ticket.citizen_phone_enc:
                return
            if not prefs.enabled(Channel.SMS, user_id=None, department_id=None):
                return
            sms = self.templates.render(
                event=event, channel=Channel.SMS, locale=self.locale, context=context
            )
            if sms is not None:
                self._add(
                    ticket,
                    Channel.SMS,
                    f"{prefix}:sms:citizen",
                    {
                        "event": event,
                        # the phone stays encrypted at rest: the delivery job decrypts it
                        "to_enc": ticket.citizen_phone_enc,
                        "text": get_delivery_settings().sms_signature + sms.body,
                        "timezone": tz,
                    },
                )
            return
        for person in await self._people(audience, department_id):
            for channel in _STAFF_CHANNELS:
                if channel is Channel.EMAIL and not person.email:
                    continue
                if not prefs.enabled(
                    channel, user_id=person.user_id, department_id=person.department_id
                ):
                    continue
                message = self.templates.render(
                    event=event, channel=channel, locale=self.locale, context=context
                )
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
        self, *, ticket: Ticket, action: str, key: str, data: dict[str, Any]
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

    async def flush(self) -> int:
        """Write the queued rows (in the caller's transaction); returns how many were new."""
        added = await outbox.add_many(self.pending)
        self.pending = []
        return added


async def on_ticket_event(
    *, ticket: Ticket, event: TimelineEvent | str, actor: Actor | None
) -> None:
    """Notify everyone concerned by one ticket event, in the caller's transaction.

    ``event`` is the appended timeline event (preferred: its id keys the messages) or a
    bare action name (keyed by the ticket's timeline position).
    """
    if isinstance(event, TimelineEvent):
        action, key = event.action, f"tl{event.id}"
        department_id, reason = event.department_id, event.reason
        occurred = event.created_at
    else:
        action, key = event, f"t{ticket.id}.{ticket.timeline_seq}.{event}"
        department_id, reason, occurred = None, "", ticket.updated_at
    notifier = await Notifier.for_tenant(ticket.tenant_id)
    await notifier.webhooks(
        ticket=ticket,
        action=action,
        key=key,
        data={
            "ticket_id": ticket.id,
            "number": ticket.number,
            "status": ticket.status.value,
            "action": action,
            "department_id": department_id,
            "actor_id": actor.user_id if actor else None,
            "occurred_at": occurred.isoformat() if occurred else None,
        },
    )
    mapped = ACTION_EVENTS.get(action)
    if mapped is not None:
        name, audience = mapped
        if audience in (Audience.DEPARTMENT, Audience.MANAGERS) and department_id is None:
            department_id = await _lead_department(ticket)
        await notifier.ticket(
            ticket=ticket,
            event=name,
            audience=audience,
            key=key,
            department_id=department_id,
            extra={"reason": reason},
        )
    await notifier.flush()
