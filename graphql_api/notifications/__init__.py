"""Notification settings and the delivery log."""
