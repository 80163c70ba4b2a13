"""Message wording: the city's templates (per event, channel, locale), else the defaults.

Templates are sandboxed Jinja2 (a city admin writes them): no attribute access to
internals, no imports; the context is plain data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

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
        ("ticket.recalled", Channel.INAPP): (
            "工单{{ number }}已被收回",
            "上级部门收回了派给{{ department }}的工单，无需继续办理：{{ reason }}",
        ),
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
        ("ticket.recalled", Channel.INAPP): (
            "{{ number }} was recalled",
            "The department above took back the work sent to {{ department }}: {{ reason }}",
        ),
    },
}


# Output caps: an SMS of at most 3 segments (signature included), an e-mail body of at
# most 20,000 characters, a subject (the in-app notice's title) of at most 200.
SMS_MAX_SEGMENTS = 3
EMAIL_MAX_CHARS = 20_000
INAPP_MAX_CHARS = 20_000
SUBJECT_MAX_CHARS = 200
# the GSM 03.38 basic alphabet (7-bit SMS); anything else makes the message UCS-2
_GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


def sms_segments(text: str) -> int:
    """How many segments an SMS of ``text`` takes (GSM-7: 160, or 153 per part; UCS-2: 70,
    or 67 per part)."""
    single, part = (160, 153) if all(c in _GSM7 for c in text) else (70, 67)
    length = len(text)
    return 1 if length <= single else -(-length // part)


def ticket_context(
    *,
    number: str,
    title: str,
    content: str,
    status: str,
    department: str,
    sign_deadline: datetime | None,
    reply_deadline: datetime | None,
    timezone: str,
    reason: str = "",
    level: int = 1,
) -> dict[str, Any]:
    """Every variable a template may use: the renderer and the check at save both build
    the context here, so a template that passed the check names only known variables."""

    def local(value: datetime | None) -> str:
        return value.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M") if value else ""

    return {
        "number": number,
        "title": title,
        "content": content[:60],
        "status": status,
        "department": department,
        "sign_deadline": local(sign_deadline),
        "reply_deadline": local(reply_deadline),
        "reason": reason,
        "level": level,
    }


def _sample_context() -> dict[str, Any]:
    at = datetime(2026, 1, 5, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    return ticket_context(
        number="JN2026010500001",
        title="小区路灯不亮",
        content="地点：某某小区3号楼门口。路灯连续一周不亮，夜间出行不便，请尽快维修。" * 2,
        status="dispatched",
        department="市城市管理局",
        sign_deadline=at,
        reply_deadline=at,
        timezone="Asia/Shanghai",
        reason="材料不全",
        level=2,
    )


VARIABLES = tuple(_sample_context())


@lru_cache(maxsize=1)
def _env() -> SandboxedEnvironment:
    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


@lru_cache(maxsize=512)
def _compiled(source: str) -> Template:
    return _env().from_string(source)


def render_text(source: str, context: dict[str, Any]) -> str:
    """Render a template; any failure (a template error, or an odd value making the
    template's own code fail) is ``Invalid``."""
    try:
        return _compiled(source).render(**context).strip()
    except TemplateError as exc:
        raise Invalid("template error: {error}", field="body", error=str(exc)) from exc
    except Exception as exc:  # the template's expressions may raise anything
        raise Invalid("template error: {error}", field="body", error=type(exc).__name__) from exc


def _field_error(field: str, exc: Invalid) -> Invalid:
    return Invalid("template error: {error}", field=field, error=str(exc.params.get("error")))


def check_template(*, channel: Channel, subject: str, body: str, sms_signature: str = "") -> None:
    """Compile and render a city's template against a sample ticket before it is stored,
    with every variable the renderer provides and nothing else (an unknown name fails),
    and refuse an output over the channel's cap."""
    sample = _sample_context()
    for field, source in (("subject", subject), ("body", body)):
        try:
            _env().parse(source)
            text = render_text(source, sample)
        except TemplateError as exc:
            raise Invalid("template error: {error}", field=field, error=str(exc)) from exc
        except Invalid as exc:
            raise _field_error(field, exc) from exc
        if field == "subject" and len(text) > SUBJECT_MAX_CHARS:
            raise Invalid(
                "the subject renders longer than {max} characters",
                field=field,
                max=SUBJECT_MAX_CHARS,
            )
        if field == "body" and channel is Channel.SMS:
            segments = sms_segments(sms_signature + text)
            if segments > SMS_MAX_SEGMENTS:
                raise Invalid(
                    "the SMS renders as {segments} segments; at most {max} are allowed",
                    field=field,
                    segments=segments,
                    max=SMS_MAX_SEGMENTS,
                )
        elif field == "body" and len(text) > _BODY_CAPS.get(channel, EMAIL_MAX_CHARS):
            raise Invalid(
                "the body renders longer than {max} characters",
                field=field,
                max=_BODY_CAPS.get(channel, EMAIL_MAX_CHARS),
            )


_BODY_CAPS = {Channel.EMAIL: EMAIL_MAX_CHARS, Channel.INAPP: INAPP_MAX_CHARS}


def cap_sms(text: str) -> str:
    """Cut an SMS to the segment cap (a long value in a template that passed the check)."""
    if sms_segments(text) <= SMS_MAX_SEGMENTS:
        return text
    while text and sms_segments(text + "…") > SMS_MAX_SEGMENTS:
        text = text[: -max(1, (len(text) - 1) // 50)]
    return text + "…"


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
        """The city's template or the default; None when neither exists. Raises
        ``Invalid`` when the template fails on these values. Output over the channel's
        cap is cut (the check at save uses sample values; real ones may be longer)."""
        row = self._rows.get((event, channel, locale))
        if row is not None:
            source = (row.subject, row.body)
        else:
            default = DEFAULTS.get(locale, {}).get((event, channel)) or DEFAULTS["zh-CN"].get(
                (event, channel)
            )
            if default is None:
                return None
            source = default
        subject = _cap(render_text(source[0], context), SUBJECT_MAX_CHARS)
        body = render_text(source[1], context)
        if channel is not Channel.SMS:
            body = _cap(body, _BODY_CAPS.get(channel, EMAIL_MAX_CHARS))
        return Rendered(subject, body)
