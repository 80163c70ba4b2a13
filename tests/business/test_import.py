"""Registry imports through GraphQL and the worker job: rows validated with reasons and
a downloadable report, UTF-8/GBK/XLSX, nothing written from a bad file, idempotent
re-imports by USCC."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from openpyxl import Workbook

from hotline.platform import clock
from hotline.platform.db.config import credentials
from hotline.platform.settings import Settings
from hotline.platform.tenancy import use_scope
from hotline.schema.ids import decode_id
from hotline.tenants.business import registry_prepare, registry_write
from hotline.tenants.business.models import Enterprise
from hotline.tenants.business.registry_import import waiting_imports
from hotline.tenants.business.registry_prepare import Batch
from hotline.tenants.business.registry_prepare import prepare as prepare_batch
from hotline.tenants.business.registry_write import IMPORT_LOCK, Prepare, in_processes, write
from hotline.tenants.business.rows import read_table
from hotline.tenants.business.rules import make_uscc
from hotline.workers.business import import_enterprises
from tests.business.conftest import BizWorld
from tests.statements import counting
from tests.tickets_api.conftest import City

CREATE = """mutation($f: String!, $s: Int!) {
  createEnterpriseImport(fileName: $f, size: $s) {
    import { id status } upload { url fields { name value } } errors { code field message }
  }
}"""
START = """mutation($id: ID!) {
  startEnterpriseImport(id: $id) { import { id status } errors { code field message } }
}"""
STATUS = """query($id: ID!) {
  enterpriseImport(id: $id) {
    status encoding totalRows processedRows inserted updated unchanged rejected error
    rejectedRows { row uscc field reason } rejectedReportUrl
  }
}"""
HEADER = (
    "统一社会信用代码,企业名称,法定代表人,行业代码,从业人数,营业收入,"
    "所属区域,注册资本,成立日期,经营状态,标签"
)


def code(n: int) -> str:
    return make_uscc(f"91370100MA1{n:06d}")


def registry_csv(city: City, rows: int, *, bad: bool = False) -> str:
    lines = [HEADER]
    for n in range(rows):
        lines.append(
            f"{code(n)},泉城企业{n}有限公司,王{n},65,{20 + n},{n * 1_000_000},"
            f"{city.district.name},{n * 100_000},2018-06-0{1 + n % 9},存续,高新技术;专精特新"
        )
    if bad:
        wrong = code(900)[:-1] + ("0" if code(900)[-1] != "0" else "1")
        lines += [
            f"{wrong},校验位错误公司,,65,,,,,,,",
            f"{code(901)},未知行业公司,,99,,,,,,,",
            f"{code(0)},文件内重复公司,,65,,,,,,,",
            f"{code(902)},{'长' * 201},,65,,,,,,,",
            f"{code(903)},法人过长公司,{'李' * 51},65,,,,,,,",
        ]
    return "\n".join(lines) + "\n"


async def run(bw: BizWorld, city: City, data: bytes, file_name: str) -> dict[str, Any]:
    world = bw.world
    created = await world.gql(city, "admin", CREATE, {"f": file_name, "s": len(data)})
    payload = created["data"]["createEnterpriseImport"]
    assert payload["errors"] == [], payload
    upload = payload["upload"]
    fields = {f["name"]: f["value"] for f in upload["fields"]}
    async with httpx.AsyncClient() as client:
        response = await client.post(
            upload["url"], data=fields, files={"file": (file_name, data, fields["Content-Type"])}
        )
    assert response.status_code < 300, response.text
    import_id = payload["import"]["id"]
    started = await world.gql(city, "admin", START, {"id": import_id})
    assert started["data"]["startEnterpriseImport"]["import"]["status"] == "QUEUED"
    again = await world.gql(city, "admin", START, {"id": import_id})
    assert world_codes(again["data"]["startEnterpriseImport"]) == ["CONFLICT"]
    # what the worker runs for the queued job
    from strawberry import relay

    pk = decode_id(relay.GlobalID.from_id(import_id), "EnterpriseImport", field="id")
    later = clock.now() + timedelta(minutes=3)
    with use_scope(city.scope()):  # the stale-job sweep owes the queued import its job…
        assert pk in [r.kwargs["import_id"] for r in await waiting_imports(later)]
    await import_enterprises({}, tenant_id=city.tenant.id, import_id=pk)
    with use_scope(city.scope()):  # …and nothing once it ran
        assert pk not in [r.kwargs["import_id"] for r in await waiting_imports(later)]
    await import_enterprises({}, tenant_id=city.tenant.id, import_id=pk)  # a retry: no-op
    body = await world.gql(city, "admin", STATUS, {"id": import_id})
    result: dict[str, Any] = body["data"]["enterpriseImport"]
    return result


def world_codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["errors"]]


async def count(city: City) -> int:
    with use_scope(city.scope()):
        return await Enterprise.filter(name__startswith="泉城企业").count()


async def test_bad_rows_are_reported_and_good_ones_upserted_idempotently(biz: BizWorld) -> None:
    city = biz.alpha.city
    data = registry_csv(city, 20, bad=True).encode("utf-8")
    first = await run(biz, city, data, "registry.csv")
    assert first["status"] == "DONE"
    assert first["encoding"] == "utf-8"
    assert (first["totalRows"], first["inserted"], first["updated"], first["rejected"]) == (
        25,
        20,
        0,
        5,
    )
    assert [(r["row"], r["field"]) for r in first["rejectedRows"]] == [
        (22, "uscc"),
        (23, "industry"),
        (24, "uscc"),
        (25, "name"),
        (26, "legalRepresentative"),
    ]
    assert first["rejectedRows"][2]["reason"] == "duplicate of row 2"
    async with httpx.AsyncClient() as client:
        report = (await client.get(first["rejectedReportUrl"])).content.decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(report)))
    assert lines[0] == ["row", "uscc", "field", "reason"]
    assert [line[0] for line in lines[1:]] == ["22", "23", "24", "25", "26"]
    assert await count(city) == 20
    with use_scope(city.scope()):
        one = await Enterprise.get(uscc=code(5))
    assert one.area_id == city.district.id
    assert one.tags == ["高新技术", "专精特新"]
    assert one.legal_rep_enc
    assert "王" not in one.legal_rep_enc

    assert first["unchanged"] == 0
    ours = [code(n) for n in range(20)]
    with use_scope(city.scope()):
        before = dict(await Enterprise.filter(uscc__in=ours).values_list("uscc", "legal_rep_enc"))

    again = await run(biz, city, data, "registry.csv")
    assert (again["inserted"], again["updated"], again["rejected"]) == (0, 20, 5)
    assert await count(city) == 20
    # the same content: nothing rewritten (a rewrite would re-encrypt the representative)
    assert again["unchanged"] == 20
    with use_scope(city.scope()):
        after = dict(await Enterprise.filter(uscc__in=ours).values_list("uscc", "legal_rep_enc"))
    assert after == before

    # one row changed in the export: that row alone is written
    changed = data.decode("utf-8").replace("泉城企业7有限公司", "泉城企业7集团有限公司")
    third = await run(biz, city, changed.encode("utf-8"), "registry.csv")
    assert (third["inserted"], third["updated"], third["unchanged"]) == (0, 20, 19)
    with use_scope(city.scope()):
        seven = await Enterprise.get(uscc=code(7))
        assert await Enterprise.filter(uscc=code(8)).values_list("legal_rep_enc", flat=True) == [
            before[code(8)]
        ]
    assert seven.name == "泉城企业7集团有限公司"
    assert seven.legal_rep_enc != before[code(7)]


async def test_gbk_and_xlsx_read_like_utf8(biz: BizWorld) -> None:
    city = biz.alpha.city
    text = registry_csv(city, 3)
    gbk = await run(biz, city, text.encode("gbk"), "registry-gbk.csv")
    assert (gbk["status"], gbk["encoding"], gbk["rejected"]) == ("DONE", "gbk", 0)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for line in csv.reader(io.StringIO(text)):
        sheet.append(line)
    out = io.BytesIO()
    book.save(out)
    xlsx = await run(biz, city, out.getvalue(), "registry.xlsx")
    assert (xlsx["status"], xlsx["encoding"], xlsx["rejected"]) == ("DONE", "xlsx", 0)
    assert xlsx["updated"] == 3


async def test_a_bad_file_writes_nothing(biz: BizWorld) -> None:
    city = biz.beta.city
    before = await count(city)
    no_uscc = "企业名称,行业代码\n泉城企业X,65\n".encode()
    failed = await run(biz, city, no_uscc, "registry.csv")
    assert failed["status"] == "FAILED"
    assert "uscc" in failed["error"]
    not_xlsx = await run(biz, city, b"this is no workbook", "registry.xlsx")
    assert not_xlsx["status"] == "FAILED"
    assert await count(city) == before


async def test_only_csv_or_xlsx_and_only_admins(biz: BizWorld) -> None:
    world = biz.world
    body = await world.gql(world.alpha, "admin", CREATE, {"f": "registry.pdf", "s": 10})
    assert world_codes(body["data"]["createEnterpriseImport"]) == ["INVALID"]
    body = await world.gql(world.alpha, "manager", CREATE, {"f": "registry.csv", "s": 10})
    assert world.codes(body) == ["PERMISSION_DENIED"]


async def test_chunks_overlap_but_the_import_is_one_transaction(biz: BizWorld) -> None:
    """The worker's pipeline in chunks of 7 rows prepared in the worker processes: a
    duplicate of a row of an earlier chunk is still rejected, progress grows per chunk,
    and a failure after some chunks were merged leaves nothing written (one
    transaction)."""
    city, other = biz.beta.city, biz.alpha.city
    text = registry_csv(city, 20, bad=True).replace(
        code(0) + ",文件内重复", code(3) + ",文件内重复"
    )
    table, _ = read_table(text.encode("utf-8"), "r.csv")
    areas = {city.district.name: city.district.id}
    seen: list[int] = []
    run = in_processes(registry_prepare.workers())

    async def progress(rows: int) -> None:
        seen.append(rows)

    with use_scope(city.scope()):
        before = await Enterprise.all().count()
        # from the third chunk on, the rows name a department of another city (one moved
        # away while the import ran): the same-city foreign key refuses that chunk
        late = [r if n < 15 else [*r[:6], "elsewhere", *r[7:]] for n, r in enumerate(table)]
        moved = Prepare(late, {**areas, "elsewhere": other.district.id}, clock.now().date(), size=7)
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await write(moved, progress, run)
        assert seen == [7, 14]  # two chunks merged before the failure…
        assert await Enterprise.all().count() == before  # …and rolled back with it

        seen.clear()
        prepare = Prepare(table, areas, clock.now().date(), size=7)
        written, rejected = await write(prepare, progress, run)
        assert (written.inserted, written.updated, written.unchanged) == (20, 0, 0)
        assert seen == [7, 14, 21, 25]
        assert [(r.line, r.field) for r in rejected] == [
            (22, "uscc"),
            (23, "industry"),
            (24, "uscc"),
            (25, "name"),
            (26, "legalRepresentative"),
        ]
        assert rejected[2].reason == "duplicate of row 5"
        assert await Enterprise.all().count() == before + 20

        # the same file again: every good row validated, none encrypted or staged
        again = Prepare(table, areas, clock.now().date(), size=7)
        stored = dict(
            await Enterprise.filter(uscc__in=[code(n) for n in range(20)]).values_list(
                "uscc", "row_hash"
            )
        )
        prepared = prepare_batch(again.context, Batch(table[1:], 2, stored))
        # the unchanged rows: no record; the in-file duplicate (other content) has one,
        # and is rejected by the write, which sees the whole file
        assert len(prepared.good) == 21
        assert [(line, uscc) for line, uscc, record in prepared.good if record] == [(24, code(3))]
        assert len(prepared.rejected) == 4
        written, rejected = await write(again, progress, run)
        assert (written.inserted, written.updated, written.unchanged) == (0, 20, 20)
        assert len(rejected) == 5
        # a row whose stored hash differs is prepared for the merge
        stored[code(4)] = "0" * 64
        prepared = prepare_batch(again.context, Batch(table[1:], 2, stored))
        assert [uscc for _, uscc, record in prepared.good if record] == [code(4), code(3)]


async def test_two_imports_of_a_city_run_one_after_the_other(biz: BizWorld, db: Settings) -> None:
    """An import skips rows by hashes it read before merging: a second import of the
    city waits for the first to end instead of interleaving with it."""
    city = biz.beta.city
    table, _ = read_table(registry_csv(city, 3).encode("utf-8"), "r.csv")
    areas = {city.district.name: city.district.id}

    async def progress(rows: int) -> None:
        return None

    holder = await asyncpg.connect(**credentials(db.database_url))
    try:
        async with holder.transaction():  # an import of this city in progress
            await holder.execute(IMPORT_LOCK, city.tenant.id)
            with use_scope(city.scope()):
                second = asyncio.ensure_future(
                    write(Prepare(table, areas, clock.now().date(), size=7), progress)
                )
            waiting = 0
            for _ in range(600):  # until PostgreSQL shows it waiting on the import lock
                # (the activity view is a snapshot kept for the transaction: a fresh one)
                await holder.execute("SELECT pg_stat_clear_snapshot()")
                waiting = await holder.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND wait_event = 'advisory' AND query LIKE '%registry import%'"
                )
                if waiting or second.done():
                    break
                await asyncio.sleep(0.05)
            assert not second.done(), second.exception()
            assert waiting == 1
        written, _ = await second  # the first ended: the second runs
    finally:
        await holder.close()
    assert written.inserted + written.updated == 3


async def test_a_new_looking_row_the_registry_holds_is_merged(
    biz: BizWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chunk's rows whose USCC was not found are inserted without the upsert; one the
    registry holds after all (the file writes it in lower case, so the hash read missed
    it) fails that insert and the chunk is merged by the upsert instead, in the same
    transaction (the statements show that path: the plain insert, its savepoint rolled
    back, the upsert)."""
    city = biz.beta.city
    table, _ = read_table(registry_csv(city, 53).encode("utf-8"), "r.csv")
    table = [table[0], *table[51:54]]  # code(50), code(51), code(52)
    table[1][0] = table[1][0].lower()
    areas = {city.district.name: city.district.id}

    async def progress(rows: int) -> None:
        return None

    with use_scope(city.scope()):
        await Enterprise.create(uscc=code(50), name="手工登记", industry="65", section="I")
        with counting(monkeypatch) as sent:
            written, rejected = await write(Prepare(table, areas, clock.now().date()), progress)
        assert rejected == []
        path = [
            step
            for q in sent
            for step, marks in (
                ("insert", registry_write._INSERT),
                ("rollback", "ROLLBACK TO "),
                ("merge", registry_write._MERGE),
            )
            if q.startswith(marks)
        ]
        assert path == ["insert", "rollback", "merge"], sent
        assert (written.inserted, written.updated, written.unchanged) == (2, 1, 0)
        assert (await Enterprise.get(uscc=code(50))).name == "泉城企业50有限公司"
        assert await Enterprise.filter(uscc__in=[code(51), code(52)]).count() == 2
