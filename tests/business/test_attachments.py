"""Attachments on business requests go through the evidence store with its checks (the
city's types and sizes, presigned upload, finalize by the bytes, sha256 verification,
recorded links); an enterprise user reaches only its own enterprise's requests' files,
the city's staff every file of a request they see."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import httpx
import pytest_asyncio
from PIL import Image

from hotline.platform import storage
from hotline.platform.settings import Settings
from hotline.platform.tenancy import use_scope
from hotline.schema.ids import encode_id
from hotline.tenants.evidence.models import Evidence, EvidenceDownload
from hotline.tenants.evidence.verification import verify_evidence
from tests.business.conftest import BizWorld

SUBMIT = """mutation { submitBusinessRequest(topic: APPROVAL, title: "施工许可",
  content: "材料清单见附件") { request { id } errors { code } } }"""
UPLOAD = """mutation($input: RequestBusinessAttachmentUploadInput!) {
  requestBusinessAttachmentUpload(input: $input) {
    attachment { id status purpose fileName }
    upload { url fields { name value } }
    errors { code field }
  }
}"""
FINALIZE = """mutation($id: ID!) {
  finalizeBusinessAttachment(id: $id) { attachment { status } errors { code field } }
}"""
LIST = """query($r: ID!) {
  businessRequestAttachments(requestId: $r) { id status fileName downloadUrl { url } }
}"""


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (20, 120, 200)).save(out, "JPEG")
    return out.getvalue()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def bucket(db: Settings) -> None:
    await storage.ensure_bucket(db)


def _input(request: str, data: bytes, **extra: Any) -> dict[str, Any]:
    return {
        "input": {
            "requestId": request,
            "fileName": "营业执照.jpg",
            "contentType": "image/jpeg",
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            **extra,
        }
    }


async def _post(upload: dict[str, Any], data: bytes) -> None:
    fields = {f["name"]: f["value"] for f in upload["fields"]}
    async with httpx.AsyncClient() as client:
        response = await client.post(
            upload["url"], data=fields, files={"file": ("a.jpg", data, fields["Content-Type"])}
        )
    assert response.status_code < 300, response.text


async def test_an_enterprise_attaches_a_file_its_staff_and_only_they_see(
    biz: BizWorld, bucket: None
) -> None:
    world, city = biz.world, biz.alpha.city
    request = (await world.gql(city, "acme-user", SUBMIT))["data"]["submitBusinessRequest"][
        "request"
    ]["id"]
    data = jpeg()
    made = (await world.gql(city, "acme-user", UPLOAD, _input(request, data)))["data"][
        "requestBusinessAttachmentUpload"
    ]
    assert made["errors"] == []
    assert made["attachment"]["status"] == "PENDING"
    assert made["attachment"]["purpose"] == "CITIZEN"
    attachment = made["attachment"]["id"]
    # another enterprise of the city: its request, its finalize, its list are NOT_FOUND
    foreign = await world.gql(city, "other-user", UPLOAD, _input(request, data))
    assert foreign["data"]["requestBusinessAttachmentUpload"]["errors"][0]["code"] == "NOT_FOUND"
    await _post(made["upload"], data)
    stolen = await world.gql(city, "other-user", FINALIZE, {"id": attachment})
    assert stolen["data"]["finalizeBusinessAttachment"]["errors"][0]["code"] == "NOT_FOUND"
    done = await world.gql(city, "acme-user", FINALIZE, {"id": attachment})
    assert done["data"]["finalizeBusinessAttachment"] == {
        "attachment": {"status": "VERIFYING"},
        "errors": [],
    }
    again = await world.gql(city, "acme-user", FINALIZE, {"id": attachment})
    assert again["data"]["finalizeBusinessAttachment"]["errors"][0]["code"] == "CONFLICT"
    evidence_id = int(encode_id("Evidence", 1).from_id(attachment).node_id)
    with use_scope(city.scope()):
        assert str(await verify_evidence(evidence_id=evidence_id)) == "verified"

    for who in ("acme-admin", "admin"):
        listed = (await world.gql(city, who, LIST, {"r": request}))["data"][
            "businessRequestAttachments"
        ]
        assert [(a["id"], a["status"]) for a in listed] == [(attachment, "VERIFIED")]
        async with httpx.AsyncClient() as client:
            got = await client.get(listed[0]["downloadUrl"]["url"])
        assert got.content == data
    with use_scope(city.scope()):
        assert await EvidenceDownload.filter(evidence_id=evidence_id).count() == 2
    hidden = await world.gql(city, "other-admin", LIST, {"r": request})
    assert hidden["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    beta = await world.gql(biz.beta.city, "acme-user", LIST, {"r": request})
    assert beta["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_the_evidence_policy_refuses_and_nothing_is_written(
    biz: BizWorld, bucket: None
) -> None:
    world, city = biz.world, biz.alpha.city
    request = (await world.gql(city, "acme-user", SUBMIT))["data"]["submitBusinessRequest"][
        "request"
    ]["id"]
    with use_scope(city.scope()):
        before = await Evidence.all().count()
    data = jpeg()
    for extra, field in (
        ({"fileName": "setup.exe", "contentType": "application/x-msdownload"}, "contentType"),
        ({"size": 2**31 - 1}, "size"),
        ({"sha256": "not-a-hash"}, "sha256"),
    ):
        body = await world.gql(city, "acme-user", UPLOAD, _input(request, data, **extra))
        errors = body["data"]["requestBusinessAttachmentUpload"]["errors"]
        assert [e["code"] for e in errors] == ["INVALID"], (extra, errors)
        assert errors[0]["field"] == field, (extra, errors)
    # an executable declared as a photo is refused by its bytes at finalize
    elf = b"\x7fELF\x02\x01\x01\x00" + bytes(248)
    made = (await world.gql(city, "acme-user", UPLOAD, _input(request, elf)))["data"][
        "requestBusinessAttachmentUpload"
    ]
    await _post(made["upload"], elf)
    refused = await world.gql(city, "acme-user", FINALIZE, {"id": made["attachment"]["id"]})
    assert refused["data"]["finalizeBusinessAttachment"]["errors"] == [
        {"code": "INVALID", "field": "contentType"}
    ]
    with use_scope(city.scope()):
        assert await Evidence.all().count() == before + 1
        assert str((await Evidence.all().order_by("-id").first()).status) == "rejected"  # type: ignore[union-attr]
