"""What one GraphQL request may cost, decided before the expensive work (docs/security.md).

(Over 400 lines on purpose: the three bounds share one walk over the document and its
memo of expanded fragments.)

Three bounds, in the order a request meets them:

1. **Shape**, right after parsing, by one cheap walk over the document (fragments
   expanded, memoised): selections per selection set, fields in total, nesting, and the
   pairs of same-named fields that graphql-core's ``OverlappingFieldsCanBeMerged`` rule
   would compare (the rule is quadratic in them: 300 copies of one field cost seconds).
2. **Validation** runs in a worker thread under a time budget, so the event loop keeps
   serving others; a cached document skips it.
3. **Cost**, with the variables known: every object field costs its weight, times the
   page size (``first``/``last``) or the list size of the fields above it; the caller's
   role has a budget; the figure is in the response's ``extensions.cost``.

Refusals are GraphQL errors with ``extensions.code``: ``QUERY_TOO_COMPLEX`` (shape or
validation budget) and ``QUERY_TOO_COSTLY`` (cost); nothing is executed.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    is_leaf_type,
    parse,
)
from graphql.validation import ASTValidationRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from hotline.schema.context import Context
from hotline.tenants.kernel.access import Actor
from hotline.tenants.kernel.roles import Role

QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"
DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED"

# Nesting past this is refused by the walk itself (the depth rule speaks of fields; this
# keeps the walk's own recursion small whatever the document).
MAX_NESTING = 64


def refusal(message: str, code: str, **extensions: Any) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code, **extensions})


# --- 1. shape ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    max_selections: int
    max_fields: int
    max_overlapping_pairs: int


@dataclass(frozen=True)
class Shape:
    fields: int  # fields with fragments expanded
    widest: int  # the largest selection set, in selections
    nesting: int
    overlapping_pairs: int  # same-named field pairs the overlap rule compares


class _TooLarge(Exception):
    pass


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def measure(document: DocumentNode, limits: Limits) -> Shape:
    """The document's shape; stops early (``_TooLarge``) once a limit is passed."""
    fragments = _fragments(document)
    memo: dict[str, tuple[int, int, int]] = {}
    visiting: set[str] = set()

    def walk(selection_set: SelectionSetNode, level: int) -> tuple[int, int, int]:
        """(fields, widest, nesting) below ``selection_set``."""
        if level > MAX_NESTING:
            raise _TooLarge(f"the query nests deeper than {MAX_NESTING} levels")
        selections = selection_set.selections
        fields, widest, nesting = 0, len(selections), 1
        for selection in selections:
            sub: tuple[int, int, int] = (0, 0, 0)
            if isinstance(selection, FieldNode):
                fields += 1
                if selection.selection_set is not None:
                    sub = walk(selection.selection_set, level + 1)
            elif isinstance(selection, InlineFragmentNode):
                sub = walk(selection.selection_set, level + 1)
            elif isinstance(selection, FragmentSpreadNode):
                sub = fragment(selection.name.value, level + 1)
            fields += sub[0]
            widest = max(widest, sub[1])
            nesting = max(nesting, sub[2] + 1)
            if fields > limits.max_fields:
                raise _TooLarge(f"the query selects more than {limits.max_fields} fields")
        return fields, widest, nesting

    def fragment(name: str, level: int) -> tuple[int, int, int]:
        if name in memo:
            return memo[name]
        definition = fragments.get(name)
        if definition is None or name in visiting:
            return (0, 0, 0)  # unknown fragments and cycles: validation's own rules say so
        visiting.add(name)
        memo[name] = walk(definition.selection_set, level)
        visiting.discard(name)
        return memo[name]

    fields, widest, nesting = 0, 0, 0
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode | FragmentDefinitionNode):
            f, w, n = walk(definition.selection_set, 1)
            fields, widest, nesting = fields + f, max(widest, w), max(nesting, n)
            if fields > limits.max_fields:
                raise _TooLarge(f"the query selects more than {limits.max_fields} fields")
    if widest > limits.max_selections:
        raise _TooLarge(f"a selection set holds more than {limits.max_selections} selections")
    pairs = _overlapping_pairs(document, fragments, limits.max_overlapping_pairs)
    return Shape(fields=fields, widest=widest, nesting=nesting, overlapping_pairs=pairs)


def _collect(
    selection_sets: Iterable[SelectionSetNode],
    fragments: dict[str, FragmentDefinitionNode],
    seen: frozenset[str] = frozenset(),
) -> list[FieldNode]:
    """The fields of these selection sets, inline fragments and spreads expanded."""
    found: list[FieldNode] = []
    for selection_set in selection_sets:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                found.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                found.extend(_collect([selection.selection_set], fragments, seen))
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                definition = fragments.get(name)
                if definition is not None and name not in seen:
                    found.extend(_collect([definition.selection_set], fragments, seen | {name}))
    return found


