"""Mapping strawberry inputs onto the services' conventions."""

from __future__ import annotations

from typing import Any

import strawberry

from bizzly.patch import UNSET


def unset(value: Any) -> Any:
    """Strawberry's UNSET (field omitted) becomes the services' UNSET (unchanged); null stays None (clear)."""
    return UNSET if value is strawberry.UNSET else value
