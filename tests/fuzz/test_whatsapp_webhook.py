"""Hostile input to the WhatsApp side: Meta's webhook batch parser (``integrations/whatsapp/events.py``), the
signed ``POST /webhooks/whatsapp`` endpoint with valid signatures over fuzzed bodies, and the request
bodies we build for Meta (``integrations/whatsapp/payloads.py``).

Properties:
- the parser takes any JSON without raising, and every event it keeps fits the inbox (ids, JSON payload);
- the endpoint answers 200 to any signed JSON (400 to bytes that are not JSON, 401 unsigned), never 5xx;
  every event of a connected number is stored exactly once, replays store nothing, and running the stored
  events through their workers kills no outbox row with an unexpected exception;
- the bodies we send stay within Meta's limits whatever the titles and texts.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from hypothesis import given
from hypothesis import strategies as st

from bizzly.outbox import InboxEvent, OutboxRow, OutboxStatus
from integrations.whatsapp import payloads
from integrations.whatsapp.events import parse_batch
from integrations.whatsapp.webhook import signature_ok
from tests.fakes.meta import MetaFake, encode, envelope
from tests.fuzz.conftest import ANY_JSON, ANY_TEXT, EXAMPLES, NASTY, fuzz_settings
from tests.integrations.whatsapp.conftest import APP_SECRET, Business, business, rows
from tests.support.accounts import _services
from tests.support.graphql import GraphQLClient
from tests.support.outbox import drain_outbox

# --- strategies: Meta's shape, every part of which may be replaced by something hostile ----------------

WAMID = st.one_of(st.from_regex(r"wamid\.[A-Za-z0-9]{4,20}", fullmatch=True), ANY_TEXT)
DIGITS = st.one_of(st.from_regex(r"[1-9][0-9]{7,14}", fullmatch=True), ANY_TEXT)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the well-formed value, sometimes any JSON at all in its place."""
    return st.one_of(strategy, strategy, strategy, ANY_JSON)


@st.composite
def message(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(maybe(st.sampled_from(["text", "interactive", "button", "audio", "image", "reaction"])))
    item: dict[str, Any] = {
        "from": draw(maybe(DIGITS)),
        "id": draw(maybe(WAMID)),
        "timestamp": draw(maybe(st.from_regex(r"[0-9]{1,12}", fullmatch=True))),
        "type": kind,
    }
    body = {
        "text": {"body": draw(maybe(ANY_TEXT))},
        "interactive": {
            "type": "button_reply",
            "button_reply": {"id": draw(ANY_TEXT), "title": draw(ANY_TEXT)},
        },
        "button": {"payload": draw(ANY_TEXT), "text": draw(ANY_TEXT)},
        "audio": {"id": draw(maybe(ANY_TEXT)), "voice": True},
        "image": {"id": draw(maybe(ANY_TEXT))},
    }
    if isinstance(kind, str) and kind in body:
        item[kind] = draw(maybe(st.just(body[kind])))
    if draw(st.booleans()):
        item[draw(ANY_TEXT)] = draw(ANY_JSON)
    return item


@st.composite
def status(draw: st.DrawFn) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": draw(maybe(WAMID)),
        "status": draw(maybe(st.sampled_from(["sent", "delivered", "read", "failed"]))),
        "timestamp": draw(maybe(st.just("1760000300"))),
        "recipient_id": draw(maybe(DIGITS)),
    }
    if draw(st.booleans()):
        item["errors"] = draw(
            maybe(
                st.just(
                    [
                        {
                            "code": draw(maybe(st.integers())),
                            "title": draw(ANY_TEXT),
                            "error_data": draw(ANY_JSON),
                        }
                    ]
                )
            )
        )
    return item


@st.composite
def batch(draw: st.DrawFn, number: st.SearchStrategy[Any] = DIGITS) -> Any:
    value: dict[str, Any] = {
        "contacts": draw(
            maybe(
                st.lists(
                    st.fixed_dictionaries(
                        {"wa_id": maybe(DIGITS), "profile": maybe(st.fixed_dictionaries({"name": ANY_TEXT}))}
                    ),
                    max_size=2,
                )
            )
        ),
        "messages": draw(maybe(st.lists(message(), max_size=3))),
        "statuses": draw(maybe(st.lists(status(), max_size=2))),
    }
    payload = envelope(draw(maybe(number)), value)
    change = payload["entry"][0]["changes"][0]
    change["field"] = draw(maybe(st.just("messages")))
    change["value"]["metadata"] = draw(maybe(st.just(change["value"]["metadata"])))
    return draw(st.one_of(st.just(payload), st.just(payload), ANY_JSON))


