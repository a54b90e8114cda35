"""Sample messages of every kind, phase and program kind, for previews and renderer tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.chat.catalog import help_message
from bot.chat.views import import_form
from bot.content import prompts
from bot.content.journey import KINDS, builtin
from bot.content.kinds import PromptKind, checkin_strategy
from bot.content.prompts import Digest, History, PairState, PersonView, PromptContext
from bot.domain import trends
from bot.domain.analytics import Week
from bot.domain.reports import Report, StalledPair, render
from bot.model.messages import Form, Message

SAMPLE_NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
SAM = PersonView("Sam Rivera", "U0SPONSOR", "America/New_York", "US", "sam@example.com", "Sam")
AISHA = PersonView("Aisha Khan", "U0SPONSEE", "Europe/London", "GB", "aisha@example.com", "Aisha")
DIGEST = Digest(goals=("Lead the Q3 platform migration", "Present at the all-hands"),
                new_goals=("Lead the Q3 platform migration",),
                wins=("Shipped the onboarding revamp two weeks early",),
                new_wins=("Shipped the onboarding revamp two weeks early",), ask="Could you introduce me to Priya?",
                meetings_since=1, last_contact=datetime(2026, 3, 3, tzinfo=UTC),
                since=datetime(2026, 2, 24, tzinfo=UTC), trend=(3, 3, 4, 4))


def _ctx(kind: str, stage: str, week: int, role: str = "junior", program_kind: str = "sponsorship",
         pair: PairState | None = None, **extra: object) -> PromptContext:
    junior = role == "junior"
    base = dict(
        prompt_id=42, kind=kind, program_name="Pilot 2026", program_kind=program_kind, week=week, stage=stage,
        strategy=checkin_strategy(week), variant=week, role=role, me=AISHA if junior else SAM,
        partner=SAM if junior else AISHA, sponsor=SAM, sponsoree=AISHA, now=SAMPLE_NOW,
        journey=builtin(program_kind), pair=pair or PairState(rhythm=2, meetings=3, agreed=True,
                                                              agreement="A first team lead role"),
    )
    base.update(extra)
    return PromptContext(**base)  # type: ignore[arg-type]


def _kind_messages(pk: str) -> dict[str, Message]:
    j = builtin(pk)
    out: dict[str, Message] = {}
    out["kickoff"] = prompts.kickoff(_ctx(PromptKind.KICKOFF, j.phases[0].key, 0, program_kind=pk, pair=PairState()))
    out["followup"] = prompts.followup(_ctx(PromptKind.FOLLOWUP, j.phases[0].key, 1, program_kind=pk, pair=PairState()))
    for i, phase in enumerate(j.phases):
        w = 2 + 6 * i
        for offset in range(3):
            out[f"checkin-{phase.key}-{offset}"] = prompts.checkin(_ctx(PromptKind.CHECKIN, phase.key, w + offset,
                                                                        program_kind=pk))
        out[f"nudge-{phase.key}"] = prompts.nudge(_ctx(PromptKind.NUDGE, phase.key, w, "senior", program_kind=pk,
                                                       digest=DIGEST))
        out[f"nudge-{phase.key}-quiet"] = prompts.nudge(_ctx(PromptKind.NUDGE, phase.key, w + 2, "senior",
                                                             program_kind=pk,
                                                             digest=Digest(goals=DIGEST.goals, trend=(3,),
                                                                           since=DIGEST.since)))
    first = j.phases[0].key
    out["checkin-book"] = prompts.checkin(_ctx(PromptKind.CHECKIN, first, 2, program_kind=pk, pair=PairState()))
    out["checkin-quiet"] = prompts.checkin(_ctx(PromptKind.CHECKIN, first, 5, program_kind=pk,
                                                pair=PairState(rhythm=2, quiet_days=16)))
    out["checkin-restart"] = prompts.checkin(_ctx(PromptKind.CHECKIN, first, 6, program_kind=pk,
                                                  pair=PairState(rhythm=2, stalled_days=24, quiet_days=24)))
    out["checkin-offer"] = prompts.checkin(_ctx(PromptKind.CHECKIN, first, 8, program_kind=pk,
                                                pair=PairState(rhythm=2, stalled_days=36, quiet_days=36)))
    out["checkin-slowed"] = prompts.checkin(_ctx(PromptKind.CHECKIN, first, 6, program_kind=pk, slowed=True))
    out["checkin-holiday"] = prompts.checkin(_ctx(PromptKind.CHECKIN, first, 3, program_kind=pk,
                                                  now=datetime(2026, 7, 1, 9, tzinfo=UTC)))
    out["nudge-nothing-new"] = prompts.nudge(_ctx(PromptKind.NUDGE, first, 3, "senior", program_kind=pk,
                                                  digest=Digest(since=DIGEST.since)))
    out["nudge-stalled"] = prompts.nudge(_ctx(PromptKind.NUDGE, first, 6, "senior", program_kind=pk, digest=DIGEST,
                                              pair=PairState(stalled_days=24)))
    out["nudge-slowed"] = prompts.nudge(_ctx(PromptKind.NUDGE, first, 8, "senior", program_kind=pk, digest=DIGEST,
                                             slowed=True))
    meeting = (SAMPLE_NOW + timedelta(days=1)).isoformat()
    out["prep"] = prompts.prep(_ctx(PromptKind.PREP, j.phases[1].key if len(j.phases) > 1 else first, 8,
                                    program_kind=pk, payload={"meeting": meeting}))
    out["ask_goal"] = prompts.ask_goal(_ctx(PromptKind.ASK_GOAL, first, 4, program_kind=pk))
    hist = History(meetings=9, wins=3, actions=("I made the intro", "I mentioned the win", "I passed it on",
                                                "I asked", "I gave them a slot"),
                   done={"mentoring": ("learn-feedback", "win-congrats", "win-why", "ask-advice", "learn-draft"),
                         "reverse-mentoring": ("apply-credit", "win-thank", "win-try", "ask-try", "win-credit"),
                         }.get(pk, ("adv-intro", "win-mention", "win-forward", "ask-check", "adv-slot")))
    never = History(actions=("I sent two times",), done=("restart-times",))
    last = j.phases[-1].key
    for role, who in (("junior", "sponsoree"), ("senior", "sponsor")):
        out[f"review-mid-{who}"] = prompts.review(_ctx(PromptKind.REVIEW, last, 26, role, program_kind=pk,
                                                       payload={"review": "mid"}, history=hist))
        out[f"review-final-{who}"] = prompts.review(_ctx(PromptKind.REVIEW, last, 51, role, program_kind=pk,
                                                         payload={"review": "final"}, history=hist))
        out[f"wrapup-{who}"] = prompts.wrapup(_ctx(PromptKind.WRAPUP, last, 52, role, program_kind=pk, history=hist))
        out[f"wrapup-never-met-{who}"] = prompts.wrapup(_ctx(PromptKind.WRAPUP, first, 52, role, program_kind=pk,
                                                             history=never, pair=PairState()))
    ci = _ctx(PromptKind.CHECKIN, first, 7, program_kind=pk)
    out["checkin-answered-met"] = prompts.checkin_answered(ci, "met", None, False, False)
    out["checkin-answered-done"] = prompts.checkin_answered(ci, "met", 4, True, False)
    out["checkin-answered-not_yet"] = prompts.checkin_answered(ci, "not_yet", None, False, False)
    return out


def sample_messages(kinds: tuple[str, ...] = ("sponsorship",)) -> dict[str, Message]:
    """Every message the bot can send, keyed ``kind-variant`` (other program kinds prefixed)."""
    out: dict[str, Message] = {}
    for pk in kinds:
        prefix = "" if pk == "sponsorship" else f"{pk}-"
        out.update({prefix + k: v for k, v in _kind_messages(pk).items()})
    out["agenda"] = prompts.agenda_share(_ctx(PromptKind.AGENDA, "coach", 7, "senior", payload={
        "update": "Draft of the migration plan is out", "question": "Who else should review it?",
        "ask": "Could you introduce me to Priya?"}))
    out["shared_note"] = prompts.shared_note(_ctx(PromptKind.SHARED_NOTE, "coach", 7, "senior", payload={
        "what": "a check-in note", "text": "Great chat: I'll send the deck by Friday."}))
    out["stall_alert"] = prompts.admin_alert(_ctx(PromptKind.STALL_ALERT, "coach", 9, "senior", payload={"days": 36}))
    out["forward_alert"] = prompts.admin_alert(_ctx(PromptKind.FORWARD_ALERT, "coach", 52, "senior"))
    out["help"] = help_message(True)
    report = render(Report(program="Pilot 2026", active_pairs=20, paused_pairs=1, engaged_pairs=14,
                            checkins_sent=160, checkins_answered=118, momentum_recent=3.8,
                            momentum_before=3.4, stalled=[StalledPair(1, "Sam Rivera", "Lee Chen", 25,
                                                                      "Quiet for a while: nudge the sponsor.")],
                            dead={"account_inactive": 1}))
    weeks = [Week(date(2026, 1, 5) + timedelta(weeks=k), active_pairs=20, two_way_pairs=met, checkins_sent=20,
                  checkins_answered=answered, momentum=score)
             for k, (met, answered, score) in enumerate(zip((6, 9, 8, 12, 14, 13), (12, 14, 15, 13, 16, 17),
                                                            (3.2, 3.4, 3.5, 3.4, 3.8, 3.9), strict=True))]
    out["report"] = trends.with_charts(report, trends.trend_charts("Pilot 2026", weeks))
    return out


def all_kinds() -> dict[str, Message]:
    return sample_messages(KINDS)


def sample_forms() -> dict[str, Form]:
    ctx = _ctx(PromptKind.KICKOFF, "know", 0)
    return {
        "form-note": prompts.note_form(42, SAM.name),
        "form-prep": prompts.prep_form(42, SAM.name),
        "form-review": prompts.review_form(42, SAM.name),
        "form-wrapup": prompts.wrapup_form(42, SAM.name),
        "form-agreement": prompts.agreement_form(ctx),
        "form-goal": prompts.goal_form(_ctx(PromptKind.ASK_GOAL, "know", 4)),
        "form-import": import_form(),
    }
