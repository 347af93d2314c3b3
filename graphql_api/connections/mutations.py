"""connectWhatsApp, testConnection, disconnect. The provider is called (through the ``ConnectionChecker``
port) outside any database transaction; the write that follows re-checks what it relies on."""

from __future__ import annotations

import strawberry

from bizzly.errors import Conflict, DomainError, ErrorCode, Invalid
from bizzly.ports import CheckResult
from domain.connections import service as connections
from domain.connections.models import ConnectionStatus, Provider
from domain.connections.whatsapp import whatsapp_account
from domain.connections.wording import owner_error
from domain.privacy.audit import record
from graphql_api.catalog.common import actor_of
from graphql_api.connections.payloads import ConnectWhatsAppInput, IntegrationPayload
from graphql_api.connections.types import Integration
from graphql_api.context import Info
from graphql_api.errors import UserError, UserErrorCode, user_errors
from graphql_api.permissions import CanManageIntegrations
from graphql_api.relay import parse_id


def _unavailable(message: str, field: str | None = None) -> IntegrationPayload:
    return IntegrationPayload(
        errors=[UserError(field=field, message=message, code=UserErrorCode.UNAVAILABLE)]
    )


def _refused(result: CheckResult) -> IntegrationPayload:
    explained = owner_error(Provider.WHATSAPP, result.error)
    message = "Meta refused these details" + (f": {explained}" if explained else ".")
    code = UserErrorCode.INVALID if result.field else UserErrorCode.UNAVAILABLE
    return IntegrationPayload(errors=[UserError(field=result.field, message=message, code=code)])


@strawberry.type
class ConnectionsMutation:
    @strawberry.mutation(
        name="connectWhatsApp",
        permission_classes=[CanManageIntegrations],
        description="Connect a WhatsApp number. The number and token are checked with Meta and the "
        "account is subscribed to the app before anything is saved; reconnecting replaces the previous one.",
    )
    async def connect_whatsapp(self, info: Info, input: ConnectWhatsAppInput) -> IntegrationPayload:
        ctx = info.context
        checker = ctx.services.connection_checkers.get(Provider.WHATSAPP)
        try:
            account = whatsapp_account(
                phone_number_id=input.phone_number_id,
                waba_id=input.waba_id,
                access_token=input.access_token,
                app_secret=input.app_secret,
                verify_token=input.verify_token,
                otp_template_name=input.otp_template_name,
            )
            async with await ctx.session() as s:
                free = await connections.routes_available(
                    s, provider=Provider.WHATSAPP, external_ids=[account.phone_number_id]
                )
            if not free:
                raise Conflict("This number is already connected to another business.", field="phoneNumberId")
        except DomainError as exc:
            return IntegrationPayload(errors=user_errors(exc))
        if checker is None:
            return _unavailable("WhatsApp cannot be checked right now.")
        result = await checker.check(
            account.config, {k: v for k, v in account.secrets.items() if v}, setup=True
        )
        if not result.ok:
            return _refused(result)
        try:
            async with await ctx.session(write=True) as s, s.begin():
                row = await connections.save_connection(
                    s,
                    keys=ctx.services.keys,
                    provider=Provider.WHATSAPP,
                    display_name=result.display_name,
                    config={**account.config, "own_app": account.own_app},
                    secrets=account.secrets,
                    routes=[account.phone_number_id],
                    field="phoneNumberId",
                    single=False,
                )
                record(
                    s,
                    actor=await actor_of(s, ctx.caller),
                    action="integration.connected",
                    subject_type="Integration",
                    subject_id=row.id,
                    detail="whatsapp",
                )
        except DomainError as exc:
            return IntegrationPayload(errors=user_errors(exc))
        return IntegrationPayload(connection=Integration.from_model(row, public_url=ctx.settings.public_url))

    @strawberry.mutation(
        permission_classes=[CanManageIntegrations],
        description="Check a connection with its provider now; records the success or the error.",
    )
    async def test_connection(self, info: Info, id: strawberry.ID) -> IntegrationPayload:
        ctx = info.context
        try:
            connection_id = parse_id(id, "Integration", field="id")
            async with await ctx.session() as s:
                row = await connections.get_connection(s, connection_id=connection_id)
                config = connections.config_of(row)
                secrets = connections.read_secrets(ctx.services.keys, row)
            if row.status == ConnectionStatus.DISCONNECTED:
                raise Invalid("This connection is disconnected: connect again.", field="id")
        except DomainError as exc:
            return IntegrationPayload(errors=user_errors(exc))
        checker = ctx.services.connection_checkers.get(row.provider)
        if checker is None:
            return _unavailable("This provider cannot be tested yet.", field="id")
        result = await checker.check(config, secrets)
        try:
            async with await ctx.session(write=True) as s, s.begin():
                row = await connections.get_connection(s, connection_id=connection_id)
                if result.ok:
                    connections.record_success(row)
                    if row.status == ConnectionStatus.NEEDS_REAUTH:
                        connections.set_status(row, ConnectionStatus.CONNECTED)
                else:
                    status = ConnectionStatus.NEEDS_REAUTH if result.needs_reauth else ConnectionStatus.ERROR
                    connections.record_error(
                        row, result.error or "the provider refused the check", status=status
                    )
        except DomainError as exc:
            return IntegrationPayload(errors=user_errors(exc))
        return IntegrationPayload(connection=Integration.from_model(row, public_url=ctx.settings.public_url))

    @strawberry.mutation(
        permission_classes=[CanManageIntegrations],
        description="Disconnect: nothing is sent or received through it any more (its record is kept).",
    )
    async def disconnect(self, info: Info, id: strawberry.ID) -> IntegrationPayload:
        ctx = info.context
        try:
            connection_id = parse_id(id, "Integration", field="id")
            async with await ctx.session(write=True) as s, s.begin():
                row = await connections.disconnect(s, connection_id=connection_id)
                record(
                    s,
                    actor=await actor_of(s, ctx.caller),
                    action="integration.disconnected",
                    subject_type="Integration",
                    subject_id=row.id,
                    detail=row.provider,
                )
        except DomainError as exc:
            return IntegrationPayload(errors=user_errors(exc))
        return IntegrationPayload(connection=Integration.from_model(row, public_url=ctx.settings.public_url))


__all__ = ["ConnectionsMutation", "ErrorCode"]
