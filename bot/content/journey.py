"""Journeys as data: one YAML file per program kind (phases, roles, words), validated into typed models.

A journey file names its phases (with the evidence each needs to start), its roles, its reviews
and, for every slot a message draws on, the texts. Words shared by every kind (button labels,
replies, footers) live in ``journeys/_base.yml``; a kind's file (or a program's own file) is
merged over it. ``check_text`` validates a file and reports problems with line numbers.

Texts are picked by a rotation per person (``rotate``): a stable permutation of the slot's texts
walked by an ordinal, so the same text never comes twice within a full turn of the list.
"""

from __future__ import annotations

import difflib
import heapq
import random
import re
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.content.chat_words import t

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

# The placeholders a text may use: the names every composer passes (``prompts._names``) and, per
# slot, what that slot's composer passes besides (the keyword arguments of its ``w``/``ws``/``fill``
# call in ``bot.content.prompts`` and ``reply_text`` in ``bot.chat.buttons``; tests/test_journey.py
# reads those calls and holds this table to them). Anything else would reach people as "{typo}".
NAMES = frozenset({"me", "partner", "sponsor", "sponsoree", "program", "weeks", "partner_country"})
_ALERT = frozenset({"days", "since", "checkins", "answered", "digests", "sponsor_full", "sponsoree_full"})
EXTRAS: dict[str, frozenset[str]] = {
    "checkin.holiday": frozenset({"holiday", "when"}),
    "prep.opener": frozenset({"when"}),
    "strategy.quiet": frozenset({"days"}),
    "digest.action.ask": frozenset({"ask"}),
    "digest.action.win": frozenset({"win"}),
    "digest.action.goal": frozenset({"goal"}),
    "digest.new.goal": frozenset({"goal"}),
    "digest.new.ask": frozenset({"ask"}),
    "digest.new.win": frozenset({"win"}),
    "digest.new.meetings": frozenset({"n"}),
    "digest.new.quiet": frozenset({"days", "since"}),
    "digest.new.nothing": frozenset({"since"}),
    "digest.new.silent": frozenset({"days", "since"}),
    "digest.new.holiday": frozenset({"holiday", "when"}),
    "digest.momentum": frozenset({"word"}),
    "review.agreement": frozenset({"agreement"}),
    "wrapup.recap.senior": frozenset({"met", "wins"}),
    "wrapup.recap.junior": frozenset({"met", "wins"}),
    "review.so_far": frozenset({"met"}),
    "story.actions.senior": frozenset({"list"}),
    "story.actions.junior": frozenset({"list"}),
    "story.more": frozenset({"n"}),
    "count.times": frozenset({"n"}),
    "count.wins": frozenset({"n"}),
    "stall.admin": _ALERT,
    "payforward.admin": _ALERT,
    "rematch.admin": _ALERT | {"asker"},
    "reply.agenda_shared_later": frozenset({"until"}),
    "reply.done": frozenset({"done"}),
    "reply.booked": frozenset({"me"}),
    "reply.agreement": frozenset({"rhythm"}),
}
# A logged action's words, by its key or its key's family ("story.did.win-forward", "story.did.win"): any
# kind may word its own actions (``prompts.what_was_done`` fills the count and how the reader is named).
DID = "story.did."
DID_EXTRAS = frozenset({"n", "their", "them"})
PLACEHOLDER = re.compile(r"\{(\w+)\}")  # as ``prompts.fill`` reads them

# Checking is bounded: a file at most this big, nested at most this deep, and the first problems shown.
MAX_CHARS = 1_000_000
MAX_DEPTH = 12
MAX_PROBLEMS = 50


def allowed_placeholders(slot: str) -> frozenset[str]:
    if slot.startswith(DID):
        return NAMES | DID_EXTRAS
    return NAMES | EXTRAS.get(slot, frozenset())


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
                out[slot] = items  # not a list: pydantic says so, at its place
                continue
            lines = []
            for i, item in enumerate(items):
                if isinstance(item, str | Mapping):
                    line = {"text": item} if isinstance(item, str) else dict(item)
                    line.setdefault("key", f"{slot}#{i}")
                    lines.append(line)
                else:
                    lines.append(item)  # neither text nor a mapping: pydantic says so, at its place
            out[slot] = lines
        return out

    @model_validator(mode="after")
    def _complete(self, info: ValidationInfo) -> Journey:
        gaps = self.gaps()
        if gaps and isinstance(info.context, dict) and isinstance(info.context.get("gaps"), list):
            info.context["gaps"].extend(gaps)  # check_text places each at its line
        elif gaps:
            raise ValueError("; ".join(msg for _slot, msg in gaps))
        return self

    def gaps(self) -> list[tuple[str, str]]:
        """What the file lacks, as (slot or "", problem): slots without enough texts, repeated keys."""
        problems: list[tuple[str, str]] = []
        keys = [p.key for p in self.phases]
        if len(set(keys)) != len(keys):
            problems.append(("", t("journey.phase_keys")))
        for slot, least in REQUIRED.items():
            n = len(self.words.get(slot, ()))
            if n < least:
                problems.append((slot, t("journey.needs", slot=slot, least=least, has=n)))
        for base, least in PHASE_SLOTS.items():
            for i, ph in enumerate(self.phases):
                need = 12 if (base == "digest.action" and i == len(self.phases) - 1
                              and self.kind == "sponsorship") else least
                slot = f"{base}.{ph.key}"
                n = len(self.words.get(slot, ()))
                if n < need:
                    problems.append((slot, t("journey.needs", slot=slot, least=need, has=n)))
        for slot, lines in self.words.items():
            seen = [ln.key for ln in lines]
            if len(set(seen)) != len(seen):
                problems.append((slot, t("journey.keys_unique", slot=slot)))
            if slot.startswith("digest.action") and any(not ln.done for ln in lines):
                problems.append((slot, t("journey.needs_done", slot=slot)))
        return problems

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


