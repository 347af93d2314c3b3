"""Adapters' entry to the connection record. The record itself (models, repository, service) lives in
``domain.connections`` so that the API can read it without importing adapters; adapters import it from
here or from there alike."""

from domain.connections.models import ConnectionStatus, Provider, ProviderConnection, RoutingKey
from domain.connections.service import (
    Route,
    config_of,
    connection_routes,
    disconnect,
    get_connection,
    list_connections,
    live_connection,
    read_secrets,
    record_error,
    record_success,
    resolve_route,
    routes_available,
    save_connection,
    set_status,
    write_secrets,
)

__all__ = [
    "ConnectionStatus",
    "Provider",
    "ProviderConnection",
    "Route",
    "RoutingKey",
    "config_of",
    "connection_routes",
    "disconnect",
    "get_connection",
    "list_connections",
    "live_connection",
    "read_secrets",
    "record_error",
    "record_success",
    "resolve_route",
    "routes_available",
    "save_connection",
    "set_status",
    "write_secrets",
]