def _overlapping_pairs(
    document: DocumentNode, fragments: dict[str, FragmentDefinitionNode], budget: int
) -> int:
    """How many same-named field pairs get compared, merging the sub-selections of fields
    that share a response name (as the overlap rule does). The expanded tree is bounded by
    ``max_fields`` already, so this walk is linear in it."""
    total = 0

    def visit(selection_sets: Sequence[SelectionSetNode], level: int) -> None:
        nonlocal total
        if level > MAX_NESTING:
            raise _TooLarge(f"the query nests deeper than {MAX_NESTING} levels")
        groups: dict[str, list[FieldNode]] = {}
        for node in _collect(selection_sets, fragments):
            groups.setdefault((node.alias or node.name).value, []).append(node)
        for nodes in groups.values():
            total += len(nodes) * (len(nodes) - 1) // 2
            if total > budget:
                raise _TooLarge(
                    "the query repeats the same fields too often "
                    "(use one field, or aliases for different arguments)"
                )
            children = [n.selection_set for n in nodes if n.selection_set is not None]
            if children:
                visit(children, level + 1)

    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            visit([definition.selection_set], 1)
    return total


# --- 3. cost -----------------------------------------------------------------------------

# Weights of fields that cost more than one row: searches and aggregates. Keys are
# "Type.field"; every other object (or list of objects) field weighs 1, leaves 0.
FIELD_WEIGHTS: dict[str, int] = {
    "Query.knowledgeSearch": 5,
    "Query.citizenHistory": 5,
}
# Lists that are not paginated: how many items they are assumed to hold.
DEFAULT_LIST_SIZE = 10
DEFAULT_PAGE = 50


def _page_argument(node: FieldNode, variables: dict[str, Any]) -> int | None:
    """The list size a field's arguments promise: ``first``/``last``/``limit``, or the
    number of ``ids`` asked for (``nodes(ids:)``)."""
    for argument in node.arguments or ():
        name, value = argument.name.value, argument.value
        given: Any = value
        if isinstance(value, VariableNode):
            given = variables.get(value.name.value)
        if name in {"first", "last", "limit"}:
            if isinstance(given, IntValueNode):
                return max(int(given.value), 0)
            if isinstance(given, int):
                return max(given, 0)
        elif name == "ids":
            if isinstance(given, ListValueNode):
                return len(given.values)
            if isinstance(given, list):
                return len(given)
    return None


def _is_list(type_: GraphQLOutputType) -> bool:
    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)


def query_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any] | None,
) -> int:
    """The static cost of the operation that will run (0 when it cannot be found)."""
    variables = variables or {}
    fragments = _fragments(document)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1:
        return 0
    operation = operations[0]
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0

    def cost_of(selection_set: SelectionSetNode, parent: GraphQLObjectType) -> int:
        total = 0
        for node in _collect([selection_set], fragments):
            name = node.name.value
            if name.startswith("__"):
                continue
            definition = parent.fields.get(name)
            if definition is None:
                continue  # a fragment on another member type of an interface or union
            named = get_named_type(definition.type)
            if is_leaf_type(named):
                continue
            weight = FIELD_WEIGHTS.get(f"{parent.name}.{name}", 1)
            page = _page_argument(node, variables)
            if page is not None:
                multiplier = page
            elif "first" in definition.args:
                multiplier = DEFAULT_PAGE
            elif parent.name.endswith(("Connection", "Edge")):
                multiplier = 1  # edges and nodes: the page size above counted them
            elif _is_list(definition.type):
                multiplier = DEFAULT_LIST_SIZE
            else:
                multiplier = 1
            below = 0
            if node.selection_set is not None:
                # an interface or union: the dearest member type decides
                below = max(
                    (cost_of(node.selection_set, t) for t in _object_types(schema, named)),
                    default=0,
                )
            total += weight + multiplier * below
        return total

    return cost_of(operation.selection_set, root)


def _object_types(schema: GraphQLSchema, named: Any) -> list[GraphQLObjectType]:
    if isinstance(named, GraphQLObjectType):
        return [named]
    return list(schema.get_possible_types(named))


def caller_class(actor: Actor) -> str:
    """anonymous, user (signed-in users and API keys) or admin (city, province, platform)."""
    if actor.user_id is None and actor.api_key_id is None:
        return "anonymous"
    if actor.platform_operator or actor.province_admin_of or Role.TENANT_ADMIN in actor.roles:
        return "admin"
    return "user"


def budget_for(actor: Actor, budgets: dict[str, int]) -> tuple[str, int]:
    """(caller class, budget): anonymous < signed-in (users, API keys) < administrators."""
    role = caller_class(actor)
    return role, budgets[role]


# --- the extension -----------------------------------------------------------------------


_parsed: OrderedDict[tuple[str, int | None], DocumentNode] = OrderedDict()
_CACHE_MAX = 1000
# Documents this small are parsed and validated on the event loop (well under a
# millisecond): they never queue behind large ones in the thread pool.
INLINE_QUERY_CHARS = 2000
INLINE_FIELDS = 60


