"""Notifications: what to tell whom and when (booking notices, reminders, owner alerts), and the settings.

``OWNER_ALERT_TOPIC`` is the outbox topic other contexts write to alert the business owner (payload
``{"kind": "integration_error" | "new_lead" | "new_booking", ...ids}``: ids only, never personal data).
"""

OWNER_ALERT_TOPIC = "notifications.owner_alert"
