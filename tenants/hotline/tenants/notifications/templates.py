"""Message wording: the city's templates (per event, channel, locale), else the defaults.

Templates are sandboxed Jinja2 (a city admin writes them): no attribute access to
internals, no imports; the context is plain data.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template
from jinja2.exceptions import TemplateError
from jinja2.sandbox import SandboxedEnvironment

from hotline.tenants.kernel.errors import Invalid
from hotline.tenants.notifications.models import Channel, NotificationTemplate

# (event, channel) -> (subject, body) per locale; events are the keys of rules.EVENTS.
DEFAULTS: dict[str, dict[tuple[str, Channel], tuple[str, str]]] = {
    "zh-CN": {
        ("ticket.received", Channel.SMS): (
            "",
            "您的诉求已受理，工单号{{ number }}，请留意办理进展。",
        ),
        ("ticket.replied", Channel.SMS): (
            "",
            "您的工单{{ number }}已办理答复，请留意回访。",
        ),
        ("ticket.dispatched", Channel.INAPP): (
            "新工单{{ number }}",
            "{{ title or content }}；请于{{ sign_deadline }}前签收，{{ reply_deadline }}前答复。",
        ),
        ("ticket.dispatched", Channel.EMAIL): (
            "【12345】新工单 {{ number }}",
            "工单{{ number }}已派至{{ department }}。\n内容：{{ content }}\n"
            "签收时限：{{ sign_deadline }}\n答复时限：{{ reply_deadline }}",
        ),
        ("ticket.due_soon", Channel.INAPP): (
            "工单{{ number }}即将超期",
            "答复时限{{ reply_deadline }}，请抓紧办理。",
        ),
        ("ticket.due_soon", Channel.EMAIL): (
            "【12345】工单 {{ number }} 即将超期",
            "工单{{ number }}的答复时限为{{ reply_deadline }}，请抓紧办理。",
        ),
        ("ticket.overdue", Channel.INAPP): (
            "工单{{ number }}已超期，已启动督办",
            "答复时限{{ reply_deadline }}已过，督办级别{{ level }}。",
        ),
        ("ticket.overdue", Channel.EMAIL): (
            "【12345督办】工单 {{ number }} 已超期",
            "工单{{ number }}（{{ department }}）答复时限{{ reply_deadline }}已过，已启动督办。",
        ),
        ("supervision.escalated", Channel.INAPP): (
            "督办升级：工单{{ number }}",
            "{{ department }}办理超期未结，督办升级至第{{ level }}级。",
        ),
        ("supervision.escalated", Channel.EMAIL): (
            "【12345督办升级】工单 {{ number }}",
            "{{ department }}办理工单{{ number }}超期未结，督办升级至第{{ level }}级。",
        ),
        ("ticket.sign_overdue", Channel.INAPP): (
            "工单{{ number }}超时未签收",
            "{{ department }}未在{{ sign_deadline }}前签收，请中心处理。",
        ),
        ("ticket.sign_overdue", Channel.EMAIL): (
            "【12345】工单 {{ number }} 超时未签收",
            "{{ department }}未在{{ sign_deadline }}前签收工单{{ number }}，请中心处理。",
        ),
        ("ticket.returned", Channel.INAPP): (
            "工单{{ number }}被退回",
            "{{ department }}退回：{{ reason }}",
        ),
        ("ticket.reply_submitted", Channel.INAPP): (
            "工单{{ number }}已答复待审核",
            "{{ department }}已答复，请审核。",
        ),
        ("ticket.reply_rejected", Channel.INAPP): (
            "工单{{ number }}答复被退回",
            "中心审核未通过：{{ reason }}",
        ),
        ("ticket.urged", Channel.INAPP): ("工单{{ number }}被催办", "市民催办，请尽快办理。"),
        ("ticket.supervised", Channel.INAPP): (
            "工单{{ number }}被督办",
            "{{ reason }}",
        ),
        ("ticket.suspension_requested", Channel.INAPP): (
            "工单{{ number }}申请挂起",
            "{{ department }}申请挂起：{{ reason }}",
        ),
        ("ticket.suspended", Channel.INAPP): (
            "工单{{ number }}已挂起",
            "办理时限暂停计算。{{ reason }}",
        ),
        ("ticket.resumed", Channel.INAPP): (
            "工单{{ number }}恢复办理",
            "办理时限恢复计算，答复时限{{ reply_deadline }}。",
        ),
        ("ticket.supplemented", Channel.INAPP): (
            "工单{{ number }}有补充诉求",
            "市民补充：{{ reason }}",
        ),
    },
    "en": {
        ("ticket.received", Channel.SMS): (
            "",
            "Your request was received as {{ number }}. We will keep you informed.",
        ),
        ("ticket.replied", Channel.SMS): (
            "",
            "Your request {{ number }} has been answered; we may call you back.",
        ),
        ("ticket.dispatched", Channel.INAPP): (
            "New work order {{ number }}",
            "Sign for by {{ sign_deadline }}, reply by {{ reply_deadline }}.",
        ),
        ("ticket.due_soon", Channel.INAPP): (
            "{{ number }} is due soon",
            "Reply due {{ reply_deadline }}.",
        ),
        ("ticket.overdue", Channel.INAPP): (
            "{{ number }} is overdue: supervision opened",
            "Reply was due {{ reply_deadline }}; level {{ level }}.",
        ),
        ("ticket.suspended", Channel.INAPP): (
            "{{ number }} is suspended",
            "Its deadlines are paused. {{ reason }}",
        ),
        ("ticket.resumed", Channel.INAPP): (
            "{{ number }} is resumed",
            "Its deadlines run again; reply due {{ reply_deadline }}.",
        ),
        ("ticket.supplemented", Channel.INAPP): (
            "{{ number }}: the citizen added information",
            "{{ reason }}",
        ),
    },
}


@lru_cache(maxsize=1)
def _env() -> SandboxedEnvironment:
    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


@lru_cache(maxsize=512)
def _compiled(source: str) -> Template:
    return _env().from_string(source)


def render_text(source: str, context: dict[str, Any]) -> str:
    try:
        return _compiled(source).render(**context).strip()
    except TemplateError as exc:
        raise Invalid("template error: {error}", field="body", error=str(exc)) from exc


def check_template(source: str) -> None:
    """Parse a city's template before it is stored (an admin's typo fails early)."""
    try:
        _env().parse(source)
    except TemplateError as exc:
        raise Invalid("template error: {error}", field="body", error=str(exc)) from exc


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


class Templates:
    """The city's templates, loaded once per unit of work (the table is small)."""

    def __init__(self, rows: list[NotificationTemplate]) -> None:
        self._rows = {(r.event, r.channel, r.locale): r for r in rows}

    @classmethod
    async def load(cls) -> Templates:
        return cls(await NotificationTemplate.all())

    def render(
        self, *, event: str, channel: Channel, locale: str, context: dict[str, Any]
    ) -> Rendered | None:
        """The city's template or the default; None when neither exists."""
        row = self._rows.get((event, channel, locale))
        if row is not None:
            return Rendered(render_text(row.subject, context), render_text(row.body, context))
        default = DEFAULTS.get(locale, {}).get((event, channel)) or DEFAULTS["zh-CN"].get(
            (event, channel)
        )
        if default is None:
            return None
        return Rendered(render_text(default[0], context), render_text(default[1], context))
