"""web console: imported person attributes, HR outcomes, sign-in links and sessions

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-24
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = "0007"
down_revision: Union[str, None] = "0005_report_indexes"  # the assigned "0005"; the lead re-chains at merge
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

DT = sqlmodel.sql.sqltypes.UTCDateTime
S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "personattribute",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("name", S(length=64), nullable=False),
        sa.Column("value", S(length=200), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"]),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("person_id", "name", name="uq_person_attribute"),
    )
    op.create_index("ix_person_attribute_ws_name", "personattribute", ["workspace_id", "name"])
    op.create_table(
        "outcome",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("email", S(length=320), nullable=False),
        sa.Column("promoted_on", sa.Date(), nullable=True),
        sa.Column("changed_role_on", sa.Date(), nullable=True),
        sa.Column("left_on", sa.Date(), nullable=True),
        sa.Column("uploaded_at", DT(), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workspace_id", "email", name="uq_outcome_ws_email"),
    )
    op.create_table(
        "consolelink",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", S(length=64), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", DT(), nullable=False),
        sa.Column("used_at", DT(), nullable=True),
        sa.Column("created_at", DT(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index(op.f("ix_consolelink_person_id"), "consolelink", ["person_id"])
    op.create_table(
        "consolesession",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("id_hash", S(length=64), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("created_at", DT(), nullable=False),
        sa.Column("last_seen_at", DT(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("id_hash"),
    )
    op.create_index(op.f("ix_consolesession_person_id"), "consolesession", ["person_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_consolesession_person_id"), table_name="consolesession")
    op.drop_table("consolesession")
    op.drop_index(op.f("ix_consolelink_person_id"), table_name="consolelink")
    op.drop_table("consolelink")
    op.drop_table("outcome")
    op.drop_index("ix_person_attribute_ws_name", table_name="personattribute")
    op.drop_table("personattribute")
