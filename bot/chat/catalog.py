"""Every command, registered: importing this module loads the handlers (for help, manifests and routing)."""

from __future__ import annotations

from bot.chat import admin, commands
from bot.chat.registry import COMMANDS, CommandSpec, help_message
from bot.content.chat_words import t

__all__ = ["COMMANDS", "COMMAND_NAMES", "CommandSpec", "all_commands", "help_message", "usage_hint"]
_REGISTERED = (commands, admin)  # the modules whose decorators fill the registry

COMMAND_NAMES = frozenset(COMMANDS)


def all_commands() -> tuple[CommandSpec, ...]:
    return tuple(COMMANDS.values())


def usage_hint() -> str:
    """Slack's slash-command usage hint (short)."""
    return t("help.usage_hint")
