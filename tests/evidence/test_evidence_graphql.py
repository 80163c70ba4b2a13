"""The GraphQL face of the evidence store, executed on the real schema with a request
context as the middleware would build it (city scope set, actor resolved)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from strawberry import relay

from hotline.platform.tenancy import use_scope
from hotline.schema.context import ANONYMOUS, Context
from hotline.schema.ids import encode_id
from hotline.schema.schema import build_schema
from hotline.tenants.evidence import uploads
from hotline.tenants.evidence.models import Evidence, EvidenceStatus
from hotline.tenants.kernel.access import Actor
from hotline.tenants.kernel.roles import Role
from hotline.workers import evidence as tasks
from tests import isolation_registry

SCHEMA = build_schema()

REQUEST = """mutation($input: RequestEvidenceUploadInput!) {
  requestEvidenceUpload(input: $input) {
    evidence { id status purpose kind }
    upload { url fields { name value } expiresAt }
    errors { field code message }
  } }"""
FINALIZE = """mutation($id: ID!, $citizen: CitizenTicketInput) {
  finalizeEvidence(evidenceId: $id, citizen: $citizen) {
    evidence { id status contentType } errors { field code message } } }"""
LIST = """query($ticket: ID!) { evidence(ticketId: $ticket) {
  id status fileName size gpsLat gpsLng distanceMeters hasThumbnail
  downloadUrl { url expiresAt variant } } }"""


async def _run(query: str, actor: Actor, **variables: Any) -> dict[str, Any]:
    request = Request(
        {
            "type": "http",
            "method": "POST",
            "path": "/graphql",
            "headers": [],
            "query_string": b"",
            "client": ("192.0.2.7", 4000),
        }
    )
    result = await SCHEMA.execute(
        query,
        variable_values=variables,
        context_value=Context(request=request, response=None, actor=actor),
    )
    body = {"data": result.data, "errors": [e.formatted for e in result.errors or []]}
    isolation_registry.record(query, body)
    return body


async def _post(kit: Any, upload: dict[str, Any], data: bytes) -> None:
    fields = {f["name"]: f["value"] for f in upload["fields"]}
    assert await kit.post_form(upload["url"], fields, data, "photo.jpg") < 300


async def test_upload_finalize_list_download_over_graphql(world, kit) -> None:
    data = kit.photo()
    ticket = str(encode_id("Ticket", world.ticket.id))
    with use_scope(world.alpha.scope()):
        out = await _run(
            REQUEST,
            world.agent,
            input={
                "ticketId": ticket,
                "fileName": "p.jpg",
                "contentType": "image/jpeg",
                "size": len(data),
                "sha256": kit.sha256(data),
            },
        )
        payload = out["data"]["requestEvidenceUpload"]
        assert payload["errors"] == []
        assert payload["evidence"]["status"] == "PENDING"
        assert payload["evidence"]["purpose"] == "INTAKE"
        await _post(kit, payload["upload"], data)
        evidence_id = payload["evidence"]["id"]
        done = await _run(FINALIZE, world.agent, id=evidence_id)
        assert done["data"]["finalizeEvidence"]["evidence"]["status"] == "VERIFYING"
        again = await _run(FINALIZE, world.agent, id=evidence_id)
        assert again["data"]["finalizeEvidence"]["errors"][0]["code"] == "CONFLICT"

        node_id = int(relay.GlobalID.from_id(evidence_id).node_id)
        await tasks.verify_evidence({}, tenant_id=world.alpha.tenant.id, evidence_id=node_id)
        await tasks.process_evidence({}, tenant_id=world.alpha.tenant.id, evidence_id=node_id)

        listed = await _run(LIST, world.street_handler, ticket=ticket)
        assert listed["errors"] == []
        row = next(e for e in listed["data"]["evidence"] if e["id"] == evidence_id)
        assert row["status"] == "VERIFIED"
        assert row["hasThumbnail"] is True
        assert row["distanceMeters"] > 0
        assert await kit.fetch(row["downloadUrl"]["url"]) == data

        refused = await _run(LIST, world.other_handler, ticket=ticket)
        assert [e["extensions"]["code"] for e in refused["errors"]] == ["NOT_FOUND"]

        policy = await _run(
            """mutation { setEvidencePolicy(input: {allowedTypes: ["image/jpeg"],
                maxBytes: {photo: 1000}, retentionDays: 10}) {
                policy { retentionDays } errors { code } } }""",
            world.agent,
        )
        assert policy["data"]["setEvidencePolicy"]["errors"] == [{"code": "PERMISSION_DENIED"}]

    # Another city: alpha's ticket and evidence do not exist there.
    with use_scope(world.beta.scope()):
        other = await _run(LIST, world.beta_agent, ticket=ticket)
        assert [e["extensions"]["code"] for e in other["errors"]] == ["NOT_FOUND"]
        finalize = await _run(FINALIZE, world.beta_agent, id=evidence_id)
        assert finalize["data"]["finalizeEvidence"]["errors"][0]["code"] == "NOT_FOUND"


async def test_one_rejected_item_does_not_fail_the_whole_list(world, kit) -> None:
    """Per-item results: the rejected item's downloadUrl is null with its own error, the
    list and the other items' links still answer."""
    data = kit.photo()
    ticket = str(encode_id("Ticket", world.ticket.id))
    with use_scope(world.alpha.scope()):
        out = await _run(
            REQUEST,
            world.agent,
            input={
                "ticketId": ticket,
                "fileName": "good.jpg",
                "contentType": "image/jpeg",
                "size": len(data),
                "sha256": kit.sha256(data),
            },
        )
        payload = out["data"]["requestEvidenceUpload"]
        await _post(kit, payload["upload"], data)
        good_id = payload["evidence"]["id"]
        await _run(FINALIZE, world.agent, id=good_id)
        node_id = int(relay.GlobalID.from_id(good_id).node_id)
        await tasks.verify_evidence({}, tenant_id=world.alpha.tenant.id, evidence_id=node_id)
        bad = await Evidence.get(id=node_id)
        bad.pk = None
        bad.status = EvidenceStatus.REJECTED
        bad.file_name = "bad.jpg"
        bad.object_key = f"{bad.object_key}-rejected"
        await bad.save(force_create=True)
        bad_id = str(encode_id("Evidence", bad.pk))

        listed = await _run(LIST, world.agent, ticket=ticket)
        rows = {e["id"]: e for e in listed["data"]["evidence"]}
        assert rows[good_id]["downloadUrl"]["url"]
        assert rows[bad_id]["status"] == "REJECTED"
        assert rows[bad_id]["downloadUrl"] is None
        (error,) = [e for e in listed["errors"] if e["path"][-1] == "downloadUrl"]
        assert error["extensions"]["code"] == "CONFLICT"
        assert listed["data"]["evidence"][error["path"][1]]["id"] == bad_id


