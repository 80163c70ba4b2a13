"""The GraphQL schema: every part's queries and mutations merged, with the guards on."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

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
from hotline.schema.categories.mutations import CategoryMutations
from hotline.schema.categories.queries import CategoryQueries
from hotline.schema.datetimes import DATETIME, AnswerZone
from hotline.schema.departments.mutations import DepartmentMutations
from hotline.schema.departments.queries import DepartmentQueries
from hotline.schema.errors import masking_extension
from hotline.schema.evidence.mutations import EvidenceMutations
from hotline.schema.evidence.queries import EvidenceQueries
from hotline.schema.knowledge.mutations import KnowledgeMutations
from hotline.schema.knowledge.queries import KnowledgeQueries
from hotline.schema.notifications.mutations import NotificationMutations
from hotline.schema.notifications.queries import NotificationQueries
from hotline.schema.notifications.subscriptions import NotificationSubscriptions
from hotline.schema.provinces.mutations import ProvinceMutations
from hotline.schema.provinces.queries import ProvinceQueries
from hotline.schema.statistics.queries import StatisticsQueries
from hotline.schema.tickets.mutations import TicketMutations
from hotline.schema.tickets.queries import TicketQueries
from hotline.schema.tickets.subscriptions import TicketSubscriptions

Query = merge_types(
    "Query",
    (
        AccountQueries,
        ProvinceQueries,
        CalendarQueries,
        DepartmentQueries,
        TicketQueries,
        CategoryQueries,
        KnowledgeQueries,
        EvidenceQueries,
        NotificationQueries,
        StatisticsQueries,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        AccountMutations,
        ProvinceMutations,
        CalendarMutations,
        DepartmentMutations,
        CategoryMutations,
        TicketMutations,
        KnowledgeMutations,
        EvidenceMutations,
        NotificationMutations,
    ),
)

Subscription = merge_types("Subscription", (TicketSubscriptions, NotificationSubscriptions))


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    s = settings or get_settings()
    # The limiters' rule classes are built once: the validation cache keys on the rule
    # classes, so a fresh limiter per request (each makes a new class) would never hit.
    rules = [
        *QueryDepthLimiter(max_depth=s.graphql_max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=s.graphql_max_aliases).validation_rules,
    ]
    if not s.graphql_introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    extensions: list[Callable[[], SchemaExtension]] = [
        lambda: ParserCache(maxsize=1000),
        lambda: ValidationCache(maxsize=1000),
        lambda: AddValidationRules(rules),
        lambda: MaxTokensLimiter(max_token_count=s.graphql_max_tokens),
        masking_extension,
        AnswerZone,
    ]
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        scalar_overrides={datetime: DATETIME},
    )
