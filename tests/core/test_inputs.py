"""Issue 13 item 6, generically: EVERY string position of EVERY argument of every subgraph's schema (String
and ID scalars, inside input objects and lists, JSON scalars) refuses NUL characters and unpaired UTF-16
surrogates, and EVERY `after: String` argument refuses forged cursors — each with a `BAD_USER_INPUT`
error naming the argument, before any resolver runs. The schemas are walked, not listed: a new field is
covered the day it is added.

Operations run through each subgraph's real schema (`schema.execute` / `schema.subscribe`); the check is
pre-execution, so a field deep inside an entity is reached through `_entities` without needing its data.
Resolver-level cursor checks (a well-formed cursor of another list) are tested against real data in
tests/subgraphs/*/ (see test_forged_cursors in courses and labs).
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLUnionType,
    Undefined,
    ast_from_value,
    get_named_type,
    print_ast,
)

from subgraphs.core.domains import DOMAINS, schema_of
from subgraphs.core.pagination import encode_cursor

BAD_TEXTS = {"NUL": "a\x00b", "lone surrogate": "a\ud800b"}
DUMMY_SCALARS = {
    "ID": lambda: str(uuid.uuid4()),
    "String": lambda: "x",
    "Int": lambda: 1,
    "Float": lambda: 1.0,
    "Boolean": lambda: True,
    "DateTime": lambda: "2026-01-01T00:00:00+00:00",
    "Date": lambda: "2026-01-01",
    "JSON": lambda: {},
    "_Any": lambda: {"__typename": "Nothing"},
}
TEXT_SCALARS = ("String", "ID")


def _b64(value: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode().rstrip("=")


FORGED_CURSORS = {
    "garbage": "not-a-cursor!!",
    "non-ascii": "curs\u00f6r",
    "an object": _b64({"a": 1}),
    "untagged strings": _b64(["2026-01-01T00:00:00+00:00", str(uuid.uuid4())]),
    "numbers": _b64([1, 2]),
    "nested lists": _b64([["t:x"], ["u:y"]]),
    "naive timestamp": _b64(["t:2026-01-01T00:00:00", f"u:{uuid.uuid4()}"]),
    "bad timestamp": _b64(["t:yesterday", f"u:{uuid.uuid4()}"]),
    "bad uuid": _b64(["t:2026-01-01T00:00:00+00:00", "u:not-a-uuid"]),
    "huge integer": _b64([f"i:{10**30}", f"u:{uuid.uuid4()}"]),
    "not a number": _b64(["f:nan", f"u:{uuid.uuid4()}"]),
    "bad hex": _b64(["b:zz", f"u:{uuid.uuid4()}"]),
    "NUL in a text value": _b64(["s:a\x00b", f"u:{uuid.uuid4()}"]),
    "unknown tag": _b64(["q:1", f"u:{uuid.uuid4()}"]),
    "too many values": _b64(["i:1"] * 5),
    "too long": encode_cursor(["s:" + "x" * 2000]),
}


def unwrap(type_: Any) -> Any:
    return type_.of_type if isinstance(type_, GraphQLNonNull) else type_


def dummy(type_: Any) -> Any:
    """A valid value of an input type (required input fields only)."""
    type_ = unwrap(type_)
    if isinstance(type_, GraphQLList):
        return [dummy(type_.of_type)]
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLInputObjectType):
        return {
            name: dummy(field.type)
            for name, field in type_.fields.items()
            if isinstance(field.type, GraphQLNonNull) and field.default_value is Undefined
        }
    return DUMMY_SCALARS[type_.name]()


def string_positions(type_: Any, depth: int = 0) -> Iterator[tuple[list[Any], Any]]:
    """(path below the argument, value builder) of every text position in an input type. The builder
    takes the bad value and returns the argument's whole value with it at that position."""
    if depth > 4:
        return
    type_ = unwrap(type_)
    if isinstance(type_, GraphQLList):
        for path, build in string_positions(type_.of_type, depth + 1):
            yield [0, *path], (lambda bad, build=build: [build(bad)])
    elif isinstance(type_, GraphQLInputObjectType):
        base = dummy(type_)
        for name, field in type_.fields.items():
            for path, build in string_positions(field.type, depth + 1):
                yield [name, *path], (lambda bad, name=name, build=build: {**base, name: build(bad)})
    elif isinstance(type_, GraphQLScalarType):
        if type_.name in TEXT_SCALARS:
            yield [], (lambda bad: bad)
        elif type_.name in ("JSON", "_Any"):
            yield ["note"], (lambda bad: {"__typename": "Nothing", "note": bad})
            if type_.name == "JSON":
                yield [], (lambda bad: bad)  # a JSON string value itself


