"""The per-request context: who is calling, for which tenant, and a tenant-bound session factory."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from strawberry.types import Info as _Info

from bizzly.crypto import KeyRing
from bizzly.db.engine import Database
from bizzly.logs import bind_tenant
from bizzly.ports import ConnectionChecker, Mailer, OAuthStarter
from bizzly.settings import Settings
from domain.customers.service import customer_exists
from graphql_api.errors import ApiError, bad_input, not_found, unauthenticated
from graphql_api.loaders import Loaders
from tenants.auth import resolve_principal
from tenants.principal import ANONYMOUS, Principal
from tenants.tokens import AccessTokens, TokenError

TENANT_HEADER = "x-bizzly-tenant"


@dataclass(frozen=True)
class AppServices:
    """Long-lived objects the composition root builds once per event loop."""

    settings: Settings
    db: Database
    keys: KeyRing
    tokens: AccessTokens
    mailer: Mailer | None = None
    # Per provider ("whatsapp", "hubspot", ...): checks credentials on connect and testConnection.
    connection_checkers: Mapping[str, ConnectionChecker] = field(default_factory=dict)
    # Per provider ("hubspot"): starts an OAuth install (the authorization URL with a signed state).
    oauth_starters: Mapping[str, OAuthStarter] = field(default_factory=dict)


Caller = Principal


@dataclass
class Context:
    request: Request
    response: Response | None
    services: AppServices
    caller: Caller
    # Set when the request carried a bearer token that could not be used: every guarded field refuses.
    auth_error: ApiError | None = None
    # The tenant named by the X-Bizzly-Tenant header, resolved lazily (public calls).
    header_slug: str | None = None
    _header_tenant: uuid.UUID | None = None
    loaders: Loaders = field(default_factory=Loaders)

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def client_ip(self) -> str:
        return self.request.client.host if self.request.client else "unknown"

    async def tenant_id(self, *, slug: str | None = None) -> uuid.UUID:
        """The caller's tenant: from the token, else from the header (or a ``tenantSlug`` input)."""
        if self.caller.tenant_id is not None:
            if slug is not None or self.header_slug is not None:
                named = await self._resolve_slug(slug or self.header_slug or "")
                if named != self.caller.tenant_id:
                    raise bad_input("The tenant named in the request is not the one of your token.")
            return self.caller.tenant_id
        if slug is not None and self.header_slug is not None and slug.lower() != self.header_slug.lower():
            raise bad_input("The X-Bizzly-Tenant header and tenantSlug name different businesses.")
        wanted = slug or self.header_slug
        if not wanted:
            raise bad_input("Name the business with the X-Bizzly-Tenant header.")
        tenant_id = await self._resolve_slug(wanted)
        bind_tenant(tenant_id)  # the request's log lines now name the tenant
        return tenant_id

    async def _resolve_slug(self, slug: str) -> uuid.UUID:
        from tenants.repository import TenantDirectory

        if self._header_tenant is not None and slug == self.header_slug:
            return self._header_tenant
        async with self.services.db.public_session() as session:
            tenant_id = await TenantDirectory(session).id_for_slug(slug)
        if tenant_id is None:
            raise not_found(f"No business is called {slug!r}.")
        if slug == self.header_slug:
            self._header_tenant = tenant_id
        return tenant_id

    async def session(self, *, write: bool = False, slug: str | None = None) -> AsyncSession:
        """A new session bound to the caller's tenant. Use as ``async with await ctx.session():``."""
        return self.services.db.tenant_session(await self.tenant_id(slug=slug), write=write)


Info = _Info[Context, None]


async def authenticate(request: Request, services: AppServices) -> tuple[Caller, ApiError | None]:
    header = request.headers.get("authorization")
    if not header:
        return ANONYMOUS, None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return ANONYMOUS, unauthenticated("The Authorization header must be 'Bearer <token>'.")
    try:
        principal = await resolve_principal(
            services.db, services.tokens, token.strip(), customer_exists=customer_exists
        )
        return principal, None
    except TokenError as exc:
        return ANONYMOUS, unauthenticated(exc.message)
