"""Counting the SQL statements an operation runs (query-count tests guard DataLoader batching)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

# Statements that only manage transactions or the tenant setting, not reads or writes of data.
_BOOKKEEPING = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "SELECT SET_CONFIG", "PRAGMA")


@dataclass
class QueryLog:
    statements: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.statements)


@contextlib.contextmanager
def count_queries(engine: AsyncEngine) -> Iterator[QueryLog]:
    """Record every data statement run on ``engine`` while the block runs.

    Use the app's engine: ``app.state.services.db.app_engine``. Transaction bookkeeping (BEGIN, COMMIT,
    ``set_config`` for the tenant) is left out, so the count is the reads and writes the code asked for.
    """
    log = QueryLog()

    def _before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.lstrip().upper().startswith(_BOOKKEEPING):
            log.statements.append(statement)

    target = engine.sync_engine
    event.listen(target, "before_cursor_execute", _before)
    try:
        yield log
    finally:
        event.remove(target, "before_cursor_execute", _before)
