"""Sample messages of every kind and phase, for previews and renderer tests."""

from __future__ import annotations

from datetime import UTC, datetime

from bot import prompts
from bot.commands import help_message, import_form
from bot.journey import STAGES, Kind, checkin_strategy
from bot.messages import Form, Message
from bot.prompts import Digest, PersonView, PromptContext
from bot.reports import Report, StalledPair, render

SAMPLE_NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
SAM = PersonView("Sam Rivera", "U0SPONSOR", "America/New_York")
AISHA = PersonView("Aisha Khan", "U0SPONSEE", "Europe/London")


def _ctx(kind: str, stage: str, week: int, role: str = "junior", **extra: object) -> PromptContext:
    junior = role == "junior"
    base = dict(
        prompt_id=42, kind=kind, program_name="Pilot 2026", program_kind="sponsorship", week=week, stage=stage,
        strategy=checkin_strategy(week), variant=week, role=role, me=AISHA if junior else SAM,
        partner=SAM if junior else AISHA, sponsor=SAM, sponsoree=AISHA, now=SAMPLE_NOW,
    )
    base.update(extra)
    return PromptContext(**base)  # type: ignore[arg-type]


def sample_messages() -> dict[str, Message]:
    """Every message the bot can send, keyed ``kind-stage[-role]``."""
    weeks = {"know": 2, "coach": 7, "advocate": 15}
    out: dict[str, Message] = {}
    out["kickoff"] = prompts.kickoff(_ctx(Kind.KICKOFF, "know", 0))
    for stage in STAGES:
        w = weeks[stage]
        for offset in range(4):
            name = f"checkin-{stage}-s{checkin_strategy(w + offset)}"
            out[name] = prompts.checkin(_ctx(Kind.CHECKIN, stage, w + offset))
        out[f"checkin-{stage}-slowed"] = prompts.checkin(_ctx(Kind.CHECKIN, stage, w, slowed=True))
        out[f"nudge-{stage}"] = prompts.nudge(_ctx(Kind.NUDGE, stage, w, "senior", digest=Digest(
            goals=("Lead the Q3 platform migration", "Present at the all-hands"),
            wins=("Shipped the onboarding revamp two weeks early",),
            last_contact=datetime(2026, 3, 3, tzinfo=UTC), trend=(3, 3, 4, 4))))
        out[f"shared-{stage}-sponsoree"] = prompts.shared(_ctx(Kind.SHARED, stage, w))
        out[f"shared-{stage}-sponsor"] = prompts.shared(_ctx(Kind.SHARED, stage, w, "senior"))
    out["prep"] = prompts.prep(_ctx(Kind.PREP, "coach", 7))
    out["light_touch"] = prompts.light_touch(_ctx(Kind.LIGHT_TOUCH, "know", 4, payload={"days": 16}))
    out["holiday"] = prompts.holiday(_ctx(Kind.HOLIDAY, "coach", 8, payload={
        "holiday": "Independence Day", "date_label": "Sat 04 Jul"}))
    out["review"] = prompts.review(_ctx(Kind.REVIEW, "advocate", 13, payload={"quarter": 1}))
    out["wrapup-sponsoree"] = prompts.wrapup(_ctx(Kind.WRAPUP, "advocate", 52))
    out["wrapup-sponsor"] = prompts.wrapup(_ctx(Kind.WRAPUP, "advocate", 52, "senior"))
    out["agenda"] = prompts.agenda_share(_ctx(Kind.AGENDA, "coach", 7, "senior", payload={
        "update": "Draft of the migration plan is out", "question": "Who else should review it?",
        "ask": "Could you introduce me to Priya?"}))
    out["shared_note"] = prompts.shared_note(_ctx(Kind.SHARED_NOTE, "coach", 7, "senior", payload={
        "what": "a check-in note", "text": "Great chat: I'll send the deck by Friday."}))
    ci = _ctx(Kind.CHECKIN, "coach", 7)
    out["checkin-answered-met"] = prompts.checkin_answered(ci, "met", None, False, False)
    out["checkin-answered-done"] = prompts.checkin_answered(ci, "met", 4, True, False)
    out["checkin-answered-not_yet"] = prompts.checkin_answered(ci, "not_yet", None, False, False)
    out["help"] = help_message(True)
    out["report"] = render(Report(program="Pilot 2026", active_pairs=20, paused_pairs=1, engaged_pairs=14,
                                  checkins_sent=160, checkins_answered=118, momentum_recent=3.8,
                                  momentum_before=3.4, stalled=[StalledPair(1, "Sam Rivera", "Lee Chen", 25,
                                                                            "Quiet for a while: nudge the sponsor.")],
                                  dead={"account_inactive": 1}))
    return out


def sample_forms() -> dict[str, Form]:
    return {
        "form-note": prompts.note_form(42, SAM.name),
        "form-prep": prompts.prep_form(42, SAM.name),
        "form-review": prompts.review_form(42, SAM.name),
        "form-wrapup": prompts.wrapup_form(42, SAM.name),
        "form-import": import_form(),
    }
