"""Core settings from environment variables (pydantic-settings), validated at start-up.

Platform settings (Slack, Teams) live with their adapters; this module holds what
the core itself needs.  ``load_settings`` turns validation failures into one
``ConfigError`` whose message names each variable and what it expects.
"""

from __future__ import annotations

import re
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
EMAIL = re.compile(r"^[^@\s,;<>\"']+@[^@\s,;<>\"']+\.[^@\s,;<>\"'.]+$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ConfigError(ValueError):
    """Settings are missing or malformed; the message names the variable(s)."""


def pasted_cleanly(value: str) -> str:
    """``value`` as pasted into the environment, refused when it carries what a copy brings along: quotes
    around it, or a space or line break at either end (the value is then not the one the platform issued,
    and fails on every request). The message never repeats the value: it may be a secret."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        raise ValueError("has quotes around it; remove them (the environment needs no quotes)")
    if value != value.strip():
        raise ValueError("has a space or line break at the start or end; remove it")
    return value


def check_guid(value: str, what: str) -> str:
    """``value`` when it is a GUID (11111111-2222-3333-4444-555555555555); otherwise a ValueError naming it."""
    pasted_cleanly(value)
    if not GUID.match(value):
        raise ValueError(f"expected {what}: a GUID like 11111111-2222-3333-4444-555555555555")
    return value


def parse_hhmm(value: str) -> time:
    m = _HHMM.match(value.strip())
    if not m:
        raise ValueError(f"expected a 24-hour time like 09:30, got {value!r}")
    return time(int(m.group(1)), int(m.group(2)))


def parse_quiet_hours(value: str) -> tuple[time, time]:
    parts = value.split("-")
    if len(parts) != 2:
        raise ValueError(f"expected a range like 20:00-08:00, got {value!r}")
    return parse_hhmm(parts[0]), parse_hhmm(parts[1])


def parse_weekdays(value: str) -> frozenset[int]:
    """``mon-fri`` or ``mon,tue,thu`` -> {0, 1, 3}."""
    out: set[int] = set()
    for chunk in value.lower().replace(" ", "").split(","):
        if not chunk:
            continue
        if "-" in chunk:
            a, _, z = chunk.partition("-")
            if a[:3] not in WEEKDAYS or z[:3] not in WEEKDAYS:
                raise ValueError(f"unknown weekday in {value!r}; use mon..sun")
            lo, hi = WEEKDAYS.index(a[:3]), WEEKDAYS.index(z[:3])
            out.update(range(lo, hi + 1) if lo <= hi else [*range(lo, 7), *range(0, hi + 1)])
        else:
            if chunk[:3] not in WEEKDAYS:
                raise ValueError(f"unknown weekday {chunk!r}; use mon..sun")
            out.add(WEEKDAYS.index(chunk[:3]))
    if not out:
        raise ValueError("at least one working day is needed")
    return frozenset(out)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", populate_by_name=True)

    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    secret_key: SecretStr | None = Field(default=None, validation_alias="MOMENTUM_SECRET_KEY")
    admins: str = Field(default="", validation_alias="MOMENTUM_ADMINS")
    quiet_hours: str = Field(default="20:00-08:00", validation_alias="MOMENTUM_QUIET_HOURS")
    working_days: str = Field(default="mon-fri", validation_alias="MOMENTUM_WORKING_DAYS")
    default_tz: str = Field(default="UTC", validation_alias="MOMENTUM_DEFAULT_TZ")
    stale_days: int = Field(default=14, ge=1, le=365, validation_alias="MOMENTUM_STALE_DAYS")
    port: int = Field(default=3000, ge=1, le=65535, validation_alias="PORT")
    host: str = Field(default="0.0.0.0", validation_alias="HOST")
    log_level: str = Field(default="INFO", validation_alias="LOG_LEVEL")
    plan_interval_s: int = Field(default=900, ge=5, validation_alias="MOMENTUM_PLAN_INTERVAL")
    deliver_interval_s: float = Field(default=5.0, gt=0, validation_alias="MOMENTUM_DELIVER_INTERVAL")
    worker_batch: int = Field(default=100, ge=1, le=5000, validation_alias="MOMENTUM_WORKER_BATCH")
    worker_concurrency: int = Field(default=16, ge=1, le=500, validation_alias="MOMENTUM_WORKER_CONCURRENCY")
    lease_s: int = Field(default=120, ge=5, validation_alias="MOMENTUM_LEASE_SECONDS")
    max_attempts: int = Field(default=8, ge=1, le=50, validation_alias="MOMENTUM_MAX_ATTEMPTS")
    # PostgreSQL only (SQLite waits for its lock off the event loop, up to its busy timeout); 0 = no limit.
    db_connect_timeout_s: int = Field(default=5, ge=1, le=120, validation_alias="MOMENTUM_DB_CONNECT_TIMEOUT")
    db_statement_timeout_ms: int = Field(default=15_000, ge=0, le=3_600_000,
                                         validation_alias="MOMENTUM_DB_STATEMENT_TIMEOUT_MS")
    db_lock_timeout_ms: int = Field(default=5_000, ge=0, le=3_600_000, validation_alias="MOMENTUM_DB_LOCK_TIMEOUT_MS")
    # the web console: where sign-in links point, and the smallest group a breakdown shows
    public_url: str = Field(default="", validation_alias="MOMENTUM_PUBLIC_URL")
    min_group: int = Field(default=5, ge=3, le=10, validation_alias="MOMENTUM_MIN_GROUP")
    # Read by the Teams adapter; checked here too, so that every command refuses an app id that can never
    # authenticate (one that is not a GUID), not only the one that mounts Teams.
    microsoft_app_id: str = Field(default="", validation_alias="MICROSOFT_APP_ID")

    @field_validator("admins")
    @classmethod
    def _admins(cls, v: str) -> str:
        bad = [e.strip() for e in v.split(",") if e.strip() and not EMAIL.match(e.strip())]
        if bad:
            shown = ", ".join(repr(b[:60]) for b in bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
            raise ValueError(f"expected comma-separated emails (ada@example.com,grace@example.com); not an email: "
                             f"{shown}")
        return v

    @field_validator("microsoft_app_id")
    @classmethod
    def _app_id(cls, v: str) -> str:
        return check_guid(v, "the bot's Microsoft App ID (Azure Bot > Configuration)") if v else v

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, v: str) -> str:
        parse_quiet_hours(v)
        return v

    @field_validator("working_days")
    @classmethod
    def _days(cls, v: str) -> str:
        parse_weekdays(v)
        return v

    @field_validator("default_tz")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {v!r} (e.g. Europe/Berlin)") from exc
        return v

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, v: str) -> str:
        v = v.strip().rstrip("/")
        if v and not re.match(r"^https?://[^/\s]+(/\S*)?$", v):
            raise ValueError("expected the server's public base URL, e.g. https://momentum.example.com")
        return v

    @field_validator("log_level")
    @classmethod
    def _level(cls, v: str) -> str:
        if v.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("expected DEBUG, INFO, WARNING or ERROR")
        return v.upper()

    @property
    def admin_emails(self) -> frozenset[str]:
        return frozenset(e.strip().lower() for e in self.admins.split(",") if e.strip())

    @property
    def quiet(self) -> tuple[time, time]:
        return parse_quiet_hours(self.quiet_hours)

    @property
    def working_weekdays(self) -> frozenset[int]:
        return parse_weekdays(self.working_days)


def explain(exc: ValidationError, model: type[BaseSettings]) -> ConfigError:
    """One readable error naming each bad environment variable."""
    lines = []
    for err in exc.errors():
        field = str(err["loc"][0]) if err["loc"] else "?"
        info = model.model_fields.get(field)
        alias = info.validation_alias if info is not None else None
        name = alias if isinstance(alias, str) else (
            alias.choices[0] if isinstance(alias, AliasChoices) else field.upper())
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        lines.append(f"{name}: {msg}")
    return ConfigError("\n".join(lines))  # one line per variable, each naming it


class _Given(Settings):
    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: Any, env_settings: Any,
                                   dotenv_settings: Any, file_secret_settings: Any) -> tuple[Any, ...]:
        return (init_settings,)  # neither the environment nor a .env file


def given_settings(**values: Any) -> Settings:
    """Settings from ``values`` and the defaults only, never the environment: for what must run the same
    whatever is configured (the demo)."""
    return _Given(**values)


def load_settings(**overrides: Any) -> Settings:
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise explain(exc, Settings) from None
