"""Meta's webhooks: signature over the raw bytes, the handshake, routing by phone number id, storing once,
the connection's own route, and bad input that is refused or ignored without a 500 or a half-write."""

from __future__ import annotations

import asyncio
import json

import httpx

from bizzly.outbox import InboxEvent, OutboxRow
from domain.conversations.models import Conversation, Message
from tests.fakes.meta import MetaFake, encode, envelope, media_message, text_message
from tests.integrations.whatsapp.conftest import APP_SECRET, VERIFY_TOKEN, business, connect, count, rows
from tests.support.accounts import sign_up
from tests.support.graphql import GraphQLClient
from tests.support.outbox import drain_outbox


async def test_a_correct_signature_is_accepted_and_stored_once(
    gql: GraphQLClient, http: httpx.AsyncClient, meta: MetaFake
) -> None:
    biz = await business(gql, meta, "glow")
    payload = text_message(biz.numbers[0], wa_id="447700900123", text="hello", wamid="wamid.A1")
    response = await meta.post_webhook(http, payload, secret=APP_SECRET)
    assert response.status_code == 200
    assert await count(gql, InboxEvent) == 1


async def test_a_wrong_or_missing_signature_gives_401_and_stores_nothing(
    gql: GraphQLClient, http: httpx.AsyncClient, meta: MetaFake
) -> None:
    biz = await business(gql, meta, "glow")
    raw = encode(text_message(biz.numbers[0], wa_id="447700900123", text="hello", wamid="wamid.A1"))
    wrong = await http.post(
        "/webhooks/whatsapp", content=raw, headers={"x-hub-signature-256": meta.sign("nope", raw)}
    )
    missing = await http.post("/webhooks/whatsapp", content=raw)
    garbage = await http.post("/webhooks/whatsapp", content=raw, headers={"x-hub-signature-256": "sha256=zz"})
    # Signed over other bytes (a re-serialised body) is wrong too.
    other = await http.post(
        "/webhooks/whatsapp",
        content=raw,
        headers={"x-hub-signature-256": meta.sign(APP_SECRET, json.dumps(json.loads(raw)).encode() + b" ")},
    )
    assert [r.status_code for r in (wrong, missing, garbage, other)] == [401, 401, 401, 401]
    assert await count(gql, InboxEvent) == 0
    assert await count(gql, OutboxRow) == 0


async def test_accents_emoji_and_at_verify_over_the_raw_bytes(
    gql: GraphQLClient, http: httpx.AsyncClient, meta: MetaFake
) -> None:
    biz = await business(gql, meta, "glow")
    text = "J'ai mangé des pâtes 🍝 — write to ada@example.com / ok?"
    payload = text_message(biz.numbers[0], wa_id="447700900123", text=text, wamid="wamid.U1", name="Zoë")
    escaped = encode(payload)
    raw_utf8 = json.dumps(payload, ensure_ascii=False).encode()
    assert (await meta.post_webhook(http, escaped, secret=APP_SECRET)).status_code == 200
    payload2 = text_message(biz.numbers[0], wa_id="447700900123", text=text, wamid="wamid.U2")
    assert (
        await meta.post_webhook(http, json.dumps(payload2, ensure_ascii=False).encode(), secret=APP_SECRET)
    ).status_code == 200
    assert raw_utf8 != escaped
    await drain_outbox(settings_of(gql))
    bodies = {m.body for m in await rows(gql, Message) if m.direction == "inbound"}
    assert bodies == {text}


def settings_of(gql: GraphQLClient):  # type: ignore[no-untyped-def]
    from tests.support.accounts import _services

    return _services(gql).settings


async def test_the_handshake_echoes_the_challenge_only_for_the_right_token(http: httpx.AsyncClient) -> None:
    ok = await http.get(
        "/webhooks/whatsapp",
        params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"},
    )
    assert ok.status_code == 200
    assert ok.text == "1158201444"
    bad = await http.get(
        "/webhooks/whatsapp",
        params={"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"},
    )
    none = await http.get("/webhooks/whatsapp")
    assert (bad.status_code, none.status_code) == (403, 403)


