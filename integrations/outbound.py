"""The HTTP client for URLs a tenant chose (a model's base URL): it connects only to checked addresses.

Every new connection resolves its host and checks every address (``bizzly.egress.resolve``) right before
connecting, then connects to the address it checked, so a DNS answer that changes after the URL was saved
(rebinding) still reaches nothing inside. Redirects are not followed, proxies from the environment are not
used (a proxy would connect for us, unchecked), and in production only https is spoken.

We measured ``httpx-secure`` (0BSD, connect-time checks too) and did not take it: it picks an address by
opening a TCP connection first — to a refused address as well, so a tenant could still probe which
internal ports are open — and checks only the address it connected to, not every address of the name.
"""

from __future__ import annotations

from collections.abc import Iterable

import httpcore
import httpx

from bizzly.egress import EgressPolicy, resolve
from bizzly.errors import Invalid
from bizzly.settings import Settings


class DestinationRefused(httpx.TransportError):
    """The request would reach an address a tenant may not call (nothing was sent)."""

    def __init__(self, error: Invalid) -> None:
        super().__init__(error.message)
        self.error = error


class _CheckedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, policy: EgressPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await resolve(host, port, self._policy, field=None)
        except Invalid as exc:
            raise DestinationRefused(exc) from None
        # TLS still names the host (httpcore passes the URL's host as SNI), only the address is pinned.
        return await self._inner.connect_tcp(
            addresses[0], port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise DestinationRefused(Invalid("A local socket cannot be called."))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, policy: EgressPolicy) -> None:
        super().__init__(trust_env=False)
        self.policy = policy
        # httpx builds its pool itself; this one differs only by the network backend that checks addresses.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False), network_backend=_CheckedBackend(policy)
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.policy.https_only and request.url.scheme != "https":
            raise DestinationRefused(Invalid("Only https addresses can be called."))
        return await super().handle_async_request(request)


class GuardedClient(httpx.AsyncClient):
    """An ``httpx.AsyncClient`` for tenant-chosen URLs (one per event loop, like any client)."""

    def __init__(self, settings: Settings) -> None:
        self.policy = EgressPolicy.from_settings(settings)
        super().__init__(transport=GuardedTransport(self.policy), follow_redirects=False, trust_env=False)
