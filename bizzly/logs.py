"""Structured logs: one JSON object per line, with the request id and the tenant id, and no secrets.

Every record that reaches the handler installed by :func:`configure_logging` gets ``request_id`` and
``tenant_id`` from the current :class:`LogContext` (a request, or a worker's job), and is scrubbed of
passwords, tokens, secrets, API keys, ``Authorization`` values and 6-digit codes, in its message, its
``extra`` fields and its traceback. Scrubbing is a safety net: code should not log such values at all.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

REDACTED = "[REDACTED]"

# --- context: which request, which tenant -------------------------------------------------------------


@dataclass
class LogContext:
    """Mutable on purpose: a resolver that runs in a copied context (``asyncio.gather``) binds the tenant
    on the same object the request's access-log line reads."""

    request_id: str | None = None
    tenant_id: str | None = None


_current: ContextVar[LogContext | None] = ContextVar("bizzly_log_context", default=None)


@contextlib.contextmanager
def log_context(
    *, request_id: str | None = None, tenant_id: uuid.UUID | str | None = None
) -> Iterator[LogContext]:
    """Open a fresh context (one per request or job); records logged inside carry its ids."""
    ctx = LogContext(request_id=request_id, tenant_id=str(tenant_id) if tenant_id else None)
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)


def current_context() -> LogContext | None:
    return _current.get()


def bind_tenant(tenant_id: uuid.UUID | str | None) -> None:
    """Record the tenant the current request or job works for (no-op for ``None``)."""
    if tenant_id is None:
        return
    ctx = _current.get()
    if ctx is None:
        _current.set(LogContext(tenant_id=str(tenant_id)))
    else:
        ctx.tenant_id = str(tenant_id)


_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


def request_id_from(header: str | bytes | None) -> str:
    """The caller's ``X-Request-ID`` when it is short and plain, else a new one."""
    if isinstance(header, bytes):
        header = header.decode("latin-1")
    if header and _SANE_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


# --- redaction ----------------------------------------------------------------------------------------

# Field names whose whole value is secret (matched case-insensitively, ignoring "_" and "-").
_SECRET_NAME_PARTS = (
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "authorization",
    "cookie",
    "credential",
)
_SECRET_NAMES = frozenset(
    {"code", "otp", "verificationcode", "otpcode", "pin", "signature", "xhubsignature256"}
)

# key=value, key: value, "key": "value", key='value' (a quoted value may hold spaces); whether the key is
# secret is decided in Python (``is_secret_name``). Every pattern is anchored at the start of a run and
# bounded, so scrubbing stays linear on hostile input (a 16 KiB path of "a-a-a-...").
_KEY_VALUE = re.compile(
    r"""(?x)
    (?<![A-Za-z0-9_-])(?P<key>[A-Za-z0-9_-]{1,64})
    (?P<sep>\\?["']?[ \t]{0,8}[:=][ \t]{0,8})
    (?P<value>\\"(?:[^"\\]|\\[^"])*\\"|"(?:[^"\\]|\\.)*"|'[^']*'|[^\s"'&,;)}\]\\]+)
    """
)
_URL_PASSWORD = re.compile(r"(?i)(?<![a-z0-9+.-])([a-z][a-z0-9+.-]{0,30}://[^:/@\s]{0,256}:)[^@\s/]{1,256}@")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
# Six digits standing alone ("code 123456."), not part of a longer number, a version, a time or an address.
_SIX_DIGITS = re.compile(r"(?<!\w)(?<!\w[.:/-])\d{6}(?!\w|[.:/-]\w)")
# A long URL-safe run with upper case, lower case and digits (random_token's shape); ids (UUIDs, hex
# digests) are lower case only and stay readable.
_RANDOM_TOKEN = re.compile(
    r"(?<![A-Za-z0-9_-])"
    r"(?=[A-Za-z0-9_-]*[A-Z])(?=[A-Za-z0-9_-]*[a-z])(?=[A-Za-z0-9_-]*\d)"
    r"[A-Za-z0-9_-]{32,}"
)


