"""Conversations with customers on a messaging channel and their message log (DESIGN.md section 7)."""
