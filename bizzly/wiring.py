"""What every process (web, worker, scheduler) wires in for background work: the modules that register
handlers and jobs with ``bizzly.tasks``, and the adapters behind the ports those handlers use.

Add your module to ``HANDLER_MODULES`` when it uses ``outbox_handler``, ``inbox_handler`` or ``periodic``
(``workers`` registers its built-ins itself), so a row's handler is known in whichever process runs it.
"""

from __future__ import annotations

import importlib

from bizzly import model_registry
from bizzly.ports import Mailer
from bizzly.settings import Settings

HANDLER_MODULES: list[str] = [
    "integrations.whatsapp.handlers",
    "workers.notifications",
    "integrations.analytics.handlers",
    "domain.privacy.jobs",
    "integrations.hubspot.leads",
    "integrations.hubspot.sync",
    "integrations.hubspot.events",
]


def import_handlers() -> None:
    """Every table (a flush needs the whole metadata: foreign keys) and every registered handler and job."""
    model_registry.import_all()
    for name in HANDLER_MODULES:
        importlib.import_module(name)


def build_mailer(settings: Settings) -> Mailer:
    """SMTP when BIZZLY_SMTP_URL is set (production requires it); otherwise, in development and tests, the
    mailbox file DATA_DIR/outbox-mail.log (``workers.mail.LogMailer``)."""
    if settings.smtp_url:
        from integrations.email.smtp import SmtpMailer

        return SmtpMailer(settings)
    from workers.mail import LogMailer

    return LogMailer.for_settings(settings)
