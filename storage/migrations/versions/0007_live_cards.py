"""Live cards: the messages that show a matter's state, redrawn in place when it changes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "live_cards",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("message_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("matter_id", sa.Integer(), nullable=False),
        sa.Column("layout", sa.String(length=16), nullable=False),
        sa.Column("viewer_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=True),
        sa.Column("files", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["matter_id"], ["matters.id"],
                                name=op.f("fk_live_cards_matter_id_matters")),
        sa.PrimaryKeyConstraint("chat_id", "message_id", name=op.f("pk_live_cards")),
    )
    op.create_index(op.f("ix_live_cards_matter_id"), "live_cards", ["matter_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_live_cards_matter_id"), table_name="live_cards")
    op.drop_table("live_cards")
