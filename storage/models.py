"""SQLModel tables. Datetimes are aware UTC in Python (SQLModel's UTCDateTime) on every backend."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

JSONType = JSON().with_variant(JSON(), "postgresql")


class Workspace(SQLModel, table=True):
    """One installation: a Slack workspace (team), a Teams tenant, or the demo console."""

    __table_args__ = (UniqueConstraint("platform", "external_id", name="uq_workspace_platform_ext"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    external_id: str = Field(max_length=128)
    name: str = Field(default="", max_length=200)
    credentials_enc: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    status: str = Field(default="active", max_length=16)  # active | uninstalled
    status_reason: str | None = Field(default=None, max_length=200)
    default_tz: str = Field(default="UTC", max_length=64)
    created_at: datetime


class Person(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("workspace_id", "external_id", name="uq_person_ws_ext"),
        Index("ix_person_ws_email", "workspace_id", "email"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    external_id: str = Field(max_length=128)
    name: str = Field(default="", max_length=200)
    given_name: str | None = Field(default=None, max_length=200)  # how they are addressed (bot.model.names)
    email: str | None = Field(default=None, max_length=320)
    tz: str | None = Field(default=None, max_length=64)
    locale: str | None = Field(default=None, max_length=32)
    country: str | None = Field(default=None, max_length=8)
    unit: str | None = Field(default=None, max_length=200)
    is_platform_admin: bool = False
    is_granted_admin: bool = False
    opted_out: bool = False
    paused: bool = False
    snoozed_until: datetime | None = None
    prompt_weekday: int | None = None  # personal override of the program's weekday (0 = Monday)
    prompt_time: str | None = Field(default=None, max_length=5)  # "HH:MM" local
    address: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    unreachable_reason: str | None = Field(default=None, max_length=200)
    forgotten: bool = False
    admin_digest_since: datetime | None = None  # an admin's weekly digest is on since (None: off)
    created_at: datetime
    updated_at: datetime


class Program(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_program_ws_name"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    name: str = Field(max_length=100)
    kind: str = Field(default="sponsorship", max_length=32)  # sponsorship | mentoring | reverse-mentoring
    start_date: date
    length_weeks: int = 52
    sponsoree_weekday: int = 1  # Tuesday
    sponsoree_time: str = Field(default="10:00", max_length=5)
    sponsor_weekday: int = 0  # Monday
    sponsor_time: str = Field(default="09:00", max_length=5)
    meeting_weekday: int = 3  # the pair's usual meeting day (Thursday); prep goes the working day before
    meeting_every_weeks: int = 2
    stale_days: int = 14
    default_tz: str = Field(default="UTC", max_length=64)
    status: str = Field(default="active", max_length=16)  # active | ended
    journey_yaml: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # the program's own journey
    created_at: datetime


class Pair(SQLModel, table=True):
    __table_args__ = (
        Index("ix_pair_status_planned", "status", "planned_until"),
        Index("ix_pair_program", "program_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id")
    sponsor_id: int = Field(foreign_key="person.id", index=True)
    sponsoree_id: int = Field(foreign_key="person.id", index=True)
    status: str = Field(default="active", max_length=16)  # active | paused | ended
    paused_until: datetime | None = None
    start_date: date  # Monday of the pair's week 0
    created_at: datetime
    ended_at: datetime | None = None
    same_unit: bool = False
    planned_until: datetime | None = None  # the planner has materialised prompts up to here
    last_touch_at: datetime | None = None
    last_light_touch_at: datetime | None = None
    unanswered_checkins: int = 0  # consecutive check-ins sent without an answer ("ghost" rule)
    checkins_sent: int = 0
    checkins_answered: int = 0
    # Journey v2: evidence for phases, the pair's rhythm, the sponsor's side of the ghost rule.
    meetings: int = 0  # meetings logged (check-in "met", `log meeting`)
    agreed_at: datetime | None = None  # the kickoff agreement was captured
    agreement_lead: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # "where it should lead"
    last_two_way_at: datetime | None = None  # last contact both took part in (not one-way taps)
    meet_every: int = 0  # weeks between meetings (0: no rhythm set yet)
    meet_weekday: int | None = None
    meet_time: str | None = Field(default=None, max_length=5)
    meet_tz: str | None = Field(default=None, max_length=64)
    booked_at: datetime | None = None  # "we've booked a first chat"
    digest_snoozed_until: datetime | None = None
    ignored_digests: int = 0  # consecutive digests with no tap
    junior_offers: int = 0  # kind "take a break?" offers made (at most two each)
    senior_offers: int = 0
    stall_reported_at: datetime | None = None
    last_digest_at: datetime | None = None
    phase_index: int = 0  # the furthest phase a message was sent in (phases do not move back)


# A prompt in trouble: dead, or still being retried after an error (``ix_prompt_trouble`` holds only these).
PROMPT_TROUBLE = "status = 'dead' OR last_error IS NOT NULL"
PROMPT_SENT = "status = 'sent'"  # SQLite's ``ix_prompt_sent`` holds only these


class Prompt(SQLModel, table=True):
    """The outbox. Unique on (pair, recipient, kind, period): planning twice never adds a row."""

    __table_args__ = (
        UniqueConstraint("pair_id", "recipient_id", "kind", "period", name="uq_prompt_key"),
        Index("ix_prompt_due", "status", "next_attempt_at"),
        # the report and the console: what was sent in a window, answered from the index alone. SQLite has no
        # INCLUDE and reads the weeks' range in one seek only when the index starts with sent_at (0009); it
        # holds sent prompts only, so planning and claiming (pending, sending) never write to it.
        Index("ix_prompt_kind_sent", "kind", "sent_at",
              postgresql_include=["status", "answered_at", "pair_id"]).ddl_if(dialect="postgresql"),
        Index("ix_prompt_sent", "sent_at", "kind", "status", "pair_id", "answered_at",
              sqlite_where=text(PROMPT_SENT)).ddl_if(dialect="sqlite"),
        # the weekly series: dead and failing prompts by when they were due (few rows: only those in trouble)
        Index("ix_prompt_trouble", "due_at", sqlite_where=text(PROMPT_TROUBLE),
              postgresql_where=text(PROMPT_TROUBLE)),
        # Admin prompts (the weekly digest) belong to no pair: unique per recipient, kind and period.
        Index("uq_prompt_admin_key", "recipient_id", "kind", "period", unique=True,
              sqlite_where=text("pair_id IS NULL"), postgresql_where=text("pair_id IS NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    # NULL only for admin prompts (``bot.outbox.admin``); every pair prompt has its pair.
    pair_id: int = Field(foreign_key="pair.id", index=True, nullable=True)
    recipient_id: int = Field(foreign_key="person.id", index=True)
    workspace_id: int = Field(foreign_key="workspace.id")  # denormalised: claims filter on live installs
    kind: str = Field(max_length=32)
    strategy: int = 0  # 1-4: which momentum strategy this prompt carries (0: none)
    phase: str = Field(default="", max_length=32)
    period: str = Field(max_length=40)
    week: int = 0
    variant: int = 0
    audience: str = Field(default="one", max_length=8)  # one | pair (group message)
    due_at: datetime
    status: str = Field(default="pending", max_length=16)  # pending|sending|sent|dead|cancelled
    attempts: int = 0
    next_attempt_at: datetime
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = None
    platform_ref: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    last_error: str | None = Field(default=None, max_length=300)
    payload: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    # the message as delivered (bot.model.wire), before signing: a tap answers with it, never a new one
    shown: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    sent_at: datetime | None = None
    answered_at: datetime | None = None
    answer: str | None = Field(default=None, max_length=32)
    created_at: datetime


class CheckIn(SQLModel, table=True):
    """A sponsoree's (or sponsor's) answer to a check-in. ``note`` is private unless ``shared``."""

    __table_args__ = (
        UniqueConstraint("prompt_id", name="uq_checkin_prompt"),
        # the report and the console: momentum and answers in a window, from the index alone (SQLite: the
        # included columns are trailing keys, migration 0009)
        Index("ix_checkin_created", "created_at",
              postgresql_include=["pair_id", "momentum", "status"]).ddl_if(dialect="postgresql"),
        Index("ix_checkin_created", "created_at", "pair_id", "momentum", "status").ddl_if(dialect="sqlite"),
    )

    id: int | None = Field(default=None, primary_key=True)
    prompt_id: int | None = Field(default=None, foreign_key="prompt.id")
    pair_id: int = Field(foreign_key="pair.id", index=True)
    author_id: int = Field(foreign_key="person.id", index=True)
    status: str | None = Field(default=None, max_length=16)  # met | light | not_yet
    momentum: int | None = None
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    shared: bool = False
    created_at: datetime
    updated_at: datetime


class Touchpoint(SQLModel, table=True):
    """Any contact of the pair: a meeting, a light touch, a shared experience, an advocacy act."""

    __table_args__ = (
        Index("ix_touch_pair_at", "pair_id", "occurred_at"),
        # the weekly series: contact in a time range (SQLite: with kind and pair_id as trailing keys, 0009)
        Index("ix_touch_at", "occurred_at").ddl_if(dialect="postgresql"),
        Index("ix_touch_at", "occurred_at", "kind", "pair_id").ddl_if(dialect="sqlite"),
    )

    id: int | None = Field(default=None, primary_key=True)
    pair_id: int = Field(foreign_key="pair.id")
    author_id: int | None = Field(default=None, foreign_key="person.id")
    kind: str = Field(max_length=16)  # meeting | light | shared | advocacy
    source: str = Field(default="log", max_length=16)  # checkin | log | nudge
    source_key: str | None = Field(default=None, max_length=64, unique=True)
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    shared: bool = False
    occurred_at: datetime


class Win(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    pair_id: int = Field(foreign_key="pair.id", index=True)
    author_id: int | None = Field(default=None, foreign_key="person.id")
    text: str = Field(sa_column=Column(Text, nullable=False))
    shared: bool = True
    created_at: datetime


class Goal(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    pair_id: int = Field(foreign_key="pair.id", index=True)
    author_id: int | None = Field(default=None, foreign_key="person.id")
    text: str = Field(sa_column=Column(Text, nullable=False))
    done: bool = False
    created_at: datetime


class Agenda(SQLModel, table=True):
    """A prep agenda before a meeting (strategy 2): an update, a question, an ask."""

    id: int | None = Field(default=None, primary_key=True)
    prompt_id: int | None = Field(default=None, foreign_key="prompt.id", unique=True)
    pair_id: int = Field(foreign_key="pair.id", index=True)
    author_id: int | None = Field(default=None, foreign_key="person.id")
    update_text: str = Field(default="", sa_column=Column(Text, nullable=False))
    question: str = Field(default="", sa_column=Column(Text, nullable=False))
    ask: str = Field(default="", sa_column=Column(Text, nullable=False))
    shared: bool = False
    created_at: datetime


class AuditLog(SQLModel, table=True):
    """Who changed what. ``detail`` never carries private notes."""

    __table_args__ = (Index("ix_audit_ws_at", "workspace_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int | None = Field(default=None, foreign_key="workspace.id")
    actor_id: int | None = Field(default=None, foreign_key="person.id")
    action: str = Field(max_length=64)
    target: str = Field(default="", max_length=200)
    ok: bool = True
    detail: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    at: datetime


class ProcessedEvent(SQLModel, table=True):
    """Inbound platform event ids already handled (dedupe of platform retries)."""

    __table_args__ = (UniqueConstraint("platform", "event_id", name="uq_event"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    event_id: str = Field(max_length=200)
    at: datetime = Field(index=True)


class AppSecret(SQLModel, table=True):
    """Random secrets the app makes for itself when no ``MOMENTUM_SECRET_KEY`` is configured
    (e.g. the key that signs button values), shared by every replica through the database."""

    name: str = Field(primary_key=True, max_length=64)
    value: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime


class PersonAttribute(SQLModel, table=True):
    """An imported attribute of a person (level, location, ...): what console breakdowns group by."""

    __table_args__ = (
        UniqueConstraint("person_id", "name", name="uq_person_attribute"),
        Index("ix_person_attribute_ws_name", "workspace_id", "name"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id")
    person_id: int = Field(foreign_key="person.id")
    name: str = Field(max_length=64)
    value: str = Field(max_length=200)


class Outcome(SQLModel, table=True):
    """One line of an HR outcomes CSV (the latest upload per workspace); only ever shown aggregated."""

    __table_args__ = (UniqueConstraint("workspace_id", "email", name="uq_outcome_ws_email"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id")
    email: str = Field(max_length=320)
    promoted_on: date | None = None
    changed_role_on: date | None = None
    left_on: date | None = None
    uploaded_at: datetime


class ConsoleLink(SQLModel, table=True):
    """A single-use sign-in link for the web console: only the SHA-256 of its token is stored."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    expires_at: datetime
    used_at: datetime | None = None
    created_at: datetime


