"""A tenant's connections to providers (WhatsApp, HubSpot, Google Analytics) and the routing keys that
send a provider's webhooks to the right tenant (docs/design.md section 6)."""
