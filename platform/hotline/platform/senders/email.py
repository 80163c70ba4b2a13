"""E-mail over SMTP (aiosmtplib), or to the log when no SMTP server is configured.

Every message carries a send key as ``Message-ID`` so a receiver (or a retry) can
recognise a message it has already seen.
"""

from __future__ import annotations

from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import aiosmtplib
import structlog

from hotline.platform.settings import get_settings

log = structlog.get_logger(__name__)


async def send_email(*, to: str, subject: str, body: str, send_key: str) -> None:
    settings = get_settings()
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = f"<{send_key}@hotline>"
    message.set_content(body)
    if not settings.smtp_url:
        log.info("email.logged", to=to, subject=subject, send_key=send_key, body=body)
        return
    url = urlsplit(settings.smtp_url)
    await aiosmtplib.send(
        message,
        hostname=url.hostname or "127.0.0.1",
        port=url.port or (465 if url.scheme == "smtps" else 25),
        username=unquote(url.username) if url.username else None,
        password=unquote(url.password) if url.password else None,
        use_tls=url.scheme == "smtps",
        start_tls=None,
        timeout=15,
    )
