"""Typed errors.

A service raises a `DomainError`. Where the field's result is a union that contains the error's GraphQL
type, Strawberry's `exception_handlers` turn it into that union member (the client gets typed data).
Anywhere else it surfaces as a GraphQL error whose `extensions.code` is the same code. Every other
exception is masked as "Unexpected error." with the request id, and logged with its traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from enum import Enum
from typing import Any, ClassVar

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.federation.schema_directives import ListSize
from strawberry.utils.str_converters import to_camel_case

log = logging.getLogger("coursegraph.errors")


@strawberry.interface(description="Every expected failure: a stable machine code and a human message.")
class Error:
    message: str
    code: str


# Value types every subgraph returns: @shareable, or composition refuses the second subgraph defining them.
@strawberry.federation.type(shareable=True)
class FieldError:
    field: str = strawberry.field(description="Input field path, e.g. `input.email`.")
    message: str


@strawberry.federation.type(shareable=True)
class ValidationError(Error):
    # the router's cost estimate (core/pagination.py imports this module, so no list_size here)
    # pyright: ignore below: strawberry types every ListSize argument as required; the directive takes any.
    field_errors: list[FieldError] = strawberry.field(
        directives=[ListSize(assumed_size=50)]  # pyright: ignore[reportCallIssue]
    )


@strawberry.federation.type(shareable=True)
class NotFoundError(Error):
    pass


@strawberry.federation.type(shareable=True)
class ForbiddenError(Error):
    pass


@strawberry.federation.type(shareable=True)
class RateLimitedError(Error):
    retry_after_seconds: int


@strawberry.federation.type(shareable=True)
class ConflictError(Error):
    pass


# What a change to an entity may fail with: most mutations answer these besides their success type, as
# `CreateCourseResult = Annotated[CourseSuccess | EditErrors, strawberry.union("CreateCourseResult")]`.
EditErrors = ValidationError | ConflictError | ForbiddenError | NotFoundError


class DomainError(Exception):
    """Base of every expected failure. Subclasses name their GraphQL type and default code; one that carries
    more than a message gives it in `details()`, the same fields for its GraphQL type and its extensions."""

    graphql_type: ClassVar[type] = ForbiddenError
    default_code: ClassVar[str] = "ERROR"
    default_message: ClassVar[str] = "The request failed."

    def __init__(self, message: str | None = None, *, code: str | None = None) -> None:
        self.message = message or self.default_message
        self.code = code or self.default_code
        super().__init__(self.message)

    def details(self) -> dict[str, Any]:
        """The error's own fields by their GraphQL type's Python names (`retry_after_seconds`)."""
        return {}

    @property
    def extensions(self) -> dict[str, Any]:
        """`code` and the details, named in camelCase like the type's fields (enums as their values)."""
        details = {to_camel_case(name): _plain(value) for name, value in self.details().items()}
        return {"code": self.code, **details}

    def to_graphql(self) -> Any:
        return self.graphql_type(message=self.message, code=self.code, **self.details())


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


class NotAuthenticated(DomainError):
    default_code = "UNAUTHENTICATED"
    default_message = "Sign in to do this."


class Forbidden(DomainError):
    default_code = "FORBIDDEN"
    default_message = "You are not allowed to do this."


class NotFound(DomainError):
    graphql_type = NotFoundError
    default_code = "NOT_FOUND"
    default_message = "Not found."


class Conflict(DomainError):
    graphql_type = ConflictError
    default_code = "CONFLICT"
    default_message = "The request conflicts with the current state."


def graphql_path(path: str) -> str:
    """A field path as clients see it: each segment in the schema's camelCase (`input.duration_weeks` ->
    `input.durationWeeks`); list indexes and names already in camelCase stay as they are."""
    return ".".join(to_camel_case(part) if "_" in part else part for part in path.split("."))


class CourseArchived(Conflict):
    """Archived courses are read-only in every domain (each learns a course's status from its events)."""

    default_code = "COURSE_ARCHIVED"
    default_message = "This course is archived and read-only."


