"""Availability and bookings."""
