"""what each message said when it was sent

``prompt.shown``: the message as delivered (the neutral message model, as JSON, before its buttons were
signed). A tap then answers with that same message, its buttons gone and one receipt line added, instead
of composing it again from what is true at the tap (which told a sponsor "nothing new" about the very
news the digest had just shown). NULL for messages sent before this release: those are composed again.

``person.given_name``: the name a person goes by, from the platform (Slack's ``first_name``, Teams'
``givenName``). Messages address people by it, or by their full name, never by a guessed first word.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0010"
down_revision: Union[str, None] = "0009"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("prompt") as batch:
        batch.add_column(sa.Column("shown", sa.JSON(), nullable=True))
    with op.batch_alter_table("person") as batch:
        batch.add_column(sa.Column("given_name", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("person") as batch:
        batch.drop_column("given_name")
    with op.batch_alter_table("prompt") as batch:
        batch.drop_column("shown")
