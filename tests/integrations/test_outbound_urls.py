"""A tenant's model base URL cannot make our servers call inside our network (issue 18, SSRF): every
notation of a loopback, private, link-local or metadata address is refused when the URL is saved, and again
when the model is called (a row saved before this check, a name that resolves inside, a redirect)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bizzly.egress import EgressPolicy, check_url
from bizzly.errors import ErrorCode, Invalid
from bizzly.settings import Settings
from integrations.llm import ModelError, OpenAICompatibleModel
from integrations.outbound import DestinationRefused, GuardedClient
from tests.conftest import make_settings
from tests.fakes.model import API_KEY, ModelFake, running_model_fake
from tests.support.accounts import sign_up
from tests.support.graphql import GraphQLClient


@pytest.fixture
def settings(database_settings: dict[str, str]) -> Settings:
    return make_settings(database_settings)  # no host allowed on purpose: 127.0.0.1 is refused too


@pytest.fixture
async def model() -> AsyncIterator[ModelFake]:
    async with running_model_fake() as fake:
        yield fake


def port_of(fake: ModelFake) -> int:
    return int(fake.url.rsplit(":", 1)[1].split("/")[0])


def inside(port: int) -> list[str]:
    """The same loopback server (the fake model), written every way an attacker would."""
    return [
        f"http://127.0.0.1:{port}/v1",
        f"http://2130706433:{port}/v1",  # decimal
        f"http://0177.0.0.1:{port}/v1",  # octal
        f"http://0x7f000001:{port}/v1",  # hex
        f"http://0x7f.0.0.1:{port}/v1",
        f"http://127.1:{port}/v1",  # short
        f"http://[::1]:{port}/v1",
        f"http://[::ffff:127.0.0.1]:{port}/v1",  # IPv4 mapped in IPv6
        f"http://[::ffff:7f00:1]:{port}/v1",
        f"http://localhost:{port}/v1",  # a name that resolves to loopback
        f"http://LOCALHOST.:{port}/v1",
    ]


ELSEWHERE_INSIDE = [
    "http://169.254.169.254/latest/meta-data",  # cloud metadata
    "http://[fd00:ec2::254]/latest",
    "http://100.100.100.200/latest",
    "http://10.0.0.7:6379",
    "http://192.168.1.1",
    "http://172.16.0.1",
    "http://0.0.0.0:5432",
    "http://[::]:5432",
    "http://224.0.0.1",  # multicast
    "http://[ff02::1]",
    "http://240.0.0.1",  # reserved
    "http://[64:ff9b::a9fe:a9fe]",  # NAT64 of 169.254.169.254
    "http://[2002:a9fe:a9fe::]",  # 6to4 of 169.254.169.254
]


async def configure(gql: GraphQLClient, token: str, base_url: str) -> dict[str, Any]:
    result = await gql.op(
        "ConfigureAssistantModel",
        {"input": {"baseUrl": base_url, "model": "gpt-test", "apiKey": API_KEY}},
        token=token,
    )
    assert not result.errors, result.body
    payload: dict[str, Any] = result.data["configureAssistantModel"]
    return payload


async def shown(gql: GraphQLClient, token: str) -> Any:
    result = await gql.op("IntegrationSettings", token=token)
    assert not result.errors, result.body
    return result.data["integrationSettings"]["assistantModel"]


async def test_every_notation_of_an_inside_address_is_refused_when_saved(
    gql: GraphQLClient, model: ModelFake
) -> None:
    owner = await sign_up(gql, slug="ssrf-salon")
    for url in [*inside(port_of(model)), *ELSEWHERE_INSIDE]:
        payload = await configure(gql, owner.access_token, url)
        assert payload["ok"] is False, url
        assert [(e["field"], e["code"]) for e in payload["errors"]] == [("baseUrl", "INVALID")], url
    assert await shown(gql, owner.access_token) is None  # nothing was saved
    assert model.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "https://api.example.com/v1?token=x&ignore=",  # the query is not the tenant's to choose
        "https://api.example.com/v1?",
        "https://api.example.com/v1#frag",
        "https://key@api.example.com/v1",
        "https://@api.example.com/v1",
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/_INFO",
        "https://api.example.com:99999/v1",
    ],
)
async def test_a_query_userinfo_or_other_scheme_is_refused(gql: GraphQLClient, url: str) -> None:
    owner = await sign_up(gql, slug="ssrf-shape")
    payload = await configure(gql, owner.access_token, url)
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("baseUrl", "INVALID")]
    assert await shown(gql, owner.access_token) is None


def test_production_takes_https_only() -> None:
    production = EgressPolicy(https_only=True, allowed_hosts=frozenset())
    with pytest.raises(Invalid) as refused:
        check_url("http://api.openai.com/v1", production, field="baseUrl")
    assert (refused.value.code, refused.value.field) == (ErrorCode.INVALID, "baseUrl")
    assert check_url("https://api.openai.com/v1/", production, field="baseUrl").url == (
        "https://api.openai.com/v1"
    )


async def _ask(client: GuardedClient, base_url: str) -> None:
    llm = OpenAICompatibleModel(client=client, base_url=base_url, model="m", api_key=API_KEY, timeout=5)
    await llm.choose_tool([{"role": "user", "content": "Hi"}], [])


async def test_a_saved_inside_url_is_refused_again_when_the_model_is_called(
    settings: Settings, model: ModelFake
) -> None:
    """Rows saved before the check (or a name whose answer changed since): nothing reaches the server."""
    async with GuardedClient(settings) as client:
        for url in inside(port_of(model)):
            with pytest.raises(ModelError) as refused:
                await _ask(client, url)
            assert refused.value.error is not None, url
            assert (refused.value.error.code, refused.value.error.field) == (ErrorCode.INVALID, "baseUrl")
    assert model.requests == []


async def test_the_client_checks_the_address_when_it_connects(settings: Settings, model: ModelFake) -> None:
    """A name is resolved and checked at connect time, whatever was checked when it was saved."""
    async with GuardedClient(settings) as client:
        with pytest.raises(DestinationRefused):
            await client.post(f"http://localhost:{port_of(model)}/v1/chat/completions", json={})
        with pytest.raises(DestinationRefused):
            await client.post(f"http://2130706433:{port_of(model)}/v1/chat/completions", json={})
    assert model.requests == []


async def test_an_allowed_host_is_called(database_settings: dict[str, str], model: ModelFake) -> None:
    allowed = make_settings(database_settings, outbound_allowed_hosts="127.0.0.1")
    async with GuardedClient(allowed) as client:
        await _ask(client, model.url)
    assert len(model.requests) == 1


async def test_a_redirect_to_an_inside_address_is_not_followed(
    database_settings: dict[str, str], model: ModelFake
) -> None:
    """An allowed server answers 307 to the loopback model: the client stops there."""
    target = f"http://localhost:{port_of(model)}/v1/chat/completions"

    async def redirect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            f"HTTP/1.1 307 Temporary Redirect\r\nLocation: {target}\r\nContent-Length: 0\r\n\r\n".encode()
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(redirect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    allowed = make_settings(database_settings, outbound_allowed_hosts="127.0.0.1")
    try:
        async with GuardedClient(allowed) as client:
            with pytest.raises(ModelError, match="HTTP 307"):
                await _ask(client, f"http://127.0.0.1:{port}/v1")
    finally:
        server.close()
        await server.wait_closed()
    assert model.requests == []


class FakeDns:
    """Answers for names, as a resolver would (the event loop's ``getaddrinfo``), changeable mid-test."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.answers: dict[str, list[str]] = {}
        loop = asyncio.get_running_loop()
        real = loop.getaddrinfo

        async def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            if host in self.answers:
                return [
                    (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                    for a in self.answers[host]
                ]
            return await real(host, port, *args, **kwargs)

        monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)


async def test_a_name_with_any_inside_address_is_refused(
    gql: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    dns = FakeDns(monkeypatch)
    dns.answers["models.example.com"] = ["93.184.215.14", "10.0.0.5"]  # one public, one private
    dns.answers["metadata.example.com"] = ["fd00:ec2::254"]
    owner = await sign_up(gql, slug="dns-salon")
    for url in ("https://models.example.com/v1", "https://metadata.example.com/v1"):
        payload = await configure(gql, owner.access_token, url)
        assert [(e["field"], e["code"]) for e in payload["errors"]] == [("baseUrl", "INVALID")], url
    assert await shown(gql, owner.access_token) is None


async def test_a_name_that_turns_to_loopback_after_it_was_saved_is_refused_at_connect_time(
    gql: GraphQLClient, settings: Settings, model: ModelFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: public when saved, loopback (the fake model's port) when called."""
    dns = FakeDns(monkeypatch)
    dns.answers["rebind.example.com"] = ["93.184.215.14"]
    owner = await sign_up(gql, slug="rebind-salon")
    url = f"http://rebind.example.com:{port_of(model)}/v1"
    assert (await configure(gql, owner.access_token, url))["ok"] is True
    dns.answers["rebind.example.com"] = ["127.0.0.1"]
    async with GuardedClient(settings) as client:
        with pytest.raises(ModelError) as refused:
            await _ask(client, url)
    assert refused.value.error is not None
    assert refused.value.error.field == "baseUrl"
    assert model.requests == []


async def test_production_speaks_https_only_on_the_wire(database_settings: dict[str, str]) -> None:
    production = make_settings(database_settings, env="production", outbound_allowed_hosts="127.0.0.1")
    async with GuardedClient(production) as client:
        with pytest.raises(DestinationRefused):
            await client.get("http://127.0.0.1:9/")
