"""`build_schema(...)`: a federation schema with the platform's protections and speed-ups built in."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import graphql.pyutils.did_you_mean as did_you_mean
import strawberry
from graphql import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, ParserCache, SchemaExtension, ValidationCache
from strawberry.extensions.max_aliases import create_validator as alias_limit_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_limit_rule

from subgraphs.core.errors import CORE_ERRORS, DomainError, MaskUnexpectedErrors, exception_handlers
from subgraphs.core.settings import get_settings

FEDERATION_VERSION = "2.9"  # the open-source composer accepts up to 2.9; Strawberry defaults to 2.11

# "Did you mean ...?" suggestions leak the schema to callers who may not read it; graphql-core reads this
# module constant at call time, so zero turns them off process-wide.
did_you_mean.MAX_LENGTH = 0


class RestrictIntrospection(SchemaExtension):
    """In production, `__schema`/`__type` only for callers holding `schema:read` (instructors, admins,
    API clients granted it). Everyone may introspect in development and tests."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        principal = getattr(context, "principal", None)
        if get_settings().is_production and not (principal and principal.can_read_schema):
            self.execution_context.validation_rules = (
                *self.execution_context.validation_rules,
                NoSchemaIntrospectionCustomRule,
            )
        yield
        result = self.execution_context.result
        for error in getattr(result, "errors", None) or []:
            if "introspection" in error.message and error.extensions is not None:
                error.extensions.setdefault("code", "INTROSPECTION_DISABLED")


class ErrorCodes(SchemaExtension):
    """Give every GraphQL error an `extensions.code` (validation and parse errors have none)."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        for error in getattr(result, "errors", None) or []:
            if error.extensions is None:
                error.extensions = {}
            if "code" not in error.extensions:
                error.extensions["code"] = _code_for(error)


def _code_for(error: GraphQLError) -> str:
    if error.original_error is None:
        return "GRAPHQL_VALIDATION_FAILED" if error.locations else "BAD_REQUEST"
    return "INTERNAL"


def build_schema(
    *,
    query: type,
    mutation: type | None = None,
    subscription: type | None = None,
    types: Iterable[type] = (),
    errors: Iterable[type[DomainError]] = (),
) -> strawberry.federation.Schema:
    limits = get_settings().graphql
    # The limit rules are built ONCE: QueryDepthLimiter/MaxAliasesLimiter make a new rule class per
    # instance, and Strawberry builds extensions per operation, so using them directly would change the
    # ValidationCache key on every request (measured: ~3 ms of validation per request instead of ~0).
    # The depth rule ignores introspection fields, as GraphiQL's own introspection query needs.
    limit_rules = [depth_limit_rule(limits.max_depth, None), alias_limit_rule(limits.max_aliases)]
    extensions: list[Any] = [
        lambda: ParserCache(maxsize=1024),
        lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
        RestrictIntrospection,
        lambda: AddValidationRules(limit_rules),
        lambda: ValidationCache(maxsize=1024),
        MaskUnexpectedErrors,
        ErrorCodes,
    ]
    return strawberry.federation.Schema(
        query=query,
        mutation=mutation,
        subscription=subscription,
        types=list(types),
        extensions=extensions,
        federation_version=FEDERATION_VERSION,
        exception_handlers=exception_handlers([*CORE_ERRORS, *errors]),
    )
