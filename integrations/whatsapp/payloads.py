"""Cloud API request bodies for what Bizzly sends, within Meta's limits (interactive reply buttons: 3, titles
up to 20 characters; lists: 10 rows, row titles up to 24, button text up to 20; bodies up to 1024 for
interactive and 4096 for text). Choices that do not fit become numbered text, which the customer answers
with the number."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

MAX_BUTTONS = 3
BUTTON_TITLE = 20
MAX_ROWS = 10
ROW_TITLE = 24
ROW_ID = 200
BUTTON_ID = 256
LIST_BUTTON = 20
INTERACTIVE_BODY = 1024
TEXT_BODY = 4096


def _base(to: str) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to}


def text(to: str, body: str) -> dict[str, Any]:
    return {**_base(to), "type": "text", "text": {"body": body[:TEXT_BODY], "preview_url": False}}


def numbered(body: str, choices: Sequence[tuple[str, str]]) -> str:
    lines = [body, ""] if body else []
    lines += [f"{i}. {title}" for i, (_, title) in enumerate(choices, start=1)]
    lines += ["", "Reply with a number."]
    return "\n".join(lines)


def choices(
    to: str, body: str, options: Sequence[tuple[str, str]], *, button: str = "Choose"
) -> dict[str, Any]:
    """Reply buttons for up to 3 short choices, a list for up to 10, else numbered text."""
    if not options:
        return text(to, body)
    # Meta refuses empty titles and ids, and two choices with one id.
    fits_body = 0 < len(body) <= INTERACTIVE_BODY and len({i for i, _ in options}) == len(options)
    if (
        fits_body
        and len(options) <= MAX_BUTTONS
        and all(0 < len(t) <= BUTTON_TITLE and 0 < len(i) <= BUTTON_ID for i, t in options)
    ):
        return {
            **_base(to),
            "type": "interactive",
            "interactive": {
                "type": "button",
                "body": {"text": body},
                "action": {
                    "buttons": [{"type": "reply", "reply": {"id": i, "title": t}} for i, t in options]
                },
            },
        }
    if (
        fits_body
        and len(options) <= MAX_ROWS
        and 0 < len(button) <= LIST_BUTTON
        and all(0 < len(t) <= ROW_TITLE and 0 < len(i) <= ROW_ID for i, t in options)
    ):
        return {
            **_base(to),
            "type": "interactive",
            "interactive": {
                "type": "list",
                "body": {"text": body},
                "action": {
                    "button": button,
                    "sections": [{"title": "Options", "rows": [{"id": i, "title": t} for i, t in options]}],
                },
            },
        }
    return text(to, numbered(body, options))


def template(to: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """A template send. With ``code`` it is an authentication template: the code fills the body and the
    copy-code button (Meta refuses the send when the two do not match)."""
    components: list[dict[str, Any]] = []
    code = spec.get("code")
    params = [str(p) for p in spec.get("params") or []]
    if code:
        components.append({"type": "body", "parameters": [{"type": "text", "text": str(code)}]})
        components.append(
            {
                "type": "button",
                "sub_type": "url",
                "index": "0",
                "parameters": [{"type": "text", "text": str(code)}],
            }
        )
    elif params:
        components.append({"type": "body", "parameters": [{"type": "text", "text": p} for p in params]})
    body: dict[str, Any] = {
        "name": str(spec["name"]),
        "language": {"code": str(spec.get("language") or "en_US")},
    }
    if components:
        body["components"] = components
    return {**_base(to), "type": "template", "template": body}
