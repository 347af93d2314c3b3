"""The generic connection record: history on reconnect, one route owner, encrypted secrets, status rules."""

from __future__ import annotations

import pytest

from bizzly.crypto import KeyRing
from bizzly.errors import Conflict
from domain.connections import service
from domain.connections.models import ConnectionStatus
from tests.integrations.whatsapp.conftest import database
from tests.support.accounts import _services, sign_up, tenant_uuid
from tests.support.graphql import GraphQLClient


async def test_single_provider_reconnect_keeps_history_and_moves_the_route(gql: GraphQLClient) -> None:
    await sign_up(gql, slug="alpha")
    await sign_up(gql, slug="beta")
    alpha, beta = await tenant_uuid(gql, "alpha"), await tenant_uuid(gql, "beta")
    db = database(gql)
    keys: KeyRing = _services(gql).keys
    async with db.tenant_session(alpha) as s, s.begin():
        first = await service.save_connection(
            s,
            keys=keys,
            provider="hubspot",
            display_name="Portal 1",
            config={"portal": 1},
            secrets={"refresh_token": "r1"},
            routes=["portal-1"],
        )
    async with db.tenant_session(alpha) as s, s.begin():
        second = await service.save_connection(
            s,
            keys=keys,
            provider="hubspot",
            display_name="Portal 2",
            config={"portal": 2},
            secrets={"refresh_token": "refresh-token-two"},
            routes=["portal-2"],
        )
        assert (await service.live_connection(s, provider="hubspot")).id == second.id  # type: ignore[union-attr]
        old = await service.get_connection(s, connection_id=first.id)
        assert old.status == ConnectionStatus.DISCONNECTED
        assert service.read_secrets(keys, second) == {"refresh_token": "refresh-token-two"}
        # Ciphertext is base64: a short secret could appear in it by chance, a long one cannot.
        assert "refresh-token-two" not in (second.secrets or "")
    assert await service.resolve_route(db, provider="hubspot", external_id="portal-1") is None
    route = await service.resolve_route(db, provider="hubspot", external_id="portal-2")
    assert route is not None
    assert (route.tenant_id, route.connection_id) == (alpha, second.id)
    async with db.tenant_session(beta) as s, s.begin():
        with pytest.raises(Conflict) as refused:
            await service.save_connection(
                s,
                keys=keys,
                provider="hubspot",
                display_name="x",
                config={},
                secrets={},
                routes=["portal-2"],
                field="portalId",
            )
    assert refused.value.field == "portalId"


async def test_errors_and_successes_move_the_status(gql: GraphQLClient) -> None:
    await sign_up(gql, slug="alpha")
    alpha = await tenant_uuid(gql, "alpha")
    keys: KeyRing = _services(gql).keys
    async with database(gql).tenant_session(alpha) as s, s.begin():
        row = await service.save_connection(
            s, keys=keys, provider="google_analytics", display_name="G-1", config={}, secrets={}
        )
        service.record_error(row, "timeout", status=ConnectionStatus.ERROR)
        assert (row.status, row.last_error) == (ConnectionStatus.ERROR, "timeout")
        service.record_success(row)
        assert row.status == ConnectionStatus.CONNECTED
        service.record_error(row, "revoked", status=ConnectionStatus.NEEDS_REAUTH)
        service.record_success(row)
        assert row.status == ConnectionStatus.NEEDS_REAUTH  # only a reconnect or a passing test clears it
        await service.disconnect(s, connection_id=row.id)
        service.record_error(row, "late failure", status=ConnectionStatus.ERROR)
        assert row.status == ConnectionStatus.DISCONNECTED
