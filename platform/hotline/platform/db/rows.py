"""Read paths that skip the ORM's per-row work: hand-written SQL on one pooled connection,
rows turned into model instances by a precomputed plan.

A list page reads a few hundred rows. Tortoise builds every statement anew (pypika) and
converts every value of every row through its field (a datetime's ``to_python_value``
reads an environment variable and converts the zone, per value); for the department
inbox that was most of the ORM's share of the page (docs/performance.md). Here:

* :func:`read_session` — one connection for all the statements of a page: the RLS
  scope is set once, by the pool's acquire hook as for every connection
  (docs/architecture.md §9), no transaction is opened, and reads go to the replica
  when the operation is routed there (:func:`hotline.platform.db.replica.read_connection`).
  Each statement is logged on ``tortoise.db_client`` like the ORM's, so the statement
  counts of the benchmarks and the plans benchmark see them.
* :class:`Hydrator` — a model's instances from asyncpg records: the driver's values as
  they are (aware UTC datetimes, ``Decimal``), enum columns looked up, JSON decoded.
  Instances made for reading: a page never saves them (they are complete, so a save
  would still write every column correctly).

The SQL names ``tenant_id`` explicitly (the indexes lead with it); row-level security
is the wall either way.
"""

from __future__ import annotations

import enum
import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from operator import itemgetter
from typing import Any, Generic, TypeVar

import asyncpg
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.fields.base import Field
from tortoise.fields.data import CharEnumFieldInstance, IntEnumFieldInstance, JSONField
from tortoise.models import Model

from hotline.platform.db.replica import read_connection

M = TypeVar("M", bound=Model)
log = logging.getLogger("tortoise.db_client")


class Reads:
    """Statements on one acquired connection (see :func:`read_session`)."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        log.debug("%s: %s", sql, args)
        rows: list[asyncpg.Record] = await self._connection.fetch(sql, *args)
        return rows


@asynccontextmanager
async def read_session() -> AsyncIterator[Reads]:
    """One pooled connection for a page's reads (inside a transaction: its connection)."""
    async with read_connection().acquire_connection() as connection:
        yield Reads(connection)


def _converter(field: Field[Any]) -> Callable[[Any], Any] | None:
    if isinstance(field, CharEnumFieldInstance | IntEnumFieldInstance):
        members: Mapping[Any, enum.Enum] = field.enum_type._value2member_map_
        return lambda value: None if value is None else members[value]
    if isinstance(field, JSONField):
        return lambda value: json.loads(value) if isinstance(value, str | bytes) else value
    return None


class Hydrator(Generic[M]):
    """Instances of ``model`` from records holding every one of its columns. The plan is
    made on first use: a model's relation columns are known once Tortoise is set up."""

    def __init__(self, model: type[M]) -> None:
        self.model = model
        self._names: list[str] | None = None
        self._convert: list[tuple[str, Callable[[Any], Any]]] = []
        self._custom_pk = False
        self._pk = ""
        # per prefix of a joined row: (field name, its column in the record) pairs
        self._prefixed: dict[str, list[tuple[str, str]]] = {}

    def _plan(self) -> list[str]:
        if self._names is None:
            meta = self.model._meta
            self._convert = [
                (name, convert)
                for name in meta.fields_db_projection
                if (convert := _converter(meta.fields_map[name])) is not None
            ]
            self._custom_pk = meta.db_pk_column not in meta.generated_db_fields
            self._pk = meta.pk_attr
            self._names = list(meta.fields_db_projection)
        return self._names

    @property
    def columns(self) -> str:
        """The select list: every column under its field's name."""
        return self.select()

    def select(self, alias: str = "", prefix: str = "") -> str:
        """The select list, ``alias.``-qualified when given, each column named ``prefix``
        + its field's name (a joined row's columns, for :meth:`part`)."""
        projection = self.model._meta.fields_db_projection
        table = f"{alias}." if alias else ""
        return ", ".join(f'{table}"{projection[n]}" AS "{prefix}{n}"' for n in self._plan())

    def _made(self, values: dict[str, Any]) -> M:
        """The instance holding ``values`` (a fresh dict of every field, taken over)."""
        for name, convert in self._convert:
            values[name] = convert(values[name])
        values["_partial"] = False
        values["_saved_in_db"] = True
        values["_custom_generated_pk"] = self._custom_pk
        values["_await_when_save"] = {}
        row = self.model.__new__(self.model)
        object.__setattr__(row, "__dict__", values)  # not through Model.__setattr__
        return row

    def _layout(
        self, record: Mapping[str, Any], prefix: str = "", drop: str | None = None
    ) -> tuple[list[str], Callable[[Any], Any]]:
        """Where the fields sit in records shaped like ``record`` (every record of one
        statement): their names and a getter of their values, by position (an asyncpg
        record copies out by position several times faster than by name)."""
        names = self._plan()
        wanted = {prefix + n: n for n in names}
        fields: list[str] = []
        positions: list[int] = []
        for position, column in enumerate(record.keys()):
            if column != drop and column in wanted:
                fields.append(wanted[column])
                positions.append(position)
        if len(fields) != len(names):
            missing = sorted(set(names) - set(fields))
            raise KeyError(f"{self.model.__name__}: columns missing from the row: {missing}")
        if len(positions) == 1:  # itemgetter of one position answers the value itself
            only = positions[0]
            return fields, lambda record: (record[only],)
        return fields, itemgetter(*positions)

    def one(self, record: Mapping[str, Any], drop: str | None = None) -> M:
        """The instance of one record (``drop``: a column that is not the model's)."""
        if self._names is None:
            self._plan()
        values = dict(record)
        if drop is not None:
            del values[drop]
        return self._made(values)

    def key(self, record: Mapping[str, Any], prefix: str = "") -> Any:
        """The primary key held by the columns ``prefix`` + field name of a wider record
        (None: an outer join that found nothing), without making the instance."""
        if self._names is None:
            self._plan()
        return record[prefix + self._pk]

    def part(self, record: Mapping[str, Any], prefix: str = "") -> M | None:
        """The instance held by the columns ``prefix`` + field name of a wider record (a
        joined row); None when its key is NULL (an outer join that found nothing)."""
        if self.key(record, prefix) is None:
            return None
        return self._made({name: record[prefix + name] for name in self._plan()})

    def parts(self, records: Sequence[Mapping[str, Any]], prefix: str = "") -> list[M | None]:
        """:meth:`part` of each record of one statement."""
        if not records:
            return []
        fields, values = self._layout(records[0], prefix)
        key = fields.index(self._pk)
        made: list[M | None] = []
        for record in records:
            row = values(record)
            made.append(
                None if row[key] is None else self._made(dict(zip(fields, row, strict=True)))
            )
        return made

    def many(self, records: Sequence[Mapping[str, Any]], drop: str | None = None) -> list[M]:
        """The instances of the records of one statement (``drop`` as in :meth:`one`)."""
        if not records:
            return []
        fields, values = self._layout(records[0], drop=drop)
        return [self._made(dict(zip(fields, values(record), strict=True))) for record in records]


