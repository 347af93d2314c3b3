"""The development mailer: with no ``BIZZLY_SMTP_URL`` (development and tests only -- production refuses
to start without one), emails are appended to ``DATA_DIR/outbox-mail.log`` instead of being sent.

That file is a local mailbox, so it holds what the emails hold (links, codes); it is created ``0600``.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from bizzly import clock
from bizzly.ports import EmailMessage
from bizzly.settings import Settings

LOG_NAME = "outbox-mail.log"


class LogMailer:
    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def for_settings(cls, settings: Settings) -> LogMailer:
        return cls(settings.data_dir / LOG_NAME)

    async def send(self, message: EmailMessage) -> None:
        entry = (
            f"--- {clock.now().isoformat()}\nTo: {message.to}\nSubject: {message.subject}\n\n{message.text}\n"
        )
        await asyncio.to_thread(self._append, entry)

    def _append(self, entry: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as f:
            f.write(entry)
