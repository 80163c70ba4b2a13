"""The evidence store end to end against real PostgreSQL (RLS), Redis and S3: presigned
upload with httpx, finalize, the worker's hash check and processing, presigned download.

The local S3 stand-in does not enforce POST policy conditions (size range, type), so
these tests upload exactly the wrong bytes a client could send and prove that finalize
and the worker catch them.
"""

from __future__ import annotations

import io
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import av
import pytest
from arq.jobs import Job, JobStatus
from PIL import Image

from hotline.platform import jobs, storage
from hotline.platform.tenancy import use_scope
from hotline.tenants.evidence import (
    access,
    downloads,
    policy,
    processing,
    rules,
    uploads,
    verification,
)
from hotline.tenants.evidence.errors import (
    AlreadyFinalized,
    SizeMismatch,
    TypeRefused,
    UploadMissing,
)
from hotline.tenants.evidence.models import (
    Evidence,
    EvidenceDownload,
    EvidenceStatus,
    Purpose,
    RejectReason,
    Variant,
)
from hotline.tenants.kernel.access import Actor
from hotline.tenants.kernel.errors import (
    Conflict,
    ErrorCode,
    Invalid,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from hotline.tenants.kernel.roles import Role
from hotline.tenants.tickets import citizen, review
from hotline.tenants.tickets.models import Satisfaction, Status, Ticket
from hotline.workers import evidence as tasks
from hotline.workers.runner import Worker


async def _request(world, kit, data: bytes, *, actor=None, **overrides):
    args = {
        "actor": actor or world.agent,
        "ticket_id": world.ticket.id,
        "file_name": "photo.jpg",
        "content_type": "image/jpeg",
        "size": len(data),
        "sha256": kit.sha256(data),
        **overrides,
    }
    return await uploads.request_upload(**args)


async def _verify_and_process(world, evidence_id: int) -> Evidence:
    tenant_id = world.alpha.tenant.id
    await tasks.verify_evidence({}, tenant_id=tenant_id, evidence_id=evidence_id)
    await tasks.process_evidence({}, tenant_id=tenant_id, evidence_id=evidence_id)
    return await Evidence.get(id=evidence_id)


async def _verified_photo(world, kit, data: bytes | None = None, *, actor=None) -> Evidence:
    data = data or kit.photo()
    up = await _request(world, kit, data, actor=actor)
    await kit.upload(up, data)
    await verification.finalize_evidence(actor=actor or world.agent, evidence_id=up.evidence.id)
    return await _verify_and_process(world, up.evidence.id)


async def test_upload_finalize_verify_process_download(world, kit) -> None:
    data = kit.photo(size=(1200, 900))
    with use_scope(world.alpha.scope()):
        up = await _request(world, kit, data)
        # The policy pins the key, the type and the exact size; the key is the city's.
        fields = up.post.fields
        assert fields["key"] == up.evidence.object_key
        assert fields["key"].startswith(f"t/{world.alpha.tenant.id}/evidence/")
        assert fields["Content-Type"] == "image/jpeg"
        assert up.post.expires_at - datetime.now(UTC) <= timedelta(minutes=15)
        assert up.evidence.status is EvidenceStatus.PENDING

        await kit.upload(up, data)
        finalized = await verification.finalize_evidence(
            actor=world.agent, evidence_id=up.evidence.id
        )
        assert finalized.status is EvidenceStatus.VERIFYING
        assert finalized.content_type == "image/jpeg"

        evidence = await _verify_and_process(world, up.evidence.id)
        assert evidence.status is EvidenceStatus.VERIFIED
        assert evidence.purpose is Purpose.INTAKE
        assert (evidence.width, evidence.height) == (1200, 900)
        # EXIF without an offset is camera-local time: read in the city's zone.
        assert evidence.taken_at == datetime(2026, 11, 20, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
        assert float(evidence.gps_lat or 0) == pytest.approx(kit.PHOTO_LAT, abs=1e-6)
        assert float(evidence.gps_lng or 0) == pytest.approx(kit.PHOTO_LNG, abs=1e-6)
        assert evidence.distance_m == pytest.approx(152, abs=5)  # haversine from the ticket

        link = await downloads.download_link(
            actor=world.agent, evidence_id=evidence.id, ip="10.0.0.1"
        )
        query = parse_qs(urlsplit(link.url).query)
        assert int(query["X-Amz-Expires"][0]) <= 300  # at most five minutes
        assert link.expires_at - datetime.now(UTC) <= timedelta(minutes=5)
        assert await kit.fetch(link.url) == data

        thumb = await downloads.download_link(
            actor=world.agent, evidence_id=evidence.id, variant=Variant.THUMBNAIL
        )
        with Image.open(io.BytesIO(await kit.fetch(thumb.url))) as image:
            assert max(image.size) == 320

        recorded = await EvidenceDownload.filter(evidence_id=evidence.id).order_by("id")
        assert [(r.variant, r.user_id) for r in recorded] == [
            (Variant.ORIGINAL, world.agent.user_id),
            (Variant.THUMBNAIL, world.agent.user_id),
        ]
        assert recorded[0].ip == "10.0.0.1"
        listed = await downloads.list_ticket_evidence(actor=world.agent, ticket_id=world.ticket.id)
        assert evidence.id in [e.id for e in listed]


async def test_video_through_a_real_arq_worker(world, kit, tmp_path: Path) -> None:
    """A department's handling video, processed by an arq worker in burst mode."""
    data = kit.mp4(tmp_path / "fixed.mp4", seconds=2, location="+36.6625+117.0207/")
    with use_scope(world.alpha.scope()):
        up = await _request(
            world,
            kit,
            data,
            actor=world.street_handler,
            file_name="fixed.mp4",
            content_type="video/mp4",
            assignment_id=world.assignment.id,
        )
        await kit.upload(up, data, "fixed.mp4")
        await verification.finalize_evidence(actor=world.street_handler, evidence_id=up.evidence.id)
    worker = Worker(
        functions=[tasks.verify_evidence, tasks.process_evidence],
        redis_settings=jobs.redis_settings(),
        queue_name=jobs.queue_name(),
        burst=True,
        poll_delay=0.05,
        handle_signals=False,
    )
    try:
        await worker.async_run()
    finally:
        # arq's Worker.close() calls redis-py's deprecated close(); nothing for us to change.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Call to deprecated close", DeprecationWarning)
            await worker.close()
    assert worker.jobs_failed == 0
    with use_scope(world.alpha.scope()):
        evidence = await Evidence.get(id=up.evidence.id)
        assert evidence.status is EvidenceStatus.VERIFIED
        assert evidence.purpose is Purpose.HANDLING
        assert evidence.assignment_id == world.assignment.id
        assert evidence.duration_ms is not None
        assert abs(evidence.duration_ms - 2000) <= 200
        assert (evidence.width, evidence.height) == (160, 120)
        poster = await downloads.download_link(
            actor=world.district_manager, evidence_id=evidence.id, variant=Variant.POSTER
        )
        with Image.open(io.BytesIO(await kit.fetch(poster.url))) as frame:
            assert frame.format == "JPEG"
            assert frame.size == (160, 120)
        assert float(evidence.gps_lat or 0) == pytest.approx(36.6625)
        assert evidence.distance_m == pytest.approx(152, abs=5)

        # Published: a remuxed copy without the recording place.
        await processing.publish_evidence(actor=world.agent, evidence_id=evidence.id)
        await tasks.process_evidence({}, tenant_id=world.alpha.tenant.id, evidence_id=evidence.id)
        public = await downloads.download_link(
            actor=world.agent, evidence_id=evidence.id, variant=Variant.PUBLIC
        )
        copy = tmp_path / "public.mp4"
        copy.write_bytes(await kit.fetch(public.url))
        with av.open(str(copy)) as container:
            assert "location" not in container.metadata
            assert container.streams.video[0].frames == 24


async def test_wrong_size_is_refused_and_deleted(world, kit) -> None:
    data = kit.photo()
    with use_scope(world.alpha.scope()):
        up = await _request(world, kit, data)
        short = data[:-100]
        status = await kit.post_form(up.post.url, up.post.fields, short, "photo.jpg")
        if status >= 300:
            # MinIO enforces the policy's length range; store the short body the way a
            # store that does not (the local stand-in) would, to test finalize's own check.
            await storage.put(up.post.fields["key"], short, content_type="image/jpeg")
        with pytest.raises(SizeMismatch) as error:
            await verification.finalize_evidence(actor=world.agent, evidence_id=up.evidence.id)
        assert error.value.code is ErrorCode.INVALID
        assert error.value.field == "size"
        evidence = await Evidence.get(id=up.evidence.id)
        assert evidence.status is EvidenceStatus.REJECTED
        assert evidence.reject_reason is RejectReason.SIZE_MISMATCH
        assert await storage.stat(up.post.fields["key"]) is None


async def test_renamed_executable_is_refused_and_deleted(world, kit) -> None:
    with use_scope(world.alpha.scope()):
        up = await _request(world, kit, kit.ELF)
        await kit.upload(up, kit.ELF, "photo.jpg")
        with pytest.raises(TypeRefused) as error:
            await verification.finalize_evidence(actor=world.agent, evidence_id=up.evidence.id)
        assert error.value.field == "contentType"
        assert "application/x-executable" in error.value.message
        evidence = await Evidence.get(id=up.evidence.id)
        assert evidence.status is EvidenceStatus.REJECTED
        assert evidence.reject_reason is RejectReason.TYPE_NOT_ALLOWED
        assert evidence.object_key is None
        assert await storage.stat(up.post.fields["key"]) is None


async def test_wrong_hash_is_rejected_by_the_worker(world, kit) -> None:
    data = kit.photo()
    with use_scope(world.alpha.scope()):
        up = await _request(world, kit, data, sha256=kit.sha256(b"something else"))
        await kit.upload(up, data)
        await verification.finalize_evidence(actor=world.agent, evidence_id=up.evidence.id)
        status = await tasks.verify_evidence(
            {}, tenant_id=world.alpha.tenant.id, evidence_id=up.evidence.id
        )
        assert status == "rejected"
        evidence = await Evidence.get(id=up.evidence.id)
        assert evidence.reject_reason is RejectReason.HASH_MISMATCH
        assert kit.sha256(data) in evidence.reject_detail
        assert await storage.stat(up.post.fields["key"]) is None
        with pytest.raises(Conflict):
            await downloads.download_link(actor=world.agent, evidence_id=evidence.id)


async def test_missing_upload_then_double_finalize(world, kit) -> None:
    data = kit.photo()
    with use_scope(world.alpha.scope()):
        up = await _request(world, kit, data)
        with pytest.raises(UploadMissing) as missing:
            await verification.finalize_evidence(actor=world.agent, evidence_id=up.evidence.id)
        assert missing.value.field == "upload"
        assert (await Evidence.get(id=up.evidence.id)).status is EvidenceStatus.PENDING
        # Uploading afterwards and finalizing again works; a second finalize does not.
        await kit.upload(up, data)
        await verification.finalize_evidence(actor=world.agent, evidence_id=up.evidence.id)
        with pytest.raises(AlreadyFinalized) as twice:
            await verification.finalize_evidence(actor=world.agent, evidence_id=up.evidence.id)
        assert twice.value.code is ErrorCode.CONFLICT
        # Only the uploader finalizes.
        with pytest.raises(NotFound):
            await verification.finalize_evidence(actor=world.admin, evidence_id=up.evidence.id)


async def test_upload_requests_are_checked_against_the_policy(world, kit) -> None:
    with use_scope(world.alpha.scope()):
        cases: list[tuple[dict[str, Any], str]] = [
            ({"content_type": "application/pdf"}, "contentType"),
            ({"size": 0}, "size"),
            ({"size": 21 * 1024 * 1024}, "size"),
            ({"sha256": "xyz"}, "sha256"),
            ({"file_name": ""}, "fileName"),
        ]
        for overrides, field in cases:
            with pytest.raises(Invalid) as error:
                await _request(world, kit, b"x", **overrides)
            assert error.value.field == field


async def test_who_may_download(world, kit) -> None:
    with use_scope(world.alpha.scope()):
        evidence = await _verified_photo(world, kit)
        for actor in (world.agent, world.admin, world.street_handler, world.district_manager):
            link = await downloads.download_link(actor=actor, evidence_id=evidence.id)
            assert link.url
        # Another department of the same city: as if it did not exist.
        with pytest.raises(NotFound):
            await downloads.download_link(actor=world.other_handler, evidence_id=evidence.id)
        with pytest.raises(NotFound):
            await downloads.list_ticket_evidence(
                actor=world.other_handler, ticket_id=world.ticket.id
            )
        with pytest.raises(NotFound):
            await _request(
                world,
                kit,
                b"x" * 10,
                actor=world.other_handler,
                assignment_id=world.assignment.id,
            )
        # Departments cannot add intake evidence (the center's).
        with pytest.raises(NotFound):
            await _request(world, kit, b"x" * 10, actor=world.street_handler)
        recorded = await EvidenceDownload.filter(evidence_id=evidence.id).count()
        assert recorded == 4
    # Another city: its own scope, its own agent, alpha's ids: nothing there.
    with use_scope(world.beta.scope()):
        with pytest.raises(NotFound):
            await downloads.download_link(actor=world.beta_agent, evidence_id=evidence.id)
        with pytest.raises(NotFound):
            await downloads.list_ticket_evidence(actor=world.beta_agent, ticket_id=world.ticket.id)
        with pytest.raises(NotFound):
            await verification.finalize_evidence(actor=world.beta_agent, evidence_id=evidence.id)
        with pytest.raises(NotFound):
            await processing.publish_evidence(actor=world.beta_agent, evidence_id=evidence.id)
        with pytest.raises(NotFound):
            await _request(world, kit, b"x" * 10, actor=world.beta_agent)


async def test_citizen_sees_own_uploads_and_published_copies_without_exif(world, kit) -> None:
    citizen = access.CitizenProof(number=world.ticket.number, query_code=kit.QUERY_CODE)
    data = kit.photo()
    with use_scope(world.alpha.scope()):
        up = await uploads.request_citizen_upload(
            citizen=citizen,
            file_name="lamp.jpg",
            content_type="image/jpeg",
            size=len(data),
            sha256=kit.sha256(data),
        )
        await kit.upload(up, data, "lamp.jpg")
        await verification.finalize_citizen_evidence(citizen=citizen, evidence_id=up.evidence.id)
        own = await _verify_and_process(world, up.evidence.id)
        assert own.purpose is Purpose.CITIZEN
        assert own.public_key is not None

        staff = await _verified_photo(world, kit)
        visible = await downloads.list_citizen_evidence(citizen=citizen)
        seen = {e.id for e in visible}
        assert own.id in seen
        assert staff.id not in seen  # not the center's, until published
        with pytest.raises(NotFound):
            await downloads.citizen_download_link(
                citizen=citizen, evidence_id=staff.id, variant=Variant.PUBLIC
            )
        with pytest.raises(NotFound):  # never the original
            await downloads.citizen_download_link(
                citizen=citizen, evidence_id=own.id, variant=Variant.ORIGINAL
            )
        copy = await downloads.citizen_download_link(citizen=citizen, evidence_id=own.id)
        with Image.open(io.BytesIO(await kit.fetch(copy.url))) as image:
            assert not image.getexif()

        with pytest.raises(PermissionDenied):
            await processing.publish_evidence(actor=world.street_handler, evidence_id=staff.id)
        published = await processing.publish_evidence(actor=world.agent, evidence_id=staff.id)
        assert published.published
        assert published.public_key is None
        await tasks.process_evidence({}, tenant_id=world.alpha.tenant.id, evidence_id=staff.id)
        visible = await downloads.list_citizen_evidence(citizen=citizen)
        assert {own.id, staff.id} <= {e.id for e in visible}
        link = await downloads.citizen_download_link(citizen=citizen, evidence_id=staff.id)
        with Image.open(io.BytesIO(await kit.fetch(link.url))) as image:
            assert image.size == (640, 480)
            assert not image.getexif()
        citizen_rows = await EvidenceDownload.filter(evidence_id=staff.id, user_id=None).count()
        assert citizen_rows == 1

        wrong = access.CitizenProof(number=world.ticket.number, query_code="000000")
        with pytest.raises(NotFound):
            await downloads.list_citizen_evidence(citizen=wrong)
    # The same number and code mean nothing in another city.
    with use_scope(world.beta.scope()), pytest.raises(NotFound):
        await downloads.citizen_download_link(citizen=citizen, evidence_id=own.id)


async def test_policy_per_city(world, kit) -> None:
    with use_scope(world.alpha.scope()):
        with pytest.raises(PermissionDenied):
            await policy.set_evidence_policy(
                actor=world.agent, allowed_types=["image/jpeg"], max_bytes={}, retention_days=30
            )
        with pytest.raises(Invalid):
            await policy.set_evidence_policy(
                actor=world.admin, allowed_types=["text/html"], max_bytes={}, retention_days=30
            )
        saved = await policy.set_evidence_policy(
            actor=world.admin,
            allowed_types=["image/jpeg", "image/png"],
            max_bytes={"photo": 1000},
            retention_days=30,
        )
        assert saved.retention_days == 30
        with pytest.raises(Invalid) as video:
            await _request(world, kit, b"x" * 10, content_type="video/mp4", file_name="v.mp4")
        assert video.value.field == "contentType"
        with pytest.raises(Invalid) as big:
            await _request(world, kit, b"x" * 1001)
        assert big.value.field == "size"
    with use_scope(world.beta.scope()):
        assert await policy.evidence_policy(actor=world.beta_agent) == rules.DEFAULT_POLICY
    with use_scope(world.alpha.scope()):
        await policy.set_evidence_policy(
            actor=world.admin,
            allowed_types=sorted(rules.DEFAULT_POLICY.allowed_types),
            max_bytes={},
            retention_days=730,
        )


async def test_retention_counts_from_closure_and_spares_open_tickets(world, kit) -> None:
    with use_scope(world.alpha.scope()):
        old = await kit.make_ticket(world.alpha, "AL20240101000001")
        recent = await kit.make_ticket(world.alpha, "AL20261101000001")
        items = {}
        for ticket in (old, recent, world.ticket):
            data = kit.photo()
            up = await _request(world, kit, data, ticket_id=ticket.id)
            await kit.upload(up, data)
            await verification.finalize_evidence(actor=world.agent, evidence_id=up.evidence.id)
            items[ticket.id] = await _verify_and_process(world, up.evidence.id)
        now = datetime.now(UTC)
        await Ticket.filter(id=old.id).update(
            status=Status.CLOSED, closed_at=now - timedelta(days=731)
        )
        await Ticket.filter(id=recent.id).update(
            status=Status.CLOSED, closed_at=now - timedelta(days=10)
        )
        # An open ticket with a (stale) closure time from before a reopen is kept too.
        await Ticket.filter(id=world.ticket.id).update(closed_at=now - timedelta(days=900))
        try:
            assert await tasks.apply_retention({}) >= 1
        finally:
            await Ticket.filter(id=world.ticket.id).update(closed_at=None)
        expired = await Evidence.get(id=items[old.id].id)
        assert expired.status is EvidenceStatus.EXPIRED
        assert expired.expired_at is not None
        assert expired.object_key is None
        assert expired.thumbnail_key is None
        for key in items[old.id].stored_keys():
            assert await storage.stat(key) is None
        for kept in (items[recent.id], items[world.ticket.id]):
            row = await Evidence.get(id=kept.id)
            assert row.status is EvidenceStatus.VERIFIED
            assert row.object_key
            assert await storage.stat(row.object_key) is not None


async def test_unfinalized_uploads_are_swept(world, kit) -> None:
    data = kit.photo()
    with use_scope(world.alpha.scope()):
        up = await _request(world, kit, data)
        await kit.upload(up, data)
        await Evidence.filter(id=up.evidence.id).update(
            upload_expires_at=datetime.now(UTC) - timedelta(hours=7)
        )
    assert await tasks.sweep_unfinalized({}) >= 1
    with use_scope(world.alpha.scope()):
        evidence = await Evidence.get(id=up.evidence.id)
        assert evidence.status is EvidenceStatus.ABANDONED
        assert await storage.stat(up.post.fields["key"]) is None
        with pytest.raises(AlreadyFinalized):
            await verification.finalize_evidence(actor=world.agent, evidence_id=evidence.id)


async def test_integrations_finalize_their_own_uploads(world, kit) -> None:
    integration = Actor(
        user_id=None,
        tenant_id=world.alpha.tenant.id,
        province_id=world.alpha.tenant.province_id,
        roles=frozenset({Role.AGENT}),
        api_key_id=7,
    )
    data = kit.photo()
    with use_scope(world.alpha.scope()):
        up = await _request(world, kit, data, actor=integration)
        await kit.upload(up, data)
        with pytest.raises(NotFound):  # not the uploader
            await verification.finalize_evidence(actor=world.agent, evidence_id=up.evidence.id)
        done = await verification.finalize_evidence(actor=integration, evidence_id=up.evidence.id)
        assert done.status is EvidenceStatus.VERIFYING
        assert done.uploaded_by_api_key_id == 7


async def test_query_code_guesses_are_rate_limited(world, kit) -> None:
    """Wrong codes count against one budget per (number, client), shared by every
    citizen face."""
    with use_scope(world.alpha.scope()):
        ticket = await kit.make_ticket(world.alpha, "AL20261123000099")
        guesses = [f"{n:06d}" for n in range(citizen.FAILURES_PER_CLIENT)]
        for code in guesses:
            with pytest.raises(NotFound):
                await downloads.list_citizen_evidence(
                    citizen=access.CitizenProof(number=ticket.number, query_code=code)
                )
        # now even the right code waits, here and on the other faces (rating, lookup)
        with pytest.raises(RateLimited):
            await downloads.list_citizen_evidence(
                citizen=access.CitizenProof(number=ticket.number, query_code=kit.QUERY_CODE)
            )
        anonymous = Actor(
            user_id=None,
            tenant_id=world.alpha.tenant.id,
            province_id=world.alpha.tenant.province_id,
        )
        with pytest.raises(RateLimited):
            await review.rate_ticket(
                actor=anonymous,
                number=ticket.number,
                query_code=kit.QUERY_CODE,
                grade=Satisfaction.SATISFIED,
            )


async def test_a_lost_copy_job_of_published_evidence_is_queued_again(world, kit) -> None:
    """Publishing enqueues its copy job after the update; if that job is lost, the hourly
    sweep queues it again, so a published item never stays without its stripped copy."""
    with use_scope(world.alpha.scope()):
        evidence = await _verified_photo(world, kit)
        await processing.publish_evidence(actor=world.agent, evidence_id=evidence.id)
        # the job was lost: nothing ran, and an hour has passed
        await Evidence.filter(id=evidence.id).update(
            public_key=None, published_at=datetime.now(UTC) - timedelta(hours=2)
        )
    now = datetime.now(UTC)
    assert await tasks.sweep_unfinalized({}) >= 0
    job_id = jobs.job_key(f"evidence:{evidence.id}:publish-{now:%Y%m%d%H}")
    job = Job(job_id, await jobs.pool(), _queue_name=jobs.queue_name())
    assert await job.status() is JobStatus.queued
    await tasks.process_evidence({}, tenant_id=world.alpha.tenant.id, evidence_id=evidence.id)
    with use_scope(world.alpha.scope()):
        assert (await Evidence.get(id=evidence.id)).public_key