# libyaml's loader when PyYAML was built with it (about ten times faster than the pure-Python one).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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


class _Problems:
    """Problems found in a file, each at its line: kept up to ``MAX_PROBLEMS`` (the earliest lines),
    counted beyond. Adding one is O(1) and finding lines never rescans the file (linear in its size)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.found: list[tuple[int, int, str | Callable[[], str]]] = []  # (line, order, problem)

    def add(self, line: int | None, problem: str | Callable[[], str]) -> None:
        """A problem at ``line``; a callable (a did-you-mean, dear to compute) is called only if shown."""
        self.found.append((line or 0, len(self.found), problem))

    def __bool__(self) -> bool:
        return bool(self.found)

    def error(self) -> JourneyError:
        first = heapq.nsmallest(MAX_PROBLEMS, self.found, key=lambda f: f[:2])  # O(n log 50), no full sort
        lines = []
        for line, _order, p in first:
            problem = p if isinstance(p, str) else p()
            lines.append(t("journey.at", file=self.name, line=line, problem=problem) if line
                         else t("journey.whole", file=self.name, problem=problem))
        if len(self.found) > MAX_PROBLEMS:
            lines.append(t("journey.more", count=f"{len(self.found) - MAX_PROBLEMS:,}"))
        return JourneyError("\n".join(lines))


class _Index:
    """The file's YAML nodes by their path, each mapping indexed once, on first use (so placing
    every problem is linear in the file, however many problems there are)."""

    def __init__(self, root: yaml.Node | None) -> None:
        self.root = root
        self._maps: dict[int, dict[str, yaml.Node]] = {}

    def child(self, node: yaml.Node | None, part: Any) -> yaml.Node | None:
        if isinstance(node, yaml.MappingNode):
            index = self._maps.get(id(node))
            if index is None:
                index = self._maps[id(node)] = {}
                for k, v in node.value:
                    index[str(getattr(k, "value", ""))] = v  # the last wins, as when constructed
            return index.get(str(part))
        if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            return node.value[part]
        return None

    def line(self, loc: tuple[Any, ...]) -> int | None:
        """The 1-based line of the node at ``loc`` (a pydantic error location), or the nearest parent's."""
        node = self.root
        line = node.start_mark.line + 1 if node is not None else None
        for part in loc:
            nxt = self.child(node, part)
            if nxt is None:
                break
            node, line = nxt, nxt.start_mark.line + 1
        return line


def _suggest(word: str, choices: Any) -> str | None:
    found = difflib.get_close_matches(word, list(choices), n=1)
    return found[0] if found else None


def _decode(text: str | bytes, name: str) -> str:
    if isinstance(text, str):
        return text
    try:
        return text.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise JourneyError(t("journey.not_utf8", file=name, byte=exc.start + 1)) from None


def _depth_guard(text: str, name: str) -> None:
    """Refuse nesting deeper than ``MAX_DEPTH`` from the event stream (flat: no recursion), before
    anything builds a tree of it."""
    depth = 0
    loader = _LOADER(text)
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    raise JourneyError(t("journey.too_deep", file=name, line=mark.line + 1 if mark else 1,
                                         depth=MAX_DEPTH))
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    finally:
        loader.dispose()


