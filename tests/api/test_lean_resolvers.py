"""Lean resolvers (schema/hotline/schema/lean.py): the relation fields of the list types
skip Strawberry's per-call wrapper, and nothing that needs the wrapper loses it — a
field with permission classes, arguments, or on a root type keeps Strawberry's path."""

from __future__ import annotations

from graphql import GraphQLObjectType

from hotline.platform.settings import get_settings
from hotline.schema.schema import build_schema


def _resolver(type_name: str, field: str) -> object:
    schema = build_schema(get_settings())
    graphql_type = schema._schema.type_map[type_name]
    assert isinstance(graphql_type, GraphQLObjectType)
    return graphql_type.fields[field].resolve


def test_relation_fields_of_a_page_are_lean() -> None:
    for type_name, field in (
        ("Assignment", "department"),
        ("Assignment", "ticket"),
        ("Ticket", "category"),
        ("Ticket", "assignments"),
        ("Category", "parent"),
    ):
        resolve = _resolver(type_name, field)
        assert getattr(resolve, "__module__", "") == "hotline.schema.lean", (type_name, field)


def test_permissions_arguments_and_roots_keep_strawberrys_path() -> None:
    # permission classes: the reveal of a citizen's contact is checked (and audited)
    assert getattr(_resolver("Ticket", "contact"), "__module__", "") != "hotline.schema.lean"
    # a root field with arguments
    assert getattr(_resolver("Query", "inbox"), "__module__", "") != "hotline.schema.lean"
