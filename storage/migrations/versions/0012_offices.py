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
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("offices") as batch:
        batch.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_offices_parent_id_offices", "offices",
                                 ["parent_id"], ["id"])
        batch.create_unique_constraint("uq_offices_doc_prefix", ["doc_prefix"])
        batch.create_unique_constraint("uq_offices_name", ["name"])
    with op.batch_alter_table("persons") as batch:
        batch.drop_constraint("uq_persons_telegram_id", type_="unique")
        batch.create_unique_constraint("uq_persons_office_id_telegram_id",
                                       ["office_id", "telegram_id"])
        batch.create_index("ix_persons_telegram_id", ["telegram_id"])
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
    with op.batch_alter_table("persons") as batch:
        batch.drop_index("ix_persons_telegram_id")
        batch.drop_constraint("uq_persons_office_id_telegram_id", type_="unique")
        batch.create_unique_constraint("uq_persons_telegram_id", ["telegram_id"])
    with op.batch_alter_table("offices") as batch:
        batch.drop_constraint("uq_offices_name", type_="unique")
        batch.drop_constraint("uq_offices_doc_prefix", type_="unique")
        batch.drop_constraint("fk_offices_parent_id_offices", type_="foreignkey")
        batch.drop_column("parent_id")