def _compose(text: str, name: str) -> tuple[yaml.Node | None, Any]:
    """The file's node tree (for lines) and its data, from one parse."""
    try:
        _depth_guard(text, name)
        loader = _LOADER(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        if "nesting depth" in str(getattr(exc, "problem", "")):  # libyaml's own limit, met while scanning ahead
            raise JourneyError(t("journey.too_deep", file=name, line=mark.line + 1 if mark else 1,
                                 depth=MAX_DEPTH)) from None
        where = t("journey.not_yaml_line", line=mark.line + 1) if mark is not None else ""
        raise JourneyError(t("journey.not_yaml", file=name, where=where,
                             problem=str(getattr(exc, "problem", None) or exc))) from None
    return node, data


def _texts(items: yaml.Node) -> Iterator[tuple[yaml.ScalarNode, bool]]:
    """Each text of a slot (and each ``done`` label, flagged True), as its scalar node."""
    for item in items.value if isinstance(items, yaml.SequenceNode) else [items]:
        if isinstance(item, yaml.ScalarNode):
            yield item, False
        elif isinstance(item, yaml.MappingNode):
            for k, v in item.value:
                if isinstance(v, yaml.ScalarNode) and getattr(k, "value", None) in ("text", "done"):
                    yield v, k.value == "done"


def _placeholder_problem(slot: str, name: str, ok: frozenset[str]) -> Callable[[], str]:
    def problem() -> str:
        best = _suggest(name, ok)
        if best:
            return t("journey.unknown_placeholder", slot=slot, name=name, suggestion=best)
        return t("journey.unknown_placeholder_no_match", slot=slot, name=name,
                 allowed=", ".join(f"{{{a}}}" for a in sorted(ok)))
    return problem


def _lint(index: _Index, data: dict[str, Any], problems: _Problems) -> set[str]:
    """What pydantic cannot know: the kind, the slots and the placeholders, each at its line.
    Returns the slots that a misspelled slot stands for (their "missing" problem is not repeated)."""
    kind = data.get("kind")
    if isinstance(kind, str) and kind not in KINDS:
        best = _suggest(kind, KINDS)
        kinds = ", ".join(KINDS)
        problems.add(index.line(("kind",)), t("journey.unknown_kind", kind=kind, suggestion=best, kinds=kinds)
                     if best else t("journey.unknown_kind_no_match", kind=kind, kinds=kinds))
    phases = data.get("phases")
    keys = [p["key"] for p in phases if isinstance(p, Mapping) and isinstance(p.get("key"), str)] \
        if isinstance(phases, list) else []
    known = set(_base().get("words", {})) | set(REQUIRED) | {f"{b}.{k}" for b in PHASE_SLOTS for k in keys}
    words_node = index.child(index.root, "words")
    meant: set[str] = set()
    tried = 0
    if not isinstance(words_node, yaml.MappingNode):
        return meant
    for key_node, items in words_node.value:
        slot = str(getattr(key_node, "value", ""))
        line = key_node.start_mark.line + 1
        if slot not in known and not slot.startswith(DID):
            # did-you-mean is dear (difflib): worked out for the first slots only, the ones shown
            tried += 1
            best = _suggest(slot, known) if tried <= MAX_PROBLEMS else None
            if best:
                meant.add(best)
            show = kind if isinstance(kind, str) and kind in KINDS else KINDS[0]
            problems.add(line, t("journey.unknown_slot", slot=slot, suggestion=best) if best
                         else t("journey.unknown_slot_no_match", slot=slot, kind=show))
            continue
        allowed = allowed_placeholders(slot)
        for scalar, is_done in _texts(items):
            if not isinstance(scalar.value, str):
                continue
            ok = NAMES if is_done else allowed
            for m in PLACEHOLDER.finditer(scalar.value):
                name = m.group(1)
                if name in ok:
                    continue
                problems.add(scalar.start_mark.line + 1, _placeholder_problem(slot, name, ok))
    return meant


def check_text(text: str | bytes, name: str = "journey") -> Journey:
    """Validate a journey file (text, or bytes that must be UTF-8); ``JourneyError`` lists the first
    problems, each at its line, then how many more. Bounded: a file over ``MAX_CHARS`` or nested over
    ``MAX_DEPTH`` is refused in one sentence, and the work is linear in the file's size."""
    text = _decode(text, name)
    if len(text) > MAX_CHARS:
        raise JourneyError(t("journey.too_big", file=name, limit=MAX_CHARS // 1000))
    node, data = _compose(text, name)
    if not isinstance(data, dict):
        raise JourneyError(t("journey.not_mapping", file=name))
    index = _Index(node)
    problems = _Problems(name)
    meant = _lint(index, data, problems)
    gaps: list[tuple[str, str]] = []
    journey: Journey | None = None
    try:
        journey = Journey.model_validate(merge(data), context={"gaps": gaps})
    except ValidationError as exc:
        for err in exc.errors(include_url=False, include_context=False, include_input=False):
            loc = tuple(err["loc"])
            path = ".".join(str(p) for p in loc) or "(file)"
            msg = str(err["msg"]).removeprefix("Value error, ")
            problems.add(index.line(loc), f"{path}: {msg}")
    words_at = index.line(("words",))
    for slot, msg in gaps:
        if slot in meant:
            continue  # said already: "unknown slot ..., did you mean <slot>?"
        here = index.child(index.child(index.root, "words"), slot) if slot else index.child(index.root, "phases")
        problems.add(here.start_mark.line + 1 if here is not None else words_at, msg)
    if problems or journey is None:
        raise problems.error()
    return journey


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
