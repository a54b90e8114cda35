"""How Momentum addresses a person: by the name they go by, never a guessed first word.

"Li" is not Li Na Wang's name, and "Liu" is Liu Yang's family name. The platform's given (or preferred)
name is used when it tells us one (Slack's ``first_name``, Teams' ``givenName``); otherwise the full
name, as the person wrote it.
"""

from __future__ import annotations


def addressed(name: str | None, given: str | None = None) -> str:
    """The name to greet someone by: their given name when the platform gave one, else their full name."""
    given = (given or "").strip()
    return given or (name or "").strip()
