"""Reviews and wrap-ups say what happened, from the record, in whole sentences to the reader (issue 17)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from adapters.console.journal import visible_text
from bot.app import Momentum
from bot.chat import preview
from bot.content import prompts
from bot.content.journey import KINDS, builtin
from bot.content.kinds import PromptKind
from bot.content.prompts import History, PairState
from bot.model.clock import FakeClock
from bot.model.interactions import InteractionKind as IK
from bot.model.messages import Buttons, Message
from tests.fakes import RecordingPlatform, act, command, person, setup_program

SAM = person("USAM", "Sam Rivera", "America/New_York", country="US")
AISHA = person("UAISHA", "Aisha Khan", "Europe/London", country="GB")
# "Sam: noted it, wrote it" is a list about the reader, not a sentence
FRAGMENT = re.compile(r"(^|\n|[.,] )(Sam|Aisha): ")


def _wrapup(role: str, history: History, kind: str = "sponsorship", pair: PairState | None = None) -> Message:
    return prompts.wrapup(preview._ctx(PromptKind.WRAPUP, builtin(kind).phases[-1].key, 52, role, program_kind=kind,
                                       history=history, pair=pair or PairState(meetings=history.meetings)))


def _buttons(m: Message) -> list[str]:
    return [b.action_id for blk in m.blocks if isinstance(blk, Buttons) for b in blk.buttons]


def test_the_wrapup_tells_each_reader_what_happened_in_their_own_person() -> None:
    h = History(meetings=23, wins=6,
                actions=("I passed it on", "I mentioned the win", "I shared it", "I gave them a slot"),
                done=("win-forward", "win-mention", "win-channel", "adv-slot"))
    to_sam = visible_text(_wrapup("senior", h))
    assert ("You and Aisha met 23 times in 52 weeks, and Aisha shared 6 wins. You passed on Aisha's wins 3 times "
            "and gave Aisha one chance to be seen by leaders.") in to_sam
    to_aisha = visible_text(_wrapup("junior", h))
    assert ("You and Sam met 23 times in 52 weeks, and you shared 6 wins. Sam passed on your wins 3 times "
            "and gave you one chance to be seen by leaders.") in to_aisha
    for text in (to_sam, to_aisha):
        assert not FRAGMENT.search(text) and "them a slot" not in text


def test_counts_read_as_words_and_the_rest_is_counted_not_dropped() -> None:
    h = History(meetings=1, wins=1, actions=("a",) * 5, done=("ask-act", "win-congrats", "adv-intro", "adv-meet", "x"))
    text = visible_text(_wrapup("senior", h))
    assert "You and Aisha met once in 52 weeks, and Aisha shared one win." in text
    # two kinds named (the most done first), then the rest counted: 2 + 1 + 2 = 5 actions, none invented
    assert "You made 2 introductions for Aisha, acted on one of Aisha's asks and took 2 other steps." in text


def test_an_action_of_unknown_kind_is_still_a_true_sentence() -> None:
    text = visible_text(_wrapup("junior", History(meetings=3, actions=("I did it", "I did it"))))
    assert "Sam logged 2 actions for you." in text


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("role", ["senior", "junior"])
def test_a_pair_that_never_met_is_told_so_kindly_with_one_next_step(kind: str, role: str) -> None:
    msg = _wrapup(role, History(meetings=0, wins=0), kind, PairState())
    text = visible_text(msg)
    partner = "Aisha" if role == "senior" else "Sam"
    assert f"You and {partner} did not meet during Pilot 2026." in text
    assert "nobody is blamed" in text
    assert not re.search(r"thank|work you .*put in|changed how a leader|sponsoring|mentoring \w+\.", text, re.I)
    assert _buttons(msg) == [prompts.Actions.WRAPUP_REFLECT], "one next step: reflect"
    assert msg.meta["met"] == 0


def test_a_junior_who_never_met_the_leader_is_never_told_they_changed_how_a_leader_sees() -> None:
    for meetings in (0, 4):
        text = visible_text(_wrapup("junior", History(meetings=meetings), "reverse-mentoring"))
        assert "changed how a leader sees" not in text
    words = " ".join(ln.text for lines in builtin("reverse-mentoring").words.values() for ln in lines)
    assert "changed how a leader sees" not in words


@pytest.mark.parametrize("kind", KINDS)
def test_a_pair_that_met_is_thanked_and_the_sponsoree_can_offer_to_help_next_time(kind: str) -> None:
    msg = _wrapup("junior", History(meetings=5, wins=2), kind)
    assert "Thank you" in visible_text(msg)
    assert prompts.Actions.WRAPUP_FORWARD in _buttons(msg)


def test_the_review_says_what_happened_so_far_in_sentences() -> None:
    h = History(meetings=4, wins=2, actions=("I acted on it", "I replied", "I coached"),
                done=("ask-act", "ask-reply", "coach-draft"))
    ctx = preview._ctx(PromptKind.REVIEW, "advocate", 26, "senior", payload={"review": "mid"}, history=h)
    text = visible_text(prompts.review(ctx))
    # the main kind of action only, and nothing invented: a review leaves the full count to the wrap-up
    assert "You have met 4 times so far. You acted on Aisha's asks 2 times.\n" in text
    assert not FRAGMENT.search(text)
    ctx = preview._ctx(PromptKind.REVIEW, "know", 26, "junior", payload={"review": "mid"}, history=History())
    assert "You and Sam have not met yet." in visible_text(prompts.review(ctx))


async def test_the_wrapup_quotes_the_sponsors_real_tap_to_both_of_them(
        lite: Momentum, fake: RecordingPlatform, clock: FakeClock) -> None:
    """Driven as people meet it: the sponsor taps a digest's action; the wrap-up says so, in the right person."""
    await setup_program(lite, [(SAM, AISHA)], extra="--weeks 6")
    await command(lite, AISHA, "log meeting")
    tapped = None
    for _ in range(6 * 7 * 4 + 8):
        lite.plan()
        await lite.deliver_due()
        digests = [s.message for s in fake.to("USAM") if s.message.kind == "nudge"
                   and prompts.Actions.NUDGE_DONE in _buttons(s.message)]
        if digests and tapped is None:
            tapped = digests[0]
            done = next(b for blk in tapped.blocks if isinstance(blk, Buttons) for b in blk.buttons
                        if b.action_id == prompts.Actions.NUDGE_DONE)
            await act(lite, SAM, IK.ACTION, action_id=done.action_id, value=done.value)
        clock.advance(timedelta(hours=6))
    assert tapped is not None
    key = str(tapped.meta["action"])
    j = builtin("sponsorship")
    slot = next(s for s in (f"story.did.{key}", f"story.did.{key.split('-')[0]}", "story.did.other") if j.has(s))
    phrase = j.lines(slot)[0].text
    to_sam = next(visible_text(s.message) for s in fake.to("USAM") if s.message.kind == "wrapup")
    to_aisha = next(visible_text(s.message) for s in fake.to("UAISHA") if s.message.kind == "wrapup")
    assert "You " + phrase.format(their="Aisha's", them="Aisha") + "." in to_sam, (key, to_sam)
    assert "Sam " + phrase.format(their="your", them="you") + "." in to_aisha, (key, to_aisha)
    assert "met once" in to_sam and "Thank you" in to_sam


