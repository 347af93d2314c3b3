"""Structured logs: JSON lines with the request id and the tenant id, and never a secret."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import time
import uuid

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route
from strawberry import relay

from bizzly.logs import (
    REDACTED,
    bind_tenant,
    configure_logging,
    current_context,
    json_handler,
    log_context,
    redact_text,
)
from graphql_api.context import Context
from tenants.principal import ANONYMOUS
from tests.ops.conftest import CapturedLogs
from tests.support.accounts import sign_up
from tests.support.graphql import GraphQLClient

VIEWER = "{ viewer { role tenant { slug } } }"


def _log_one(logger_name: str, *args: object, **kwargs: object) -> dict[str, object]:
    """Write one record through the production handler and return the parsed JSON line."""
    stream = io.StringIO()
    handler = json_handler(stream)
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        logger.info(*args, **kwargs)  # type: ignore[arg-type]
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1, lines
    entry = json.loads(lines[0])
    assert isinstance(entry, dict)
    return entry


# --- request id and tenant id -------------------------------------------------------------------------


async def test_a_request_logs_one_json_access_line_with_the_callers_request_id(
    http: httpx.AsyncClient, captured_logs: CapturedLogs
) -> None:
    response = await http.post("/graphql", json={"query": VIEWER}, headers={"X-Request-ID": "edge-42.a:b"})

    assert response.status_code == 200
    assert response.headers["x-request-id"] == "edge-42.a:b"
    [line] = captured_logs.access("/graphql")
    assert line["request_id"] == "edge-42.a:b"
    assert line["method"] == "POST"
    assert line["status"] == 200
    assert line["route"] == "/graphql"
    assert line["level"] == "INFO"
    assert isinstance(line["duration_ms"], int | float)
    assert "tenant_id" in line
    # Every line written during the request, from any logger, is JSON carrying the same request id.
    for entry in captured_logs.lines():
        if entry["logger"].startswith("bizzly"):
            assert entry["request_id"] == "edge-42.a:b", entry


@pytest.mark.parametrize(
    "sent",
    ["has spaces in it", "x" * 200, "new\\nline", "<script>", ""],
)
async def test_an_unusable_request_id_is_replaced_by_a_new_one(
    http: httpx.AsyncClient, captured_logs: CapturedLogs, sent: str
) -> None:
    response = await http.get("/healthz", headers={"X-Request-ID": sent})

    generated = response.headers["x-request-id"]
    assert generated != sent
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    [line] = captured_logs.access("/healthz")
    assert line["request_id"] == generated


async def test_two_requests_get_different_ids(http: httpx.AsyncClient) -> None:
    first = await http.get("/healthz")
    second = await http.get("/healthz")
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_the_tenant_of_the_bearer_token_is_in_the_access_line(
    gql: GraphQLClient, http: httpx.AsyncClient, captured_logs: CapturedLogs
) -> None:
    owner = await sign_up(gql, slug="logged-bakery")
    tenant_id = relay.GlobalID.from_id(owner.tenant_id).node_id

    response = await http.post(
        "/graphql",
        json={"query": VIEWER},
        headers={"Authorization": f"Bearer {owner.access_token}", "X-Request-ID": "viewer-call"},
    )

    assert response.json()["data"]["viewer"]["tenant"]["slug"] == "logged-bakery"
    [line] = [e for e in captured_logs.access("/graphql") if e["request_id"] == "viewer-call"]
    assert line["tenant_id"] == str(uuid.UUID(tenant_id))


async def test_an_anonymous_call_has_no_tenant_in_its_line(
    http: httpx.AsyncClient, captured_logs: CapturedLogs
) -> None:
    await http.post("/graphql", json={"query": VIEWER})
    [line] = captured_logs.access("/graphql")
    assert line["tenant_id"] is None


async def test_the_tenant_named_by_the_header_is_bound_when_the_context_resolves_it(
    gql: GraphQLClient, app: Starlette
) -> None:
    await sign_up(gql, slug="header-salon")
    request = Request({"type": "http", "method": "POST", "path": "/graphql", "headers": []})
    context = Context(request=request, response=None, services=app.state.services, caller=ANONYMOUS)
    context.header_slug = "header-salon"

    with log_context(request_id="r1") as log_ctx:
        tenant_id = await context.tenant_id()

    assert log_ctx.tenant_id == str(tenant_id)


async def test_a_tenant_bound_in_a_concurrent_resolver_reaches_the_requests_context() -> None:
    # GraphQL resolvers run concurrently in tasks with copied contexts; the binding must still reach the
    # request's access-log line.
    tenant = uuid.uuid4()

    async def resolver() -> None:
        bind_tenant(tenant)

    with log_context(request_id="r2") as ctx:
        await asyncio.gather(resolver(), asyncio.sleep(0))
        assert ctx.tenant_id == str(tenant)
    assert current_context() is None


def test_a_job_outside_any_request_can_carry_its_tenant() -> None:
    tenant = uuid.uuid4()
    with log_context(tenant_id=tenant):
        entry = _log_one("bizzly.tests.job", "relayed %d rows", 3)
    assert entry["tenant_id"] == str(tenant)
    assert entry["request_id"] is None
    assert entry["message"] == "relayed 3 rows"


# --- no secrets ---------------------------------------------------------------------------------------


async def test_log_in_sign_up_and_refresh_leave_no_password_or_token_in_the_logs(
    gql: GraphQLClient, http: httpx.AsyncClient, captured_logs: CapturedLogs
) -> None:
    password = "Sign-Up-Secret-Pass-81"
    wrong = "Wrong-Guess-Secret-77"
    owner = await sign_up(gql, slug="quiet-gym", password=password)

    # A failed log-in that also carries a (valid) bearer token and a tenant header.
    failed = await gql.op(
        "LogIn",
        {"input": {"email": owner.email, "password": wrong, "tenantSlug": "quiet-gym"}},
        token=owner.access_token,
        headers={"X-Request-ID": "failed-login"},
    )
    assert failed.data["logIn"]["accessToken"] is None
    assert failed.data["logIn"]["errors"]

    ok = await gql.op("LogIn", {"input": {"email": owner.email, "password": password}})
    new_access = ok.data["logIn"]["accessToken"]
    new_refresh = ok.data["logIn"]["refreshToken"]
    assert new_access
    assert new_refresh
    refreshed = await gql.op("RefreshToken", {"refreshToken": new_refresh})
    rotated = refreshed.data["refreshToken"]["refreshToken"]

    # A query string is never logged either (a GET with a token in it).
    await http.get("/graphql", params={"query": VIEWER, "token": owner.refresh_token})
    # A malformed Authorization header is refused without being echoed.
    await http.post("/graphql", json={"query": VIEWER}, headers={"Authorization": f"Token {password}"})

    text = captured_logs.text
    secrets = [password, wrong, owner.access_token, owner.refresh_token, new_access, new_refresh, rotated]
    assert all(secrets)
    for secret in secrets:
        assert secret not in text
    # The test saw the requests: one access line each, none with a query string.
    lines = captured_logs.access("/graphql")
    assert len(lines) >= 6
    assert all("?" not in str(line["path"]) for line in lines)
    assert [line["status"] for line in lines if line["request_id"] == "failed-login"] == [200]


async def test_an_unexpected_error_is_logged_with_its_traceback_scrubbed(
    http: httpx.AsyncClient, captured_logs: CapturedLogs
) -> None:
    logger = logging.getLogger("bizzly.tests.crash")
    try:
        raise RuntimeError("could not verify password=hunter2hunter2 for code 482913")
    except RuntimeError:
        logger.exception("while logging in with refresh_token=abcDEF123ghiJKL456mnoPQR789stuVWX0")

    text = captured_logs.text
    assert "hunter2hunter2" not in text
    assert "482913" not in text
    assert "abcDEF123ghiJKL456mnoPQR789stuVWX0" not in text
    [entry] = [e for e in captured_logs.lines() if e["logger"] == "bizzly.tests.crash"]
    assert "RuntimeError" in entry["exception"]
    assert REDACTED in entry["exception"]


@pytest.mark.parametrize(
    ("message", "secret"),
    [
        ('variables {"email": "a@b.co", "password": "two words"}', "two words"),
        ("{'newPassword': 'Hunter-22'}", "Hunter-22"),
        ('nested {\\"password\\": \\"s3cr3t-pw\\"}', "s3cr3t-pw"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl", "eyJzdWIiOiIxMjMifQ"),
        ("header was Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
        ("callback code=4/0AbCdEf&state=xyz", "4/0AbCdEf"),
        ("access_token=ya29.a0AfH6SMB", "ya29.a0AfH6SMB"),
        ("refreshToken: rt-value-1", "rt-value-1"),
        ("client_secret='cs live'", "cs live"),
        ("X-Api-Key=key-123-abc", "key-123-abc"),
        ("hubspot api_key: pat-na1-11111111", "pat-na1-11111111"),
        ("Your verification code is: 123456.", "123456"),
        ("sent 654321 to the customer", "654321"),
        ("token issued: Zq3vX9_kLm2Np8Rt5Wy1Ab4Cd7Ef0Gh6Ij", "Zq3vX9_kLm2Np8Rt5Wy1Ab4Cd7Ef0Gh6Ij"),
        ("connecting to postgresql+asyncpg://bizzly_app:db-pass-9@127.0.0.1/bizzly", "db-pass-9"),
        ("redis://:broker-pass@127.0.0.1:6379/0", "broker-pass"),
    ],
)
def test_secrets_are_scrubbed_from_messages(message: str, secret: str) -> None:
    entry = _log_one("bizzly.tests.redact", message)
    assert secret not in json.dumps(entry)
    assert secret not in redact_text(message)


@pytest.mark.parametrize(
    "message",
    [
        "tenant 0190d5b4-7a5e-7c2b-9b3e-2f3c4d5e6f70 booked for 2026-03-01T10:30:00+00:00",
        "digest 5f4dcc3b5aa765d61d8327deb882cf99e3b0c44298fc1c149afbf4c8996fb924",
        "phone +447700900123 (wa_id 447700900123), amount 1234567 GBP, version 1.123456",
        "GET /graphql 200 in 12.5 ms",
        "The access token is invalid. Log in again.",
    ],
)
def test_ordinary_values_stay_readable(message: str) -> None:
    assert redact_text(message) == message


def test_extra_fields_named_like_secrets_lose_their_values() -> None:
    entry = _log_one(
        "bizzly.tests.extra",
        "signed in",
        extra={
            "password": "pw-in-extra",
            "access_token": "at-in-extra",
            "code": 918273,
            "headers": {"Authorization": "Bearer raw-bearer", "X-Request-ID": "r"},
            "note": "got password=pw-in-note",
            "status": 200,
            "email": "owner@example.com",
        },
    )
    dumped = json.dumps(entry)
    for secret in ("pw-in-extra", "at-in-extra", "918273", "raw-bearer", "pw-in-note"):
        assert secret not in dumped
    assert entry["status"] == 200
    assert entry["headers"] == {"Authorization": REDACTED, "X-Request-ID": "r"}
    assert entry["email"] == "owner@example.com"


def test_configure_logging_twice_keeps_one_handler() -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    level = root.level
    try:
        first = configure_logging("WARNING")
        second = configure_logging("INFO")
        assert first not in root.handlers
        assert second in root.handlers
        assert root.level == logging.INFO
        assert logging.getLogger("uvicorn.access").disabled
    finally:
        for handler in list(root.handlers):
            if handler not in before:
                root.removeHandler(handler)
        for handler in before:
            if handler not in root.handlers:
                root.addHandler(handler)
        root.setLevel(level)


async def test_a_crash_answers_500_with_the_request_id_and_logs_it_once_scrubbed(
    app: Starlette, http: httpx.AsyncClient, captured_logs: CapturedLogs
) -> None:
    async def crash(request: Request) -> None:
        raise RuntimeError("lost while checking password=hunter2hunter2")

    app.router.routes.append(Route("/test-crash", crash))

    response = await http.get("/test-crash", headers={"X-Request-ID": "crash-1"})

    assert response.status_code == 500
    assert response.headers["x-request-id"] == "crash-1"
    assert response.json()["errors"][0]["extensions"] == {
        "code": "INTERNAL_SERVER_ERROR",
        "requestId": "crash-1",
    }
    assert "hunter2" not in response.text
    assert "hunter2hunter2" not in captured_logs.text
    [line] = captured_logs.access("/test-crash")
    assert line["level"] == "ERROR"
    assert line["status"] == 500
    assert line["route"] == "/test-crash"
    assert "RuntimeError" in line["exception"]
    assert len([e for e in captured_logs.lines() if "exception" in e]) == 1


@pytest.mark.parametrize(
    "hostile",
    ["a-" * 8000, "a://" * 4000, '"a":"' * 3000, "x=" * 8000, "aB3-" * 4000, "code: " * 3000],
)
def test_scrubbing_hostile_text_stays_fast(hostile: str) -> None:
    # A request path is logged; one of 16 KiB built to make a regular expression backtrack must not
    # cost the server seconds (it once took 30 s).
    started = time.perf_counter()
    redact_text(hostile)
    assert time.perf_counter() - started < 1.0
