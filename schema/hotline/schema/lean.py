"""Lean field resolvers: the relation fields of the list types (a page's department,
ticket, category, sibling assignments …) resolved without Strawberry's per-call wrapper.

A department inbox page of 50 rows calls ~450 such resolvers. Strawberry runs each one
through a generic chain — argument conversion, the field-extension chain built with
``functools.partial`` per call, exception-handler dispatch — that costs more than the
resolver itself (the profile: Strawberry ~20% of the page's CPU, docs/performance.md).
For a field whose resolver takes nothing but ``self`` and optionally ``info``, and that
has no field extensions (permission classes are extensions) and no exception handlers,
that chain does nothing: the resolver is called with the parent object and a Strawberry
``Info``, exactly what Strawberry would pass. :func:`lean_resolvers` sets such a call as
the field's graphql-core resolver once, when the schema is built. The schema (SDL) does
not change; fields with arguments, permissions or extensions keep Strawberry's path.

**Prefilled relations.** A list page that read its relations itself (one statement per
level, ``hotline.tenants.tickets.pages``) hands them to its objects with :func:`prefill`;
a lean resolver answers a prefilled value as it is, without calling the resolver (and
without making an ``Info``), as a plain attribute would. Objects made elsewhere (a
mutation's payload, a single read) are not prefilled and take the resolver.

**Node ids.** The Relay ``id`` of a type that keeps Strawberry's ``resolve_id`` and
``resolve_typename`` is its global id made directly from the ``NodeID`` attribute (what
``Node._id`` computes through the full wrapper).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry
from graphql import GraphQLObjectType, GraphQLResolveInfo
from strawberry import relay
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.field import StrawberryField

PREFILLED = "_prefilled_"
_MISSING = object()


def prefill(target: object, field: str, value: object) -> None:
    """Answer ``target``'s (a Strawberry object's) relation field ``field`` (its Python
    name) with ``value``, without its resolver."""
    target.__dict__[PREFILLED + field] = value


def _lean(field: StrawberryField, info_class: type[Any]) -> Callable[..., Any] | None:
    resolver = field.base_resolver
    if resolver is None or field.extensions or resolver.arguments:
        return None
    if resolver.self_parameter is None or resolver.root_parameter or resolver.parent_parameter:
        return None
    func = resolver.wrapped_func
    if not callable(func) or isinstance(func, (staticmethod, classmethod)):
        return None
    info_name = resolver.info_parameter.name if resolver.info_parameter else None
    key = PREFILLED + field.python_name
    if info_name is None:

        def plain(source: Any, info: GraphQLResolveInfo[Any]) -> Any:
            value = source.__dict__.get(key, _MISSING)
            return func(source) if value is _MISSING else value

        return plain

    def with_info(source: Any, info: GraphQLResolveInfo[Any]) -> Any:
        value = source.__dict__.get(key, _MISSING)
        if value is not _MISSING:
            return value
        return func(source, **{info_name: info_class(_raw_info=info, _field=field)})

    return with_info


def _node_id(graphql_type: GraphQLObjectType, field: StrawberryField) -> Callable[..., Any] | None:
    """A direct resolver of a Node's ``id``, when the type resolves ids the default way."""
    definition = (graphql_type.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(definition, StrawberryObjectDefinition):
        return None
    origin = definition.origin
    type_name = graphql_type.name
    if not (isinstance(origin, type) and issubclass(origin, relay.Node)):
        return None
    if field.python_name != "_id" or field.base_resolver is None:
        return None
    if (
        origin.resolve_id.__func__ is not relay.Node.resolve_id.__func__  # type: ignore[attr-defined]
        or origin.resolve_typename.__func__ is not relay.Node.resolve_typename.__func__  # type: ignore[attr-defined]
    ):
        return None
    attr = origin.resolve_id_attr()

    def node_id(source: Any, info: GraphQLResolveInfo[Any]) -> relay.GlobalID:
        return relay.GlobalID(type_name, str(getattr(source, attr)))

    return node_id


def lean_resolvers(schema: strawberry.Schema, *, skip: frozenset[str]) -> int:
    """Give every eligible field of the object types (not the root types in ``skip``) a
    lean resolver; returns how many."""
    info_class = schema.config.info_class
    handlers = getattr(schema.schema_converter, "_get_field_exception_handlers", None)
    count = 0
    for name, graphql_type in schema._schema.type_map.items():
        if name in skip or name.startswith("__") or not isinstance(graphql_type, GraphQLObjectType):
            continue
        for graphql_field in graphql_type.fields.values():
            field = (graphql_field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
            if not isinstance(field, StrawberryField):
                continue
            if handlers is not None and handlers(field):
                continue
            lean = _node_id(graphql_type, field) or _lean(field, info_class)
            if lean is not None:
                graphql_field.resolve = lean
                count += 1
    return count
