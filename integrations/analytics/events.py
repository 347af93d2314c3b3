"""What a queued analytics event becomes at GA: a pseudonymous client id and ids-only params."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bizzly.crypto import KeyRing

# The key-ring purpose of the pseudonymous GA client id (a keyed digest of the customer id).
CLIENT_ID_PURPOSE = "ga-client-id"
# Lets GA show server events in Realtime (its docs ask for it).
ENGAGEMENT_TIME_MSEC = 100


def pseudonymous_client_id(keys: KeyRing, customer_id: str) -> str:
    """Shaped like GA's own ``<random>.<timestamp>`` client id, stable for a customer, and not reversible
    without the key ring."""
    digest = keys.digest(CLIENT_ID_PURPOSE, customer_id)
    return f"{int(digest[:8], 16)}.{int(digest[8:16], 16)}"


def client_id_of(keys: KeyRing, payload: Mapping[str, Any]) -> str:
    given = str(payload.get("client_id") or "").strip()
    if given:
        return given
    customer = str(payload.get("customer_id") or "")
    # An event without a customer still needs a client id; one per event is the honest choice.
    return pseudonymous_client_id(keys, customer or str(payload.get("booking_id") or "anonymous"))


def ga_event(payload: Mapping[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {"engagement_time_msec": ENGAGEMENT_TIME_MSEC}
    if payload.get("booking_id"):
        params["booking_id"] = str(payload["booking_id"])
    return {"name": str(payload["name"]), "params": params}