class InvalidInput(DomainError):
    """Bad input; `field_errors` maps each field's path (`input.question.points`) to what is wrong. Paths
    are given in GraphQL's camelCase at their real nesting; Python names are converted here, once."""

    graphql_type = ValidationError
    default_code = "VALIDATION_FAILED"
    default_message = "Some fields are invalid."

    def __init__(self, field_errors: dict[str, str], message: str | None = None) -> None:
        field_errors = {graphql_path(field): text for field, text in field_errors.items()}
        self.field_errors = field_errors
        super().__init__(message or "; ".join(f"{f}: {m}" for f, m in field_errors.items()))

    @property
    def extensions(self) -> dict[str, Any]:
        # Raised by a query (no result union to carry it): the standard code for a bad argument, the same
        # as the kernel's checks give (BadUserInput). Mutations answer the typed ValidationError instead.
        return {"code": "BAD_USER_INPUT", "fieldErrors": self.field_errors}

    def to_graphql(self) -> ValidationError:
        return ValidationError(
            message=self.message,
            code=self.code,
            field_errors=[FieldError(field=f, message=m) for f, m in self.field_errors.items()],
        )


class BadUserInput(DomainError):
    """Malformed input refused before any resolver could trip on it (NUL bytes, unpaired surrogates, a
    forged cursor): a top-level error with code BAD_USER_INPUT naming the argument in `fieldErrors`."""

    default_code = "BAD_USER_INPUT"

    def __init__(self, argument: str, problem: str) -> None:
        self.field_errors = {argument: problem}
        super().__init__(f"{argument}: {problem}")

    @property
    def extensions(self) -> dict[str, Any]:
        return {"code": self.code, "fieldErrors": self.field_errors}

    def to_graphql_error(self) -> GraphQLError:
        return GraphQLError(self.message, extensions=self.extensions, original_error=self)


class RateLimited(DomainError):
    graphql_type = RateLimitedError
    default_code = "RATE_LIMITED"
    default_message = "Too many attempts. Try again later."

    def __init__(self, retry_after_seconds: int, message: str | None = None) -> None:
        self.retry_after_seconds = max(1, int(retry_after_seconds))
        super().__init__(message)

    def details(self) -> dict[str, Any]:
        return {"retry_after_seconds": self.retry_after_seconds}


class Unavailable(DomainError):
    """A dependency is down or recovering (PostgreSQL or Redis unreachable, Redis came back empty and a
    projection is being rebuilt): nothing was done, and the same request succeeds in a moment."""

    default_code = "UNAVAILABLE"
    default_message = "The service is recovering; try again in a moment."

    @property
    def extensions(self) -> dict[str, Any]:
        return {"code": self.code, "retryable": True}


def is_outage(exc: BaseException | None) -> bool:
    """Whether `exc` means PostgreSQL or Redis could not be reached (not a bug: retryable)."""
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    while exc is not None:
        if isinstance(exc, RedisConnectionError | RedisTimeoutError | PoolTimeout | OperationalError):
            return True
        if isinstance(exc, InterfaceError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated):
            return True
        if isinstance(exc, ConnectionError | TimeoutError) or type(exc).__name__ in _ASYNCPG_OUTAGES:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


_ASYNCPG_OUTAGES = frozenset(
    {"CannotConnectNowError", "ConnectionDoesNotExistError", "AdminShutdownError", "InterfaceError"}
)


def error_json(error: DomainError) -> dict[str, Any]:
    """The error's GraphQL object as JSON (`__typename` and the type's camelCase fields), for the plain
    HTTP routes (browser sessions) whose clients handle errors exactly as they do GraphQL's."""
    payload = error.to_graphql()
    return {"__typename": type(payload).__strawberry_definition__.name, **_fields(payload)}


def _fields(value: Any) -> Any:
    definition = getattr(value, "__strawberry_definition__", None)
    if definition is not None:
        return {
            to_camel_case(f.python_name): _fields(getattr(value, f.python_name)) for f in definition.fields
        }
    if isinstance(value, list):
        return [_fields(item) for item in value]
    return value


