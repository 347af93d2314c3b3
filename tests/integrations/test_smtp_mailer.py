"""The SMTP adapter against the recording fake server: what it sends is what a mailbox receives."""

from __future__ import annotations

import pytest

from bizzly.ports import EmailMessage, Mailer
from bizzly.settings import Settings
from integrations.email.smtp import MailConfigError, MailDeliveryError, SmtpConfig, SmtpMailer
from tests.fakes.smtp import SmtpFake, running_smtp_fake

FROM = "Bizzly <no-reply@bizzly.example.com>"


def _mailer(url: str) -> SmtpMailer:
    return SmtpMailer(Settings(env="test", smtp_url=url, mail_from=FROM), timeout=5)


async def test_a_message_reaches_the_server(smtp_fake: SmtpFake) -> None:
    mailer: Mailer = _mailer(smtp_fake.url)
    await mailer.send(
        EmailMessage(
            to="ann@example.com", subject="Welcome", text="Hello Ann,\nyour link: https://x/y?token=abc\n"
        )
    )
    [mail] = smtp_fake.messages
    assert mail.to == ["ann@example.com"]
    assert mail.sender == "no-reply@bizzly.example.com"
    assert mail.subject == "Welcome"
    assert "your link: https://x/y?token=abc" in mail.body
    assert mail.headers["From"] == FROM
    assert mail.headers["Message-ID"].endswith("@bizzly.example.com>")


async def test_credentials_from_the_url_are_used() -> None:
    with running_smtp_fake(username="mailer", password="s3cret/pw") as fake:
        url = f"smtp://mailer:s3cret%2Fpw@127.0.0.1:{fake.port}"
        await _mailer(url).send(EmailMessage(to="bo@example.com", subject="Hi", text="Hi Bo"))
        assert [m.to for m in fake.messages] == [["bo@example.com"]]

        wrong = f"smtp://mailer:nope@127.0.0.1:{fake.port}"
        with pytest.raises(MailDeliveryError) as refused:
            await _mailer(wrong).send(EmailMessage(to="bo@example.com", subject="Hi", text="again"))
        assert refused.value.permanent
        assert len(fake.messages) == 1


async def test_a_refused_recipient_is_a_permanent_failure(smtp_fake: SmtpFake) -> None:
    smtp_fake.refused.add("gone@example.com")
    with pytest.raises(MailDeliveryError) as refused:
        await _mailer(smtp_fake.url).send(EmailMessage(to="gone@example.com", subject="Hi", text="x"))
    assert refused.value.permanent
    assert smtp_fake.messages == []


async def test_an_unreachable_server_is_a_temporary_failure() -> None:
    with running_smtp_fake() as fake:
        port = fake.port
    # The fake is stopped: nothing listens on its port any more.
    with pytest.raises(MailDeliveryError) as failed:
        await _mailer(f"smtp://127.0.0.1:{port}").send(
            EmailMessage(to="a@example.com", subject="s", text="t")
        )
    assert not failed.value.permanent


async def test_a_subject_cannot_inject_headers(smtp_fake: SmtpFake) -> None:
    await _mailer(smtp_fake.url).send(
        EmailMessage(to="a@example.com", subject="Hi\r\nBcc: evil@example.com", text="t")
    )
    [mail] = smtp_fake.messages
    assert "Bcc" not in mail.headers
    assert mail.to == ["a@example.com"]


def test_url_forms() -> None:
    assert SmtpConfig.from_url("smtps://u:p%40ss@mail.example.com") == SmtpConfig(
        host="mail.example.com", port=465, use_tls=True, username="u", password="p@ss"
    )
    assert SmtpConfig.from_url("smtp://mail.example.com:2525") == SmtpConfig(
        host="mail.example.com", port=2525, use_tls=False
    )
    for bad in ("http://mail.example.com", "smtp://", "smtp://h:notaport"):
        with pytest.raises(MailConfigError):
            SmtpConfig.from_url(bad)
    with pytest.raises(MailConfigError):
        SmtpMailer(Settings(env="test", smtp_url=""))
