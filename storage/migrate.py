"""Schema migrations with Alembic, configured in code (no alembic.ini needed).

Several teams may add migrations on their own branch of the history (Slack, Teams),
so everything here speaks of *heads*: the database is current when it is at every
head the scripts define.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
UPGRADE_COMMAND = "momentum db upgrade"


class NotMigrated(RuntimeError):
    """The database schema is missing or behind the code."""


class NewerThanCode(NotMigrated):
    """The database was migrated by a newer release: this code does not know its revision."""


class CannotGoBack(RuntimeError):
    """``downgrade_one`` has no step to take (no schema, or the first one); nothing was changed."""


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _script(engine: Engine) -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(engine.url.render_as_string(hide_password=False)))


def _depth(script: ScriptDirectory, rev: str) -> int:
    return sum(1 for _ in script.iterate_revisions(rev, "base"))


def _main_head(script: ScriptDirectory, revs: set[str]) -> str:
    """Of several heads, the main line's: the longest history; on a tie, the one without a branch label
    (the platform branches, such as ``slack``, carry one)."""
    def key(rev: str) -> tuple[int, bool, str]:
        return _depth(script, rev), not script.get_revision(rev).branch_labels, rev  # type: ignore[union-attr]
    return max(revs, key=key)


def refuse_newer(engine: Engine, script: ScriptDirectory | None = None) -> None:
    """``NewerThanCode`` when the database is at a revision this release does not have (a newer release
    migrated it): starting, upgrading or downgrading would all be guesses."""
    script = script or _script(engine)
    have = db_heads(engine)
    unknown = sorted(have - {r.revision for r in script.walk_revisions()})
    if unknown:
        raise NewerThanCode(
            f"this release is older than the database ({', '.join(unknown)} > "
            f"{_main_head(script, set(script.get_heads()))}): run the newer release or restore a backup; "
            f"nothing was changed ({engine.url.render_as_string(hide_password=True)})")


def upgrade(engine: Engine) -> None:
    refuse_newer(engine)
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")


def downgrade_one(engine: Engine) -> tuple[str, str]:
    """Take the schema one migration back, for the previous release: the main line's newest migration is
    undone (a platform branch's once the main line is at its start). Returns (from, to)."""
    script = _script(engine)
    refuse_newer(engine, script)
    have = db_heads(engine)
    where = engine.url.render_as_string(hide_password=True)
    if not have:
        raise CannotGoBack(f"The database at {where} has no Momentum schema: there is nothing to go back from.")
    rev = _main_head(script, have)
    down = script.get_revision(rev).down_revision  # type: ignore[union-attr]
    if down is None:
        raise CannotGoBack(f"The database at {where} is at {rev}, the first schema: going back would drop every "
                           "table. Restore a backup instead; nothing was changed.")
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, f"{rev}@-1")  # this head only: the other branches stay where they are
    return rev, down if isinstance(down, str) else "+".join(down)


def script_heads(engine: Engine) -> set[str]:
    return set(_script(engine).get_heads())


def db_heads(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def check_migrated(engine: Engine) -> None:
    """Raise ``NotMigrated`` naming the command to run when the schema is not current (``NewerThanCode``
    when a newer release migrated it)."""
    have, want = db_heads(engine), script_heads(engine)
    if have == want:
        return
    refuse_newer(engine)
    where = engine.url.render_as_string(hide_password=True)
    if not have:
        raise NotMigrated(f"The database at {where} has no Momentum schema yet. Run: {UPGRADE_COMMAND}")
    raise NotMigrated(
        f"The database at {where} is at revision {sorted(have)}, the code needs {sorted(want)}. "
        f"Run: {UPGRADE_COMMAND}"
    )
