"""``Customer.subscriptions``: resolved here, batched across every customer of the request."""

from __future__ import annotations

import uuid

from graphql_api.context import Info
from graphql_api.subscriptions.loaders import customer_subscriptions_loader
from graphql_api.subscriptions.types import CustomerSubscription


async def customer_subscriptions(info: Info, customer_id: uuid.UUID) -> list[CustomerSubscription]:
    """Every subscription of the customer, newest first (the Customer is already visible to the caller)."""
    views = await customer_subscriptions_loader(info.context).load(customer_id)
    return [CustomerSubscription.from_view(v) for v in views]
