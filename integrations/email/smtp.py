"""The ``Mailer`` port over SMTP (aiosmtplib), configured by ``BIZZLY_SMTP_URL`` and ``BIZZLY_MAIL_FROM``.

``smtp://user:password@host:port`` upgrades to TLS with STARTTLS when the server offers it;
``smtps://...`` speaks TLS from the first byte. User and password are percent-decoded.
"""

from __future__ import annotations

import email.message
import email.utils
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import aiosmtplib

from bizzly.ports import EmailMessage
from bizzly.settings import Settings

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
TIMEOUT_SECONDS = 30.0


class MailConfigError(ValueError):
    """``BIZZLY_SMTP_URL`` cannot be used."""


class MailDeliveryError(Exception):
    """The SMTP server did not take the message. ``permanent`` when retrying cannot help (5xx)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    use_tls: bool
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_url(cls, url: str) -> SmtpConfig:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS:
            raise MailConfigError("BIZZLY_SMTP_URL must start with smtp:// or smtps://")
        if not parts.hostname:
            raise MailConfigError("BIZZLY_SMTP_URL needs a host: smtp://user:password@host:port")
        try:
            port = parts.port or DEFAULT_PORTS[scheme]
        except ValueError as exc:
            raise MailConfigError("BIZZLY_SMTP_URL has an invalid port") from exc
        return cls(
            host=parts.hostname,
            port=port,
            use_tls=scheme == "smtps",
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


def _one_line(value: str) -> str:
    # A header value never spans lines: a newline would let a value add headers of its own.
    return " ".join(value.split())


class SmtpMailer:
    """Sends each message on its own connection (emails are few; a pool would only hold sockets open)."""

    def __init__(self, settings: Settings, *, timeout: float = TIMEOUT_SECONDS) -> None:
        if not settings.smtp_url:
            raise MailConfigError("BIZZLY_SMTP_URL is not set")
        self.config = SmtpConfig.from_url(settings.smtp_url)
        self.sender = settings.mail_from
        self.timeout = timeout

    def build(self, message: EmailMessage) -> email.message.EmailMessage:
        mime = email.message.EmailMessage()
        mime["From"] = self.sender
        mime["To"] = _one_line(message.to)
        mime["Subject"] = _one_line(message.subject)
        mime["Date"] = email.utils.formatdate(localtime=False)
        _, address = email.utils.parseaddr(self.sender)
        domain = address.rpartition("@")[2] or None
        mime["Message-ID"] = email.utils.make_msgid(domain=domain)
        mime.set_content(message.text)
        return mime

    async def send(self, message: EmailMessage) -> None:
        cfg = self.config
        try:
            await aiosmtplib.send(
                self.build(message),
                hostname=cfg.host,
                port=cfg.port,
                username=cfg.username,
                password=cfg.password,
                use_tls=cfg.use_tls,
                # STARTTLS when offered (None); with implicit TLS there is nothing to upgrade.
                start_tls=False if cfg.use_tls else None,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            raise MailDeliveryError(
                f"the SMTP server refused the recipient ({codes})", permanent=all(c >= 500 for c in codes)
            ) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise MailDeliveryError(
                f"the SMTP server answered {exc.code}: {exc.message}", permanent=exc.code >= 500
            ) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise MailDeliveryError(f"cannot reach the SMTP server: {exc}") from exc