async def test_own_route_uses_its_secret_and_ignores_other_tenants_numbers(
    gql: GraphQLClient, http: httpx.AsyncClient, meta: MetaFake
) -> None:
    other = await business(gql, meta, "other")
    owner = await sign_up(gql, slug="own-app")
    payload = await connect(gql, owner, meta, app_secret="own-app-secret", verify_token="own-verify")
    conn = payload["connection"]
    path = "/" + conn["webhookUrl"].split("/", 3)[3]
    own_number = [n for n in meta.numbers if n not in other.numbers][0]
    handshake = await http.get(
        path, params={"hub.mode": "subscribe", "hub.verify_token": "own-verify", "hub.challenge": "42"}
    )
    assert handshake.text == "42"
    refused = await http.get(
        path, params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "4"}
    )
    assert refused.status_code == 403
    # The platform secret is not this route's secret.
    theirs = text_message(own_number, wa_id="447700900123", text="hi", wamid="wamid.O1")
    assert (await meta.post_webhook(http, theirs, secret=APP_SECRET, path=path)).status_code == 401
    # Correctly signed, but naming another tenant's number: acknowledged and ignored.
    foreign = text_message(other.numbers[0], wa_id="447700900123", text="hi", wamid="wamid.O2")
    assert (await meta.post_webhook(http, foreign, secret="own-app-secret", path=path)).status_code == 200
    assert await count(gql, InboxEvent) == 0
    assert (await meta.post_webhook(http, theirs, secret="own-app-secret", path=path)).status_code == 200
    stored = await rows(gql, InboxEvent)
    assert [e.external_id for e in stored] == ["wamid.O1"]
    unknown = await meta.post_webhook(
        http, theirs, secret="own-app-secret", path="/webhooks/whatsapp/not-a-uuid"
    )
    assert unknown.status_code == 401


async def test_ten_concurrent_deliveries_give_one_message_and_one_reply(
    gql: GraphQLClient, http: httpx.AsyncClient, meta: MetaFake
) -> None:
    biz = await business(gql, meta, "glow")
    payload = text_message(biz.numbers[0], wa_id="447700900123", text="hello", wamid="wamid.DUP")
    answers = await asyncio.gather(*[meta.post_webhook(http, payload, secret=APP_SECRET) for _ in range(10)])
    assert {r.status_code for r in answers} == {200}
    await drain_outbox(settings_of(gql))
    messages = await rows(gql, Message)
    assert sorted(m.direction for m in messages) == ["inbound", "outbound"]
    assert len(meta.sends) == 1
    assert meta.sends[0].to == "447700900123"


async def test_each_tenant_sees_only_its_own_conversations(
    gql: GraphQLClient, http: httpx.AsyncClient, meta: MetaFake
) -> None:
    a = await business(gql, meta, "alpha", numbers=2)
    b = await business(gql, meta, "beta", numbers=2)
    batch = envelope(a.numbers[0], {})
    # One POST holding several entries: every entry, change and message is handled.
    batch["entry"] = [
        text_message(number, wa_id=f"4477009001{i}{j}", text=f"m{i}{j}", wamid=f"wamid.T{i}{j}")["entry"][0]
        for i, number in enumerate([*a.numbers, *b.numbers, "000999"])
        for j in range(2)
    ]
    assert (await meta.post_webhook(http, batch, secret=APP_SECRET)).status_code == 200
    await drain_outbox(settings_of(gql))
    seen = {}
    for who in (a, b):
        result = await gql.op("Conversations", {"first": 50}, token=who.owner.access_token)
        assert not result.errors, result.errors
        seen[who.owner.slug] = sorted(e["node"]["phone"] for e in result.data["conversations"]["edges"])
    assert seen["alpha"] == ["+447700900100", "+447700900101", "+447700900110", "+447700900111"]
    assert seen["beta"] == ["+447700900120", "+447700900121", "+447700900130", "+447700900131"]
    assert await count(gql, Conversation) == 8  # the unknown number's messages were dropped


async def test_media_is_not_downloaded_only_its_type_and_id_kept(
    gql: GraphQLClient, http: httpx.AsyncClient, meta: MetaFake
) -> None:
    biz = await business(gql, meta, "glow")
    payload = media_message(
        biz.numbers[0], wa_id="447700900123", kind="audio", media_id="MEDIA-1", wamid="wamid.M1"
    )
    assert (await meta.post_webhook(http, payload, secret=APP_SECRET)).status_code == 200
    await drain_outbox(settings_of(gql))
    inbound = [m for m in await rows(gql, Message) if m.direction == "inbound"]
    assert [(m.kind, m.media_id, m.body) for m in inbound] == [("audio", "MEDIA-1", None)]
    assert inbound[0].sent_at is not None
    assert "sha256" not in (await rows(gql, InboxEvent))[0].payload


