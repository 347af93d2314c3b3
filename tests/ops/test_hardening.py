"""Nothing a client sends gets a 500 for its shape: bad JSON, wrong content types, huge bodies (declared or
chunked), deep or wide queries, mutations over GET."""

from __future__ import annotations

import asyncio
import functools
import json
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio.from_thread
import httpx
import pytest
import uvicorn
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from bizzly.app import create_app
from bizzly.settings import Settings
from tests.support.accounts import DEFAULT_PASSWORD
from tests.support.graphql import GraphQLClient, contract_operations

MIB = 1024 * 1024
JSON = {"content-type": "application/json"}


async def _chunks(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        part = min(size, total - sent)
        sent += part
        yield b" " * part


def _sign_up_input(slug: str) -> dict[str, Any]:
    return {
        "input": {
            "businessName": "Get Bakery",
            "slug": slug,
            "timezone": "Europe/London",
            "defaultRegion": "GB",
            "name": "Gina Get",
            "email": f"owner@{slug}.example.com",
            "password": DEFAULT_PASSWORD,
        }
    }


# --- bodies -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'{"query": "{ viewer { role } }"',
        b"",
        b'{"query":"\xff\xfe"}',  # not UTF-8
        b"[" * 100_000 + b"]" * 100_000,  # deeper than the decoder's recursion limit
        b"null",
        b"42",
        b'"{ viewer { role } }"',
        b"[]",
        b'[{"query": "{ viewer { role } }"}]',  # batching is off
        b'{"query": 42}',
        b'{"query": "{ viewer { role } }", "variables": "x"}',
        b'{"query": "{ viewer { role } }", "extensions": []}',
        b'{"query": "{ viewer { role } }", "operationName": 7}',
        b"{}",
    ],
)
async def test_a_body_that_is_not_a_graphql_request_is_a_400(http: httpx.AsyncClient, body: bytes) -> None:
    response = await http.post("/graphql", content=body, headers=JSON)
    assert response.status_code == 400, response.text


