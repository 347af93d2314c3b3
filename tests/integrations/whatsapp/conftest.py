"""Fixtures for the WhatsApp suite: the fake Graph API, settings pointing at it, connected businesses."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from bizzly.db.engine import Database, MaintenanceUse
from bizzly.settings import Settings
from tests.conftest import make_settings
from tests.fakes.meta import MetaFake, running_meta_fake
from tests.fakes.model import ModelFake, running_model_fake
from tests.support.accounts import SignedUp, _services, sign_up, tenant_uuid
from tests.support.graphql import GraphQLClient

APP_SECRET = "platform-app-secret-" + "s" * 16
VERIFY_TOKEN = "platform-verify-token"
_ids = itertools.count(1000)


@pytest.fixture
async def meta() -> AsyncIterator[MetaFake]:
    async with running_meta_fake() as fake:
        yield fake


@pytest.fixture
async def model() -> AsyncIterator[ModelFake]:
    """The fake OpenAI-compatible model a tenant's assistant is pointed at (tests/fakes/model.py)."""
    async with running_model_fake() as fake:
        yield fake


def whatsapp_settings(database_settings: dict[str, str], meta: MetaFake, **overrides: Any) -> Settings:
    """Test settings with the platform's WhatsApp app pointed at the fake Graph API."""
    return make_settings(
        database_settings,
        whatsapp_graph_url=meta.url,
        whatsapp_app_secret=APP_SECRET,
        whatsapp_verify_token=VERIFY_TOKEN,
        **overrides,
    )


@pytest.fixture
def settings(database_settings: dict[str, str], meta: MetaFake) -> Settings:
    return whatsapp_settings(
        database_settings,
        meta,
        outbound_allowed_hosts="127.0.0.1",  # the fake model (a tenant's URL may not reach 127.0.0.1 else)
    )


@dataclass
class Business:
    owner: SignedUp
    tenant_id: uuid.UUID
    numbers: list[str]
    connections: list[dict[str, Any]]


def new_number_id() -> str:
    return str(1065400000 + next(_ids))


async def connect(
    gql: GraphQLClient,
    owner: SignedUp,
    meta: MetaFake,
    *,
    phone_number_id: str | None = None,
    token: str | None = None,
    app_secret: str | None = None,
    verify_token: str | None = None,
    otp_template_name: str | None = None,
    register: bool = True,
) -> dict[str, Any]:
    """connectWhatsApp; ``register`` first makes the number known to the fake (else Meta does not know it)."""
    pnid = phone_number_id or new_number_id()
    if register and pnid not in meta.numbers:
        meta.add_number(pnid, token=token or f"token-{pnid}", waba_id=f"9{pnid}")
    number = meta.numbers.get(pnid)
    result = await gql.op(
        "ConnectWhatsApp",
        {
            "input": {
                "phoneNumberId": pnid,
                "wabaId": number.waba_id if number else "123",
                "accessToken": token or (number.token if number else "token"),
                "appSecret": app_secret,
                "verifyToken": verify_token,
                "otpTemplateName": otp_template_name,
            }
        },
        token=owner.access_token,
    )
    return result.data["connectWhatsApp"]  # type: ignore[no-any-return]


async def business(gql: GraphQLClient, meta: MetaFake, slug: str, *, numbers: int = 1) -> Business:
    owner = await sign_up(gql, slug=slug)
    made = []
    pnids = []
    for _ in range(numbers):
        pnid = new_number_id()
        payload = await connect(gql, owner, meta, phone_number_id=pnid)
        assert payload["errors"] == [], payload["errors"]
        made.append(payload["connection"])
        pnids.append(pnid)
    return Business(owner, await tenant_uuid(gql, slug), pnids, made)


def database(gql: GraphQLClient) -> Database:
    db: Database = _services(gql).db
    return db


async def count(gql: GraphQLClient, model: Any, *where: Any) -> int:
    async with database(gql).maintenance_session(MaintenanceUse.TESTS, write=False) as s:
        return int((await s.execute(select(func.count()).select_from(model).where(*where))).scalar_one())


async def rows(gql: GraphQLClient, model: Any, *where: Any) -> list[Any]:
    async with database(gql).maintenance_session(MaintenanceUse.TESTS, write=False) as s:
        return list((await s.execute(select(model).where(*where))).scalars())
