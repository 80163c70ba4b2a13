"""Text no store can keep is refused before execution (docs/security.md).

PostgreSQL's text types refuse NUL characters and UTF-8 cannot carry unpaired surrogates
(JSON's ``"\\ud800"`` decodes to one), so such a string reaching a query failed deep in
asyncpg as "Unexpected error". Every string of the request — the document's literals
and the variables, at any depth — is checked once, before any resolver runs; one bad
string refuses the request with a typed ``INVALID`` error naming the argument or
variable.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    GraphQLError,
    ObjectFieldNode,
    StringValueNode,
    Visitor,
    visit,
)
from strawberry.extensions import SchemaExtension

from hotline.tenants.kernel.errors import Invalid

# NUL, and a surrogate code point (in a well-formed str, surrogates are never paired)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_MESSAGE = "text must not contain NUL characters or unpaired surrogates"


def _bad_strings(value: Any, path: str) -> Iterator[str]:
    """Paths of the unstorable strings inside a variable's value (keys included)."""
    if isinstance(value, str):
        if _UNSTORABLE.search(value):
            yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and _UNSTORABLE.search(key):
                yield path
            yield from _bad_strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for item in value:
            yield from _bad_strings(item, path)


class _Literals(Visitor):
    """The first argument (or input field) holding an unstorable string literal."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []
        self.found: str | None = None

    def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
        self.names.append(node.name.value)

    def leave_argument(self, node: ArgumentNode, *_: Any) -> None:
        self.names.pop()

    def enter_object_field(self, node: ObjectFieldNode, *_: Any) -> None:
        self.names.append(node.name.value)

    def leave_object_field(self, node: ObjectFieldNode, *_: Any) -> None:
        self.names.pop()

    def enter_string_value(self, node: StringValueNode, *_: Any) -> Any:
        if self.found is None and _UNSTORABLE.search(node.value):
            self.found = ".".join(self.names) or "query"
            return Visitor.BREAK
        return None


# The literals' verdict by the query's text (the document is the text's): a walk over
# the whole document per request otherwise. Bounded like the guard's caches.
_literal_verdicts: dict[str, str | None] = {}
_VERDICTS_MAX = 1000


def _unstorable_literal(document: DocumentNode) -> str | None:
    literals = _Literals()
    visit(document, literals)
    return literals.found


def unstorable_field(
    document: DocumentNode, variables: dict[str, Any] | None, query: str | None = None
) -> str | None:
    """The argument or variable path of the first unstorable string, if any (``query``:
    the document's text, to remember the literals' verdict by)."""
    if query is None:
        found = _unstorable_literal(document)
    elif query in _literal_verdicts:
        found = _literal_verdicts[query]
    else:
        found = _unstorable_literal(document)
        if len(_literal_verdicts) >= _VERDICTS_MAX:
            _literal_verdicts.clear()
        _literal_verdicts[query] = found
    if found is not None:
        return found
    for name, value in (variables or {}).items():
        for path in _bad_strings(value, name):
            return path
    return None


class StorableText(SchemaExtension):
    """Runs after the request guard's validation; adds its refusal if nothing else did."""

    async def on_validate(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        if document is not None and not ctx.pre_execution_errors:
            field = unstorable_field(document, ctx.variables, ctx.query)
            if field is not None:
                error = Invalid(_MESSAGE, field=field)
                ctx.pre_execution_errors = [
                    GraphQLError(error.message, original_error=error, extensions=error.extensions)
                ]
        yield
