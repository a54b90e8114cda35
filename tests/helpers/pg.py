"""A throwaway, migrated PostgreSQL schema (tests and benchmarks share it)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text

from storage.db import Database
from storage.migrate import upgrade


class Unreachable(RuntimeError):
    """PostgreSQL could not be reached to create the schema."""


def schema_url(base_url: str, schema: str) -> str:
    sep = "&" if "?" in base_url else "?"
    return f"{base_url}{sep}options=-csearch_path%3D{schema}"


@contextmanager
def migrated_schema(base_url: str, prefix: str) -> Iterator[str]:
    """Create a schema of its own in ``base_url``'s database, migrate it, yield its URL, drop it."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        admin.dispose()
        raise Unreachable(f"PostgreSQL at {base_url} is unreachable: {type(exc).__name__}: {exc}") from exc
    url = schema_url(base_url, schema)
    try:
        db = Database(url)
        upgrade(db.engine)
        db.dispose()
        yield url
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
