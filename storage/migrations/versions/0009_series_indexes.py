"""indexes for the weekly series' live weeks: prompts in trouble by due date; covering window indexes on SQLite

``ix_prompt_trouble``: a partial index on ``prompt.due_at`` holding only dead prompts and those retried after an
error (a handful of rows), for the series' dead/failing figures. On SQLite, which has no INCLUDE, the window
indexes get the columns PostgreSQL includes (0007) as trailing keys, so the series reads a week's check-ins,
sent prompts and contacts from the index alone (``ix_touch_at`` gains ``kind`` and ``pair_id``). The sent
prompts' index starts with ``sent_at`` there (``ix_prompt_sent`` replaces ``ix_prompt_kind_sent``): one seek
for a window of every kind, which SQLite's planner prefers to walking each pair's prompts. It is partial
(``status = 'sent'``, kept as a key column so the index alone answers): planning and claiming prompts
(pending, sending) never write to it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0009"
down_revision: Union[str, None] = "0008"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TROUBLE = sa.text("status = 'dead' OR last_error IS NOT NULL")
SENT = sa.text("status = 'sent'")
# SQLite only: (table, index before, its columns, index after, its columns, its condition)
WIDENED = (
    ("prompt", "ix_prompt_kind_sent", ["kind", "sent_at"],
     "ix_prompt_sent", ["sent_at", "kind", "status", "pair_id", "answered_at"], SENT),
    ("checkin", "ix_checkin_created", ["created_at"],
     "ix_checkin_created", ["created_at", "pair_id", "momentum", "status"], None),
    ("touchpoint", "ix_touch_at", ["occurred_at"], "ix_touch_at", ["occurred_at", "kind", "pair_id"], None),
)


def upgrade() -> None:
    op.create_index("ix_prompt_trouble", "prompt", ["due_at"], sqlite_where=TROUBLE, postgresql_where=TROUBLE)
    if op.get_bind().dialect.name == "sqlite":
        for table, old, _, new, columns, where in WIDENED:
            op.drop_index(old, table_name=table)
            op.create_index(new, table, columns, sqlite_where=where)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table, old, columns, new, _, _ in WIDENED:
            op.drop_index(new, table_name=table)
            op.create_index(old, table, columns)
    op.drop_index("ix_prompt_trouble", table_name="prompt")
