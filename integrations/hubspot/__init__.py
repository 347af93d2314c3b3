"""HubSpot: connecting a portal (OAuth), its tokens, one rate-limited SDK client per portal, the fake-able
base URLs (``BIZZLY_HUBSPOT_*``).

- ``oauth``: the signed single-use state, the authorization URL (``HubSpotOAuth``, the ``OAuthStarter``
  port), code exchange, refresh, token info; ``oauth_routes``: ``GET /integrations/hubspot/callback``;
  ``connect``: finishing a connection.
- ``tokens``: fresh access tokens, refreshed once across processes (the connection row's lock);
  ``needs_reauth`` + one ``notifications.owner_alert`` outbox row when HubSpot refuses.
- ``budget``: each portal's shared request budget (rolling window in the database).
- ``client``: ``HubSpotPortals`` / ``HubSpotPortal.call`` -- what handlers use (see its docstring).
- ``checker``: ``testConnection`` (the ``ConnectionChecker`` port).

Webhooks route by portal id: ``domain.connections.service.resolve_route(db, provider="hubspot",
external_id=str(portalId))`` gives the tenant and connection (the portal is claimed on connect).
"""
