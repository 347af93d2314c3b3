"""Input rules for tenants and staff: time zone, phone region, email, slug, names.

Each check returns the normalised value or raises a ``DomainError`` naming the input field, so the API can
show it next to that field. ``Problems`` gathers several at once, so a form shows every mistake together.
"""

from __future__ import annotations

import re
import unicodedata
import zoneinfo
from collections.abc import Callable
from functools import lru_cache
from typing import TypeVar

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from bizzly.errors import DomainError, ErrorCode, InputErrors, Invalid

T = TypeVar("T")

SLUG_MIN, SLUG_MAX = 3, 63
_SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
# Names the product (or a future one) needs for itself: a tenant may not take them as its address.
RESERVED_SLUGS = frozenset(
    {
        "account",
        "accounts",
        "admin",
        "api",
        "app",
        "assets",
        "auth",
        "billing",
        "bizzly",
        "blog",
        "cdn",
        "dashboard",
        "docs",
        "graphql",
        "healthz",
        "help",
        "login",
        "logout",
        "mail",
        "metrics",
        "new",
        "oauth",
        "readyz",
        "root",
        "settings",
        "signup",
        "static",
        "status",
        "support",
        "system",
        "webhooks",
        "www",
    }
)
NAME_MAX = 200


class Problems:
    """Collects the failures of several checks; ``raise_if_any`` raises them together."""

    def __init__(self) -> None:
        self.errors: list[DomainError] = []

    def check(self, func: Callable[[], T]) -> T | None:
        try:
            return func()
        except InputErrors as exc:
            self.errors.extend(exc.errors)
        except DomainError as exc:
            self.errors.append(exc)
        return None

    def raise_if_any(self) -> None:
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise InputErrors(self.errors)


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def timezone(value: str, *, field: str = "timezone") -> str:
    """An IANA time zone name such as ``Europe/Paris`` (``Mars/Base`` is refused)."""
    name = value.strip()
    if name not in _zones():
        raise Invalid(f"{value!r} is not a time zone. Use an IANA name such as Europe/Paris.", field=field)
    return name


def region(value: str, *, field: str = "defaultRegion") -> str:
    """An ISO 3166 alpha-2 country code that phone numbers can be parsed for (``GB``, ``US``)."""
    code = value.strip().upper()
    if len(code) != 2 or not code.isalpha() or code not in phonenumbers.SUPPORTED_REGIONS:
        raise Invalid(
            f"{value!r} is not a country code. Use two letters such as GB or US.",
            field=field,
        )
    return code


def email(value: str, *, field: str = "email") -> str:
    """A syntactically valid address (no DNS lookup), lower-cased: staff emails are matched case-blind."""
    candidate = value.strip()
    if not candidate:
        raise DomainError(ErrorCode.REQUIRED, "Enter an email address.", field=field)
    try:
        checked = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as exc:
        raise Invalid(f"This email address is not valid: {exc}", field=field) from exc
    return checked.normalized.lower()


def required_text(value: str | None, *, field: str, label: str, max_length: int = NAME_MAX) -> str:
    text = (value or "").strip()
    if not text:
        raise DomainError(ErrorCode.REQUIRED, f"Enter {label}.", field=field)
    if len(text) > max_length:
        raise Invalid(f"Use at most {max_length} characters for {label}.", field=field)
    return text


def slug(value: str, *, field: str = "slug") -> str:
    """A tenant's web address: ``[a-z0-9-]``, 3 to 63 characters, no edge hyphen, not a reserved word."""
    text = value.strip().lower()
    if not SLUG_MIN <= len(text) <= SLUG_MAX:
        raise Invalid(f"Use {SLUG_MIN} to {SLUG_MAX} characters for the web address.", field=field)
    if not _SLUG_RE.match(text):
        raise Invalid(
            "Use only lower-case letters, digits and hyphens (not at the start or end) for the web address.",
            field=field,
        )
    if text in RESERVED_SLUGS:
        raise Invalid(f"{text!r} is reserved. Choose another web address.", field=field)
    return text


def slug_from_name(name: str) -> str:
    """The slug a business name suggests (``Café Olé & Co`` -> ``cafe-ole-co``); may still need checking."""
    ascii_text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
    return text[:SLUG_MAX].rstrip("-")


SLOT_STEPS = (5, 10, 15, 20, 30, 60)


def int_range(value: int, *, field: str, low: int, high: int, label: str) -> int:
    if not low <= value <= high:
        raise Invalid(f"{label} must be between {low} and {high}.", field=field)
    return value


def slot_step(value: int, *, field: str = "slotStepMinutes") -> int:
    if value not in SLOT_STEPS:
        allowed = ", ".join(str(s) for s in SLOT_STEPS)
        raise Invalid(f"Slots can start every {allowed} minutes.", field=field)
    return value
