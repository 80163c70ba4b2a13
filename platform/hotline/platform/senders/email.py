"""E-mail over SMTP (aiosmtplib), or into a local mail folder when no SMTP server is
configured (development).

Every message carries a send key as ``Message-ID`` so a receiver (or a retry) can
recognise a message it has already seen.

Without ``HOTLINE_SMTP_URL`` a message is written as ``<home>/mail/<send key>.eml``
(owner-only) and only its subject and file are logged: password-reset links and the
recipients' addresses never reach the logs. Production settings refuse to start like
this unless ``HOTLINE_ALLOW_LOG_EMAIL`` says so (``Settings.production_problems``).
"""

from __future__ import annotations

import asyncio
import os
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiosmtplib
import structlog

from hotline.platform.settings import get_settings

log = structlog.get_logger(__name__)


def _save(folder: Path, send_key: str, message: EmailMessage) -> Path:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in send_key)[:120]
    path = folder / f"{name}.eml"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(message.as_bytes())
    return path


async def send_email(*, to: str, subject: str, body: str, send_key: str) -> None:
    settings = get_settings()
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = f"<{send_key}@hotline>"
    message.set_content(body)
    if not settings.smtp_url:
        path = await asyncio.to_thread(_save, settings.home / "mail", send_key, message)
        log.info("email.saved", subject=subject, send_key=send_key, file=str(path))
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
