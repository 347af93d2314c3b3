"""Fixtures for the operations tests: the JSON log lines a real request writes."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette

from bizzly.logs import json_handler


class CapturedLogs:
    """Every record that reached the root logger, as the production handler writes it (JSON lines)."""

    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        entries = []
        for raw in self.text.splitlines():
            entry = json.loads(raw)  # every line must be one JSON object
            assert isinstance(entry, dict), raw
            entries.append(entry)
        return entries

    def access(self, path: str) -> list[dict[str, Any]]:
        return [e for e in self.lines() if e["logger"] == "bizzly.access" and e.get("path") == path]


@pytest.fixture
def captured_logs(app: Starlette) -> Iterator[CapturedLogs]:
    """Capture at DEBUG (after the app configured logging), so a library that logs a body or a header
    at any level is caught too."""
    stream = io.StringIO()
    handler = json_handler(stream)
    loggers = [logging.getLogger(), logging.getLogger("httpx"), logging.getLogger("httpcore")]
    previous = [logger.level for logger in loggers]
    loggers[0].addHandler(handler)
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    try:
        yield CapturedLogs(stream)
    finally:
        loggers[0].removeHandler(handler)
        for logger, level in zip(loggers, previous, strict=True):
            logger.setLevel(level)
