"""Free text as the database can store it: PostgreSQL refuses a NUL character in any text column."""

from __future__ import annotations

from bizzly.errors import Invalid


def storable(value: str | None, *, field: str) -> str | None:
    """``value`` unchanged, or ``INVALID`` on ``field`` when it holds a NUL character."""
    if value is not None and "\x00" in value:
        raise Invalid("This text contains a character that cannot be stored (NUL).", field=field)
    return value