# --- the parser ---------------------------------------------------------------------------------------


@fuzz_settings()
@given(data=batch())
def test_the_parser_takes_any_json_and_keeps_only_what_fits_the_inbox(data: Any) -> None:
    parsed = parse_batch(data)
    for event in parsed.events:
        assert 0 < len(event.external_id) <= 255
        assert 0 < len(event.phone_number_id) <= 64
        # The payload is stored as text: it must be valid JSON and encodable as UTF-8.
        assert json.loads(event.payload()) == event.data
        event.payload().encode("utf-8")
        for text in (event.external_id, event.phone_number_id):
            text.encode("utf-8")
            assert "\x00" not in text


@fuzz_settings()
# Secrets come from settings and the key ring (text); headers reach us decoded as Latin-1.
@given(
    secret=st.text(max_size=40),
    raw=st.binary(max_size=64),
    header=st.one_of(st.none(), st.text(st.characters(max_codepoint=255)), st.just("sha256=\xe9")),
)
def test_only_the_exact_signature_is_accepted(secret: str, raw: bytes, header: str | None) -> None:
    good = MetaFake.sign(secret, raw) if secret else None
    if header is not None and good is not None and header.strip().lower() == good:
        return
    assert signature_ok(secret, raw, header) is False
    if good is not None:
        assert signature_ok(secret, raw, good) is True


# --- the endpoint, through signed requests ------------------------------------------------------------


def examples(strategy: st.SearchStrategy[Any], count: int) -> list[Any]:
    """``count`` examples drawn by hypothesis (the endpoint is then called from the test's own event loop,
    where the app and its database live)."""
    drawn: list[Any] = []

    @fuzz_settings(count)
    @given(value=strategy)
    def collect(value: Any) -> None:
        drawn.append(value)

    collect()
    return drawn


async def test_signed_hostile_webhooks_never_fail_the_server_and_store_each_event_once(
    gql: GraphQLClient, http: httpx.AsyncClient, meta: MetaFake
) -> None:
    biz: Business = await business(gql, meta, "fuzz-webhooks")
    known = biz.numbers[0]
    # Hypothesis' draws depend on what the process has imported (it mixes in constants from loaded modules),
    # so a well-formed message of the known number goes first: the "stored something" check always has work.
    canary = envelope(
        known,
        {
            "messages": [
                {
                    "from": "447700900123",
                    "id": "wamid.CANARY",
                    "type": "text",
                    "timestamp": "1760000000",
                    "text": {"body": "hi"},
                }
            ]
        },
    )
    bodies = [canary, *examples(batch(number=st.one_of(st.just(known), st.just(known), DIGITS)), EXAMPLES)]
    expected: set[str] = set()
    for body in bodies:
        raw = encode(body) if isinstance(body, dict) else json.dumps(body).encode()
        response = await meta.post_webhook(http, raw, secret=APP_SECRET)
        assert response.status_code == 200, (response.status_code, response.text, raw[:500])
        expected |= {e.external_id for e in parse_batch(json.loads(raw)).events if e.phone_number_id == known}
        # Meta retries deliveries: the same bytes again store nothing new.
        assert (await meta.post_webhook(http, raw, secret=APP_SECRET)).status_code == 200
    # Some examples carry events of the known number: an endpoint that stored nothing must fail here.
    assert expected
    stored = [row.external_id for row in await rows(gql, InboxEvent)]
    assert sorted(stored) == sorted(expected)

    await drain_outbox(_services(gql).settings)
    dead = [
        (r.topic, r.last_error) for r in await rows(gql, OutboxRow, OutboxRow.status == OutboxStatus.DEAD)
    ]
    assert dead == []


