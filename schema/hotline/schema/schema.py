"""The GraphQL schema: every part's queries and mutations merged, with the guards on."""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.tools import merge_types

from hotline.platform.settings import Settings, get_settings
from hotline.schema.accounts.mutations import AccountMutations
from hotline.schema.accounts.queries import AccountQueries
from hotline.schema.calendar.mutations import CalendarMutations
from hotline.schema.calendar.queries import CalendarQueries
from hotline.schema.departments.mutations import DepartmentMutations
from hotline.schema.departments.queries import DepartmentQueries
from hotline.schema.errors import masking_extension
from hotline.schema.provinces.mutations import ProvinceMutations
from hotline.schema.provinces.queries import ProvinceQueries

Query = merge_types("Query", (AccountQueries, ProvinceQueries, CalendarQueries, DepartmentQueries))
Mutation = merge_types(
    "Mutation", (AccountMutations, ProvinceMutations, CalendarMutations, DepartmentMutations)
)


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    s = settings or get_settings()
    extensions: list[Callable[[], SchemaExtension]] = [
        lambda: ParserCache(maxsize=1000),
        lambda: ValidationCache(maxsize=1000),
        lambda: QueryDepthLimiter(max_depth=s.graphql_max_depth),
        lambda: MaxAliasesLimiter(max_alias_count=s.graphql_max_aliases),
        lambda: MaxTokensLimiter(max_token_count=s.graphql_max_tokens),
        masking_extension,
    ]
    if not s.graphql_introspection:
        extensions.append(lambda: AddValidationRules([NoSchemaIntrospectionCustomRule]))
    return strawberry.Schema(query=Query, mutation=Mutation, extensions=extensions)
