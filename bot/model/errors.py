"""Errors the conversation core shows to people (never stack traces)."""

from __future__ import annotations


class UserError(Exception):
    """Something the person can fix; the message is shown to them as is."""


class NotAdmin(UserError):
    """An admin command from someone who is not an admin. Nothing changes; the refusal is audited."""

    def __init__(self, command: str, message: str) -> None:
        super().__init__(message)
        self.command = command
