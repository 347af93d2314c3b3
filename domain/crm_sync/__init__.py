"""CRM sync runs (HubSpot -> Bizzly): their checkpoints, counts, and how staff queue one."""