@pytest.mark.parametrize(
    "headers",
    [
        {"content-type": "text/plain"},
        {"content-type": "application/x-www-form-urlencoded"},
        {"content-type": "multipart/form-data; boundary=x"},
        {"content-type": "application/xml"},
        {},
    ],
)
async def test_a_wrong_content_type_is_refused(http: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await http.post("/graphql", content=b'{"query": "{ viewer { role } }"}', headers=headers)
    assert 400 <= response.status_code < 500, response.text


async def test_a_declared_body_over_one_mib_is_a_413(http: httpx.AsyncClient) -> None:
    query = "{ viewer { role } }" + " " * MIB
    response = await http.post("/graphql", json={"query": query})
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_a_chunked_body_over_one_mib_without_a_length_is_a_413(http: httpx.AsyncClient) -> None:
    request = http.build_request("POST", "/graphql", content=_chunks(MIB + 1), headers=JSON)
    assert "content-length" not in request.headers
    assert request.headers["transfer-encoding"] == "chunked"

    response = await http.send(request)

    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_a_body_just_under_the_limit_is_served(http: httpx.AsyncClient) -> None:
    body = json.dumps({"query": "{ viewer { role } }"}).encode()
    padded = body[:-1] + b" " * (MIB - len(body)) + b"}"
    assert len(padded) == MIB

    response = await http.post("/graphql", content=padded, headers=JSON)

    assert response.status_code == 200
    assert response.json() == {"data": {"viewer": None}}


async def test_a_chunked_body_under_the_limit_is_served(http: httpx.AsyncClient) -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b'{"query": '
        yield b'"{ viewer { role } }"'
        yield b"}"

    response = await http.post("/graphql", content=body(), headers=JSON)
    assert response.status_code == 200
    assert response.json() == {"data": {"viewer": None}}


# --- queries ------------------------------------------------------------------------------------------


async def test_a_query_deeper_than_the_limit_is_an_error_not_a_500(gql: GraphQLClient) -> None:
    deep = "{ viewer { " + "tenant { " * 12 + "id" + " }" * 12 + " } }"
    for _ in range(2):  # the second time the parse and validation caches answer: still refused
        result = await gql(deep)
        assert result.status == 200
        assert any("depth" in e["message"] for e in result.errors), result.errors
        assert result.body.get("data") is None


async def test_a_repeated_query_is_validated_once(
    gql: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The dashboard sends the same documents all day: validating each again cost more than answering it.
    import strawberry.schema.schema as strawberry_schema
    from graphql.validation import validate as real

    runs: list[object] = []

    def counting(*args: Any, **kwargs: Any) -> Any:
        runs.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(strawberry_schema, "validate", counting)
    query = f"query Once{uuid.uuid4().hex} {{ viewer {{ role }} }}"
    for _ in range(3):
        result = await gql(query)
        assert result.status == 200
    assert len(runs) == 1


async def test_a_query_nested_past_the_parser_limit_is_an_error(gql: GraphQLClient) -> None:
    result = await gql("{" + "viewer{" * 5000 + "role" + "}" * 5000 + "}")
    assert result.status == 200
    assert result.errors
    assert result.body.get("data") is None


async def test_too_many_aliases_is_an_error(gql: GraphQLClient) -> None:
    query = "{ " + " ".join(f"a{i}: viewer {{ role }}" for i in range(40)) + " }"
    result = await gql(query)
    assert result.status == 200
    assert any("aliases" in e["message"] for e in result.errors), result.errors
    assert result.body.get("data") is None


async def test_too_many_tokens_is_an_error(gql: GraphQLClient) -> None:
    result = await gql("{ " + "__typename " * 3000 + "}")
    assert result.status == 200
    assert any("tokens" in e["message"] for e in result.errors), result.errors


async def test_the_deepest_contract_operation_is_within_the_limits(gql: GraphQLClient) -> None:
    # The limits must refuse abuse, not the dashboard: the contract's deepest operation passes validation.
    result = await gql(contract_operations()["Conversations"], {"first": 1})
    assert not any("depth" in e["message"] or "aliases" in e["message"] for e in result.errors)


async def test_a_mutation_over_get_is_refused_and_changes_nothing(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    response = await http.get(
        "/graphql",
        params={
            "query": contract_operations()["SignUp"],
            "variables": json.dumps(_sign_up_input("get-bakery")),
        },
    )
    assert response.status_code in {400, 405}
    assert "not allowed" in response.text

    # The slug is still free: the GET wrote nothing.
    result = await gql.op("SignUp", _sign_up_input("get-bakery"))
    assert result.data["signUp"]["errors"] == []


async def test_other_methods_are_not_allowed(http: httpx.AsyncClient) -> None:
    for method in ("PUT", "DELETE", "PATCH"):
        response = await http.request(method, "/graphql", json={"query": "{ viewer { role } }"})
        assert response.status_code == 405


# --- anything at all ----------------------------------------------------------------------------------

_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
_json_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
_queries = st.sampled_from(["{ viewer { role } }", "mutation { x }", "query($a: Int) { viewer { role } }"])
_request_like = st.fixed_dictionaries(
    {},
    optional={
        "query": st.one_of(st.text(max_size=60), _queries, _json_values),
        "variables": _json_values,
        "operationName": _json_values,
        "extensions": _json_values,
    },
)

Post = Callable[..., httpx.Response]


@pytest.fixture
def post(settings: Settings) -> Iterator[Post]:
    """``post(**kwargs)`` to ``/graphql`` from a synchronous (Hypothesis) test: the app and its client
    live on one event loop in a portal thread, as in production."""
    with anyio.from_thread.start_blocking_portal() as portal:
        app = create_app(settings)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        try:
            yield lambda **kwargs: portal.call(functools.partial(client.post, "/graphql", **kwargs))
        finally:
            portal.call(client.aclose)
            portal.call(app.state.services.db.dispose)


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.one_of(_request_like, _json_values))
def test_no_json_body_gets_a_500(post: Post, body: Any) -> None:
    response = post(json=body)
    assert response.status_code < 500, (body, response.text)


@hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.binary(max_size=200), content_type=st.sampled_from(["application/json", "text/plain", ""]))
def test_no_bytes_get_a_500(post: Post, body: bytes, content_type: str) -> None:
    response = post(content=body, headers={"content-type": content_type})
    assert response.status_code < 500, (body, response.text)


# --- through a real HTTP server -----------------------------------------------------------------------


@pytest.fixture
async def served(app: Starlette) -> AsyncIterator[int]:
    """The app behind uvicorn on an ephemeral loopback port (the lifespan is the ``app`` fixture's)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_config=None, access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield int(sock.getsockname()[1])
    finally:
        server.should_exit = True
        await task
        sock.close()


async def _raw_exchange(port: int, head: bytes, body: AsyncIterator[bytes]) -> bytes:
    """Send a request as raw bytes while reading the answer as it comes: the server answers 413 and closes
    before the body is all sent, and a reset would drop an answer read only afterwards."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    received = bytearray()

    async def read() -> None:
        try:
            while chunk := await reader.read(65536):
                received.extend(chunk)
        except ConnectionError:
            pass

    reading = asyncio.create_task(read())
    try:
        writer.write(head)
        async for chunk in body:
            if reading.done():
                break
            writer.write(chunk)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        await asyncio.wait_for(reading, timeout=10)
        writer.close()
    return bytes(received)


async def _http_chunks(total: int) -> AsyncIterator[bytes]:
    async for part in _chunks(total):
        yield b"%x\r\n%s\r\n" % (len(part), part)
    yield b"0\r\n\r\n"


async def test_a_real_server_answers_413_to_a_chunked_body_over_one_mib(served: int) -> None:
    head = (
        b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    answer = await _raw_exchange(served, head, _http_chunks(2 * MIB))
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b"PAYLOAD_TOO_LARGE" in answer


async def test_a_real_server_answers_413_to_a_declared_length_over_one_mib(served: int) -> None:
    head = (
        b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n" % (MIB + 1)
    )
    answer = await _raw_exchange(served, head, _chunks(MIB + 1))
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]


async def test_text_with_a_nul_character_is_refused_before_anything_runs(gql: GraphQLClient) -> None:
    # PostgreSQL cannot store NUL in text: without this a NUL in any field would be a masked 500-like error.
    variables = {
        "input": {
            "businessName": "Nul\x00 Salon",
            "timezone": "Europe/London",
            "defaultRegion": "GB",
            "name": "Nora",
            "email": "nora@example.com",
            "password": DEFAULT_PASSWORD,
        }
    }
    refused = await gql.op("SignUp", variables)
    assert refused.status == 400
    assert "NUL" in refused.body["text"]
    variables["input"]["businessName"] = "Nul Salon"
    accepted = await gql.op("SignUp", variables)
    assert accepted.data["signUp"]["errors"] == []
