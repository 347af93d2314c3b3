"""Free text as the database can store it: PostgreSQL refuses a NUL character in any text column, and no
database takes an unpaired surrogate (not UTF-8; JSON's ``"\\ud800"`` escape decodes to one).

The one check for "can this text be stored": the domain's services, the GraphQL endpoint and the CRM import
all use :func:`storable_text`.
"""

from __future__ import annotations

from bizzly.errors import Invalid


def storable_text(value: str) -> bool:
    """Whether a text column can hold ``value``: no NUL character and no unpaired surrogate."""
    if "\x00" in value:
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def storable(value: str | None, *, field: str) -> str | None:
    """``value`` unchanged, or ``INVALID`` on ``field`` when it holds a character that cannot be stored."""
    if value is not None and not storable_text(value):
        raise Invalid(
            "This text contains a character that cannot be stored (NUL or an unpaired surrogate).",
            field=field,
        )
    return value
