"""The small helpers a channel relies on: redaction, code attempts, masking."""

from __future__ import annotations

import pytest

from domain.assistant.hooks import words
from domain.assistant.messages import Reply, Sender, is_code_attempt, redact_codes
from domain.assistant.texts import mask_email


@pytest.mark.parametrize(
    ("email", "masked"),
    [
        ("sarah@example.com", "s***h@example.com"),
        ("s@example.com", "s***@example.com"),
        ("ab@example.com", "a***b@example.com"),
    ],
)
def test_emails_are_masked_as_the_design_shows(email: str, masked: str) -> None:
    assert mask_email(email) == masked


@pytest.mark.parametrize("text", ["123456", " 123456 ", "123 456"])
def test_code_attempts_are_recognised_for_redaction(text: str) -> None:
    assert is_code_attempt(text)


@pytest.mark.parametrize("text", [None, "", "12345", "1234567", "my code is 123456", "abcdef"])
def test_other_text_is_no_code_attempt(text: str | None) -> None:
    assert not is_code_attempt(text)


def test_a_reply_holding_a_code_logs_it_redacted() -> None:
    reply = Reply(text="Your verification code is: 482913\nThis code expires in 10 minutes.", holds_code=True)
    assert reply.log_text == "Your verification code is: ••••••\nThis code expires in 10 minutes."
    assert redact_codes("no code here") == "no code here"
    assert Reply(text="Booking 123456 confirmed").log_text == "Booking 123456 confirmed"


def test_the_user_key_matches_the_conversations() -> None:
    assert Sender(wa_id="447700900123").user_key == "447700900123"
    assert Sender(wa_id=None, meta_user_id="US.1").user_key == "bsuid:US.1"
    with pytest.raises(ValueError, match="needs"):
        _ = Sender(wa_id=None).user_key


@pytest.mark.parametrize(
    ("text", "normalized"),
    [("Log out!", "log out"), ("VERIFY.", "verify"), ("  delete   my messages ", "delete my messages")],
)
def test_commands_are_read_in_any_case_with_or_without_punctuation(text: str, normalized: str) -> None:
    assert words(text) == normalized
