"""Messages and forms covering every block the core can send (until/beside ``bot.chat.preview``)."""

from __future__ import annotations

import importlib

from bot.model.messages import (
    Attachment,
    Button,
    Checkbox,
    Choice,
    Fields,
    Footnote,
    Form,
    Heading,
    Link,
    Mention,
    Message,
    Option,
    Paragraph,
    Text,
    TextInput,
    buttons,
    foot,
    para,
)


def representative_messages() -> dict[str, Message]:
    checkin = Message(
        text="How did this week go with Sam?",
        kind="checkin",
        blocks=(
            Heading("Week 3 - getting to know each other"),
            Paragraph(
                (
                    Text("How did this week go with "),
                    Mention("aad-sam", "Sam *Sponsor*"),
                    Text("?"),
                    Text(" Be honest", italic=True),
                    Text(" - it's private.", bold=True),
                )
            ),
            buttons(
                Button("checkin.status", "We met", "1:met", "primary"),
                Button("checkin.status", "Light touch", "1:light"),
                Button("checkin.status", "Not yet", "1:not_yet"),
            ),
            Choice("checkin.momentum", "Momentum", tuple(Option(str(n), f"1:{n}") for n in range(1, 6))),
            foot("Only you see your notes. ", Link("https://example.com/privacy", "Privacy")),
        ),
    )
    digest = Message(
        text="Your weekly digest for Ria",
        kind="nudge",
        blocks=(
            Heading("Ria this week"),
            Fields((("Last contact", "9 days ago"), ("Momentum", "3 -> 4"), ("Goal", "Lead a *launch*"))),
            para("Invite Ria to your next design review; one line on why."),
            buttons(
                Button("nudge.done", "Done", "7"),
                Button("nudge.snooze", "Snooze a week", "7"),
                Button("nudge.skip", "Not this week", "7", "danger"),
            ),
        ),
    )
    plain_only = Message(text="You're all set.", kind="ack")
    return {"checkin": checkin, "nudge": digest, "ack": plain_only}


def representative_forms() -> dict[str, Form]:
    note = Form(
        form_id="checkin.note",
        title="Add a note",
        submit_label="Save note",
        state="42",
        blocks=(
            para("What happened? Only you see this unless you share it."),
            TextInput("note", "Note", placeholder="One line is plenty", multiline=True, optional=False),
            Checkbox("shared", "Share with Sam", initial=False),
            Choice(
                "kind",
                "Kind of contact",
                (Option("Meeting", "meeting"), Option("Light touch", "light")),
                initial="meeting",
            ),
            Choice("when", "When", tuple(Option(f"Day {n}", str(n)) for n in range(1, 8)), optional=True),
            Fields((("Partner", "Sam"),)),
            Footnote((Text("Private by default."),)),
        ),
    )
    return {"note": note}


def sample_messages() -> dict[str, Message]:
    """The core's preview samples when ``bot.chat.preview`` exists, plus our representative set."""
    out = dict(representative_messages())
    try:
        preview = importlib.import_module("bot.chat.preview")
    except ModuleNotFoundError:
        return out
    samples = getattr(preview, "sample_messages", None)
    if samples is not None:
        out.update({f"core:{k}": v for k, v in samples().items()})
    return out


def sample_forms() -> dict[str, Form]:
    """The core's preview forms when ``bot.chat.preview`` exists, plus our representative form."""
    out = dict(representative_forms())
    try:
        preview = importlib.import_module("bot.chat.preview")
    except ModuleNotFoundError:
        return out
    forms = getattr(preview, "sample_forms", None)
    if forms is not None:
        out.update({f"core:{k}": v for k, v in forms().items()})
    return out


def sample_attachment(lines: int = 3) -> Attachment:
    rows = "\n".join(f"pair{n},sam@example.com,ria@example.com,Pilot,active" for n in range(lines))
    return Attachment(
        filename="export.csv", content="pair,sponsor,sponsoree,program,status\n" + rows, title="Pilot export"
    )
