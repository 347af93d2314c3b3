"""Leads: website contact forms (their own records, not customer accounts) and what Bizzly pushes to
HubSpot (leads and website customers, upserted by email in batches)."""
