"""Integrations: a tenant's provider connections (WhatsApp here; HubSpot and Google Analytics plug in)."""
