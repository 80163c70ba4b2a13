"""The city's set-up of its inbound channels: signing secrets and the place names SMS
intake recognizes (docs/channels.md)."""

from __future__ import annotations

import strawberry
from strawberry import relay

from hotline.schema.channels.queries import PROPOSAL, DuplicateProposal, with_tickets
from hotline.schema.context import Info
from hotline.schema.errors import Error, payload_errors
from hotline.schema.ids import decode_id
from hotline.tenants.channels import imap, keys, places, proposals, wechat


@strawberry.type
class ChannelSecretPayload:
    channel: str | None
    secret: str | None = strawberry.field(
        description="The signing secret: shown once, never again; the old one stops at once."
    )
    errors: list[Error]


@strawberry.type
class PlaceNamesPayload:
    added: int = strawberry.field(description="How many of the names were new.")
    errors: list[Error]


@strawberry.type
class ChannelSetupPayload:
    configured: bool = strawberry.field(description="The settings are saved and in use.")
    errors: list[Error]


@strawberry.type
class DuplicateProposalPayload:
    proposal: DuplicateProposal | None
    errors: list[Error]


@strawberry.type
class ChannelMutations:
    @strawberry.mutation(
        description="Accept a duplicate proposal: its new ticket is merged into the open one "
        "(mergeTickets); CONFLICT when it was decided already."
    )
    async def accept_duplicate_proposal(
        self, info: Info, proposal_id: relay.GlobalID, reason: str = ""
    ) -> DuplicateProposalPayload:
        row, errors = await payload_errors(
            lambda: proposals.accept(
                actor=info.context.actor,
                proposal_id=decode_id(proposal_id, PROPOSAL, field="proposalId"),
                reason=reason,
            )
        )
        found = await with_tickets(info, [row]) if row is not None else []
        return DuplicateProposalPayload(proposal=found[0] if found else None, errors=errors)

    @strawberry.mutation(
        description="Dismiss a duplicate proposal: the tickets stay apart; CONFLICT when it "
        "was decided already."
    )
    async def dismiss_duplicate_proposal(
        self, info: Info, proposal_id: relay.GlobalID
    ) -> DuplicateProposalPayload:
        row, errors = await payload_errors(
            lambda: proposals.dismiss(
                actor=info.context.actor,
                proposal_id=decode_id(proposal_id, PROPOSAL, field="proposalId"),
            )
        )
        found = await with_tickets(info, [row]) if row is not None else []
        return DuplicateProposalPayload(proposal=found[0] if found else None, errors=errors)

    @strawberry.mutation(
        description="A new signing secret for the city's inbound channel (sms, wechat)."
    )
    async def rotate_channel_secret(self, info: Info, channel: str) -> ChannelSecretPayload:
        secret, errors = await payload_errors(
            lambda: keys.rotate_secret(actor=info.context.actor, channel=channel)
        )
        return ChannelSecretPayload(
            channel=channel if secret else None, secret=secret, errors=errors
        )

    @strawberry.mutation(
        description="Add name-only places (landmarks, estates, villages) to the city's "
        "gazetteer, which SMS intake and routing both read.",
        deprecation_reason="Use saveGazetteerPlace: routing's gazetteer is the city's one "
        "place list (SMS place detection reads it) and a place there also names the unit it "
        "implies. Names added here are name-only gazetteer places: they mark a place in an "
        "SMS, they route nowhere.",
    )
    async def add_place_names(self, info: Info, names: list[str]) -> PlaceNamesPayload:
        added, errors = await payload_errors(
            lambda: places.add_place_names(actor=info.context.actor, names=names)
        )
        return PlaceNamesPayload(added=added or 0, errors=errors)

    @strawberry.mutation(
        description="The city's mailbox for e-mail intake (IMAP over TLS: port 993 with "
        "security 'ssl', or 143 with 'starttls'); the password is encrypted at rest and "
        "never shown again. `authservId`: the name the city's mail server writes in its "
        "Authentication-Results headers; a mail is appended to a ticket only on that "
        "server's DMARC (or aligned DKIM) pass, and without it never."
    )
    async def set_mailbox(
        self,
        info: Info,
        host: str,
        port: int,
        username: str,
        password: str,
        security: str = "ssl",
        folder: str = "INBOX",
        authserv_id: str = "",
    ) -> ChannelSetupPayload:
        async def call() -> bool:
            await imap.set_mailbox(
                actor=info.context.actor,
                host=host,
                port=port,
                username=username,
                password=password,
                security=security,
                folder=folder,
                authserv_id=authserv_id,
            )
            return True

        done, errors = await payload_errors(call)
        return ChannelSetupPayload(configured=bool(done), errors=errors)

    @strawberry.mutation(
        description="The city's WeChat official account for progress messages: AppID, "
        "AppSecret (encrypted at rest, never shown again) and the template's id; with "
        "`encodingAesKey` (43 characters, encrypted at rest) the callback takes only "
        "encrypted messages (安全模式)."
    )
    async def set_wechat_account(
        self,
        info: Info,
        app_id: str,
        app_secret: str,
        template_id: str,
        encoding_aes_key: str | None = None,
    ) -> ChannelSetupPayload:
        async def call() -> bool:
            await wechat.set_account(
                actor=info.context.actor,
                app_id=app_id,
                app_secret=app_secret,
                template_id=template_id,
                encoding_aes_key=encoding_aes_key or "",
            )
            return True

        done, errors = await payload_errors(call)
        return ChannelSetupPayload(configured=bool(done), errors=errors)
