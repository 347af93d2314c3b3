"""Conversations with customers on a messaging channel and their message log (docs/design.md section 7)."""