async def test_bytes_that_are_not_json_are_refused_and_unsigned_bodies_are_rejected(
    gql: GraphQLClient, http: httpx.AsyncClient, meta: MetaFake
) -> None:
    biz = await business(gql, meta, "fuzz-raw")
    for raw in examples(st.binary(max_size=200), EXAMPLES // 2):
        response = await meta.post_webhook(http, raw, secret=APP_SECRET)
        try:
            json.loads(raw)
        except ValueError:
            assert response.status_code == 400, raw
        else:
            assert response.status_code == 200, raw
    good = encode(
        envelope(
            biz.numbers[0],
            {
                "messages": [
                    {"from": "447700900123", "id": "wamid.X1", "type": "text", "text": {"body": "hi"}}
                ]
            },
        )
    )
    for header in examples(st.one_of(st.none(), ANY_TEXT, st.just(MetaFake.sign("wrong", good))), 20):
        headers = {b"content-type": b"application/json"}
        if header is not None:
            headers[b"x-hub-signature-256"] = header.encode("utf-8", "surrogatepass")
        response = await http.post("/webhooks/whatsapp", content=good, headers=headers)
        assert response.status_code == 401
    assert await rows(gql, InboxEvent) == []


# --- what we send to Meta -----------------------------------------------------------------------------


@fuzz_settings()
@given(
    to=DIGITS,
    body=st.one_of(ANY_TEXT, st.text(min_size=1000, max_size=5000)),
    options=st.lists(st.tuples(ANY_TEXT, ANY_TEXT), max_size=12),
    button=ANY_TEXT,
)
def test_bodies_for_meta_stay_within_its_limits(
    to: str, body: str, options: list[tuple[str, str]], button: str
) -> None:
    sent = payloads.choices(to, body, options, button=button)
    assert sent["messaging_product"] == "whatsapp"
    assert sent["to"] == to
    if sent["type"] == "text":
        assert len(sent["text"]["body"]) <= payloads.TEXT_BODY
        return
    interactive = sent["interactive"]
    assert len({i for i, _ in options}) == len(options) > 0
    assert 0 < len(interactive["body"]["text"]) <= payloads.INTERACTIVE_BODY
    if interactive["type"] == "button":
        buttons = interactive["action"]["buttons"]
        assert 0 < len(buttons) <= payloads.MAX_BUTTONS
        assert all(0 < len(b["reply"]["title"]) <= payloads.BUTTON_TITLE for b in buttons)
    else:
        rows_ = interactive["action"]["sections"][0]["rows"]
        assert 0 < len(rows_) <= payloads.MAX_ROWS
        assert 0 < len(interactive["action"]["button"]) <= payloads.LIST_BUTTON
        assert all(0 < len(r["title"]) <= payloads.ROW_TITLE for r in rows_)


@fuzz_settings()
@given(
    to=DIGITS,
    spec=st.fixed_dictionaries(
        {"name": NASTY},
        optional={"code": ANY_JSON, "params": st.lists(ANY_JSON, max_size=3), "language": ANY_TEXT},
    ),
)
def test_template_bodies_are_always_json(to: str, spec: dict[str, Any]) -> None:
    sent = payloads.template(to, spec)
    assert json.loads(json.dumps(sent)) == sent
    assert sent["template"]["name"] == spec["name"]


# --- what the fuzzing found (each was a 500 or a send Meta refuses), kept as plain regressions ----------


def test_a_non_ascii_signature_header_is_a_mismatch_not_a_crash() -> None:
    assert signature_ok("secret", b"{}", "sha256=\xe9\xe9") is False


def test_a_status_that_is_not_a_string_is_skipped() -> None:
    data = envelope(
        "1065", {"statuses": [{"id": "wamid.A", "status": {"x": 1}}, {"id": "wamid.B", "status": ["read"]}]}
    )
    assert parse_batch(data).events == []
    assert parse_batch(data).skipped == 2


def test_nul_and_lone_surrogates_never_reach_the_database() -> None:
    raw = b'{"entry":[{"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"1065"},'
    raw += b'"messages":[{"from":"447700900123","id":"wamid.\\u0000\\ud800","type":"text",'
    raw += b'"text":{"body":"hi\\u0000 \\udfff"}}]}}]}]}'
    (event,) = parse_batch(json.loads(raw)).events
    assert event.external_id == "wamid.?"
    assert event.data["text"] == "hi ?"


def test_choices_meta_would_refuse_become_text() -> None:
    assert payloads.choices("44", "Pick", [])["type"] == "text"
    assert payloads.choices("44", "Pick", [("a", "")])["type"] == "text"
    assert payloads.choices("44", "Pick", [("a", "One"), ("a", "Two")])["type"] == "text"
    assert payloads.choices("44", "Pick", [("a", "One")])["type"] == "interactive"
