"""The command registry: a handler registers with its usage; help is generated from the registry.

``@command("win", "win [--private] <text>")`` makes ``win`` a command. Its one-line help comes from
``bot/content/data/commands.yml`` (the bot's words live in data files), and a command without help
refuses to load.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.chat.turn import Turn
from bot.chat.views import privacy_line
from bot.content._data import load_yaml
from bot.content.chat_words import t
from bot.content.journey import builtin
from bot.model.interactions import Response
from bot.model.messages import Fields, Heading, Message, MessageBuilder, foot, para

Handler = Callable[[Turn, list[str], str], Response]


@dataclass(frozen=True)
class CommandSpec:
    name: str
    usage: str
    help: str
    admin: bool = False
    aliases: tuple[str, ...] = ()
    handler: Handler | None = field(default=None, compare=False, repr=False)


COMMANDS: dict[str, CommandSpec] = {}  # in the order they were registered: the order of `help`
ALIASES: dict[str, str] = {}


def command(name: str, usage: str, *, admin: bool = False,
            aliases: tuple[str, ...] = ()) -> Callable[[Handler], Handler]:
    helps: dict[str, str] = load_yaml("commands.yml")
    if name not in helps:
        raise LookupError(f"command {name!r} has no help line in bot/content/data/commands.yml")

    def deco(fn: Handler) -> Handler:
        COMMANDS[name] = CommandSpec(name, usage, helps[name], admin, aliases, fn)
        for alias in aliases:
            ALIASES[alias] = name
        return fn
    return deco


def tokenize(text: str) -> list[str]:
    text = text.strip()
    for prefix in ("/momentum", "momentum"):
        if text.lower().startswith(prefix + " ") or text.lower() == prefix:
            text = text[len(prefix):].strip()
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def is_command(text: str) -> bool:
    words = tokenize(text)
    return bool(words) and (words[0].lower() in COMMANDS or words[0].lower() in ALIASES)


def run(turn: Turn, text: str) -> Response:
    words = tokenize(text)
    if not words:
        return Response(reply=help_message(turn.is_admin))
    name = ALIASES.get(words[0].lower(), words[0].lower())
    spec = COMMANDS.get(name)
    if spec is None or spec.handler is None:
        intro = t("help.unknown", word=words[0][:30])
        return Response(reply=help_message(turn.is_admin, intro=intro))
    rest = text.strip()
    # everything after the command word, raw (for free text like wins and notes)
    idx = rest.lower().find(words[0].lower())
    raw = rest[idx + len(words[0]):].strip() if idx >= 0 else " ".join(words[1:])
    return spec.handler(turn, words[1:], raw)


def help_message(admin: bool, intro: str | None = None) -> Message:
    """`help`, generated from the registry: everyone's commands, then (for admins) the admin ones."""
    specs = list(COMMANDS.values())
    mb = MessageBuilder(kind="help")
    mb.add(Heading(t("help.heading")))
    mb.add(para(intro or t("help.intro")))
    mb.add(Fields(tuple((s.usage, s.help) for s in specs if not s.admin)))
    if admin:
        mb.add(para(t("help.admin")), Fields(tuple((s.usage, s.help) for s in specs if s.admin)))
    mb.add(foot(privacy_line(builtin("sponsorship"), "junior", t("help.partner"))))
    return mb.build(text=t("help.summary", names=", ".join(s.name for s in specs if admin or not s.admin)))
