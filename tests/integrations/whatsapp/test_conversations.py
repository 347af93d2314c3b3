"""The dashboard's conversations: newest activity first, each with its last messages (newest last), in a
bounded number of SQL statements however many conversations there are."""

from __future__ import annotations

from typing import Any

import httpx

from tests.fakes.meta import MetaFake, text_message
from tests.integrations.whatsapp.conftest import APP_SECRET, business, database
from tests.support.accounts import _services
from tests.support.graphql import GraphQLClient
from tests.support.outbox import drain_outbox
from tests.support.queries import count_queries

PAGED = """query Paged($id: ID!) {
  node(id: $id) { ... on Conversation { messages(last: 2, before: null) {
    pageInfo { hasPreviousPage } edges { node { body } } } } }
}"""


async def _conversations(gql: GraphQLClient, token: str) -> list[dict[str, Any]]:
    result = await gql.op("Conversations", {"first": 50}, token=token)
    assert not result.errors, result.errors
    return [e["node"] for e in result.data["conversations"]["edges"]]


async def test_messages_newest_last_and_batched(
    gql: GraphQLClient, http: httpx.AsyncClient, meta: MetaFake
) -> None:
    biz = await business(gql, meta, "glow")
    number = biz.numbers[0]
    for i in range(6):
        for j in range(2):
            payload = text_message(number, wa_id=f"44770090000{i}", text=f"m{i}.{j}", wamid=f"wamid.C{i}{j}")
            assert (await meta.post_webhook(http, payload, secret=APP_SECRET)).status_code == 200
    await drain_outbox(_services(gql).settings)
    nodes = await _conversations(gql, biz.owner.access_token)
    assert len(nodes) == 6
    # Most recently active first; each: in, reply, in, reply -- newest last.
    first = nodes[0]
    assert first["phone"] == "+447700900005"
    bodies = [e["node"]["body"] for e in first["messages"]["edges"]]
    assert bodies[0] == "m5.0"
    assert bodies[2] == "m5.1"
    assert [e["node"]["direction"] for e in first["messages"]["edges"]] == ["INBOUND", "OUTBOUND"] * 2
    # The batched path and the paged one give the same pages.
    paged = await gql.http.post(
        "/graphql",
        json={"query": PAGED, "variables": {"id": first["id"]}},
        headers={"authorization": f"Bearer {biz.owner.access_token}"},
    )
    page = paged.json()["data"]["node"]["messages"]
    assert page["pageInfo"]["hasPreviousPage"] is True
    assert [e["node"]["body"] for e in page["edges"]] == bodies[-2:]
    # Adding conversations adds no statements.
    with count_queries(database(gql).app_engine) as log:
        await _conversations(gql, biz.owner.access_token)
    for i in range(6, 12):
        payload = text_message(number, wa_id=f"447700900{i:02d}", text="late", wamid=f"wamid.L{i}")
        await meta.post_webhook(http, payload, secret=APP_SECRET)
    await drain_outbox(_services(gql).settings)
    with count_queries(database(gql).app_engine) as more:
        assert len(await _conversations(gql, biz.owner.access_token)) == 12
    assert more.count == log.count
