"""Many offices on one deployment (issue 16): an office has a parent office and a unique
numbering prefix and name; a Telegram account may be bound once per office; a private
chat remembers which office the person works in.

Revision ID: 0012
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # No foreign key on parent_id and unique indexes, not constraints: SQLite then adds
    # (and drops) them in place instead of rebuilding the table every other one references.
    op.add_column("offices", sa.Column("parent_id", sa.Integer(), nullable=True))
    op.create_index("ix_offices_name", "offices", ["name"], unique=True)
    op.create_index("ix_offices_doc_prefix", "offices", ["doc_prefix"], unique=True)
    with op.batch_alter_table("persons") as batch:
        batch.drop_constraint("uq_persons_telegram_id", type_="unique")
    op.create_index("ix_persons_telegram_id", "persons", ["telegram_id"])
    op.create_index("ix_persons_office_id_telegram_id", "persons",
                    ["office_id", "telegram_id"], unique=True)
    op.create_table(
        "office_choices",
        sa.Column("telegram_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("chosen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["office_id"], ["offices.id"],
                                name="fk_office_choices_office_id_offices"),
        sa.PrimaryKeyConstraint("telegram_id", name="pk_office_choices"),
    )


def downgrade() -> None:
    op.drop_table("office_choices")
    op.drop_index("ix_persons_office_id_telegram_id", table_name="persons")
    op.drop_index("ix_persons_telegram_id", table_name="persons")
    with op.batch_alter_table("persons") as batch:
        batch.create_unique_constraint("uq_persons_telegram_id", ["telegram_id"])
    op.drop_index("ix_offices_doc_prefix", table_name="offices")
    op.drop_index("ix_offices_name", table_name="offices")
    op.drop_column("offices", "parent_id")
