"""Model bases: the scoped manager is the convenience, row-level security the wall."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Self

from tortoise import fields, models
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.manager import Manager
from tortoise.queryset import BulkCreateQuery, QuerySet

from hotline.platform.tenancy import TenantNotSet, current_scope, current_tenant_id


class ScopedManager(Manager):
    """Filters every query by the current city; raises when no city scope is set."""

    def get_queryset(self) -> QuerySet[Any]:
        return QuerySet(self._model).filter(tenant_id=current_tenant_id())


class Model(models.Model):
    """Base of every Hotline table: big integer ids and aware UTC timestamps."""

    id = fields.BigIntField(primary_key=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        abstract = True


class TenantModel(Model):
    """A row owned by one city (tenant) of one province.

    ``objects``-style access (``Ticket.filter(...)``, ``await obj.fk``) goes through
    :class:`ScopedManager`. Province code that must cross cities calls
    :meth:`across_tenants`, which PostgreSQL still limits to the province scope.
    """

    tenant_id = fields.BigIntField(db_index=True)
    province_id = fields.BigIntField()

    class Meta:
        abstract = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Meta.manager on an abstract base is not inherited (docs/architecture.md §9): give each
        # concrete model its own scoped manager.
        if not cls._meta.abstract:
            cls._meta.manager = ScopedManager(cls)

    @classmethod
    def across_tenants(cls) -> QuerySet[Self]:
        """The unscoped manager, for province code only (RLS still applies)."""
        return QuerySet(cls)

    def _stamp_scope(self) -> None:
        scope = current_scope()
        if self.tenant_id is None:
            self.tenant_id = current_tenant_id()
        if self.province_id is None:
            if scope.province_id is None:
                raise TenantNotSet("no province in scope")
            self.province_id = scope.province_id
        if scope.tenant_id is not None and self.tenant_id != scope.tenant_id:
            raise TenantNotSet("row belongs to another tenant than the current scope")

    async def save(
        self,
        using_db: BaseDBAsyncClient | None = None,
        update_fields: Iterable[str] | None = None,
        force_create: bool = False,
        force_update: bool = False,
    ) -> None:
        self._stamp_scope()
        await super().save(
            using_db=using_db,
            update_fields=update_fields,
            force_create=force_create,
            force_update=force_update,
        )

    @classmethod
    def bulk_create(
        cls,
        objects: Iterable[Self],
        batch_size: int | None = None,
        ignore_conflicts: bool = False,
        update_fields: Iterable[str] | None = None,
        on_conflict: Iterable[str] | None = None,
        using_db: BaseDBAsyncClient | None = None,
    ) -> BulkCreateQuery[Self]:
        rows = list(objects)
        for row in rows:
            row._stamp_scope()
        return super().bulk_create(
            rows,
            batch_size=batch_size,
            ignore_conflicts=ignore_conflicts,
            update_fields=update_fields,
            on_conflict=on_conflict,
            using_db=using_db,
        )
