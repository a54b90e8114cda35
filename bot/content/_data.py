"""Loading the packaged YAML data files of ``bot.content`` (read once, cached)."""

from __future__ import annotations

from datetime import date
from functools import cache
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict


@cache
def load_yaml(name: str) -> Any:
    text = resources.files("bot.content").joinpath("data", name).read_text(encoding="utf-8")
    return yaml.safe_load(text)


class Words(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    today: str
    tomorrow: str
    on_day: str
    and_: str
    both_zones: str
    console_link: str
    console_not_configured: str


@cache
def words() -> Words:
    raw = dict(load_yaml("words.yml"))
    raw["and_"] = raw.pop("and")
    return Words.model_validate(raw)


WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def date_label(day: date) -> str:
    """English short date: "Thu 25 Dec"."""
    return f"{WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]}"
