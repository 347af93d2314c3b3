"""Errors as the API shows them: payload ``UserError`` for what a user can fix, top-level errors with
``extensions.code`` for authentication, permission and bad query input, everything else masked."""

from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry
from graphql import GraphQLError

from bizzly.errors import DomainError, ErrorCode, InputErrors


@strawberry.enum
class UserErrorCode(Enum):
    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    FORBIDDEN = "FORBIDDEN"
    LIMIT_REACHED = "LIMIT_REACHED"
    TENANT_REQUIRED = "TENANT_REQUIRED"
    UNAVAILABLE = "UNAVAILABLE"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    EXPIRED = "EXPIRED"
    WEAK_PASSWORD = "WEAK_PASSWORD"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    # A booking can no longer be changed by the customer (the cancellation cut-off has passed).
    TOO_LATE = "TOO_LATE"
    # A one-time code typed wrong (tries are left), and the try that ended it.
    WRONG_CODE = "WRONG_CODE"
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"


@strawberry.type
class UserError:
    field: str | None
    message: str
    code: UserErrorCode


def user_errors(exc: DomainError) -> list[UserError]:
    """The payload errors of a refused mutation: every problem of a form at once (``InputErrors``)."""
    inner = exc.errors if isinstance(exc, InputErrors) else [exc]
    return [UserError(field=e.field, message=e.message, code=UserErrorCode(e.code.value)) for e in inner]


class ApiError(Exception):
    """A top-level error that survives masking; ``code`` goes to ``extensions.code``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.extensions: dict[str, Any] = {"code": code}


def unauthenticated(message: str = "Log in to do this.") -> ApiError:
    return ApiError("UNAUTHENTICATED", message)


def forbidden(message: str = "You are not allowed to do this.") -> ApiError:
    return ApiError("FORBIDDEN", message)


def bad_input(message: str) -> ApiError:
    return ApiError("BAD_USER_INPUT", message)


def not_found(message: str = "Not found.") -> ApiError:
    return ApiError("NOT_FOUND", message)


def from_domain(exc: DomainError) -> ApiError:
    """A domain error raised inside a query becomes a top-level error with a code."""
    mapping = {
        ErrorCode.NOT_FOUND: "NOT_FOUND",
        ErrorCode.FORBIDDEN: "FORBIDDEN",
        ErrorCode.UNAUTHENTICATED: "UNAUTHENTICATED",
    }
    return ApiError(mapping.get(exc.code, "BAD_USER_INPUT"), exc.message)


def is_expected(error: GraphQLError) -> bool:
    """Errors shown to the client as they are (everything else is masked as "Unexpected error.")."""
    original = error.original_error
    return original is None or isinstance(original, ApiError | GraphQLError)


def should_mask(error: GraphQLError) -> bool:
    return not is_expected(error)
