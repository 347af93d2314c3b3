"""Meta's webhook batch, flattened: every entry, change, message and status becomes one ``Event`` with the
business number it was sent to. Anything malformed is skipped (and counted), never half-read.

Only what Bizzly keeps is carried: media and voice are never downloaded, so of them only the type, Meta's
media id and the time survive.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# Inbox external ids are at most 255 characters; wamids are far shorter.
MAX_ID = 200
MEDIA_TYPES = {"image", "audio", "voice", "video", "document", "sticker"}
STATUSES = {"sent", "delivered", "read", "failed"}


@dataclass(frozen=True)
class Event:
    phone_number_id: str
    # Unique per tenant: the wamid for a message, ``<wamid>:<status>`` for a status.
    external_id: str
    data: dict[str, Any]

    def payload(self) -> str:
        return json.dumps(self.data, separators=(",", ":"), sort_keys=True)


def _clean(value: str) -> str:
    """Text PostgreSQL can store: no NUL, valid UTF-8 (JSON escapes allow lone surrogates)."""
    return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def _str(value: Any, limit: int = MAX_ID) -> str | None:
    if not isinstance(value, str):
        return None
    value = _clean(value)
    return value if 0 < len(value) <= limit else None


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _message(msg: dict[str, Any], contacts: list[dict[str, Any]]) -> dict[str, Any] | None:
    wamid = _str(msg.get("id"))
    kind = _str(msg.get("type"), 40)
    timestamp = _str(msg.get("timestamp"), 20)
    sender = _str(msg.get("from"), 128)
    user_id = _str(msg.get("from_user_id"), 128)
    if wamid is None or kind is None:
        return None
    contact = next(
        (c for c in contacts if sender and c.get("wa_id") == sender), contacts[0] if contacts else {}
    )
    profile = contact.get("profile") if isinstance(contact.get("profile"), dict) else {}
    user_id = user_id or _str(contact.get("user_id"), 128)
    wa_id = sender if sender and sender.isdigit() else _str(contact.get("wa_id"), 32)
    if wa_id is not None and not wa_id.isdigit():
        wa_id = None
    if sender and not sender.isdigit():
        # A username user may arrive with only Meta's business-scoped user id in ``from``.
        user_id = user_id or sender
    if wa_id is None and user_id is None:
        return None
    out: dict[str, Any] = {
        "kind": "message",
        "wamid": wamid,
        "type": kind,
        "timestamp": timestamp if timestamp and timestamp.isdigit() else None,
        "wa_id": wa_id,
        "user_id": user_id,
        "name": _str((profile or {}).get("name"), 200),
        "text": None,
        "reply_id": None,
        "media_id": None,
    }
    if kind == "text":
        text = msg.get("text")
        body = text.get("body") if isinstance(text, dict) else None
        if not isinstance(body, str):
            return None
        out["text"] = _clean(body)[:4096]
    elif kind == "interactive":
        inter = msg.get("interactive")
        if isinstance(inter, dict):
            reply = inter.get("button_reply") or inter.get("list_reply")
            if isinstance(reply, dict):
                out["reply_id"] = _str(reply.get("id"), 256)
                out["text"] = _str(reply.get("title"), 200)
    elif kind == "button":
        button = msg.get("button")
        if isinstance(button, dict):
            out["reply_id"] = _str(button.get("payload"), 256)
            out["text"] = _str(button.get("text"), 200)
    elif kind in MEDIA_TYPES:
        media = msg.get(kind)
        if isinstance(media, dict):
            out["media_id"] = _str(media.get("id"), 256)
    return out


def _status(status: dict[str, Any]) -> dict[str, Any] | None:
    wamid = _str(status.get("id"))
    # Only a string can be one of STATUSES (a list or object here would fail the set lookup).
    value = _str(status.get("status"), 20)
    timestamp = _str(status.get("timestamp"), 20)
    if wamid is None or value not in STATUSES:
        return None
    error_code: int | None = None
    error: str | None = None
    for err in _dicts(status.get("errors"))[:1]:
        code = err.get("code")
        error_code = code if isinstance(code, int) and not isinstance(code, bool) else None
        title = err.get("title") or err.get("message")
        data = err.get("error_data")
        details = data.get("details") if isinstance(data, dict) else None
        error = _clean(" - ".join(str(x) for x in (title, details) if isinstance(x, str)))[:500] or "failed"
    return {
        "kind": "status",
        "wamid": wamid,
        "status": value,
        "timestamp": timestamp if timestamp and timestamp.isdigit() else None,
        "error_code": error_code,
        "error": error,
    }


@dataclass
class Batch:
    events: list[Event]
    skipped: int = 0


def parse_batch(data: Any) -> Batch:
    """Every message and status of every change of every entry; malformed parts are skipped."""
    batch = Batch(events=[])
    if not isinstance(data, dict):
        batch.skipped += 1
        return batch
    for entry in _dicts(data.get("entry")):
        for change in _dicts(entry.get("changes")):
            value = change.get("value")
            if change.get("field") != "messages" or not isinstance(value, dict):
                batch.skipped += 1
                continue
            metadata = value.get("metadata")
            number = _str(metadata.get("phone_number_id"), 64) if isinstance(metadata, dict) else None
            if number is None:
                batch.skipped += 1
                continue
            contacts = _dicts(value.get("contacts"))
            for msg in _dicts(value.get("messages")):
                parsed = _message(msg, contacts)
                if parsed is None:
                    batch.skipped += 1
                    continue
                batch.events.append(Event(number, parsed["wamid"], parsed))
            for status in _dicts(value.get("statuses")):
                parsed = _status(status)
                if parsed is None:
                    batch.skipped += 1
                    continue
                batch.events.append(Event(number, f"{parsed['wamid']}:{parsed['status']}", parsed))
    return batch