def selection(type_: Any) -> str:
    named = get_named_type(type_)
    return (
        " { __typename }"
        if isinstance(named, (GraphQLObjectType, GraphQLInterfaceType, GraphQLUnionType))
        else ""
    )


@dataclass
class Target:
    domain: str
    operation: str  # query | mutation | subscription
    parent: str  # the type the field is on
    field: str
    path: list[tuple[str, str, dict[str, Any]]]  # (field or fragment, its argument types, values) to reach it


def reachable(schema: Any) -> dict[str, tuple[str, list]]:
    """type name -> (operation, path of (field, fragment type)) from a root or `_entities`."""
    found: dict[str, tuple[str, list]] = {}
    queue: list[tuple[Any, str, list]] = []
    for operation, root in (
        ("query", schema.query_type),
        ("mutation", schema.mutation_type),
        ("subscription", schema.subscription_type),
    ):
        if root is not None:
            found[root.name] = (operation, [])
            queue.append((root, operation, []))
    while queue:
        type_, operation, path = queue.pop(0)
        for name, field in type_.fields.items():
            if name in ("_service",) or operation == "subscription":
                continue
            named = get_named_type(field.type)
            targets = (
                list(named.types)
                if isinstance(named, GraphQLUnionType)
                else schema.get_implementations(named).objects
                if isinstance(named, GraphQLInterfaceType)
                else [named]
                if isinstance(named, GraphQLObjectType)
                else []
            )
            for target in targets:
                if target.name not in found:
                    step = (type_, name, field, target)
                    found[target.name] = (operation, [*path, step])
                    queue.append((target, operation, [*path, step]))
    return found


def build_operation(
    operation: str,
    path: list,
    parent: Any,
    name: str,
    field: Any,
    values: dict[str, Any],
    *,
    inline: bool = False,
) -> tuple[str, dict[str, Any]]:
    """The document reaching `parent.name` through `path`, with `values` for the target's arguments (and
    valid values for every required argument on the way), passed as variables — or, with `inline`, the
    target's `values` written as literals in the document."""
    definitions: list[str] = []
    variables: dict[str, Any] = {}

    def arguments(field_def: Any, given: dict[str, Any], prefix: str) -> str:
        parts = []
        for arg_name, arg in field_def.args.items():
            if arg_name in given:
                value = given[arg_name]
            elif isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined:
                value = dummy(arg.type)
            else:
                continue
            if inline and arg_name in given:
                parts.append(f"{arg_name}: {print_ast(ast_from_value(value, arg.type))}")
                continue
            var = f"{prefix}_{arg_name}"
            definitions.append(f"${var}: {arg.type}")
            variables[var] = value
            parts.append(f"{arg_name}: ${var}")
        return f"({', '.join(parts)})" if parts else ""

    inner = f"{name}{arguments(field, values, 't')}{selection(field.type)}"
    for i, (_owner, step_name, step_field, target) in enumerate(reversed(path)):
        fragment = f"... on {target.name} {{ {inner} }}"
        inner = f"{step_name}{arguments(step_field, {}, f'p{i}')} {{ __typename {fragment} }}"
    header = f"({', '.join(definitions)})" if definitions else ""
    return f"{operation} Probe{header} {{ {inner} }}", variables


async def run(schema: Any, operation: str, document: str, variables: dict[str, Any]) -> Any:
    if operation == "subscription":
        stream = await schema.subscribe(document, variable_values=variables)
        if hasattr(stream, "__aiter__"):
            async for result in stream:
                await stream.aclose()
                return result
            return None
        return stream
    return await schema.execute(document, variable_values=variables)


