"""Hostile input to ``POST /webhooks/hubspot`` (``integrations/hubspot/webhook.py``): HubSpot's v3 signature
check, and fuzzed batches of contact events posted with valid signatures.

Properties:
- only the exact v3 signature of method, URI, body and timestamp is accepted, whatever the header holds;
- any signed body gets 200 (a JSON array of objects) or 400, and hostile headers (a timestamp that is
  not ASCII digits) get 401: never a 5xx;
- every supported event of the connected portal is stored once (replays store nothing), nothing else is.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bizzly import clock
from bizzly.outbox import InboxEvent
from bizzly.settings import Settings
from integrations.hubspot.webhook import EVENT_TYPES, _event_key, _stored, signature_ok
from tests.fakes.hubspot import HubSpotFake
from tests.fuzz.conftest import ANY_JSON, ANY_TEXT, EXAMPLES, NASTY, fuzz_settings
from tests.fuzz.test_whatsapp_webhook import examples, maybe
from tests.integrations.hubspot.conftest import hubspot_fake  # noqa: F401 - the fixture
from tests.integrations.hubspot.support import connect
from tests.integrations.hubspot.sync_support import WEBHOOK_URL, fast_settings
from tests.integrations.whatsapp.conftest import rows
from tests.support.accounts import sign_up
from tests.support.graphql import GraphQLClient

PORTAL = 7171
# Digits Python's str.isdigit() accepts but int() refuses ("²", Latin-1 0xB2: a header can carry it).
ODD_DIGITS = st.sampled_from(["²", "1²", "①", "٣", "12", "0", "007", "9" * 30])


def _sign_v3(secret: str, method: str, uri: str, raw: bytes, timestamp: str) -> str:
    """HubSpot's v3 signature over any timestamp text (the fake's ``sign_v3`` takes well-formed ones)."""
    message = method.encode() + uri.encode() + raw + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


@pytest.fixture
def settings(database_settings: dict[str, str], hubspot_fake: HubSpotFake) -> Settings:  # noqa: F811
    return fast_settings(database_settings, hubspot_fake)


ID = st.one_of(st.integers(min_value=0, max_value=10**12), ODD_DIGITS, ANY_TEXT)


@st.composite
def hubspot_event(draw: st.DrawFn) -> dict[str, Any]:
    item: dict[str, Any] = {
        "eventId": draw(maybe(st.integers(min_value=1, max_value=10**9))),
        "subscriptionId": draw(maybe(st.integers(min_value=1, max_value=10**6))),
        "portalId": draw(maybe(st.one_of(st.just(PORTAL), st.just(str(PORTAL)), ID))),
        "appId": 1,
        "occurredAt": draw(maybe(st.integers(min_value=0, max_value=2**53))),
        "subscriptionType": draw(maybe(st.sampled_from(sorted(EVENT_TYPES)))),
        "attemptNumber": 0,
        "objectId": draw(maybe(ID)),
    }
    if draw(st.booleans()):
        item["primaryObjectId"] = draw(maybe(ID))
        item["mergedObjectIds"] = draw(maybe(st.lists(ID, max_size=3)))
    if draw(st.booleans()):
        item[draw(ANY_TEXT)] = draw(ANY_JSON)
    return item


BATCH = st.one_of(st.lists(hubspot_event(), max_size=4), st.lists(hubspot_event(), max_size=4), ANY_JSON)


@fuzz_settings()
@given(
    method=st.sampled_from(["POST", "GET", "post"]),
    uri=st.text(max_size=40),
    raw=st.binary(max_size=64),
    timestamp=st.text(max_size=15),
    given_=st.one_of(st.none(), st.text(st.characters(max_codepoint=255), max_size=60)),
)
def test_only_the_exact_v3_signature_is_accepted(
    method: str, uri: str, raw: bytes, timestamp: str, given_: str | None
) -> None:
    right = _sign_v3("s3cret", method, uri, raw, timestamp)
    assert signature_ok("s3cret", method, uri, raw, timestamp, right) is True
    if given_ is not None and given_.strip() == right:
        return
    assert signature_ok("s3cret", method, uri, raw, timestamp, given_) is False
    assert signature_ok("", method, uri, raw, timestamp, right) is False


async def _post(http: httpx.AsyncClient, fake: HubSpotFake, raw: bytes, ts: str | bytes | None = None) -> Any:
    now = str(int(clock.now().timestamp() * 1000))
    stamp = (ts if ts is not None else now).encode() if not isinstance(ts, bytes) else ts
    headers = {
        b"content-type": b"application/json",
        # Signed over the header as the server reads it (Latin-1), so only the timestamp check decides.
        b"x-hubspot-signature-v3": _sign_v3(
            fake.client_secret, "POST", WEBHOOK_URL, raw, stamp.decode("latin-1")
        ).encode(),
        b"x-hubspot-request-timestamp": stamp,
    }
    return await http.post("/webhooks/hubspot", content=raw, headers=headers)


async def test_signed_hostile_batches_never_fail_the_server_and_store_each_event_once(
    gql: GraphQLClient,
    http: httpx.AsyncClient,
    hubspot_fake: HubSpotFake,  # noqa: F811
) -> None:
    owner = await sign_up(gql, slug="fuzz-hubspot", email="owner@fuzz-hubspot.example.com")
    await connect(gql, owner, hubspot_fake, PORTAL)
    expected: set[str] = set()
    # Hypothesis' draws depend on what the process has imported (it mixes in constants from loaded modules),
    # so a supported event of the portal goes first: the "stored something" check always has work.
    canary = [
        {
            "eventId": 1,
            "subscriptionId": 1,
            "portalId": PORTAL,
            "appId": 1,
            "attemptNumber": 0,
            "occurredAt": int(clock.now().timestamp() * 1000),
            "subscriptionType": "contact.creation",
            "objectId": 901,
        },
    ]
    for batch in [canary, *examples(BATCH, EXAMPLES)]:
        raw = json.dumps(batch).encode()
        response = await _post(http, hubspot_fake, raw)
        is_batch = isinstance(batch, list) and all(isinstance(e, dict) for e in batch)
        assert response.status_code == (200 if is_batch else 400), (response.status_code, response.text, raw)
        if is_batch:
            expected |= {
                _event_key(e)
                for e in batch
                if _stored(e) is not None and str(e.get("portalId")) == str(PORTAL)
            }
        assert (await _post(http, hubspot_fake, raw)).status_code == response.status_code  # a redelivery
    # Some examples carry supported events of the portal: an endpoint that stored nothing must fail here.
    assert expected
    stored = sorted(row.external_id for row in await rows(gql, InboxEvent))
    assert stored == sorted(expected)


async def test_hostile_timestamps_and_bodies_are_refused_not_failed(
    gql: GraphQLClient,
    http: httpx.AsyncClient,
    hubspot_fake: HubSpotFake,  # noqa: F811
) -> None:
    owner = await sign_up(gql, slug="fuzz-hubspot-ts", email="owner@fuzz-hubspot-ts.example.com")
    await connect(gql, owner, hubspot_fake, PORTAL)
    raw = json.dumps([{"subscriptionType": "contact.creation", "objectId": 1, "portalId": PORTAL}]).encode()
    for stamp in (b"\xb2", "1²", "", "-1", "١٢٣", "9" * 40):
        assert (await _post(http, hubspot_fake, raw, stamp)).status_code == 401, stamp
    for body in examples(
        st.one_of(st.binary(max_size=100), NASTY.map(lambda s: s.encode("utf-8", "surrogatepass"))),
        EXAMPLES // 2,
    ):
        response = await _post(http, hubspot_fake, body)
        assert response.status_code in (200, 400), (response.status_code, body)
    assert await rows(gql, InboxEvent) == []


# --- what the fuzzing found (each was a 500), kept as plain regressions --------------------------------


@pytest.mark.parametrize(
    "event",
    [
        {"subscriptionType": {"a": 1}, "objectId": 1, "portalId": PORTAL},  # an unhashable type
        {"subscriptionType": "contact.creation", "objectId": "²", "portalId": PORTAL},
        {"subscriptionType": "contact.merge", "objectId": 1, "primaryObjectId": "①", "portalId": PORTAL},
        {"subscriptionType": "contact.merge", "objectId": 1, "mergedObjectIds": ["²"], "portalId": PORTAL},
        {"subscriptionType": "contact.creation", "objectId": 1, "portalId": PORTAL, "eventId": "a\x00b"},
        {"subscriptionType": "contact.creation", "objectId": 2, "portalId": PORTAL, "occurredAt": "\ud800"},
    ],
)
async def test_odd_values_in_a_signed_event_are_not_a_server_error(
    gql: GraphQLClient,
    http: httpx.AsyncClient,
    hubspot_fake: HubSpotFake,  # noqa: F811
    event: dict[str, Any],
) -> None:
    owner = await sign_up(gql, slug="fuzz-hubspot-odd", email="owner@fuzz-hubspot-odd.example.com")
    await connect(gql, owner, hubspot_fake, PORTAL)
    raw = json.dumps([event]).encode()
    assert (await _post(http, hubspot_fake, raw)).status_code == 200
