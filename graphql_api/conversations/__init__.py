"""Conversations with customers (WhatsApp) and their messages, for the dashboard."""
