"""The channels' GraphQL faces: createTicket through the pipeline (its proposed
duplicates), the signing secret and the place names a city sets."""

from __future__ import annotations

import json
import time

from hotline.tenants.channels import keys
from tests.tickets_api.conftest import World

CREATE = """
mutation ($input: CreateTicketInput!) {
  createTicket(input: $input) {
    ticket { id number }
    created
    proposedDuplicates { id number }
    errors { code field }
  }
}
"""
ROTATE = """
mutation ($channel: String!) {
  rotateChannelSecret(channel: $channel) { channel secret errors { code field } }
}
"""
PLACES = """
mutation ($names: [String!]!) { addPlaceNames(names: $names) { added errors { code } } }
"""


def _ticket(phone: str, key: str | None = None) -> dict[str, object]:
    return {
        "input": {
            "channel": "PHONE",
            "kind": "COMPLAINT",
            "content": "楼下饭店油烟扰民",
            "citizenPhone": phone,
            **({"idempotencyKey": key} if key else {}),
        }
    }


async def test_create_ticket_proposes_the_callers_open_ticket(world: World) -> None:
    first = await world.gql(world.alpha, "agent", CREATE, _ticket("13700001111"))
    made = first["data"]["createTicket"]
    assert made["proposedDuplicates"] == []
    second = await world.gql(world.alpha, "agent", CREATE, _ticket("13700001111", "k-1"))
    proposed = second["data"]["createTicket"]["proposedDuplicates"]
    assert [t["number"] for t in proposed] == [made["ticket"]["number"]]
    again = await world.gql(world.alpha, "agent", CREATE, _ticket("13700001111", "k-1"))
    assert again["data"]["createTicket"]["created"] is False
    assert again["data"]["createTicket"]["proposedDuplicates"] == proposed
    # another city's caller with the same number is not proposed
    other = await world.gql(world.beta, "agent", CREATE, _ticket("13700001111"))
    assert other["data"]["createTicket"]["proposedDuplicates"] == []


async def test_only_the_admin_rotates_the_secret_and_it_signs(world: World) -> None:
    denied = await world.gql(world.alpha, "agent", ROTATE, {"channel": "sms"})
    assert denied["data"]["rotateChannelSecret"]["errors"][0]["code"] == "PERMISSION_DENIED"
    wrong = await world.gql(world.alpha, "admin", ROTATE, {"channel": "fax"})
    assert wrong["data"]["rotateChannelSecret"]["errors"] == [
        {"code": "INVALID", "field": "channel"}
    ]
    body = await world.gql(world.alpha, "admin", ROTATE, {"channel": "sms"})
    secret = body["data"]["rotateChannelSecret"]["secret"]
    message = json.dumps(
        {"message_id": "g-1", "from": "13700002222", "text": "经十路1号路灯不亮好几天了"}
    ).encode()
    stamp = str(int(time.time()))
    response = await world.client.post(
        f"/channels/sms/{world.alpha.tenant.code}",
        content=message,
        headers={
            "X-Hotline-Timestamp": stamp,
            "X-Hotline-Signature": keys.sign(secret, stamp, message),
        },
    )
    assert response.json()["result"] == "created"


async def test_place_names_are_the_dispatchers_to_add(world: World) -> None:
    denied = await world.gql(world.alpha, "agent", PLACES, {"names": ["千佛山"]})
    assert denied["data"]["addPlaceNames"]["errors"][0]["code"] == "PERMISSION_DENIED"
    added = await world.gql(world.alpha, "dispatcher", PLACES, {"names": ["千佛山", "趵突泉"]})
    assert added["data"]["addPlaceNames"] == {"added": 2, "errors": []}


MAILBOX = """
mutation ($security: String!) {
  setMailbox(host: "imap.example.cn", port: 993, username: "12345", password: "pw",
             security: $security) { configured errors { code field } }
}
"""


async def test_the_admin_sets_the_mailbox(world: World) -> None:
    denied = await world.gql(world.alpha, "agent", MAILBOX, {"security": "ssl"})
    assert denied["data"]["setMailbox"]["errors"][0]["code"] == "PERMISSION_DENIED"
    clear = await world.gql(world.alpha, "admin", MAILBOX, {"security": "none"})
    assert clear["data"]["setMailbox"] == {
        "configured": False,
        "errors": [{"code": "INVALID", "field": "security"}],
    }
    done = await world.gql(world.alpha, "admin", MAILBOX, {"security": "ssl"})
    assert done["data"]["setMailbox"] == {"configured": True, "errors": []}


MAILBOXES = "{ mailboxes { host port security username folder isActive authservId lastError } }"


async def test_the_admin_reads_the_mailbox_back_without_its_password(world: World) -> None:
    done = await world.gql(world.alpha, "admin", MAILBOX, {"security": "starttls"})
    assert done["data"]["setMailbox"] == {"configured": True, "errors": []}
    body = await world.gql(world.alpha, "admin", MAILBOXES)
    assert body["data"]["mailboxes"] == [
        {
            "host": "imap.example.cn",
            "port": 993,
            "security": "starttls",
            "username": "12345",
            "folder": "INBOX",
            "isActive": True,
            "authservId": "",
            "lastError": "",
        }
    ]
    password = await world.gql(world.alpha, "admin", "{ mailboxes { password } }")
    assert "Cannot query field 'password'" in password["errors"][0]["message"]
    denied = await world.gql(world.alpha, "agent", MAILBOXES)
    assert denied["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    # another city's admin sees its own (none), never this one
    other = await world.gql(world.beta, "admin", MAILBOXES)
    assert other["data"]["mailboxes"] == []


WECHAT = """
mutation ($secret: String!) {
  setWechatAccount(appId: "wx1", appSecret: $secret, templateId: "t1") {
    configured errors { code field }
  }
}
"""


async def test_the_admin_sets_the_wechat_account(world: World) -> None:
    denied = await world.gql(world.alpha, "agent", WECHAT, {"secret": "s"})
    assert denied["data"]["setWechatAccount"]["errors"][0]["code"] == "PERMISSION_DENIED"
    empty = await world.gql(world.alpha, "admin", WECHAT, {"secret": ""})
    assert empty["data"]["setWechatAccount"]["errors"] == [{"code": "INVALID", "field": "appId"}]
    done = await world.gql(world.alpha, "admin", WECHAT, {"secret": "s"})
    assert done["data"]["setWechatAccount"] == {"configured": True, "errors": []}
