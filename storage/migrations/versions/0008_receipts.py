"""已阅 receipts: formal notices that ask to be acknowledged, and who read them when.

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "receipts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("matter_id", sa.Integer(), nullable=True),
        sa.Column("assignment_no", sa.Integer(), nullable=True),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("open", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.ForeignKeyConstraint(["office_id"], ["offices.id"],
                                name=op.f("fk_receipts_office_id_offices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipts")),
    )
    op.create_index(op.f("ix_receipts_office_id_open"), "receipts", ["office_id", "open"])
    op.create_index(op.f("ix_receipts_matter_id"), "receipts", ["matter_id"])
    op.create_table(
        "receipt_readers",
        sa.Column("receipt_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("expected", sa.Boolean(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["receipt_id"], ["receipts.id"],
                                name=op.f("fk_receipt_readers_receipt_id_receipts")),
        sa.PrimaryKeyConstraint("receipt_id", "person_id", name=op.f("pk_receipt_readers")),
    )


def downgrade() -> None:
    op.drop_table("receipt_readers")
    op.drop_index(op.f("ix_receipts_matter_id"), table_name="receipts")
    op.drop_index(op.f("ix_receipts_office_id_open"), table_name="receipts")
    op.drop_table("receipts")
