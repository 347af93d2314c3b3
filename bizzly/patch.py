"""Partial updates: an omitted field is unchanged (``UNSET``), an explicit ``None`` clears it."""

from __future__ import annotations

from typing import Any, Final


class _Unset:
    _instance: _Unset | None = None

    def __new__(cls) -> _Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Final[Any] = _Unset()


def is_set(value: object) -> bool:
    return value is not UNSET
