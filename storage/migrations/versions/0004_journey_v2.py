"""journey v2: pair evidence and rhythm, sponsor ghost rule, program journey files

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = "0004"
down_revision: Union[str, None] = "0003"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

DT = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("program", schema=None) as b:
        b.add_column(sa.Column("journey_yaml", sa.Text(), nullable=True))
    with op.batch_alter_table("pair", schema=None) as b:
        b.add_column(sa.Column("meetings", sa.Integer(), nullable=False, server_default="0"))
        b.add_column(sa.Column("agreed_at", DT(), nullable=True))
        b.add_column(sa.Column("agreement_lead", sa.Text(), nullable=True))
        b.add_column(sa.Column("last_two_way_at", DT(), nullable=True))
        b.add_column(sa.Column("meet_every", sa.Integer(), nullable=False, server_default="0"))
        b.add_column(sa.Column("meet_weekday", sa.Integer(), nullable=True))
        b.add_column(sa.Column("meet_time", sqlmodel.sql.sqltypes.AutoString(length=5), nullable=True))
        b.add_column(sa.Column("meet_tz", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        b.add_column(sa.Column("booked_at", DT(), nullable=True))
        b.add_column(sa.Column("digest_snoozed_until", DT(), nullable=True))
        b.add_column(sa.Column("ignored_digests", sa.Integer(), nullable=False, server_default="0"))
        b.add_column(sa.Column("junior_offers", sa.Integer(), nullable=False, server_default="0"))
        b.add_column(sa.Column("senior_offers", sa.Integer(), nullable=False, server_default="0"))
        b.add_column(sa.Column("stall_reported_at", DT(), nullable=True))
        b.add_column(sa.Column("last_digest_at", DT(), nullable=True))
        b.add_column(sa.Column("phase_index", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("pair", schema=None) as b:
        for c in ("meetings", "agreed_at", "agreement_lead", "last_two_way_at", "meet_every", "meet_weekday",
                  "meet_time", "meet_tz", "booked_at", "digest_snoozed_until", "ignored_digests", "junior_offers",
                  "senior_offers", "stall_reported_at", "last_digest_at", "phase_index"):
            b.drop_column(c)
    with op.batch_alter_table("program", schema=None) as b:
        b.drop_column("journey_yaml")
