"""Subscription results shared within a process: one execution per (event, operation), not per subscriber.

graphql-core executes a subscription's selection for every subscriber of every event; with 1,000 followers
of a lab that was most of the labs subgraph's CPU per delivery. An event type marked `@shared_projection`
is a plain value (its fields are its stored values: no resolvers, no permission classes, scalars and enums
only), so the result of a selection of it depends only on the event's values, the operation's document
and the variables used *inside* the selection (not the root field's arguments: they chose the stream, and
the event's values say what it is). `SharedResultsExecutor` keeps the last results without errors under
that key and gives them to every other subscriber of the process. Who may follow a stream is still checked
per subscriber (the subscription's resolver and its `StreamGuard`); a result with errors is never shared,
so errors and their masking stay per operation. Schema extensions with a `resolve` hook would not run for
a shared result: the schema has none (`core.schema.build_schema`).
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from collections.abc import Hashable
from datetime import date, datetime
from typing import Any, TypeVar, cast

from graphql import ExecutionResult, FieldNode, FragmentSpreadNode, Node, VariableNode
from graphql.language import OperationDefinitionNode
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.base import StrawberryList, StrawberryOptional, has_object_definition
from strawberry.types.enum import StrawberryEnumDefinition

T = TypeVar("T")

MAX_RESULTS = 1024  # recent (event, operation) results; a result is a small dict
_PLAIN = (str, int, float, bool, datetime, date)


def shared_projection(cls: type[T]) -> type[T]:
    """Mark a Strawberry event type (apply above `@strawberry.type`) whose selections subscribers share.
    Refuses a type with a field that could depend on the caller."""
    if not has_object_definition(cls):
        raise TypeError(f"{cls.__name__}: apply @shared_projection above @strawberry.type")
    names = []
    for field in cls.__strawberry_definition__.fields:
        if field.base_resolver or field.permission_classes or field.extensions or not _plain(field.type):
            raise TypeError(f"{cls.__name__}.{field.python_name} is not a plain stored value")
        names.append(field.python_name)
    cls.__shared_fields__ = tuple(names)  # pyright: ignore[reportAttributeAccessIssue]  # our marker
    return cls


def _plain(type_: Any) -> bool:
    while isinstance(type_, StrawberryOptional | StrawberryList):
        type_ = type_.of_type
    if isinstance(type_, StrawberryEnumDefinition):
        return True
    return isinstance(type_, type) and (issubclass(type_, _PLAIN) or issubclass(type_, enum.Enum))


_results: OrderedDict[Hashable, tuple[OperationDefinitionNode, ExecutionResult]] = OrderedDict()
_selection_variables: OrderedDict[int, tuple[OperationDefinitionNode, tuple[str, ...]]] = OrderedDict()


class SharedResultsExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor; a subscription event of a `@shared_projection` type executes once per process
    for each (event values, operation, variables of its selection)."""

    _shared_key: Hashable | None = None

    def build_per_event_executor(self, payload: Any) -> Any:
        key = self._key_of(payload)
        if key is not None:
            done = _results.get(key)
            # The operation is kept with its result, so `id(operation)` in the key is not a reused id.
            if done is not None and done[0] is self.operation:
                return _Executed(done[1])  # not even the executor's copy (a tenth of the labs CPU)
        executor = cast("SharedResultsExecutor", super().build_per_event_executor(payload))
        executor._shared_key = key
        return executor

    def _key_of(self, payload: Any) -> Hashable | None:
        names = getattr(type(payload), "__shared_fields__", None)
        if names is None:
            return None
        variables = self.variable_values.coerced
        try:
            used = tuple((n, _frozen(variables.get(n))) for n in _variables_of(self))
            key = (type(payload), tuple(getattr(payload, n) for n in names), id(self.operation), used)
            hash(key)
        except TypeError:  # a value that cannot be a key: execute for this subscriber alone
            return None
        return key

    def execute_operation(self, serially: bool | None = None) -> Any:
        key = self._shared_key
        if key is None:
            return super().execute_operation(serially)
        result = super().execute_operation(serially)
        if self.is_awaitable(result):

            async def remembered() -> Any:
                return self._remember(key, await result)

            return remembered()
        return self._remember(key, result)

    def _remember(self, key: Hashable, result: Any) -> Any:
        if isinstance(result, ExecutionResult) and not result.errors:
            _results[key] = (self.operation, result)
            if len(_results) > MAX_RESULTS:
                _results.popitem(last=False)
        return result


class _Executed:
    """A per-event executor whose result another subscriber's execution already has."""

    def __init__(self, result: ExecutionResult) -> None:
        self._data = result.data

    def execute_operation(self, serially: bool | None = None) -> ExecutionResult:
        return ExecutionResult(self._data, None)


def _variables_of(executor: StrawberryGraphQLCoreExecutionContext) -> tuple[str, ...]:
    """The variables an operation uses outside its root field's arguments (memoized per operation)."""
    operation = executor.operation
    known = _selection_variables.get(id(operation))
    if known is not None and known[0] is operation:
        return known[1]
    names: set[str] = set()
    seen: set[str] = set()

    def walk(node: Node, root: bool) -> None:
        if isinstance(node, VariableNode):
            names.add(node.name.value)
            return
        if isinstance(node, FragmentSpreadNode) and node.name.value not in seen:
            seen.add(node.name.value)
            fragment = executor.fragment_definitions.get(node.name.value)
            if fragment is not None:
                walk(fragment, False)
        for key in node.keys:
            if root and isinstance(node, FieldNode) and key == "arguments":
                continue  # the root field's arguments chose the stream
            value = getattr(node, key, None)
            for child in value if isinstance(value, tuple | list) else (value,):
                if isinstance(child, Node):
                    walk(child, root and not isinstance(node, FieldNode))

    walk(operation.selection_set, True)
    for directive in operation.directives or ():
        walk(directive, False)
    result = tuple(sorted(names))
    _selection_variables[id(operation)] = (operation, result)
    if len(_selection_variables) > MAX_RESULTS:
        _selection_variables.popitem(last=False)
    return result


def _frozen(value: Any) -> Hashable:
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    return value
