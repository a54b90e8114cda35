"""Holidays: the celebratory days worth a greeting (curated allow-list) and people's public days off.

A greeting names a day as what the record knows it to be: a public holiday of the person's country
(``country_name``), never the person's faith; one greeting per holiday (``greetable`` keeps the first
day of a multi-day holiday and each display name once a year).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import cache, lru_cache

import holidays as holidays_lib
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.content._data import date_label, load_yaml, words

PUBLIC: tuple[str, ...] = ("public",)


@dataclass(frozen=True)
class Holiday:
    day: date
    name: str  # clean display name, never "(observed)", "(estimated)" etc.


class DayRule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    match: str = Field(min_length=1)
    name: str = Field(min_length=1)
    priority: int = Field(ge=0)


class CountryRules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    country: str = Field(min_length=1)  # as a sentence names it: "a public holiday in Kenya"
    categories: tuple[str, ...] = PUBLIC
    days: tuple[DayRule, ...]

    @field_validator("days")
    @classmethod
    def _unique_matches(cls, days: tuple[DayRule, ...]) -> tuple[DayRule, ...]:
        matches = [d.match for d in days]
        dupes = sorted({m for m in matches if matches.count(m) > 1})
        if dupes:
            raise ValueError(f"duplicate match entries: {dupes}")
        return days

    def by_match(self) -> dict[str, DayRule]:
        return {d.match: d for d in self.days}


class Catalogue(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    deny: tuple[str, ...]
    countries: dict[str, CountryRules]

    @field_validator("deny")
    @classmethod
    def _patterns_compile(cls, deny: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in deny:
            re.compile(pattern, re.IGNORECASE)
        return deny

    @field_validator("countries")
    @classmethod
    def _codes(cls, countries: dict[str, CountryRules]) -> dict[str, CountryRules]:
        bad = [c for c in countries if not re.fullmatch(r"[A-Z]{2}", c)]
        if bad:
            raise ValueError(f"country codes must be ISO alpha-2 in capitals: {bad}")
        return countries

    @model_validator(mode="after")
    def _allow_list_never_denied(self) -> Catalogue:
        deny = re.compile("|".join(f"(?:{p})" for p in self.deny), re.IGNORECASE)
        hits = [
            f"{code}: {rule.match} / {rule.name}"
            for code, rules in self.countries.items()
            for rule in rules.days
            if deny.search(rule.match) or deny.search(rule.name)
        ]
        if hits:
            raise ValueError(f"allow-list entries hit a deny pattern: {hits}")
        return self


@cache
def catalogue() -> Catalogue:
    return Catalogue.model_validate(load_yaml("holidays.yml"))


@cache
def _deny_re() -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in catalogue().deny), re.IGNORECASE)


def is_denied(name: str) -> bool:
    """True when a holiday name hits a deny pattern (solemn, mourning, fasting, remembrance)."""
    return bool(_deny_re().search(name))


def country_name(country: str | None) -> str | None:
    """The country's name as a sentence says it ("Kenya", "the Netherlands"); None without an allow-list."""
    code = _code(country)
    rules = catalogue().countries.get(code) if code else None
    return rules.country if rules else None


def countries() -> tuple[str, ...]:
    """The countries with a curated allow-list."""
    return tuple(sorted(catalogue().countries))


# --- names ---------------------------------------------------------------------------------

_QUALIFIER = re.compile(
    r"\s*\*?\s*\((?:[^()]*\b(?:observed|estimated|substitute|substituted)\b[^()]*)\)\s*$", re.IGNORECASE
)
_SUBSTITUTE = re.compile(r"\bobserved\b|\bsubstitut|^alternative holiday for\b", re.IGNORECASE)
_PREFIX = re.compile(r"^(?:alternative holiday for)\s+", re.IGNORECASE)
_HOLIDAY_SUFFIX = re.compile(r"^(?P<rest>(?:.*\bDay|Eid\b.*?))\s+Holiday$", re.IGNORECASE)


def _strip_qualifiers(raw: str) -> str:
    name = raw.strip()
    while True:
        stripped = _QUALIFIER.sub("", name).rstrip(" *")
        if stripped == name:
            return name
        name = stripped


def _is_substitute(raw: str) -> bool:
    """An observed / substitute / alternative day off, not the holiday's real day."""
    return bool(_SUBSTITUTE.search(raw))


def _base(raw: str) -> str:
    """The name as matched against the allow-list: only estimation marks removed."""
    return _strip_qualifiers(raw)


