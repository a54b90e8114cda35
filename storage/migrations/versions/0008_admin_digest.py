"""the weekly admin digest: who opted in, and outbox rows that belong to no pair

``person.admin_digest_since``: when an admin turned the digest on (NULL: off). ``prompt.pair_id``
becomes nullable (an admin digest is about programs, not one pair), and a partial unique index keeps
admin prompts unique per recipient, kind and period (``uq_prompt_key`` cannot: NULLs never collide).

Revision ID: 0008
Revises: 0005
Create Date: 2026-11-24
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = "0008"
down_revision: Union[str, None] = "0007"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

NO_PAIR = sa.text("pair_id IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("person") as batch:
        batch.add_column(sa.Column("admin_digest_since", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    with op.batch_alter_table("prompt") as batch:
        batch.alter_column("pair_id", existing_type=sa.Integer(), nullable=True)
    op.create_index("uq_prompt_admin_key", "prompt", ["recipient_id", "kind", "period"], unique=True,
                    sqlite_where=NO_PAIR, postgresql_where=NO_PAIR)


def downgrade() -> None:
    op.drop_index("uq_prompt_admin_key", table_name="prompt")
    op.execute("DELETE FROM prompt WHERE pair_id IS NULL")
    with op.batch_alter_table("prompt") as batch:
        batch.alter_column("pair_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("person") as batch:
        batch.drop_column("admin_digest_since")
