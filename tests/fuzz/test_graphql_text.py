"""What fuzzing ``/graphql`` found, kept as regressions: text no database stores, whether it comes in the
JSON body (a lone surrogate ``"\\ud800"``) or as an escape inside the document's own string literals
(``"\\u0000"``), is refused before any resolver runs -- before, PostgreSQL failed mid-resolver (a masked
server error) and SQLite could not encode the surrogate."""

from __future__ import annotations

import httpx
import pytest

from tests.support.accounts import sign_up
from tests.support.graphql import GraphQLClient

SIGN_UP = (
    'mutation { signUp(input: {businessName: "A%sB", slug: "nul-shop", timezone: "Europe/London", '
    'defaultRegion: "GB", name: "N", email: "a@nul-shop.example.com", password: "Correct-Horse-42"}) '
    "{ errors { code } } }"
)


@pytest.mark.parametrize(
    ("escape", "message"),
    [
        # NUL is valid GraphQL: only our StorableText rule refuses it.
        ("\\\\u0000", "Text may not contain NUL (\\u0000) characters or unpaired surrogates (\\ud800)."),
        # The parser itself refuses a lone surrogate escape.
        ("\\\\ud800", "Syntax Error: Invalid Unicode escape sequence: '\\ud800'."),
    ],
)
async def test_unstorable_text_inside_the_document_is_refused(
    http: httpx.AsyncClient, escape: str, message: str
) -> None:
    raw = '{"query": "%s"}' % (SIGN_UP.replace('"', '\\"') % escape)
    response = await http.post("/graphql", content=raw, headers={"content-type": "application/json"})
    body = response.json()
    assert response.status_code == 200
    assert body.get("data") is None
    (error,) = body["errors"]
    assert error["message"] == message
    assert "path" not in error


async def test_a_lone_surrogate_in_variables_is_refused(http: httpx.AsyncClient, gql: GraphQLClient) -> None:
    owner = await sign_up(gql, slug="surrogate-shop")
    raw = (
        '{"query": "mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { errors { code } } }",'
        ' "variables": {"i": {"name": "Ada \\ud800", "email": "ada@surrogate.example.com"}}}'
    )
    response = await http.post(
        "/graphql",
        content=raw,
        headers={"content-type": "application/json", "authorization": f"Bearer {owner.access_token}"},
    )
    assert response.status_code == 400
    assert "unpaired surrogates" in response.text
