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


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine) -> None:
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")


def script_heads(engine: Engine) -> set[str]:
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    return set(ScriptDirectory.from_config(cfg).get_heads())


def db_heads(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def check_migrated(engine: Engine) -> None:
    """Raise ``NotMigrated`` naming the command to run when the schema is not current."""
    have, want = db_heads(engine), script_heads(engine)
    if have == want:
        return
    where = engine.url.render_as_string(hide_password=True)
    if not have:
        raise NotMigrated(f"The database at {where} has no Momentum schema yet. Run: {UPGRADE_COMMAND}")
    raise NotMigrated(
        f"The database at {where} is at revision {sorted(have)}, the code needs {sorted(want)}. "
        f"Run: {UPGRADE_COMMAND}"
    )
