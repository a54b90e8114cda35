"""Calendar hand-off: the three one-tap links parse back to the slot, and the .ics file is valid."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from icalendar import Calendar

from bot.content.calendar import calendar_links, ics_file
from bot.content.slots import Slot

SLOT = Slot(datetime(2026, 1, 13, 14, 30, tzinfo=UTC), datetime(2026, 1, 13, 15, tzinfo=UTC), True)
SUBJECT = "Sam & Priya: catch-up, 30 min"
BODY = "Agenda: one update, one question; one ask? 100% fine"


def query(url: str) -> dict[str, str]:
    parsed = parse_qs(urlsplit(url).query, keep_blank_values=True, strict_parsing=True)
    assert all(len(v) == 1 for v in parsed.values()), parsed
    return {k: v[0] for k, v in parsed.items()}


def test_teams_link() -> None:
    url = calendar_links(SLOT, SUBJECT, ["sam@x.com", "priya@y.com"], BODY)["teams"]
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "teams.microsoft.com", "/l/meeting/new")
    q = query(url)
    assert q["subject"] == SUBJECT and q["content"] == BODY
    assert datetime.fromisoformat(q["startTime"]) == SLOT.start
    assert datetime.fromisoformat(q["endTime"]) == SLOT.end
    assert q["attendees"] == "sam@x.com,priya@y.com"
    assert " " not in url and "&Priya" not in url and ";" not in url  # properly percent-encoded


def test_outlook_link() -> None:
    url = calendar_links(SLOT, SUBJECT, ["sam@x.com", "priya@y.com"], BODY)["outlook"]
    parts = urlsplit(url)
    assert (parts.netloc, parts.path) == ("outlook.office.com", "/calendar/0/deeplink/compose")
    q = query(url)
    assert q["path"] == "/calendar/action/compose" and q["rru"] == "addevent"
    assert q["subject"] == SUBJECT and q["body"] == BODY
    assert datetime.fromisoformat(q["startdt"]) == SLOT.start
    assert datetime.fromisoformat(q["enddt"]) == SLOT.end
    assert q["to"] == "sam@x.com,priya@y.com"


def test_google_link() -> None:
    url = calendar_links(SLOT, SUBJECT, ["sam@x.com", "priya@y.com"], BODY)["google"]
    parts = urlsplit(url)
    assert (parts.netloc, parts.path) == ("calendar.google.com", "/calendar/render")
    q = query(url)
    assert q["action"] == "TEMPLATE" and q["text"] == SUBJECT and q["details"] == BODY
    assert q["dates"] == "20260113T143000Z/20260113T150000Z"
    assert q["add"] == "sam@x.com,priya@y.com"


def test_unknown_attendees_are_dropped_and_no_empty_params() -> None:
    links = calendar_links(SLOT, "Catch-up", ["", None, "  ", "sam@x.com", "SAM@x.com"])
    assert query(links["teams"])["attendees"] == "sam@x.com"
    bare = calendar_links(SLOT, "Catch-up", [None, ""])
    assert set(query(bare["teams"])) == {"subject", "startTime", "endTime"}
    assert set(query(bare["outlook"])) == {"path", "rru", "subject", "startdt", "enddt"}
    assert set(query(bare["google"])) == {"action", "text", "dates"}


def test_links_use_utc_for_an_aware_non_utc_slot() -> None:
    from zoneinfo import ZoneInfo

    tokyo = ZoneInfo("Asia/Tokyo")
    slot = Slot(datetime(2026, 1, 14, 9, tzinfo=tokyo), datetime(2026, 1, 14, 9, 30, tzinfo=tokyo), True)
    links = calendar_links(slot, "x")
    assert query(links["google"])["dates"] == "20260114T000000Z/20260114T003000Z"
    assert query(links["teams"])["startTime"] == "2026-01-14T00:00:00+00:00"


def parse(data: bytes) -> Calendar:
    cal = Calendar.from_ical(data)
    assert isinstance(cal, Calendar)
    return cal


def test_ics_round_trip() -> None:
    data = ics_file(SLOT, SUBJECT, ["sam@x.com", "", "priya@y.com"], uid="pair-7-week-3@momentum",
                    description=BODY, organizer="sam@x.com")
    cal = parse(data)
    assert str(cal["PRODID"]) == "-//Momentum//EN" and str(cal["VERSION"]) == "2.0"
    assert "METHOD" not in cal  # attendees: a plain event, not a PUBLISH
    events = list(cal.walk("VEVENT"))
    assert len(events) == 1
    ev = events[0]
    assert ev.decoded("DTSTART") == SLOT.start and ev.decoded("DTEND") == SLOT.end
    assert b"DTSTART:20260113T143000Z" in data and b"DTEND:20260113T150000Z" in data
    assert str(ev["UID"]) == "pair-7-week-3@momentum"
    assert str(ev["SUMMARY"]) == SUBJECT and str(ev["DESCRIPTION"]) == BODY
    assert "DTSTAMP" in ev
    attendees = ev["ATTENDEE"]
    assert [str(a) for a in attendees] == ["mailto:sam@x.com", "mailto:priya@y.com"]
    assert str(ev["ORGANIZER"]) == "mailto:sam@x.com"


def test_ics_without_attendees_is_published_and_uid_is_stable() -> None:
    one = ics_file(SLOT, "Catch-up")
    cal = parse(one)
    assert str(cal["METHOD"]) == "PUBLISH"
    ev = next(iter(cal.walk("VEVENT")))
    assert "ATTENDEE" not in ev and "ORGANIZER" not in ev and "DESCRIPTION" not in ev
    assert one == ics_file(SLOT, "Catch-up")  # deterministic, same UID
    other = parse(ics_file(SLOT, "Another subject"))
    assert str(next(iter(other.walk("VEVENT")))["UID"]) != str(ev["UID"])


def test_ics_stamp() -> None:
    stamp = datetime(2026, 1, 10, 9, 15, tzinfo=UTC)
    ev = next(iter(parse(ics_file(SLOT, "x", stamp=stamp)).walk("VEVENT")))
    assert ev.decoded("DTSTAMP") == stamp
