"""Bizzly kernel: settings, database, crypto, ports and the outbox writer.

``bizzly.app`` and ``bizzly.cli`` are the composition root and are imported by nobody.
"""
