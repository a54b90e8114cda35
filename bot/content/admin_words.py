"""The words admins see around program trends (``data/admin.yml``): report charts and the weekly digest."""

from __future__ import annotations

from functools import cache

from pydantic import BaseModel, ConfigDict

from bot.content._data import load_yaml


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TrendWords(_Strict):
    rates_title: str
    engagement: str
    response: str
    momentum_title: str
    momentum: str
    name_a_program: str


class FigureWords(_Strict):
    active: str
    engagement: str
    response: str
    momentum: str


class DigestWords(_Strict):
    command_usage: str
    admins_only: str
    turned_on: str
    turned_off: str
    already_on: str
    already_off: str
    heading: str
    text: str
    figures: FigureWords
    changed_title: str
    changed_line: str
    nothing_changed: str
    stalled_title: str
    stalled_none: str
    stalled_line: str
    stalled_days: str
    stalled_never: str
    closed: str  # a program that has ended: one line of what happened, not live figures
    forward_line: str
    forward_none: str
    names_joiner: str
    footnote: str


class AdminWords(_Strict):
    trend: TrendWords
    digest: DigestWords


@cache
def admin_words() -> AdminWords:
    return AdminWords.model_validate(load_yaml("admin.yml"))
