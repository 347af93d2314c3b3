"""Typed domain errors. Every layer raises these; the API maps them to payload errors by code."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
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


class DomainError(Exception):
    """A failure the user can understand and usually fix; nothing was changed."""

    def __init__(self, code: ErrorCode, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class NotFound(DomainError):
    def __init__(self, message: str = "Not found.", *, field: str | None = None) -> None:
        super().__init__(ErrorCode.NOT_FOUND, message, field=field)


class Invalid(DomainError):
    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(ErrorCode.INVALID, message, field=field)


class Conflict(DomainError):
    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(ErrorCode.CONFLICT, message, field=field)


class Forbidden(DomainError):
    def __init__(self, message: str = "You are not allowed to do this.", *, field: str | None = None) -> None:
        super().__init__(ErrorCode.FORBIDDEN, message, field=field)


class InputErrors(DomainError):
    """Several input problems at once (the first one is this error's own code and message)."""

    def __init__(self, errors: list[DomainError]) -> None:
        first = errors[0]
        super().__init__(first.code, first.message, field=first.field)
        self.errors = errors
