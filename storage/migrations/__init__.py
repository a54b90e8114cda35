"""Alembic migration scripts for Momentum's schema."""