class _ToUnionMember(strawberry.ExceptionHandler):
    def handle(self, exception: DomainError, *, field: Any, info: Any) -> Any:
        return exception.to_graphql()


def exception_handlers(error_classes: Iterable[type[DomainError]]) -> list[strawberry.ExceptionHandler]:
    """One handler per GraphQL error type, catching exactly the classes that map to it.

    Strawberry applies a handler only on fields whose union contains its error type; elsewhere the
    exception stays a top-level GraphQL error with `extensions.code`. A class with its own GraphQL type
    must not subclass another class with a different one (the first isinstance match wins).
    """
    grouped: dict[type, list[type[DomainError]]] = {}
    for cls in error_classes:
        grouped.setdefault(cls.graphql_type, []).append(cls)
    handlers = []
    for graphql_type, classes in grouped.items():
        handler = _ToUnionMember()
        # pyright: ignore: strawberry declares both on the class; a handler per error type sets its own.
        handler.exception_type = tuple(classes)  # pyright: ignore[reportAttributeAccessIssue]
        handler.error_type = graphql_type  # pyright: ignore[reportAttributeAccessIssue]
        handlers.append(handler)
    return handlers


CORE_ERRORS: tuple[type[DomainError], ...] = (
    NotAuthenticated,
    Forbidden,
    NotFound,
    Conflict,
    InvalidInput,
    RateLimited,
)


def _is_expected(error: GraphQLError) -> bool:
    # No original error: parse/validation errors, which are safe and useful to show.
    return error.original_error is None or isinstance(error.original_error, (DomainError, GraphQLError))


def _code_for(error: GraphQLError) -> str:
    # Variable coercion errors ("Variable '$id' got invalid value ...") carry the scalar's exception as
    # original_error, yet they are the caller's mistake, not ours.
    if error.message.startswith("Variable '$"):
        return "BAD_USER_INPUT"
    if error.original_error is not None:
        return "INTERNAL"
    if "introspection" in error.message.lower():
        return "INTROSPECTION_DISABLED"
    if error.message.startswith("Syntax Error") or "token" in error.message.lower():
        return "GRAPHQL_PARSE_FAILED"
    return "GRAPHQL_VALIDATION_FAILED"


def finalize_errors(
    errors: list[GraphQLError], *, request_id: str | None, operation: str | None
) -> list[GraphQLError]:
    """Mask unexpected errors ("Unexpected error." + request id, logged with the traceback) and give every
    error an `extensions.code`. Idempotent: applied by the schema extension and again to every HTTP result,
    which also covers errors raised before execution (parsing, limits)."""
    finalized = []
    for error in errors:
        if not _is_expected(error) and is_outage(error.original_error):
            log.warning(
                "%s: a dependency is unreachable (request %s): %r",
                operation or "anonymous operation",
                request_id,
                error.original_error,
            )
            error = GraphQLError(
                Unavailable.default_message,
                nodes=error.nodes,
                path=error.path,
                extensions={"code": Unavailable.default_code, "retryable": True, "requestId": request_id},
            )
        if not _is_expected(error):
            log.error(
                "unexpected error in %s (request %s)",
                operation or "anonymous operation",
                request_id,
                exc_info=error.original_error,
            )
            error = GraphQLError(
                "Unexpected error.",
                nodes=error.nodes,
                path=error.path,
                extensions={"code": "INTERNAL", "requestId": request_id},
            )
        if error.extensions is None:
            error.extensions = {}
        error.extensions.setdefault("code", _code_for(error))
        finalized.append(error)
    return finalized


class FinalizeErrors(SchemaExtension):
    """`finalize_errors` on every operation result (HTTP and WebSocket)."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            result.errors = finalize_errors(
                errors,
                request_id=getattr(self.execution_context.context, "request_id", None),
                operation=self.execution_context.operation_name,
            )
