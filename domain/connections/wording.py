"""A connection's last error in words an owner understands.

The stored ``last_error`` keeps what the provider said (for support); the dashboard shows this instead:
what happened and what to do, with the provider's error number for reference, never exception names or
request details.
"""

from __future__ import annotations

import re

from domain.connections.models import Provider

_META = re.compile(r"^Meta error (\d+): (.*)$", re.DOTALL)
_REACH = re.compile(r"could not be reached \(\w+\)\.?")

_TOKEN_GONE = (
    "Meta no longer accepts the access token (it expired or was revoked). Connect WhatsApp again with a new "
    "token."
)
_NOT_ALLOWED = (
    "The access token is not allowed to use this WhatsApp number. Give it the WhatsApp permissions in Meta "
    "Business settings, then connect again."
)
_SLOWED = "Meta is limiting how fast this number sends; messages go out as soon as it allows."
_TEMPORARY = "Meta had a temporary problem; Bizzly keeps trying."

_META_WORDS: dict[int, str] = {
    190: _TOKEN_GONE,
    10: _NOT_ALLOWED,
    200: _NOT_ALLOWED,
    100: "Meta does not know this phone number id, or the token cannot see it. Check the number in "
    "WhatsApp Manager.",
    131031: "Meta has locked this WhatsApp Business account. Check WhatsApp Manager.",
    133010: "This number is not registered for the WhatsApp Cloud API yet. Register it in WhatsApp Manager.",
    130429: _SLOWED,
    131056: _SLOWED,
    131000: _TEMPORARY,
    1: _TEMPORARY,
    2: _TEMPORARY,
}


def _whatsapp(raw: str) -> str:
    found = _META.match(raw.strip())
    if found is None:
        return raw
    code, said = int(found.group(1)), found.group(2)
    if said.startswith("network error"):
        return "Meta could not be reached; Bizzly keeps trying."
    words = _META_WORDS.get(code)
    if words is None and code in (0, 401):
        words = _TOKEN_GONE
    if words is None and code >= 500:
        words = _TEMPORARY
    if words is None:
        words = "Meta refused the request. Check the number in WhatsApp Manager, or connect WhatsApp again."
    return f"{words} (Meta error {code})"


def owner_error(provider: str, raw: str | None) -> str | None:
    """``raw`` (a stored ``last_error``) as an owner should read it."""
    if not raw:
        return raw
    text = _REACH.sub("could not be reached; Bizzly keeps trying.", raw)
    if provider == Provider.WHATSAPP:
        return _whatsapp(text)
    return text
