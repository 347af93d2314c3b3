"""Notifications: what to tell whom and when (booking notices, reminders, owner alerts), and the settings.

``OWNER_ALERT_TOPIC`` is the outbox topic other contexts write to alert the business owner (payload
``{"kind": "integration_error" | "new_lead" | "new_booking", ...}``: ``lead_id``, ``booking_id`` or
``connection_id``, and for ``integration_error`` the ``provider`` and a fixed ``message``; never personal
data).
"""

OWNER_ALERT_TOPIC = "notifications.owner_alert"
