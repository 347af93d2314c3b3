"""Per-request DataLoaders, created lazily by name and kept on ``Context.loaders``.

Every list field batches its per-item lookups through one of these, so a page of 100 rows costs the same
number of SQL statements as a page of 5. A context module defines its loader as a function
``(ctx) -> DataLoader`` and fetches it with ``ctx.loaders.get("customers.by_id", lambda: make(ctx))``;
the name keeps one instance per request, so every field of the request shares its cache.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from strawberry.dataloader import DataLoader

K = TypeVar("K")
V = TypeVar("V")


class Loaders:
    def __init__(self) -> None:
        self._by_name: dict[str, DataLoader[Any, Any]] = {}

    def get(self, name: str, factory: Callable[[], DataLoader[K, V]]) -> DataLoader[K, V]:
        """The request's loader called ``name``, built by ``factory`` on first use."""
        loader = self._by_name.get(name)
        if loader is None:
            loader = factory()
            self._by_name[name] = loader
        return cast(DataLoader[K, V], loader)

    def __contains__(self, name: str) -> bool:
        return name in self._by_name
