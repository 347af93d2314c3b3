"""What a channel hands the assistant and what it gets back: channel-independent, no vendor types.

A channel (WhatsApp today) maps its webhook message to :class:`Inbound` and :class:`Sender`, calls
``domain.assistant.service.handle_message`` and renders every :class:`Reply` it returns, in order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

InboundKind = Literal["text", "interactive", "media", "unsupported"]
ReplyKind = Literal["text", "list", "buttons"]

CODE_LINE = "Your verification code is: {code}"
REDACTED_CODE_TEXT = "Your verification code is: ••••••"
_SIX_DIGITS = re.compile(r"\b\d{6}\b")


@dataclass(frozen=True)
class Inbound:
    """One message from the customer. ``text`` for text (and the title of an interactive reply);
    ``reply_id`` the id of the chosen button or list row; ``media_type`` (image, audio, voice, ...) for
    media, which is never downloaded."""

    kind: InboundKind
    text: str | None = None
    reply_id: str | None = None
    media_type: str | None = None


@dataclass(frozen=True)
class Sender:
    """Who wrote, as the channel asserts it: WhatsApp's id (digits), the phone in E.164 when known, Meta's
    business-scoped user id (a username may hide the phone) and the profile name."""

    wa_id: str | None
    phone_e164: str | None = None
    meta_user_id: str | None = None
    display_name: str | None = None

    @property
    def user_key(self) -> str:
        """The key of everything the assistant keeps about this person (same form as the conversation's)."""
        if self.wa_id:
            return self.wa_id
        if self.meta_user_id:
            return f"bsuid:{self.meta_user_id}"
        raise ValueError("a sender needs a WhatsApp id or a Meta user id")


@dataclass(frozen=True)
class Choice:
    id: str  # opaque: the channel sends it back as Inbound.reply_id
    title: str  # at most 24 characters (WhatsApp's list row and button limit)
    description: str | None = None  # at most 72 characters


@dataclass(frozen=True)
class CodeTemplate:
    """Send the tenant's approved authentication template instead of ``Reply.text``; Meta's fixed wording
    applies (``<code> is your verification code.``). The code goes in the body and the copy-code button."""

    name: str
    code: str
    language: str = "en_US"
    expires_minutes: int = 10


@dataclass(frozen=True)
class Reply:
    """One message to send.

    ``kind``: ``text``; ``list`` (an interactive list of ``choices``; ``text`` is its body and already
    numbers the choices, so it can be sent as plain text where a list does not fit); ``buttons``
    (reply buttons, at most 3). ``holds_code``: ``text`` contains a verification code — encrypt the outbox
    payload and log :attr:`log_text` instead. ``code_template``: send this template instead of the text.
    """

    text: str
    kind: ReplyKind = "text"
    choices: list[Choice] = field(default_factory=list)
    holds_code: bool = False
    code_template: CodeTemplate | None = None

    @property
    def log_text(self) -> str:
        """The body for the message log: a code is never stored."""
        return redact_codes(self.text) if self.holds_code else self.text


@dataclass(frozen=True)
class ChannelInfo:
    """What the assistant needs to know about the channel connection the message came through."""

    otp_template_name: str | None = None


def redact_codes(text: str) -> str:
    """Any six-digit run replaced by bullets: for logging a reply that holds a code, or an inbound message
    that is a code attempt (see :func:`is_code_attempt`)."""
    return _SIX_DIGITS.sub("••••••", text)


def is_code_attempt(text: str | None) -> bool:
    """The customer typed what looks like a code: the channel should log the inbound body redacted."""
    return bool(text) and re.fullmatch(r"\s*\d{3}\s?\d{3}\s*", text or "") is not None
