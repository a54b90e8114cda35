"""Momentum's storage: SQLModel tables, engine/session setup, queries, migrations.

Must not import ``bot`` or ``adapters``: storage knows rows, not conversations.
"""