async def test_a_sender_with_no_phone_is_kept_by_meta_user_id(
    gql: GraphQLClient, http: httpx.AsyncClient, meta: MetaFake
) -> None:
    biz = await business(gql, meta, "glow")
    payload = text_message(biz.numbers[0], wa_id=None, user_id="US.1349120865", text="hi", wamid="wamid.B1")
    assert (await meta.post_webhook(http, payload, secret=APP_SECRET)).status_code == 200
    await drain_outbox(settings_of(gql))
    [conversation] = await rows(gql, Conversation)
    assert (conversation.phone_e164, conversation.meta_user_id) == (None, "US.1349120865")
    assert meta.sends[0].to == "US.1349120865"


async def test_bad_input_never_gives_500_nor_half_writes(
    gql: GraphQLClient, http: httpx.AsyncClient, meta: MetaFake
) -> None:
    biz = await business(gql, meta, "glow")
    number = biz.numbers[0]
    good = text_message(number, wa_id="447700900123", text="ok", wamid="wamid.GOOD")["entry"][0]["changes"][
        0
    ]["value"]
    cases: list[bytes | dict] = [  # type: ignore[type-arg]
        b"{not json",
        b"[]",
        b"null",
        b'"text"',
        {"object": "whatsapp_business_account"},
        {"entry": "nope"},
        {"entry": [{"changes": [{"field": "messages", "value": {"metadata": {}}}]}]},
        {"entry": [{"changes": [{"field": "messages", "value": {"metadata": {"phone_number_id": 5}}}]}]},
        envelope(number, {"messages": [{"id": 7, "type": "text"}]}),
        envelope(
            number, {"messages": [{"id": "wamid.X", "type": "text", "text": {"body": 5}, "from": "44"}]}
        ),
        envelope(number, {"messages": [{"id": "wamid.Y", "type": "text", "text": "hi", "from": None}]}),
        envelope(number, {"statuses": [{"id": "wamid.Z", "status": "exploded"}]}),
        envelope(number, {"messages": "many"}),
        envelope(
            number, {"messages": [{"id": "w" * 5000, "type": "text", "from": "44", "text": {"body": "x"}}]}
        ),
        envelope(
            number, {"messages": [{"id": "wamid.BIG", "type": "sticker", "from": "4477", "sticker": []}]}
        ),
    ]
    for case in cases:
        response = await meta.post_webhook(http, case, secret=APP_SECRET)
        assert response.status_code in (200, 400), (case, response.status_code)
    huge = b'{"entry": [' + b" " * (3 * 1024 * 1024 + 10) + b"]}"
    too_big = await meta.post_webhook(http, huge, secret=APP_SECRET)
    assert too_big.status_code == 413
    # A well-formed message beside a broken one in the same batch is still stored.
    mixed = envelope(number, {**good, "messages": [*good["messages"], {"id": 1}]})
    assert (await meta.post_webhook(http, mixed, secret=APP_SECRET)).status_code == 200
    await drain_outbox(settings_of(gql))
    stored = sorted(e.external_id for e in await rows(gql, InboxEvent))
    assert stored == ["wamid.BIG", "wamid.GOOD"]
    assert all(e.processed_at is not None for e in await rows(gql, InboxEvent))


async def test_a_large_batch_under_meta_s_3_mb_is_accepted_on_the_webhook_route_only(
    gql: GraphQLClient, http: httpx.AsyncClient, meta: MetaFake
) -> None:
    # Bigger than the API's 1 MiB body limit, within the webhook routes' 3 MiB.
    biz = await business(gql, meta, "glow")
    payload = text_message(biz.numbers[0], wa_id="447700900123", text="x" * 4000, wamid="wamid.L0")
    value = payload["entry"][0]["changes"][0]["value"]
    value["messages"] = [dict(value["messages"][0], id=f"wamid.L{i}") for i in range(400)]
    raw = encode(payload)
    assert 1024 * 1024 < len(raw) < 3 * 1024 * 1024
    assert (await meta.post_webhook(http, raw, secret=APP_SECRET)).status_code == 200
    assert await count(gql, InboxEvent) == 400
    graphql = await http.post("/graphql", content=raw, headers={"content-type": "application/json"})
    assert graphql.status_code == 413
