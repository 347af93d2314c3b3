"""The schema: every context's Query and Mutation merged, with limits and error masking on."""

from __future__ import annotations

import logging
from typing import Any

import strawberry
from graphql import GraphQLError, NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from bizzly.settings import Settings
from graphql_api.accounts.mutations import AccountsMutation
from graphql_api.accounts.queries import AccountsQuery
from graphql_api.assistant import AssistantMutation, AssistantQuery, AssistantSettingsQuery
from graphql_api.audit import AuditQuery
from graphql_api.catalog.mutations import CatalogMutation
from graphql_api.catalog.queries import CatalogQuery
from graphql_api.connections.analytics import AnalyticsMutation
from graphql_api.connections.mutations import ConnectionsMutation
from graphql_api.connections.queries import ConnectionsQuery
from graphql_api.conversations.queries import ConversationsQuery
from graphql_api.customers.mutations import CustomersMutation
from graphql_api.customers.queries import CustomersQuery
from graphql_api.errors import is_expected, should_mask
from graphql_api.hubspot.mutations import HubSpotMutation
from graphql_api.hubspot.queries import HubSpotQuery
from graphql_api.hubspot.sync import HubSpotSyncMutation
from graphql_api.identity.queries import IdentityQuery
from graphql_api.leads.mutations import LeadsMutation
from graphql_api.leads.queries import LeadsQuery
from graphql_api.node import NodeQuery
from graphql_api.notifications.mutations import NotificationsMutation
from graphql_api.notifications.queries import NotificationsQuery
from graphql_api.privacy import PrivacyMutation
from graphql_api.scheduling.mutations import SchedulingMutation
from graphql_api.scheduling.queries import SchedulingQuery
from graphql_api.storable_text import StorableText
from graphql_api.subscriptions.mutations import SubscriptionsMutation
from graphql_api.subscriptions.queries import SubscriptionsQuery

log = logging.getLogger("bizzly.graphql")

QUERIES: tuple[type, ...] = (
    AccountsQuery,
    NodeQuery,
    CustomersQuery,
    IdentityQuery,
    AuditQuery,
    CatalogQuery,
    SchedulingQuery,
    SubscriptionsQuery,
    ConnectionsQuery,
    ConversationsQuery,
    HubSpotQuery,
    AssistantQuery,
    AssistantSettingsQuery,
    NotificationsQuery,
    LeadsQuery,
)
MUTATIONS: tuple[type, ...] = (
    AccountsMutation,
    CustomersMutation,
    CatalogMutation,
    SchedulingMutation,
    SubscriptionsMutation,
    ConnectionsMutation,
    AnalyticsMutation,
    HubSpotMutation,
    HubSpotSyncMutation,
    NotificationsMutation,
    LeadsMutation,
    PrivacyMutation,
    AssistantMutation,
)

Query = merge_types("Query", QUERIES)


Mutation = merge_types("Mutation", MUTATIONS) if MUTATIONS else None


class BizzlySchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Expected errors (auth, permission, bad input) are the client's business, not ours: no traceback.
        for error in errors:
            if not is_expected(error):
                log.error("unexpected error in %s", error.path, exc_info=error.original_error)


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    depth = settings.graphql_max_depth if settings else 10
    aliases = settings.graphql_max_aliases if settings else 15
    tokens = settings.graphql_max_tokens if settings else 2000
    # The limiters' rule classes are made once, here: each limiter instance makes new classes, and the
    # validation cache is keyed by them, so limiters built per request made every validation a miss.
    rules = [
        *QueryDepthLimiter(max_depth=depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=aliases).validation_rules,
        StorableText,
    ]
    if settings is not None and not settings.introspection_enabled:
        # BIZZLY_GRAPHQL_INTROSPECTION (off in production): __schema and __type are refused, __typename stays.
        rules.append(NoSchemaIntrospectionCustomRule)
    extensions: list[Any] = [
        lambda: AddValidationRules(rules),
        lambda: MaxTokensLimiter(max_token_count=tokens),
        lambda: MaskErrors(should_mask_error=should_mask),
        # After the token limiter, which sets the parse options the cache is keyed by.
        lambda: ParserCache(maxsize=512),
        lambda: ValidationCache(maxsize=512),
    ]
    return BizzlySchema(query=Query, mutation=Mutation, extensions=extensions)
