"""Answers that need no unit of work: ``help`` (and its aliases, and a command word we do not know),
for someone we know. The answer depends only on the registry and on whether they are an admin, so an
edge can give it straight away (Slack: in the acknowledgement itself) with nothing written: no inbox
row, no transaction; asking again changes nothing, so nothing can be lost or done twice.

Anyone we do not know yet, anyone erased, or an interaction bringing a new address goes the usual way
(``entry.handle``): their first contact is stored there.
"""

from __future__ import annotations

from functools import lru_cache

from bot.chat.registry import ALIASES, COMMANDS, help_message, tokenize
from bot.content.chat_words import t
from bot.model.interactions import Interaction, InteractionKind, Response
from bot.model.messages import Message

HELP = "help"


def help_intro(ia: Interaction) -> tuple[bool, str | None]:
    """(True, intro) when the interaction is a slash command answered by ``help``: no words, ``help``
    or one of its aliases (intro None), or a command word we do not know (intro: "I don't know ...").
    (False, None) otherwise."""
    if ia.kind != InteractionKind.COMMAND or ia.address is not None:
        return False, None
    words = tokenize(ia.text)
    if not words:
        return True, None
    name = ALIASES.get(words[0].lower(), words[0].lower())
    if name == HELP:
        return True, None
    if name in COMMANDS:
        return False, None
    return True, t("help.unknown", word=words[0][:30])


def answer(admin: bool, intro: str | None) -> Response:
    return Response(reply=_help(admin, intro, len(COMMANDS)))


@lru_cache(maxsize=64)
def _help(admin: bool, intro: str | None, _commands: int) -> Message:
    # keyed by the registry's size too: a command registered later (tests) is never missing from help
    return help_message(admin, intro=intro)
