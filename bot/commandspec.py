"""The command language's table of contents: names, usage, one-line help.

One list feeds ``help``, Slack's slash-command usage hint and Teams' ``commandLists``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CommandSpec:
    name: str
    usage: str
    help: str
    admin: bool = False


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("help", "help", "What I can do"),
    CommandSpec("me", "me", "Your pair, next prompt and settings"),
    CommandSpec("checkin", "checkin", "Check in now, without waiting for the prompt"),
    CommandSpec("log", "log meeting|light|shared [note]", "Record contact with your partner"),
    CommandSpec("win", "win [--private] <text>", "Share a win with your sponsor"),
    CommandSpec("goal", "goal <text> | list | done <n>", "Goals your partner sees (and helps with)"),
    CommandSpec("meet", "meet <weekday> <HH:MM> [weekly|2w|monthly]", "Your pair's meeting rhythm (prep before each)"),
    CommandSpec("time", "time <weekday> <HH:MM>", "When I prompt you (your local time)"),
    CommandSpec("snooze", "snooze 1w", "Skip prompts for a while (1d..8w)"),
    CommandSpec("pause", "pause", "Pause your prompts until you resume"),
    CommandSpec("resume", "resume", "Start prompts again"),
    CommandSpec("stop", "stop", "Opt out of Momentum"),
    CommandSpec("my-data", "my-data", "Get a copy of everything I store about you"),
    CommandSpec("program", "program create <name> [kind] | list | show <name> | journey <name>",
                "Manage programs (journey: paste a journey file below)", True),
    CommandSpec("pair", "pair @sponsor @sponsoree [program]", "Pair two people", True),
    CommandSpec("unpair", "unpair @person", "End a pair and remove it", True),
    CommandSpec("pause-pair", "pause-pair @person [resume]", "Pause (or resume) a pair", True),
    CommandSpec("end-pair", "end-pair @person", "End a pair with a wrap-up", True),
    CommandSpec("import", "import", "Pair people from CSV (sponsor, sponsoree, program, unit)", True),
    CommandSpec("export", "export", "Pairs and activity as CSV (no private notes)", True),
    CommandSpec("report", "report [program]", "Program health", True),
    CommandSpec("audit", "audit [n]", "Who changed what", True),
    CommandSpec("console", "console", "A sign-in link to the web console (works once, 10 minutes)", True),
    CommandSpec("admin", "admin add|remove @person", "Grant or remove admin rights", True),
    CommandSpec("forget", "forget @person", "Erase a person's personal data", True),
)

COMMAND_NAMES = frozenset(c.name for c in COMMANDS)


def usage_hint() -> str:
    """Slack's slash-command usage hint (short)."""
    return "help | me | checkin | win <text> | log meeting | snooze 1w | pause | time tue 10:00"