def _replace_value(match: re.Match[str]) -> str:
    key, sep, value = match.group("key"), match.group("sep"), match.group("value")
    if not is_secret_name(key):
        # Not a secret itself, but a quoted value may hold one ("note": "password=...").
        return f"{key}{sep}{_scrub(value)}" if value[:1] in {'"', "'", "\\"} else match.group(0)
    if value.startswith('\\"'):
        return f'{key}{sep}\\"{REDACTED}\\"'
    if value[:1] in {'"', "'"}:
        return f"{key}{sep}{value[0]}{REDACTED}{value[0]}"
    return f"{key}{sep}{REDACTED}"


def _scrub(text: str) -> str:
    return _RANDOM_TOKEN.sub(REDACTED, _KEY_VALUE.sub(_replace_value, text))


def redact_text(text: str) -> str:
    """Scrub secrets out of free text (a log message, a traceback, a string field)."""
    text = _URL_PASSWORD.sub(lambda m: f"{m.group(1)}{REDACTED}@", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _JWT.sub(REDACTED, text)
    return _SIX_DIGITS.sub("••••••", _scrub(text))


def is_secret_name(name: str) -> bool:
    plain = name.lower().replace("_", "").replace("-", "")
    return plain in _SECRET_NAMES or any(part in plain for part in _SECRET_NAME_PARTS)


def redact_value(value: Any, *, depth: int = 0) -> Any:
    """Scrub a structured value: secret-named keys lose their value, strings are scrubbed as text."""
    if depth > 8:
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {
            str(k): REDACTED if is_secret_name(str(k)) else redact_value(v, depth=depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(v, depth=depth + 1) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact_text(str(value))


# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime", "taskName"}
)
_CONTEXT_ATTRS = frozenset({"request_id", "tenant_id"})


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    return {
        k: v
        for k, v in vars(record).items()
        if k not in _STANDARD_ATTRS and k not in _CONTEXT_ATTRS and not k.startswith("_")
    }


class RedactingFilter(logging.Filter):
    """Scrubs a record in place before any formatter sees it (message, args, extra fields, traceback)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not lose the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg = redact_text(message)
        record.args = None
        for key, value in extra_fields(record).items():
            setattr(record, key, REDACTED if is_secret_name(key) else redact_value(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True


class ContextFilter(logging.Filter):
    """Adds ``request_id`` and ``tenant_id`` from the current :class:`LogContext` to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = _current.get()
        if getattr(record, "request_id", None) is None:
            record.request_id = ctx.request_id if ctx else None
        if getattr(record, "tenant_id", None) is None:
            record.tenant_id = ctx.tenant_id if ctx else None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request and tenant ids, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        ctx = _current.get()
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or (ctx.request_id if ctx else None),
            "tenant_id": getattr(record, "tenant_id", None) or (ctx.tenant_id if ctx else None),
        }
        for key, value in extra_fields(record).items():
            entry.setdefault(key, value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, default=str, ensure_ascii=False)


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is at the time (test runners swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def json_handler(stream: TextIO | None = None) -> logging.Handler:
    """A handler that writes scrubbed JSON lines carrying the request and tenant ids."""
    handler: logging.Handler = logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter())
    return handler


_INSTALLED = "_bizzly_json"


def configure_logging(level: str = "INFO", *, stream: TextIO | None = None) -> logging.Handler:
    """Send every log record (ours, uvicorn's, SQLAlchemy's, Dramatiq's) to one JSON handler on the root
    logger. Idempotent: a second call replaces the handler the first one installed, nothing else."""
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, _INSTALLED, False):
            root.removeHandler(existing)
    handler = json_handler(stream)
    setattr(handler, _INSTALLED, True)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Uvicorn's own loggers stop at their own handlers when it configured them; with ``log_config=None``
    # they have none and reach ours. Its access log prints query strings, so ours replaces it.
    logging.getLogger("uvicorn.access").disabled = True
    # HTTP clients log each call's full URL (query string included) at INFO: only their warnings, unless
    # the whole process is at DEBUG.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if root.level <= logging.DEBUG else logging.WARNING)
    # Alembic logs one "setup plugin ..." line at INFO per built-in autogenerate plugin when it is imported:
    # seven lines of noise on every `migrate` and `demo` (the revisions it runs stay at INFO).
    logging.getLogger("alembic.runtime.plugins").setLevel(
        logging.DEBUG if root.level <= logging.DEBUG else logging.WARNING
    )
    return handler
