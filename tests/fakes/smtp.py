"""A real SMTP server on 127.0.0.1 (an ephemeral port) that records every message it is given.

Built on aiosmtpd's threaded ``Controller``. Optional: require a login (``username``/``password``), and
refuse some recipients with a permanent 550 (to test how senders treat a bounce).
"""

from __future__ import annotations

import asyncio
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass(frozen=True)
class ReceivedMail:
    sender: str
    to: list[str]
    subject: str
    body: str
    headers: dict[str, str]


class _EphemeralController(Controller):
    """aiosmtpd's Controller, bound to port 0: the real port is read back once the server listens."""

    def _trigger_server(self) -> None:
        server: Any = self.server
        self.port = server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]

    def factory(self) -> Any:
        with warnings.catch_warnings():
            # Plain-text AUTH is what a loopback fake wants; aiosmtpd warns about it for real servers.
            warnings.simplefilter("ignore", UserWarning)
            return super().factory()  # type: ignore[no-untyped-call]


class SmtpFake:
    def __init__(self, *, username: str | None = None, password: str | None = None) -> None:
        self.username = username
        self.password = password
        self.refused: set[str] = set()
        self.messages: list[ReceivedMail] = []
        self._lock = threading.Lock()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None], int]] = []
        kwargs: dict[str, Any] = {}
        if username is not None:
            kwargs.update(authenticator=self._authenticate, auth_required=True, auth_require_tls=False)
        self._controller = _EphemeralController(self, hostname="127.0.0.1", port=0, **kwargs)

    # --- lifecycle ---

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    @property
    def port(self) -> int:
        return int(self._controller.port)

    @property
    def url(self) -> str:
        """The ``BIZZLY_SMTP_URL`` that points at this server."""
        auth = f"{self.username}:{self.password}@" if self.username is not None else ""
        return f"smtp://{auth}127.0.0.1:{self.port}"

    # --- aiosmtpd handler hooks (run on the server's thread) ---

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self.username
            and auth_data.password.decode() == self.password
        )
        # handled=False: aiosmtpd answers 535 itself on a failure.
        return AuthResult(success=ok, handled=False)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower() in self.refused:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.original_content or envelope.content, policy=default)
        assert isinstance(parsed, EmailMessage)
        part = parsed.get_body(preferencelist=("plain",))
        body = part.get_content() if part is not None else ""
        mail = ReceivedMail(
            sender=str(envelope.mail_from),
            to=list(envelope.rcpt_tos),
            subject=str(parsed.get("Subject", "")),
            body=str(body),
            headers={k: str(v) for k, v in parsed.items()},
        )
        with self._lock:
            self.messages.append(mail)
            count = len(self.messages)
            ready = [w for w in self._waiters if w[2] <= count]
            self._waiters = [w for w in self._waiters if w[2] > count]
        for loop, future, _ in ready:
            loop.call_soon_threadsafe(_resolve, future)
        return "250 Message accepted for delivery"

    # --- for tests ---

    def to(self, address: str) -> list[ReceivedMail]:
        with self._lock:
            return [m for m in self.messages if address.lower() in (t.lower() for t in m.to)]

    async def wait_for(self, count: int, *, within: float = 10.0) -> list[ReceivedMail]:
        """Wait (without polling) until at least ``count`` messages arrived; returns them all."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if len(self.messages) >= count:
                return list(self.messages)
            self._waiters.append((loop, future, count))
        await asyncio.wait_for(future, within)
        with self._lock:
            return list(self.messages)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


@contextmanager
def running_smtp_fake(*, username: str | None = None, password: str | None = None) -> Iterator[SmtpFake]:
    fake = SmtpFake(username=username, password=password)
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