class ConsoleSession(SQLModel, table=True):
    """A signed-in console session: only the SHA-256 of the cookie's id is stored."""

    id: int | None = Field(default=None, primary_key=True)
    id_hash: str = Field(max_length=64, unique=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    created_at: datetime
    last_seen_at: datetime


class ProgramWeek(SQLModel, table=True):
    """A settled week of a program's figures (the console's weekly series): computed once from the tables
    when the week is over and no longer changes; counts only."""

    __table_args__ = (UniqueConstraint("program_id", "week_start", name="uq_programweek"),)

    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id")
    week_start: date  # Monday, UTC
    active_pairs: int = 0
    two_way_pairs: int = 0
    checkins_sent: int = 0
    checkins_answered: int = 0
    momentum_sum: int = 0
    momentum_n: int = 0
    met: int = 0
    light: int = 0
    not_yet: int = 0
    sent: int = 0
    failed: int = 0
    dead: int = 0
    computed_at: datetime


class InboxItem(SQLModel, table=True):
    """An interaction a platform was told "OK" for, kept until it is processed (at least once, deduplicated
    by ``key``). ``payload`` is the interaction as JSON, encrypted when a secret key is set (it may hold
    private notes) and emptied once the row is done. ``answered``: the core did its work and kept its answer
in ``result`` (sealed like the payload); it is shown, then the row is done."""

    __tablename__ = "inbox"
    __table_args__ = (Index("ix_inbox_state_lease", "state", "lease_until"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=128, unique=True)
    platform: str = Field(max_length=16)
    kind: str = Field(max_length=32)
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    encrypted: bool = False
    state: str = Field(default="pending", max_length=16)  # pending | answered | done | failed
    result: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))  # the core's answer
    attempts: int = 0
    lease_until: datetime
    created_at: datetime
    done_at: datetime | None = None
