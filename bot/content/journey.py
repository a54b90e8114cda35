"""Journeys as data: one YAML file per program kind (phases, roles, words), validated into typed models.

A journey file names its phases (with the evidence each needs to start), its roles, its reviews
and, for every slot a message draws on, the texts. Words shared by every kind (button labels,
replies, footers) live in ``journeys/_base.yml``; a kind's file (or a program's own file) is
merged over it. ``check_text`` validates a file and reports problems with line numbers.

Texts are picked by a rotation per person (``rotate``): a stable permutation of the slot's texts
walked by an ordinal, so the same text never comes twice within a full turn of the list.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

KINDS = ("sponsorship", "mentoring", "reverse-mentoring")
Seat = Literal["senior", "junior"]

# Slots every journey must fill, with the least number of texts (recurring slots need variety).
REQUIRED: dict[str, int] = {
    "kickoff.welcome": 1, "kickoff.agenda": 1, "kickoff.why": 1, "kickoff.followup": 1,
    "checkin.opener": 8, "checkin.restart": 2, "checkin.light": 8, "checkin.holiday": 2, "checkin.book": 2,
    "prep.opener": 8, "digest.heading": 8, "digest.action.ask": 3, "digest.action.goal": 3,
    "digest.action.win": 3, "digest.action.nothing_new": 2, "digest.action.restart": 2,
    "review.mid": 1, "review.final": 1, "wrapup.junior": 1, "wrapup.senior": 1,
}
# Per phase: the sponsoree's weekly tip and the sponsor's one action.
PHASE_SLOTS: dict[str, int] = {"checkin.tip": 8, "digest.action": 8}


class Line(BaseModel):
    """One text. ``key`` names it for rotation and measurement; ``done`` is the label of the button
    that says it was done ("I made the intro"); ``strategy`` is the momentum strategy it carries."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str = Field(min_length=1, max_length=400)
    key: str = ""
    done: str = Field(default="", max_length=40)
    strategy: int = Field(default=0, ge=0, le=4)


class Entry(BaseModel):
    """When a phase may start: not before ``after`` (share of the program's length), and once the
    pair shows the evidence; ``latest`` (share) starts it anyway, unless the pair is stalled."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    after: float = Field(default=0.0, ge=0, le=1)
    meetings: int = Field(default=0, ge=0)
    agreement: bool = False
    checkins: int = Field(default=0, ge=0)
    latest: float | None = Field(default=None, ge=0, le=1)


class Phase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    enter: Entry = Entry()


class Roles(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    senior: str  # pair.sponsor_id plays this role
    junior: str  # pair.sponsoree_id plays this role


class Journey(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str
    title: str
    default_weeks: int = Field(ge=4, le=104)
    roles: Roles
    phases: tuple[Phase, ...] = Field(min_length=1)
    reviews: tuple[float, ...] = (0.5,)  # shares of the program's length (the final review is the wrap-up week - 1)
    # whether the senior's digest action may be built on the junior's goals (reverse-mentoring: no; the
    # leader learns from what the expert showed or suggested, never from the junior's career goals)
    digest_goals: bool = True
    words: dict[str, tuple[Line, ...]]

    @field_validator("words", mode="before")
    @classmethod
    def _lines(cls, v: Any) -> Any:
        if not isinstance(v, Mapping):
            return v
        out: dict[str, Any] = {}
        for slot, items in v.items():
            if isinstance(items, str):
                items = [items]
            if not isinstance(items, list):
                raise ValueError(f"{slot}: expected a list of texts")
            lines = []
            for i, item in enumerate(items):
                line = {"text": item} if isinstance(item, str) else dict(item)
                line.setdefault("key", f"{slot}#{i}")
                lines.append(line)
            out[slot] = lines
        return out

    @model_validator(mode="after")
    def _complete(self) -> Journey:
        problems: list[str] = []
        keys = [p.key for p in self.phases]
        if len(set(keys)) != len(keys):
            problems.append("phase keys must be unique")
        for slot, least in REQUIRED.items():
            n = len(self.words.get(slot, ()))
            if n < least:
                problems.append(f"words.{slot}: needs at least {least} text(s), has {n}")
        for base, least in PHASE_SLOTS.items():
            for i, ph in enumerate(self.phases):
                need = 12 if (base == "digest.action" and i == len(self.phases) - 1
                              and self.kind == "sponsorship") else least
                n = len(self.words.get(f"{base}.{ph.key}", ()))
                if n < need:
                    problems.append(f"words.{base}.{ph.key}: needs at least {need} texts, has {n}")
        for slot, lines in self.words.items():
            seen = [ln.key for ln in lines]
            if len(set(seen)) != len(seen):
                problems.append(f"words.{slot}: keys must be unique")
            if slot.startswith("digest.action") and any(not ln.done for ln in lines):
                problems.append(f"words.{slot}: every sponsor action needs a 'done' button label")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # --- lookups ------------------------------------------------------------------------------

    def role(self, seat: str) -> str:
        return self.roles.senior if seat == "senior" else self.roles.junior

    def phase(self, key: str) -> Phase:
        return next((p for p in self.phases if p.key == key), self.phases[0])

    def lines(self, slot: str) -> tuple[Line, ...]:
        found = self.words.get(slot)
        if not found:
            raise KeyError(f"journey {self.kind!r} has no words for {slot!r}")
        return found

    def text(self, slot: str) -> str:
        return self.lines(slot)[0].text

    def has(self, slot: str) -> bool:
        return bool(self.words.get(slot))


@dataclass(frozen=True)
class Evidence:
    """What a pair has done, for phase entry."""

    meetings: int = 0
    agreed: bool = False
    checkins: int = 0
    stalled: bool = False


def phase_for(j: Journey, week: int, length: int, ev: Evidence) -> str:
    """The pair's phase in ``week``: the last phase whose entry is met (in order; none skipped)."""
    current = j.phases[0].key
    for ph in j.phases[1:]:
        e = ph.enter
        if week < int(e.after * length):
            break
        # the kickoff agreement is optional: a pair that never fills it in still moves on by meeting
        # (one meeting more than the phase asks stands in for it)
        agreed = ev.agreed or not e.agreement or ev.meetings > e.meetings
        evidence = ev.meetings >= e.meetings and agreed and ev.checkins >= e.checkins
        by_time = e.latest is not None and week >= int(e.latest * length) and not ev.stalled
        if not (evidence or by_time):
            break
        current = ph.key
    return current


