"""Registry rows: reading a CSV (UTF-8 or GBK) or XLSX export and validating each row
into an :class:`EnterpriseRow` or a rejection with its reason. Pure: the departments a
row may name are passed in."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from hotline.tenants.business.models import EnterpriseStatus, SizeClass
from hotline.tenants.business.rules import industry, normalize_uscc, size_class
from hotline.tenants.kernel.errors import Invalid

MAX_NAME = 200
MAX_PERSON = 50
MAX_TAGS = 10
MAX_TAG = 20
MAX_MONEY = Decimal("1e17")

# Column → the headers a registry export may use for it (English or Chinese).
COLUMNS: dict[str, tuple[str, ...]] = {
    "uscc": ("uscc", "统一社会信用代码", "信用代码"),
    "name": ("name", "企业名称", "名称"),
    "legal_rep": ("legal_representative", "legal_rep", "法定代表人", "法人"),
    "industry": ("industry", "行业代码", "行业"),
    "employees": ("employees", "从业人数", "从业人员"),
    "revenue": ("revenue", "营业收入", "营业收入(元)"),
    "size_class": ("size_class", "企业规模", "规模"),
    "area": ("area", "所属区域", "区域"),
    "registered_capital": ("registered_capital", "注册资本", "注册资本(元)"),
    "founded_on": ("founded_on", "成立日期"),
    "status": ("status", "经营状态", "登记状态"),
    "tags": ("tags", "标签"),
}
REQUIRED = ("uscc", "name", "industry")
_STATUS_ALIASES = {
    "存续": EnterpriseStatus.ACTIVE,
    "在业": EnterpriseStatus.ACTIVE,
    "开业": EnterpriseStatus.ACTIVE,
    "停业": EnterpriseStatus.SUSPENDED,
    "吊销": EnterpriseStatus.REVOKED,
    "注销": EnterpriseStatus.CANCELLED,
}
_SIZE_ALIASES = {"大型": "large", "中型": "medium", "小型": "small", "微型": "micro"}
_TAG_SPLIT = re.compile(r"[;；,，、|]")


class BadFile(Exception):
    """The file as a whole cannot be read: nothing of it is written."""


@dataclass(frozen=True)
class EnterpriseRow:
    uscc: str
    name: str
    legal_rep: str | None
    industry: str
    section: str
    employees: int | None
    revenue: Decimal | None
    size_class: SizeClass | None
    area_id: int | None
    registered_capital: Decimal | None
    founded_on: date | None
    status: EnterpriseStatus
    tags: tuple[str, ...]


@dataclass(frozen=True)
class Rejected:
    line: int  # the file's row number (the header is 1)
    uscc: str
    field: str
    reason: str


def decode(data: bytes) -> tuple[str, str]:
    """The text of a CSV and the encoding it was in: UTF-8 (with or without BOM), else
    GBK (read as GB18030, its superset)."""
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gbk"
    except UnicodeDecodeError as exc:
        raise BadFile("the file is neither UTF-8 nor GBK text") from exc


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_table(data: bytes, file_name: str) -> tuple[list[list[str]], str]:
    """Every row as cells of text (header first) and the encoding ("xlsx" for XLSX)."""
    if file_name.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a file that is not XLSX
            raise BadFile("the file is not a readable XLSX workbook") from exc
        try:
            sheet = book.worksheets[0]
            rows = [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        finally:
            book.close()
        return rows, "xlsx"
    text, encoding = decode(data)
    try:
        return list(csv.reader(io.StringIO(text))), encoding
    except csv.Error as exc:
        raise BadFile("the CSV cannot be parsed") from exc


def header_map(header: list[str]) -> dict[str, int]:
    """Column → its index; BadFile when a required column is missing."""
    found: dict[str, int] = {}
    names = [unicodedata.normalize("NFKC", h).strip().lower() for h in header]
    for column, aliases in COLUMNS.items():
        for index, name in enumerate(names):
            if name in {a.lower() for a in aliases}:
                found[column] = index
                break
    missing = [c for c in REQUIRED if c not in found]
    if missing:
        raise BadFile(f"missing column(s): {', '.join(missing)}")
    return found


def _text(value: str) -> str:
    if value.isascii():  # most cells: nothing for NFKC to fold
        return value.strip()
    return unicodedata.normalize("NFKC", value).strip()


def _money(value: str, field: str) -> Decimal | None:
    if not value:
        return None
    try:
        amount = Decimal(value.replace(",", ""))
    except InvalidOperation:
        raise Invalid("not an amount in yuan", field=field) from None
    if not amount.is_finite() or amount < 0 or amount >= MAX_MONEY:
        raise Invalid("not an amount in yuan", field=field)
    return amount.quantize(Decimal("0.01"))


def _count(value: str, field: str) -> int | None:
    if not value:
        return None
    if not value.isdigit() or len(value) > 9:
        raise Invalid("not a whole number", field=field)
    return int(value)


def _date(value: str, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.replace("/", "-")[:10])
    except ValueError:
        raise Invalid("not a date (YYYY-MM-DD)", field=field) from None


def parse_row(cells: Mapping[str, str], *, areas: Mapping[str, int], today: date) -> EnterpriseRow:
    """One validated row, or Invalid naming the field and the reason."""
    uscc = normalize_uscc(cells.get("uscc", ""))
    name = _text(cells.get("name", ""))
    if not name or len(name) > MAX_NAME:
        raise Invalid("the name must be 1-{max} characters", field="name", max=MAX_NAME)
    legal_rep = _text(cells.get("legal_rep", "")) or None
    if legal_rep is not None and len(legal_rep) > MAX_PERSON:
        raise Invalid(
            "the legal representative must be at most {max} characters",
            field="legalRepresentative",
            max=MAX_PERSON,
        )
    found = industry(_text(cells.get("industry", ""))[:2] if cells.get("industry") else "")
    employees = _count(_text(cells.get("employees", "")), "employees")
    revenue = _money(_text(cells.get("revenue", "")), "revenue")
    given_size = _text(cells.get("size_class", ""))
    size: SizeClass | None
    if given_size:
        try:
            size = SizeClass(_SIZE_ALIASES.get(given_size, given_size.lower()))
        except ValueError:
            raise Invalid("unknown size class", field="sizeClass") from None
    else:
        size = size_class(found.division, employees=employees, revenue=revenue)
    area_text = _text(cells.get("area", ""))
    area_id = None
    if area_text:
        area_id = areas.get(area_text)
        if area_id is None:
            raise Invalid("unknown area {area}", field="area", area=area_text)
    founded = _date(_text(cells.get("founded_on", "")), "foundedOn")
    if founded is not None and founded > today:
        raise Invalid("the founding date is in the future", field="foundedOn")
    status_text = _text(cells.get("status", ""))
    try:
        status = (
            _STATUS_ALIASES.get(status_text) or EnterpriseStatus(status_text.lower())
            if status_text
            else EnterpriseStatus.ACTIVE
        )
    except ValueError:
        raise Invalid("unknown status", field="status") from None
    tags = tuple(filter(None, map(_text, _TAG_SPLIT.split(cells.get("tags", "")))))
    return EnterpriseRow(
        uscc=uscc,
        name=name,
        legal_rep=legal_rep,
        industry=found.division,
        section=found.section,
        employees=employees,
        revenue=revenue,
        size_class=size,
        area_id=area_id,
        registered_capital=_money(_text(cells.get("registered_capital", "")), "registeredCapital"),
        founded_on=founded,
        status=status,
        tags=check_tags(tags),
    )


def check_tags(tags: tuple[str, ...]) -> tuple[str, ...]:
    unique = tuple(dict.fromkeys(tags))
    if len(unique) > MAX_TAGS or any(len(t) > MAX_TAG for t in unique):
        raise Invalid(
            "at most {max} tags of at most {length} characters",
            field="tags",
            max=MAX_TAGS,
            length=MAX_TAG,
        )
    return unique


def check_rows(
    rows: list[list[str]],
    columns: Mapping[str, int],
    *,
    first_line: int,
    areas: Mapping[str, int],
    today: date,
) -> Iterator[tuple[int, EnterpriseRow | Rejected]]:
    """Each non-blank row of ``rows`` (the file's line ``first_line`` onwards) with its
    line, validated on its own: a duplicate USCC is the caller's to find (a chunk of a
    file is checked apart from the others, :func:`validate` checks a whole file)."""
    for offset, raw in enumerate(rows):
        line = first_line + offset
        if not "".join(raw).strip():  # a blank row (every cell empty or spaces)
            continue
        width = len(raw)
        cells = {c: raw[i] if i < width else "" for c, i in columns.items()}
        try:
            yield line, parse_row(cells, areas=areas, today=today)
        except Invalid as exc:
            yield line, Rejected(line, cells.get("uscc", "")[:40], exc.field or "", exc.message)


def validate(
    rows: list[list[str]], *, areas: Mapping[str, int], today: date
) -> Iterator[EnterpriseRow | Rejected]:
    """Every data row, validated; a USCC seen earlier in the file is a rejected duplicate."""
    columns = header_map(rows[0] if rows else [])
    seen: dict[str, int] = {}
    for line, row in check_rows(rows[1:], columns, first_line=2, areas=areas, today=today):
        if isinstance(row, EnterpriseRow):
            if row.uscc in seen:
                yield Rejected(line, row.uscc, "uscc", f"duplicate of row {seen[row.uscc]}")
                continue
            seen[row.uscc] = line
        yield row
