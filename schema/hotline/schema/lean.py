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
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry
from graphql import GraphQLObjectType, GraphQLResolveInfo
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField


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
    if info_name is None:

        def plain(source: Any, info: GraphQLResolveInfo[Any]) -> Any:
            return func(source)

        return plain

    def with_info(source: Any, info: GraphQLResolveInfo[Any]) -> Any:
        return func(source, **{info_name: info_class(_raw_info=info, _field=field)})

    return with_info


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
            lean = _lean(field, info_class)
            if lean is not None:
                graphql_field.resolve = lean
                count += 1
    return count