async def _parse(query: str, max_tokens: int | None) -> DocumentNode:
    """Parsed documents are cached; a new one is parsed in a thread (4,000 tokens take
    tens of milliseconds, which the event loop should not spend)."""
    key = (query, max_tokens)
    document = _parsed.get(key)
    if document is not None:
        _parsed.move_to_end(key)
        return document
    if len(query) <= INLINE_QUERY_CHARS:
        document = parse(query, max_tokens=max_tokens)  # small: quicker than a thread hop
    else:
        document = await asyncio.to_thread(parse, query, max_tokens=max_tokens)
    _parsed[key] = document
    if len(_parsed) > _CACHE_MAX:
        _parsed.popitem(last=False)
    return document


_validated: dict[tuple[Any, str, tuple[type[ASTValidationRule], ...]], list[GraphQLError]] = {}


def _validate(
    schema: GraphQLSchema, document: DocumentNode, rules: tuple[type[ASTValidationRule], ...]
) -> list[GraphQLError]:
    return validate_document(schema, document, rules)


_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


@dataclass(frozen=True)
class GuardSettings:
    limits: Limits
    validation_seconds: float
    budgets: dict[str, int]
    hide_suggestions: bool


class RequestGuard(SchemaExtension):
    """Parse, shape check, validation (in a thread, with a budget) and cost: replaces
    strawberry's parse and validation caches (it caches both itself)."""

    def __init__(self, settings: GuardSettings) -> None:
        super().__init__()
        self.settings = settings
        self.cost: int | None = None
        self.budget: int | None = None

    async def on_parse(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        if ctx.graphql_document is None and ctx.query:
            max_tokens = ctx.parse_options.get("max_tokens")
            # On a syntax error strawberry parses again and answers it in the shape each
            # transport expects (HTTP result, WebSocket error message).
            with contextlib.suppress(GraphQLError):
                ctx.graphql_document = await _parse(ctx.query, max_tokens)
        yield

    async def on_validate(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        assert document is not None
        errors = await self._check(document)
        if not errors:
            errors = self._check_cost(document)
        ctx.pre_execution_errors = errors
        yield

    async def _check(self, document: DocumentNode) -> list[GraphQLError]:
        ctx = self.execution_context
        rules = tuple(ctx.validation_rules)
        # the schema object is part of the key: several schemas live in one process (tests)
        key = (ctx.schema, ctx.query, rules) if ctx.query else None
        cached = _validated.get(key) if key is not None else None
        if cached is not None:
            return cached
        try:
            shape = measure(document, self.settings.limits)
        except _TooLarge as exc:
            refused = [refusal(f"Query refused: {exc}.", QUERY_TOO_COMPLEX)]
            self._remember(key, refused)
            return refused
        small = shape.fields <= INLINE_FIELDS and len(ctx.query or "") <= INLINE_QUERY_CHARS
        try:
            if small:
                errors = _validate(ctx.schema._schema, document, rules)
            else:
                errors = await asyncio.wait_for(
                    asyncio.to_thread(_validate, ctx.schema._schema, document, rules),
                    self.settings.validation_seconds,
                )
        except TimeoutError:
            return [refusal("Query refused: it takes too long to validate.", QUERY_TOO_COMPLEX)]
        if self.settings.hide_suggestions:
            errors = [_without_suggestions(e) for e in errors]
        self._remember(key, errors)
        return errors

    @staticmethod
    def _remember(key: Any, errors: list[GraphQLError]) -> None:
        """Validation answers are kept per document (not a timeout: that may be load)."""
        if key is not None:
            if len(_validated) >= _CACHE_MAX:
                _validated.clear()
            _validated[key] = errors

    def _check_cost(self, document: DocumentNode) -> list[GraphQLError]:
        ctx = self.execution_context
        context = ctx.context
        actor = context.actor if isinstance(context, Context) else Actor(user_id=None)
        role, budget = budget_for(actor, self.settings.budgets)
        cost = query_cost(ctx.schema._schema, document, ctx.operation_name, ctx.variables)
        self.cost, self.budget = cost, budget
        if cost > budget:
            return [
                refusal(
                    f"Query refused: it costs {cost}, more than the {budget} allowed for "
                    f"{role} callers (ask for smaller pages or fewer fields).",
                    QUERY_TOO_COSTLY,
                    cost=cost,
                    budget=budget,
                )
            ]
        return []

    def get_results(self) -> dict[str, Any]:
        if self.cost is None:
            return {}
        return {"cost": {"requested": self.cost, "budget": self.budget}}


def _without_suggestions(error: GraphQLError) -> GraphQLError:
    message = _SUGGESTION.sub("", error.message)
    if message == error.message:
        return error
    return GraphQLError(
        message, nodes=error.nodes, original_error=error.original_error, extensions=error.extensions
    )