def insert_values(rows: Sequence[Model], start: int = 0) -> tuple[str, list[Any]]:
    """``INSERT INTO "<table>" (…) VALUES (…), (…)`` of new instances of one model, as
    ``save(force_create=True)`` would write each (the model's scope stamp run first; the
    primary key written when the instance holds one, as for an id taken from the
    sequence), its parameters numbered from ``start + 1``; and their values."""
    model = type(rows[0])
    meta = model._meta
    stamp = getattr(model, "_stamp_scope", None)
    values: list[Any] = []
    tuples = []
    names: list[str] = []
    for row in rows:
        if stamp is not None:
            stamp(row)
        keep = getattr(row, meta.pk_attr) is not None
        mine = [n for n in meta.fields_db_projection if keep or n not in meta.generated_db_fields]
        if names and mine != names:
            raise ValueError("insert_values: rows with and without a primary key")
        names = mine
        first = start + len(values)
        values += [meta.fields_map[n].to_db_value(getattr(row, n), row) for n in names]
        tuples.append("(" + ", ".join(f"${first + i + 1}" for i in range(len(names))) + ")")
    columns = ", ".join(f'"{meta.fields_db_projection[n]}"' for n in names)
    # names from the model's own metadata, every value a $n parameter
    sql = f'INSERT INTO "{meta.db_table}" ({columns}) VALUES {", ".join(tuples)}'  # noqa: S608
    return sql, values


def written(rows: Sequence[Model]) -> None:
    """Mark instances written by :func:`insert_values` as saved."""
    for row in rows:
        row._saved_in_db = True


async def insert_many(conn: BaseDBAsyncClient, rows: Sequence[M], key: str) -> None:
    """Write new instances of one model (generated primary key, not yet taken) in one
    statement (:func:`insert_values`) on ``conn`` and give each its primary key.
    ``key``: a field whose value differs between the rows, to match the returned keys
    to them (the order of RETURNING is not promised)."""
    if not rows:
        return
    meta = type(rows[0])._meta
    insert, values = insert_values(rows)
    pk, column = meta.pk_attr, meta.fields_db_projection[key]
    found = await conn.execute_query_dict(
        f'{insert} RETURNING "{meta.db_pk_column}" AS pk, "{column}" AS key', values
    )
    keys = {r["key"]: r["pk"] for r in found}
    if len(keys) != len(rows):
        raise ValueError(f"insert_many: {key} does not tell the rows apart")
    for row in rows:
        setattr(row, pk, keys[meta.fields_map[key].to_db_value(getattr(row, key), row)])
    written(rows)
