"""`build_schema(...)`: a federation schema with the platform's protections and speed-ups built in."""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

import strawberry
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry.extensions import ParserCache, SchemaExtension, ValidationCache
from strawberry.extensions.max_aliases import create_validator as alias_limit_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_limit_rule

from subgraphs.contracts.kernel import AuthorizationDenied
from subgraphs.core.errors import (
    CORE_ERRORS,
    DomainError,
    FinalizeErrors,
    Forbidden,
    NotAuthenticated,
    exception_handlers,
)
from subgraphs.core.events import Event, emit
from subgraphs.core.inputs import CheckInputs
from subgraphs.core.settings import get_settings
from subgraphs.core.shared_results import SharedResultsExecutor

log = logging.getLogger("coursegraph.schema")

FEDERATION_VERSION = "2.9"  # the open-source composer accepts up to 2.9; Strawberry defaults to 2.11

# "Did you mean ...?" suggestions leak the schema to callers who may not read it; graphql-core reads this
# module constant at call time, so zero turns them off process-wide. (`graphql.pyutils.did_you_mean` as an
# attribute is the re-exported *function*; the module itself must be fetched by name.)
importlib.import_module("graphql.pyutils.did_you_mean").MAX_LENGTH = 0  # pyright: ignore[reportAttributeAccessIssue]  # a module global, set on purpose


class OperationLimits(SchemaExtension):
    """The parser's token limit, the validation's depth and alias rules, and in production no
    `__schema`/`__type` for callers without `schema:read` (instructors, admins, API clients granted it;
    everyone may introspect in development and tests).

    Set as parsing starts, in a hook that is over once the document is parsed: an `on_operation` hook stays
    open (a generator and its context manager) for the whole life of a subscription, one per subscriber.
    First in the schema's extensions: ParserCache parses in its own `on_parse`."""

    def __init__(self, *, max_tokens: int, rules: Iterable[type[ASTValidationRule]]) -> None:
        self.max_tokens = max_tokens
        self.rules = tuple(rules)

    def on_parse(self) -> Iterator[None]:
        execution_context = self.execution_context
        execution_context.parse_options["max_tokens"] = self.max_tokens
        rules = self.rules
        context = execution_context.context
        principal = getattr(context, "principal", None)
        settings = getattr(context, "settings", None) or get_settings()  # the app's own settings
        if settings.is_production and not (principal and principal.can_read_schema):
            rules = (*rules, NoSchemaIntrospectionCustomRule)
        execution_context.validation_rules = (*execution_context.validation_rules, *rules)
        yield


# --- authorization failures -> the audit log ------------------------------------------------------

DENIAL_CODES = frozenset({Forbidden.default_code, NotAuthenticated.default_code})
MAX_DENIALS_PER_OPERATION = 20  # aliases are limited anyway; one event per refused field


def note_denial(context: Any, path: Iterable[Any], error: Exception) -> None:
    denials = getattr(context, "authz_denials", None)
    if denials is not None:
        denials.append((".".join(str(p) for p in path), error))


class _NotingHandler(strawberry.ExceptionHandler):
    """Wraps a union exception handler: a refusal answered as a union member (ForbiddenError) is noted."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.exception_type = inner.exception_type
        self.error_type = inner.error_type

    def handle(self, exception: Exception, *, field: Any, info: Any) -> Any:
        if isinstance(exception, (Forbidden, NotAuthenticated)):
            note_denial(info.context, info.path.as_list(), exception)
        return self._inner.handle(exception, field=field, info=info)


class RecordAuthorizationFailures(SchemaExtension):
    """Every refusal of a signed-in caller (authorize, permission classes, Forbidden raised anywhere, union
    member or top-level error) becomes a `<subgraph>.authz.denied` event in that subgraph's outbox, for the
    audit log: actor, organization, field path, code, request id and source IP. Operation-level only."""

    async def on_operation(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        denials = getattr(context, "authz_denials", None)
        if denials is not None:
            denials.clear()  # a WebSocket connection reuses its context
        yield
        principal = getattr(context, "principal", None)
        if denials is None or principal is None or not principal.is_authenticated:
            return
        for error in getattr(self.execution_context.result, "errors", None) or []:
            original = error.original_error
            code = (error.extensions or {}).get("code")
            if isinstance(original, (Forbidden, NotAuthenticated)) or code in DENIAL_CODES:
                denials.append((".".join(str(p) for p in error.path or ()), original or error))
        if denials:
            try:
                await _record_denials(context, principal, self.execution_context.operation_name, denials)
            except Exception:  # the answer to the caller stands; the failure is logged
                log.exception("could not record authorization failures (request %s)", context.request_id)
            finally:
                denials.clear()


async def _record_denials(context: Any, principal: Any, operation: str | None, denials: list) -> None:
    from subgraphs.core.domains import DOMAINS, outbox_of

    domain = context.runtime.name
    if domain not in DOMAINS:
        return
    outbox = outbox_of(domain)
    async with context.runtime.transaction() as session:
        for path, error in denials[:MAX_DENIALS_PER_OPERATION]:
            permission = getattr(error, "permission", None)
            denied = AuthorizationDenied(
                field=path,
                operation=operation,
                code=getattr(error, "code", None) or (getattr(error, "extensions", None) or {}).get("code"),
                permission=getattr(permission, "value", permission),
                message=getattr(error, "message", str(error)),
            )
            emit(
                session,
                outbox,
                Event(
                    type=denied.event_type(domain),
                    actor_id=principal.subject,
                    organization_id=getattr(error, "organization_id", None),
                    payload=denied.wire(),
                    request_id=context.request_id,
                    source_ip=context.client_ip,
                ),
            )


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
    limit_rules: list[type[ASTValidationRule]] = [
        depth_limit_rule(limits.max_depth, None),
        alias_limit_rule(limits.max_aliases),
    ]
    extensions: list[Any] = [
        lambda: OperationLimits(max_tokens=limits.max_tokens, rules=limit_rules),
        lambda: ParserCache(maxsize=1024),
        lambda: ValidationCache(maxsize=1024),
        CheckInputs,  # after ValidationCache: it needs the validation's verdict
        FinalizeErrors,
        RecordAuthorizationFailures,
    ]
    return strawberry.federation.Schema(
        query=query,
        mutation=mutation,
        subscription=subscription,
        types=list(types),
        extensions=extensions,
        federation_version=FEDERATION_VERSION,
        execution_context_class=SharedResultsExecutor,  # subscribers of one event share its result
        exception_handlers=[_NotingHandler(h) for h in exception_handlers([*CORE_ERRORS, *errors])],
    )
