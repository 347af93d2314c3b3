"""Phone numbers: any common format in, E.164 out, using the tenant's default region.

Only ``phonenumbers``' core is imported (its geocoder, carrier and time-zone data cost ~110 MB and are not
needed to normalise a number).

The rule, in order (the first that gives a number wins):

1. the input parsed with the tenant's region (``07700 900123`` in GB, ``+44 7700 900123`` anywhere) when
   the result is a *valid* number;
2. a digits-only input (no ``+``, no leading ``0``; spaces, dots, dashes and brackets allowed) read as
   international — WhatsApp's ``wa_id`` form, ``447700900123`` — when *that* is a valid number;
3. the same two readings again, accepting a number of a *possible* length for its country (metadata marks
   some assigned-for-fiction ranges such as the UK's 07700 900xxx as invalid, yet people use them).

So the national reading wins whenever it is at least as plausible as the international one: a tenant in
GB typing ``7700900123`` gets +447700900123, and a US tenant receiving WhatsApp's ``447700900123`` gets
+447700900123 because ``+1 447700900123`` is no number at all.

Where the source is known to be international — WhatsApp's ``wa_id``/``from`` — use
:func:`parse_whatsapp_id`, which never reads national: in Germany ``447911123456`` is also a valid
national number (Leer, 0447…), so a general rule alone cannot tell them apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat

from bizzly.errors import Invalid

MAX_RAW_LENGTH = 64
_DIGITS_ONLY = re.compile(r"^[1-9][0-9 .\-()]*$")
_SEPARATORS = re.compile(r"[ .\-()]")


@dataclass(frozen=True)
class Phone:
    raw: str  # as the person typed it (trimmed)
    e164: str  # "+447700900123"


class InvalidPhone(Invalid):
    def __init__(self, raw: str, *, field: str = "phone") -> None:
        shown = raw if len(raw) <= 40 else raw[:40] + "…"
        super().__init__(f"{shown!r} is not a phone number we can understand.", field=field)


def _parse(text: str, region: str | None) -> PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region)
    except NumberParseException:
        return None


def _possible(number: PhoneNumber) -> bool:
    reason = phonenumbers.is_possible_number_with_reason(number)
    return bool(reason == phonenumbers.ValidationResult.IS_POSSIBLE)


def parse_phone(raw: str, region: str | None, *, field: str = "phone") -> Phone:
    """Normalise ``raw`` to E.164, or raise :class:`InvalidPhone` (an ``Invalid`` naming ``field``)."""
    text = raw.strip()
    if not text or len(text) > MAX_RAW_LENGTH:
        raise InvalidPhone(text, field=field)
    region_code = region.upper() if region else None
    candidates: list[PhoneNumber] = []
    national = _parse(text, region_code)
    if national is not None:
        candidates.append(national)
    if _DIGITS_ONLY.match(text):
        international = _parse("+" + _SEPARATORS.sub("", text), None)
        if international is not None:
            candidates.append(international)
    for accept in (phonenumbers.is_valid_number, _possible):
        for number in candidates:
            if accept(number):
                return Phone(raw=text, e164=phonenumbers.format_number(number, PhoneNumberFormat.E164))
    raise InvalidPhone(text, field=field)


def parse_whatsapp_id(wa_id: str, *, field: str = "phone") -> Phone:
    """WhatsApp's sender id: the international number in digits, without ``+`` (``447700900123``)."""
    text = wa_id.strip()
    digits = _SEPARATORS.sub("", text.removeprefix("+"))
    if not digits.isdigit() or len(text) > MAX_RAW_LENGTH:
        raise InvalidPhone(text, field=field)
    number = _parse("+" + digits, None)
    if number is None or not (phonenumbers.is_valid_number(number) or _possible(number)):
        raise InvalidPhone(text, field=field)
    return Phone(raw=text, e164=phonenumbers.format_number(number, PhoneNumberFormat.E164))


def parse_optional_phone(raw: str | None, region: str | None, *, field: str = "phone") -> Phone | None:
    """``None`` or a blank string means "no phone"; anything else must parse."""
    if raw is None or not raw.strip():
        return None
    return parse_phone(raw, region, field=field)


def mask_phone(phone: str) -> str:
    """``+447700900123`` -> ``+44•••••••123``: enough to recognise one's own number."""
    return phone[:3] + "•" * max(len(phone) - 6, 0) + phone[-3:] if len(phone) > 6 else "•" * len(phone)
