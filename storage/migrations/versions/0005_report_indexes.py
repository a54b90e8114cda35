"""Indexes for the admin report: check-ins sent in a window, momentum scores in a window.

Revision ID: 0005_report_indexes
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Union

from alembic import op

revision: str = "0005_report_indexes"
down_revision: Union[str, None] = "0004"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index("ix_prompt_kind_sent", "prompt", ["kind", "sent_at"])
    op.create_index("ix_checkin_created", "checkin", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_checkin_created", table_name="checkin")
    op.drop_index("ix_prompt_kind_sent", table_name="prompt")
