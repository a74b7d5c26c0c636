"""One check of every argument of every operation, before any resolver runs (issue 13 item 6).

Every string a caller sends — String and ID arguments, strings nested in input objects, lists and JSON
scalars, literal or in variables — must be text PostgreSQL and our encoders accept (`core.text`), and
every `after: String` argument must be a cursor we made (`core.pagination.read_cursor`). Anything else is a
`BAD_USER_INPUT` error naming the argument (`input.title`, `representations.0.id`, `after`) instead of an
"Unexpected error." from deep inside a resolver, SQL or JSON encoding.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    GraphQLError,
    OperationDefinitionNode,
    Undefined,
    Visitor,
    value_from_ast_untyped,
    visit,
)
from strawberry.extensions import SchemaExtension

from subgraphs.core.errors import BadUserInput
from subgraphs.core.pagination import read_cursor
from subgraphs.core.text import text_problem

CURSOR_ARGUMENT = "after"


def _printable(key: str) -> str:
    """A path segment safe to echo in a JSON answer (a refused key is shown escaped)."""
    return key if text_problem(key) is None else repr(key)[1:-1]


def _text_problems(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        if (problem := text_problem(value)) is not None:
            yield path, problem
    elif isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{_printable(str(key))}"
            if (problem := text_problem(str(key))) is not None:
                yield child, problem
            yield from _text_problems(item, child)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _text_problems(item, f"{path}.{index}")


class _ArgumentNodes(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.nodes: list[ArgumentNode] = []

    def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
        self.nodes.append(node)


# The argument nodes of recently seen documents. ParserCache hands out the same DocumentNode for the same
# query text, so the walk of the whole document happens once per distinct operation, not per request.
_ARGUMENTS: OrderedDict[int, tuple[DocumentNode, list[ArgumentNode]]] = OrderedDict()
_ARGUMENTS_MAX = 1024


def _argument_nodes(document: DocumentNode) -> list[ArgumentNode]:
    cached = _ARGUMENTS.get(id(document))
    if cached is not None and cached[0] is document:  # the document is held, so its id is not reused
        _ARGUMENTS.move_to_end(id(document))
        return cached[1]
    visitor = _ArgumentNodes()
    visit(document, visitor)
    _ARGUMENTS[id(document)] = (document, visitor.nodes)
    if len(_ARGUMENTS) > _ARGUMENTS_MAX:
        _ARGUMENTS.popitem(last=False)
    return visitor.nodes


def _refusal(error: BadUserInput, node: ArgumentNode) -> GraphQLError:
    return GraphQLError(error.message, nodes=node, extensions=error.extensions, original_error=error)


def _argument_problems(node: ArgumentNode, variables: dict[str, Any]) -> Iterator[GraphQLError]:
    name = node.name.value
    value = value_from_ast_untyped(node.value, variables)
    if value is Undefined:
        return
    for path, problem in _text_problems(value, name):
        yield _refusal(BadUserInput(path, problem), node)
    if name == CURSOR_ARGUMENT and isinstance(value, str) and text_problem(value) is None:
        try:
            read_cursor(value)
        except BadUserInput as error:
            yield _refusal(error, node)


def input_problems(document: DocumentNode, variables: dict[str, Any] | None) -> list[GraphQLError]:
    """The refused arguments of a (validated) document with its variables; operations' variable defaults
    count as sent."""
    values = dict(variables or {})
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            for variable in definition.variable_definitions or ():
                name = variable.variable.name.value
                if name not in values and variable.default_value is not None:
                    values[name] = value_from_ast_untyped(variable.default_value)
    return [error for node in _argument_nodes(document) for error in _argument_problems(node, values)]


class CheckInputs(SchemaExtension):
    """Runs `input_problems` once the document is valid; refused input ends the operation before
    execution, for queries, mutations and subscriptions alike. Must come after ValidationCache."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if not context.pre_execution_errors and context.graphql_document is not None:
            errors = input_problems(context.graphql_document, context.variables)
            if errors:
                context.pre_execution_errors = [*(context.pre_execution_errors or []), *errors]
        yield
