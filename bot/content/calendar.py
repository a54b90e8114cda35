"""Calendar hand-off: one-tap Teams / Outlook / Google links and an .ics file for a proposed slot."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import quote

from icalendar import Calendar, Event, vCalAddress, vText

from bot.content.slots import Slot

PRODID = "-//Momentum//EN"
TEAMS = "https://teams.microsoft.com/l/meeting/new"
OUTLOOK = "https://outlook.office.com/calendar/0/deeplink/compose"
GOOGLE = "https://calendar.google.com/calendar/render"


def _emails(attendees: Sequence[str | None]) -> list[str]:
    """Known emails only, trimmed, each once, in the given order."""
    out: list[str] = []
    for email in attendees:
        e = (email or "").strip()
        if e and e.lower() not in (o.lower() for o in out):
            out.append(e)
    return out


def _iso(dt: datetime) -> str:
    """ISO 8601 in UTC with an explicit offset, as in Microsoft's deep-link examples."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _compact(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


LIST_PARAMS = frozenset({"attendees", "to", "add"})  # comma-separated emails: keep "," and "@" readable


def _url(base: str, params: list[tuple[str, str]]) -> str:
    """``base?k=v&...`` with every value percent-encoded (UTF-8); only email lists keep "," and "@"."""
    query = "&".join(
        f"{quote(k, safe='')}={quote(v, safe='@,' if k in LIST_PARAMS else '/' if k == 'dates' else '')}"
        for k, v in params
    )
    return f"{base}?{query}"


def calendar_links(slot: Slot, subject: str, attendees: Sequence[str | None] = (), body: str = "") -> dict[str, str]:
    """One-tap links that open a pre-filled new meeting: keys "teams", "outlook", "google".

    Teams:   https://teams.microsoft.com/l/meeting/new?subject=&startTime=&endTime=&content=&attendees=a,b
    Outlook: https://outlook.office.com/calendar/0/deeplink/compose?path=/calendar/action/compose&rru=addevent
             &subject=&startdt=&enddt=&body=&to=a,b
    Google:  https://calendar.google.com/calendar/render?action=TEMPLATE&text=&dates=START/END&details=&add=a,b
    Empty attendees are dropped; no attendee parameter (nor body parameter) when there is none.
    """
    emails = ",".join(_emails(attendees))
    teams = [("subject", subject), ("startTime", _iso(slot.start)), ("endTime", _iso(slot.end))]
    outlook = [("path", "/calendar/action/compose"), ("rru", "addevent"), ("subject", subject),
               ("startdt", _iso(slot.start)), ("enddt", _iso(slot.end))]
    google = [("action", "TEMPLATE"), ("text", subject), ("dates", f"{_compact(slot.start)}/{_compact(slot.end)}")]
    if body:
        teams.append(("content", body))
        outlook.append(("body", body))
        google.append(("details", body))
    if emails:
        teams.append(("attendees", emails))
        outlook.append(("to", emails))
        google.append(("add", emails))
    return {"teams": _url(TEAMS, teams), "outlook": _url(OUTLOOK, outlook), "google": _url(GOOGLE, google)}


def _uid(slot: Slot, subject: str, emails: list[str]) -> str:
    seed = "|".join([_compact(slot.start), _compact(slot.end), subject, *sorted(e.lower() for e in emails)])
    return f"{hashlib.sha256(seed.encode()).hexdigest()[:32]}@momentum"


def ics_file(
    slot: Slot,
    subject: str,
    attendees: Sequence[str | None] = (),
    uid: str = "",
    description: str = "",
    organizer: str | None = None,
    *,
    stamp: datetime | None = None,
) -> bytes:
    """A VCALENDAR with one VEVENT (times in UTC), for "add to calendar" in any client.

    METHOD:PUBLISH only when there are no attendees (RFC 5546 does not allow ATTENDEE in PUBLISH);
    with attendees the file carries no METHOD, so clients import it as a plain event rather than an
    invitation from someone.  UID: ``uid`` when given, else derived from the slot, subject and emails
    (stable).  DTSTAMP: ``stamp`` when given, else the slot's start (no clock here).
    """
    emails = _emails(attendees)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if not emails:
        cal.add("method", "PUBLISH")
    event = Event()
    event.add("uid", uid or _uid(slot, subject, emails))
    event.add("dtstamp", (stamp or slot.start).astimezone(UTC))
    event.add("dtstart", slot.start.astimezone(UTC))
    event.add("dtend", slot.end.astimezone(UTC))
    event.add("summary", subject)
    if description:
        event.add("description", description)
    if organizer and organizer.strip():
        event.add("organizer", vCalAddress(f"mailto:{organizer.strip()}"))
    for email in emails:
        attendee = vCalAddress(f"mailto:{email}")
        attendee.params["ROLE"] = vText("REQ-PARTICIPANT")
        attendee.params["PARTSTAT"] = vText("NEEDS-ACTION")
        attendee.params["RSVP"] = vText("TRUE")
        event.add("attendee", attendee, encode=False)
    cal.add_component(event)
    return cal.to_ical()
