"""E-mail intake: a cron job fans out one poll per city each minute; each polls the
city's mailboxes (docs/channels.md, "E-mail"). A mailbox that fails is logged with its
error on the row and polled again next minute; the others go on."""

from __future__ import annotations

import imaplib
import ssl
from typing import Any

import structlog

from hotline.platform import clock, jobs
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.channels.imap import active_mailboxes, poll_mailbox
from hotline.tenants.provinces.models import Tenant
from hotline.workers.retry import retrying
from hotline.workers.scoped import tenant_job

log = structlog.get_logger(__name__)


@retrying
async def poll_mail_all(ctx: dict[str, Any]) -> int:
    """Enqueue ``poll_mail`` per active city, once per city and minute."""
    minute = clock.now().strftime("%Y%m%d%H%M")
    with use_scope(Scope.platform()):
        tenants = await Tenant.filter(is_active=True).only("id")
    for tenant in tenants:
        await jobs.enqueue("poll_mail", tenant_id=tenant.id, job_id=f"mail:{tenant.id}:{minute}")
    return len(tenants)


@tenant_job
async def poll_mail(ctx: dict[str, Any]) -> int:
    """Poll the job's city's mailboxes; the number of mails taken."""
    taken = 0
    for mailbox_id in await active_mailboxes():
        try:
            taken += (await poll_mailbox(mailbox_id=mailbox_id)).fetched
        except (imaplib.IMAP4.error, OSError, ssl.SSLError) as exc:
            log.warning("mail.poll_failed", mailbox_id=mailbox_id, error=str(exc)[:200])
    return taken