async def test_citizen_over_graphql(world, kit) -> None:
    data = kit.photo()
    citizen = {"number": world.ticket.number, "queryCode": kit.QUERY_CODE}
    anonymous = Actor(
        user_id=None, tenant_id=world.alpha.tenant.id, province_id=world.alpha.tenant.province_id
    )
    with use_scope(world.alpha.scope()):
        out = await _run(
            REQUEST,
            anonymous,
            input={
                "citizen": citizen,
                "fileName": "lamp.jpg",
                "contentType": "image/jpeg",
                "size": len(data),
                "sha256": kit.sha256(data),
            },
        )
        payload = out["data"]["requestEvidenceUpload"]
        assert payload["evidence"]["purpose"] == "CITIZEN"
        await _post(kit, payload["upload"], data)
        done = await _run(FINALIZE, anonymous, id=payload["evidence"]["id"], citizen=citizen)
        assert done["data"]["finalizeEvidence"]["errors"] == []
        node_id = int(relay.GlobalID.from_id(payload["evidence"]["id"]).node_id)
        await tasks.verify_evidence({}, tenant_id=world.alpha.tenant.id, evidence_id=node_id)
        await tasks.process_evidence({}, tenant_id=world.alpha.tenant.id, evidence_id=node_id)
        seen = await _run(
            """query($c: CitizenTicketInput!) { citizenEvidence(citizen: $c) {
                id contentType downloadUrl { url variant } } }""",
            ANONYMOUS,
            c=citizen,
        )
        assert seen["errors"] == []
        mine = [e for e in seen["data"]["citizenEvidence"] if e["id"] == payload["evidence"]["id"]]
        assert mine[0]["downloadUrl"]["variant"] == "PUBLIC"
        # Anonymous callers get nothing of the staff listing.
        staff = await _run(LIST, anonymous, ticket=str(encode_id("Ticket", world.ticket.id)))
        assert staff["data"] is None
        assert staff["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"


EVIDENCE_FIELDS = {
    "evidence",
    "citizenEvidence",
    "evidencePolicy",
    "requestEvidenceUpload",
    "finalizeEvidence",
    "publishEvidence",
    "setEvidencePolicy",
}


async def test_every_evidence_field_is_isolated_between_cities(world, kit) -> None:
    """City beta's agent and admin, with alpha's ids, get what ids that do not exist get."""
    graphql = SCHEMA._schema
    assert graphql.query_type is not None
    assert graphql.mutation_type is not None
    fields = set(graphql.query_type.fields) | set(graphql.mutation_type.fields)
    assert {f for f in fields if "vidence" in f} == EVIDENCE_FIELDS

    with use_scope(world.alpha.scope()):
        alpha_row = await kit.make_ticket(world.alpha, "AL20261123000077")
        data = kit.photo()
        up = await uploads.request_upload(
            actor=world.agent,
            ticket_id=alpha_row.id,
            file_name="p.jpg",
            content_type="image/jpeg",
            size=len(data),
            sha256=kit.sha256(data),
        )
    ticket = str(encode_id("Ticket", alpha_row.id))
    evidence_id = str(encode_id("Evidence", up.evidence.id))
    beta_admin = Actor(
        user_id=299,
        tenant_id=world.beta.tenant.id,
        province_id=world.beta.tenant.province_id,
        roles=frozenset({Role.TENANT_ADMIN}),
    )
    with use_scope(world.beta.scope()):
        listed = await _run(LIST, world.beta_agent, ticket=ticket)
        assert [e["extensions"]["code"] for e in listed["errors"]] == ["NOT_FOUND"]
        request = await _run(
            REQUEST,
            world.beta_agent,
            input={
                "ticketId": ticket,
                "fileName": "p.jpg",
                "contentType": "image/jpeg",
                "size": 10,
                "sha256": "0" * 64,
            },
        )
        assert request["data"]["requestEvidenceUpload"]["errors"][0]["code"] == "NOT_FOUND"
        for citizen_ok in (False, True):
            citizen = {"number": alpha_row.number, "queryCode": kit.QUERY_CODE}
            finalize = await _run(
                FINALIZE, world.beta_agent, id=evidence_id, citizen=citizen if citizen_ok else None
            )
            assert finalize["data"]["finalizeEvidence"]["errors"][0]["code"] == "NOT_FOUND"
        published = await _run(
            "mutation($id: ID!) { publishEvidence(evidenceId: $id) { errors { code } } }",
            beta_admin,
            id=evidence_id,
        )
        assert published["data"]["publishEvidence"]["errors"] == [{"code": "NOT_FOUND"}]
        seen = await _run(
            "query($c: CitizenTicketInput!) { citizenEvidence(citizen: $c) { id } }",
            ANONYMOUS,
            c={"number": alpha_row.number, "queryCode": kit.QUERY_CODE},
        )
        assert seen["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        changed = await _run(
            """mutation { setEvidencePolicy(input: {allowedTypes: ["image/png"],
                maxBytes: {}, retentionDays: 5}) { policy { retentionDays } errors { code } } }""",
            beta_admin,
        )
        assert changed["data"]["setEvidencePolicy"]["policy"] == {"retentionDays": 5}
        policy = await _run("{ evidencePolicy { retentionDays isDefault } }", beta_admin)
        assert policy["data"]["evidencePolicy"] == {"retentionDays": 5, "isDefault": False}
    with use_scope(world.alpha.scope()):
        # Nothing changed in alpha: its policy, its upload.
        policy = await _run("{ evidencePolicy { retentionDays isDefault } }", world.agent)
        assert policy["data"]["evidencePolicy"]["retentionDays"] != 5
        assert (await Evidence.get(id=up.evidence.id)).status is EvidenceStatus.PENDING
