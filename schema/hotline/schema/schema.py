"""The GraphQL schema: every part's queries and mutations merged, with the guards on."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.tools import merge_types

from hotline.platform.observability import tracing
from hotline.platform.settings import Settings, get_settings
from hotline.schema.accounts.mutations import AccountMutations
from hotline.schema.accounts.queries import AccountQueries
from hotline.schema.business.applications import ApplicationMutations, ApplicationQueries
from hotline.schema.business.attachments import AttachmentMutations, AttachmentQueries
from hotline.schema.business.financing import FinancingMutations, FinancingQueries
from hotline.schema.business.legal import LegalMutations, LegalQueries
from hotline.schema.business.mutations import BusinessMutations
from hotline.schema.business.policies import PolicyMutations, PolicyQueries
from hotline.schema.business.products import ProductMutations, ProductQueries
from hotline.schema.business.queries import BusinessQueries
from hotline.schema.business.requests import BusinessRequestMutations, BusinessRequestQueries
from hotline.schema.calendar.mutations import CalendarMutations
from hotline.schema.calendar.queries import CalendarQueries
from hotline.schema.categories.mutations import CategoryMutations
from hotline.schema.categories.queries import CategoryQueries
from hotline.schema.channels.mutations import ChannelMutations
from hotline.schema.channels.queries import ChannelQueries
from hotline.schema.datetimes import DATETIME, AnswerZone
from hotline.schema.departments.mutations import DepartmentMutations
from hotline.schema.departments.queries import DepartmentQueries
from hotline.schema.errors import HotlineSchema, masking_extension
from hotline.schema.evidence.mutations import EvidenceMutations
from hotline.schema.evidence.queries import EvidenceQueries
from hotline.schema.guards import GuardSettings, Limits, RequestGuard
from hotline.schema.knowledge.mutations import KnowledgeMutations
from hotline.schema.knowledge.queries import KnowledgeQueries
from hotline.schema.lean import lean_resolvers
from hotline.schema.nodes import NodeQueries
from hotline.schema.notifications.mutations import NotificationMutations
from hotline.schema.notifications.queries import NotificationQueries
from hotline.schema.notifications.subscriptions import NotificationSubscriptions
from hotline.schema.observe import ObserveOperation
from hotline.schema.persisted import PersistedQueries, Registry, load_registered
from hotline.schema.provinces.mutations import ProvinceMutations
from hotline.schema.provinces.queries import ProvinceQueries
from hotline.schema.replicas import ReadRouting
from hotline.schema.routing.mutations import RoutingMutations
from hotline.schema.routing.queries import RoutingQueries
from hotline.schema.statistics.disclosure import DisclosureMutations, DisclosureQueries
from hotline.schema.statistics.exports import (
    ExportMutations,
    ExportQueries,
    ExportSubscriptions,
)
from hotline.schema.statistics.mutations import StatisticsMutations
from hotline.schema.statistics.queries import StatisticsQueries
from hotline.schema.text_guard import StorableText
from hotline.schema.tickets.center_mutations import CenterMutations
from hotline.schema.tickets.department_work_mutations import DepartmentWorkMutations
from hotline.schema.tickets.intake_mutations import IntakeMutations
from hotline.schema.tickets.queries import TicketQueries
from hotline.schema.tickets.subscriptions import TicketSubscriptions
from hotline.schema.tickets.supervision_mutations import SupervisionMutations

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
        NodeQueries,
        StatisticsQueries,
        RoutingQueries,
        BusinessQueries,
        BusinessRequestQueries,
        PolicyQueries,
        ProductQueries,
        FinancingQueries,
        ApplicationQueries,
        LegalQueries,
        AttachmentQueries,
        ExportQueries,
        DisclosureQueries,
        ChannelQueries,
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
        IntakeMutations,
        CenterMutations,
        DepartmentWorkMutations,
        SupervisionMutations,
        KnowledgeMutations,
        EvidenceMutations,
        NotificationMutations,
        RoutingMutations,
        BusinessMutations,
        BusinessRequestMutations,
        PolicyMutations,
        ProductMutations,
        FinancingMutations,
        ApplicationMutations,
        LegalMutations,
        AttachmentMutations,
        StatisticsMutations,
        ExportMutations,
        DisclosureMutations,
        ChannelMutations,
    ),
)

Subscription = merge_types(
    "Subscription", (TicketSubscriptions, NotificationSubscriptions, ExportSubscriptions)
)


def build_schema(settings: Settings | None = None) -> HotlineSchema:
    s = settings or get_settings()
    # The limiters' rule classes are built once: the validation cache keys on the rule
    # classes, so a fresh limiter per request (each makes a new class) would never hit.
    rules = [
        *QueryDepthLimiter(max_depth=s.graphql_max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=s.graphql_max_aliases).validation_rules,
    ]
    if not s.introspection_enabled:
        rules.append(NoSchemaIntrospectionCustomRule)
    guard = GuardSettings(
        limits=Limits(
            max_selections=s.graphql_max_selections,
            max_fields=s.graphql_max_fields,
            max_overlapping_pairs=s.graphql_max_overlapping_pairs,
        ),
        validation_seconds=s.graphql_validation_seconds,
        budgets={
            "anonymous": s.graphql_cost_anonymous,
            "user": s.graphql_cost_user,
            "admin": s.graphql_cost_admin,
        },
        hide_suggestions=not s.introspection_enabled,
    )
    # Order matters: a persisted query's text is found first, the token limit sets the
    # parser's option, the rules are added, then the guard parses, checks the shape,
    # validates in a thread and costs the query; text no store keeps (NUL) is refused.
    registry = Registry(load_registered(s.persisted_queries))
    persisted_only = frozenset(c.strip() for c in s.persisted_only.split(",") if c.strip())
    unknown = persisted_only - {"anonymous", "user", "admin"}
    if unknown:
        raise ValueError(f"HOTLINE_PERSISTED_ONLY: unknown caller classes {sorted(unknown)}")
    observe: list[Callable[[], SchemaExtension]] = (
        [ObserveOperation] if s.metrics_enabled or tracing.enabled() else []
    )
    extensions: list[Callable[[], SchemaExtension]] = [
        *observe,  # first: measures what the client sees (masked errors)
        lambda: PersistedQueries(registry, persisted_only),
        lambda: MaxTokensLimiter(max_token_count=s.graphql_max_tokens),
        lambda: AddValidationRules(rules),
        lambda: RequestGuard(guard),
        StorableText,
        masking_extension,
        AnswerZone,
    ]
    if s.database_replica_url:
        extensions.append(ReadRouting)
    schema = HotlineSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        scalar_overrides={datetime: DATETIME},
    )
    # the relation fields of list pages without Strawberry's per-call wrapper (lean.py)
    lean_resolvers(schema, skip=frozenset({"Query", "Mutation", "Subscription"}))
    return schema