# --- reverse-mentoring: the leader learns from what the expert showed, not from the expert's career goals ----

CAREER = "Move into a product lead role by next year"


@pytest.mark.parametrize("stage", ["know", "explore", "apply"])
def test_the_leaders_action_is_never_built_on_the_experts_career_goal(stage: str) -> None:
    from bot.content.prompts import Digest

    for week in range(2, 40):  # every line of every rotation the digest could pick
        ctx = preview._ctx(PromptKind.NUDGE, stage, week, "senior", program_kind="reverse-mentoring",
                           digest=Digest(goals=(CAREER,), new_goals=(CAREER,)))
        msg = prompts.nudge(ctx)
        action = msg.text  # the notification: "This week for Aisha: <action>"
        assert "product lead role" not in action, action
        assert not str(msg.meta["action"]).startswith("goal-"), msg.meta["action"]
        assert msg.meta["grounded"] is False
        assert "Next to explore" not in visible_text(msg)  # her goal is hers, not a lesson for the leader


def test_the_leaders_action_quotes_what_the_expert_suggested_or_shared() -> None:
    from bot.content.prompts import Digest

    ask = Digest(ask="Try answering one support ticket yourself", new_goals=(CAREER,))
    win = Digest(new_wins=("Our team moved the help desk to chat",), new_goals=(CAREER,))
    for digest, quoted in ((ask, "support ticket"), (win, "help desk")):
        ctx = preview._ctx(PromptKind.NUDGE, "explore", 8, "senior", program_kind="reverse-mentoring", digest=digest)
        msg = prompts.nudge(ctx)
        assert quoted in msg.text and msg.meta["grounded"] is True and CAREER not in msg.text


def test_sponsorship_still_builds_the_sponsors_action_on_the_sponsorees_goal() -> None:
    from bot.content.prompts import Digest

    ctx = preview._ctx(PromptKind.NUDGE, "advocate", 8, "senior", digest=Digest(new_goals=(CAREER,)))
    msg = prompts.nudge(ctx)
    assert "product lead role" in msg.text and str(msg.meta["action"]).startswith("goal-")
    assert builtin("sponsorship").digest_goals and not builtin("reverse-mentoring").digest_goals
