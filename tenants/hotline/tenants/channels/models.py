"""What the intake channels keep: each inbound message once, the merges they propose,
each city's signing secrets, mailboxes and WeChat account (docs/channels.md); the
place names SMS reads are routing's gazetteer."""

from __future__ import annotations

import enum

from tortoise import fields

from hotline.platform.db.models import TenantModel


class Outcome(enum.StrEnum):
    CREATED = "created"  # became a new ticket
    APPENDED = "appended"  # added to the sender's open ticket
    ASKED = "asked"  # too short or no place: the sender was asked for more


class InboundMessage(TenantModel):
    """One message of one channel, by the sender's own id: the dedupe record."""

    channel = fields.CharField(max_length=10)
    external_id = fields.CharField(max_length=200)
    outcome = fields.CharEnumField(Outcome, max_length=10)
    ticket_id = fields.BigIntField(null=True)  # same-city FK in the migration
    token = fields.CharField(max_length=40, null=True)  # Open311's token, when one is asked
    # SMS: the sender's keyed phone hash, and what a message we answered with a question
    # said (joined with the sender's next message into one ticket)
    sender_hash = fields.CharField(max_length=64, null=True)
    body = fields.TextField(default="")
    # WeChat: the sender's openid, encrypted, for the progress messages sent back
    reply_to_enc = fields.TextField(null=True)
    # WeChat image/voice: the evidence its media became (fetched by a job after the
    # answer; set in the evidence row's transaction, so a retried job adds none)
    evidence_id = fields.BigIntField(null=True)

    class Meta:
        table = "channel_messages"
        unique_together = (("tenant_id", "channel", "external_id"),)


class ProposalStatus(enum.StrEnum):
    PROPOSED = "proposed"
    MERGED = "merged"
    DISMISSED = "dismissed"


class DuplicateProposal(TenantModel):
    """A new ticket that looks like an open one: proposed to the center, never merged
    silently."""

    ticket_id = fields.BigIntField()  # the new ticket
    candidate_id = fields.BigIntField()  # the open ticket it may repeat
    reason = fields.CharField(max_length=20)  # same_caller | same_place
    status = fields.CharEnumField(ProposalStatus, max_length=10, default=ProposalStatus.PROPOSED)

    class Meta:
        table = "channel_duplicate_proposals"
        unique_together = (("tenant_id", "ticket_id", "candidate_id"),)


class ChannelSecret(TenantModel):
    """A city's signing secret for one inbound channel (sms, wechat), encrypted at rest."""

    channel = fields.CharField(max_length=10)
    secret_enc = fields.TextField()
    rotated_at = fields.DatetimeField()

    class Meta:
        table = "channel_secrets"
        unique_together = (("tenant_id", "channel"),)


class MailSecurity(enum.StrEnum):
    SSL = "ssl"  # TLS from the first byte (port 993)
    STARTTLS = "starttls"  # plain connect, then STARTTLS before the login (port 143)


class Mailbox(TenantModel):
    """A city's mailbox the e-mail worker polls (IMAP over TLS, never in clear)."""

    host = fields.CharField(max_length=200)
    port = fields.IntField()
    security = fields.CharEnumField(MailSecurity, max_length=10)
    username = fields.CharField(max_length=200)
    password_enc = fields.TextField()  # encrypted at rest like personal data
    folder = fields.CharField(max_length=100, default="INBOX")
    is_active = fields.BooleanField(default=True)
    # The last UID taken, valid within uid_validity (a new UIDVALIDITY starts again at 0;
    # the inbound records dedupe what was taken before).
    uid_validity = fields.BigIntField(null=True)
    last_uid = fields.BigIntField(default=0)
    last_polled_at = fields.DatetimeField(null=True)
    last_error = fields.CharField(max_length=300, default="")
    # The authserv-id the city's mail server writes in its Authentication-Results
    # headers (RFC 8601): only its verdict lets a mail be appended to a ticket
    # (channels.mailauth); empty: no verdict is trusted, every mail opens a ticket.
    authserv_id = fields.CharField(max_length=200, default="")

    class Meta:
        table = "channel_mailboxes"
        unique_together = (("tenant_id", "host", "username", "folder"),)


class WechatAccount(TenantModel):
    """The city's WeChat official account: what the template-message sender needs."""

    app_id = fields.CharField(max_length=64)
    app_secret_enc = fields.TextField()  # encrypted at rest
    template_id = fields.CharField(max_length=100)  # the progress message's template
    api_base = fields.CharField(max_length=200, default="https://api.weixin.qq.com")
    # the EncodingAESKey of the encrypted mode (安全模式), encrypted at rest; set: the
    # callback takes only encrypted messages
    aes_key_enc = fields.TextField(null=True)

    class Meta:
        table = "channel_wechat_accounts"
        unique_together = (("tenant_id", "app_id"),)