def _clean_one(raw: str) -> str:
    name = _PREFIX.sub("", _strip_qualifiers(raw))
    m = _HOLIDAY_SUFFIX.match(name)
    if m:
        name = m.group("rest")
    return " ".join(name.split())


def _join(names: Iterable[str]) -> str:
    out: list[str] = []
    for n in names:
        if n and n not in out:
            out.append(n)
    return words().and_.join(out)


def clean_name(raw: str) -> str:
    """A library holiday name as a person should read it.

    Strips "(observed)", "(estimated)", "* (estimated)", "(observed, estimated)", "(substitute day)",
    "(substituted from ...)", the "Alternative holiday for" prefix and a trailing "Holiday" after a
    "... Day" or "Eid ..." name; several names on one day ("A; B") become "A and B".
    """
    return _join(_clean_one(part) for part in raw.split(";"))


# --- the holidays library ------------------------------------------------------------------


def _code(country: str | None) -> str | None:
    code = (country or "").strip().upper()
    return code or None


@lru_cache(maxsize=2048)
def _lib(code: str, year: int, categories: tuple[str, ...] = PUBLIC) -> dict[date, tuple[str, ...]]:
    """{day: raw names} of a country's year in the given categories; {} for an unknown country."""
    try:
        probe = holidays_lib.country_holidays(code)
        language = "en_US" if "en_US" in (probe.supported_languages or ()) else None
        cats = tuple(c for c in categories if c in (probe.supported_categories or PUBLIC)) or PUBLIC
        found = holidays_lib.country_holidays(code, years=year, language=language, categories=cats)
    except (NotImplementedError, ValueError, KeyError):
        return {}
    return {d: tuple(found.get_list(d)) for d in sorted(found)}


# --- public API ----------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def _celebrations(code: str, year: int) -> tuple[tuple[int, Holiday], ...]:
    """(priority, Holiday) for every allow-listed day of the year, first day of each run only."""
    rules = catalogue().countries.get(code)
    if rules is None:
        return ()
    by_match = rules.by_match()
    found: list[tuple[int, Holiday]] = []
    last_seen: dict[str, date] = {}
    for day, names in _lib(code, year, rules.categories).items():
        for raw in names:
            if _is_substitute(raw):
                continue  # greet on the real day, never on the observed substitute
            rule = by_match.get(_base(raw))
            if rule is None or is_denied(raw) or is_denied(rule.name):
                continue
            previous = last_seen.get(rule.name)
            last_seen[rule.name] = day
            if previous is not None:
                continue  # a multi-day holiday, or one listed twice: one greeting, on its first day
            found.append((rule.priority, Holiday(day, rule.name)))
    # two allow-listed holidays on one day: one greeting, for the more important one
    best: dict[date, tuple[int, Holiday]] = {}
    for ph in found:
        if ph[1].day not in best or ph[0] < best[ph[1].day][0]:
            best[ph[1].day] = ph
    return tuple(ph for ph in found if best[ph[1].day] is ph)


def greetable(country: str | None, year: int, limit: int = 4) -> tuple[Holiday, ...]:
    """The (at most ``limit``) celebratory days of a country's year, chosen by priority, sorted by date."""
    code = _code(country)
    if code is None or limit <= 0:
        return ()
    ranked = sorted(_celebrations(code, year), key=lambda ph: (ph[0], ph[1].day))[:limit]
    return tuple(sorted((h for _, h in ranked), key=lambda h: h.day))


def is_public_holiday(country: str | None, day: date) -> bool:
    """True when ``day`` is any public holiday of the country (the person's day off)."""
    code = _code(country)
    return code is not None and day in _lib(code, day.year)


def day_off_label(country: str | None, day: date) -> str | None:
    """The clean name of the public holiday on ``day`` (allow-list display name when there is one)."""
    code = _code(country)
    if code is None:
        return None
    names = _lib(code, day.year).get(day)
    if not names:
        return None
    rules = catalogue().countries.get(code)
    by_match = rules.by_match() if rules else {}
    labels: list[str] = []
    for raw in names:
        rule = by_match.get(_strip_qualifiers(raw))
        labels.append(rule.name if rule else clean_name(raw))
    return _join(labels)


def when_label(holiday_day: date, today: date) -> str:
    """ "today", "tomorrow" or "on Thu 25 Dec"."""
    w = words()
    delta = (holiday_day - today).days
    if delta == 0:
        return w.today
    if delta == 1:
        return w.tomorrow
    return w.on_day.format(day=date_label(holiday_day))


catalogue()  # validate the data file at import