def rotate(lines: tuple[Line, ...], person: int | str, slot: str, ordinal: int) -> Line:
    """The ``ordinal``-th pick of ``slot`` for ``person``: a fixed shuffle of the texts per person and
    slot, walked cyclically. Within any ``len(lines)`` consecutive ordinals no text repeats, and two
    picks ``k`` ordinals apart differ unless ``k`` is a multiple of ``len(lines)``."""
    n = len(lines)
    if n == 1:
        return lines[0]
    order = list(range(n))
    random.Random(zlib.crc32(f"{person}:{slot}".encode())).shuffle(order)
    return lines[order[max(0, ordinal) % n]]


# --- loading -----------------------------------------------------------------------------------

class JourneyError(ValueError):
    """A journey file is invalid; the message lists each problem (with line numbers when known)."""


def _resource(name: str) -> str:
    return resources.files("bot.content").joinpath("journeys", name).read_text(encoding="utf-8")


@cache
def _base() -> dict[str, Any]:
    data = yaml.safe_load(_resource("_base.yml"))
    assert isinstance(data, dict)
    return data


def merge(data: Mapping[str, Any]) -> dict[str, Any]:
    """A kind's (or a program's) file over the shared base words."""
    out = dict(data)
    out["words"] = {**_base().get("words", {}), **(data.get("words") or {})}
    return out


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the YAML node at ``loc`` (a pydantic error location), or the nearest parent's."""
    line: int | None = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if getattr(k, "value", None) == str(part)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            nxt = node.value[part]
        else:
            nxt = None
        if nxt is None:
            break
        node, line = nxt, nxt.start_mark.line + 1
    return line


def check_text(text: str, name: str = "journey") -> Journey:
    """Validate a journey file's text; ``JourneyError`` lists every problem with its line."""
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"line {mark.line + 1}: " if mark is not None else ""
        raise JourneyError(f"{name}: {at}not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    if not isinstance(data, dict):
        raise JourneyError(f"{name}: line 1: expected a mapping with kind, title, phases and words")
    try:
        return Journey.model_validate(merge(data))
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            where = _line_of(node, loc)
            path = ".".join(str(p) for p in loc) or "(file)"
            msg = str(err["msg"]).removeprefix("Value error, ")
            lines.append(f"{name}: " + (f"line {where}: " if where else "") + f"{path}: {msg}")
        raise JourneyError("\n".join(lines)) from None


@cache
def builtin(kind: str) -> Journey:
    if kind not in KINDS:
        kind = "sponsorship"
    return check_text(_resource(f"{kind}.yml"), f"{kind}.yml")


@cache
def _custom(text: str) -> Journey:
    return check_text(text)


def journey_for(kind: str, custom: str | None = None) -> Journey:
    """A program's journey: its own file when it has one, else its kind's."""
    if custom:
        try:
            return _custom(custom)
        except JourneyError:
            pass  # validated when attached; a file made invalid by a new release falls back
    return builtin(kind)


def validate_all() -> list[Journey]:
    """Load every packaged journey (start-up check and tests)."""
    return [builtin(k) for k in KINDS]