def cases(kind: str) -> Iterator[Any]:
    for domain in DOMAINS:
        schema = schema_of(domain)
        graphql_schema = schema._schema
        reach = reachable(graphql_schema)
        for type_name, (operation, path) in sorted(reach.items()):
            parent = graphql_schema.type_map[type_name]
            for name, field in parent.fields.items():
                if kind == "cursor":
                    after = field.args.get("after")
                    if after is not None and get_named_type(after.type).name == "String":
                        yield pytest.param(
                            domain,
                            operation,
                            path,
                            parent,
                            name,
                            field,
                            "after",
                            None,
                            id=f"{domain}:{type_name}.{name}",
                        )
                    continue
                for arg_name, arg in field.args.items():
                    for position, build in string_positions(arg.type):
                        label = ".".join(str(p) for p in [arg_name, *position])
                        yield pytest.param(
                            domain,
                            operation,
                            path,
                            parent,
                            name,
                            field,
                            arg_name,
                            build,
                            id=f"{domain}:{type_name}.{name}({label})",
                        )


def assert_refused(result: Any, argument: str, what: str) -> None:
    assert result is not None and result.errors, what
    codes = [(e.extensions or {}).get("code") for e in result.errors]
    assert codes == ["BAD_USER_INPUT"] * len(codes), (what, [e.formatted for e in result.errors])
    named = [list((e.extensions or {}).get("fieldErrors", {})) for e in result.errors]
    assert [argument] in named, (what, named)
    assert result.data is None, what


@pytest.mark.parametrize(
    ("domain", "operation", "path", "parent", "name", "field", "argument", "build"), list(cases("text"))
)
async def test_every_string_argument_refuses_unsafe_text(
    domain, operation, path, parent, name, field, argument, build
):
    schema = schema_of(domain)
    for label, bad in BAD_TEXTS.items():
        value = build(bad)
        document, variables = build_operation(operation, path, parent, name, field, {argument: value})
        result = await run(schema, operation, document, variables)
        expected = _expected_path(argument, value, bad)
        assert_refused(result, expected, f"{label} in {document} {variables!r}")


def _expected_path(argument: str, value: Any, bad: str) -> str:
    """Where `bad` sits in `value`, as the error must name it: `input.title`, `topics.0`."""

    def find(v: Any, path: list[str]) -> list[str] | None:
        if v == bad:
            return path
        if isinstance(v, dict):
            for k, item in v.items():
                if (hit := find(item, [*path, str(k)])) is not None:
                    return hit
        if isinstance(v, list):
            for i, item in enumerate(v):
                if (hit := find(item, [*path, str(i)])) is not None:
                    return hit
        return None

    return ".".join(find(value, [argument]) or [argument])


@pytest.mark.parametrize(
    ("domain", "operation", "path", "parent", "name", "field", "argument", "build"), list(cases("cursor"))
)
async def test_every_cursor_argument_refuses_forged_cursors(
    domain, operation, path, parent, name, field, argument, build
):
    schema = schema_of(domain)
    for label, cursor in FORGED_CURSORS.items():
        document, variables = build_operation(operation, path, parent, name, field, {"after": cursor})
        assert_refused(await run(schema, operation, document, variables), "after", f"{label}: {document}")
        literal, literal_variables = build_operation(
            operation, path, parent, name, field, {"after": cursor}, inline=True
        )
        assert "t_after" not in literal_variables
        assert_refused(
            await run(schema, operation, literal, literal_variables), "after", f"{label}: {literal}"
        )


def test_the_walk_covers_the_issues_examples():
    """The fields the review named are among the generated cases (so the walk cannot silently shrink)."""
    text = {p.id for p in cases("text")}
    cursors = {p.id for p in cases("cursor")}
    for expected in (
        "courses:Mutation.createCourse(input.title)",
        "courses:Query.courses(filter.search)",
        "users:Mutation.login(input.email)",
        "users:Mutation.register(input.fullName)",
    ):
        assert expected in text, expected
    assert any(i.startswith("analytics:Mutation.trackActivity(") for i in text), sorted(text)[:5]
    for expected in ("courses:Course.modules", "labs:User.labSessions", "labs:LabSession.events"):
        assert expected in cursors, sorted(cursors)
