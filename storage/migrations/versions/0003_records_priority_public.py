"""Priority flag on matters; records (enterprises, visits, meetings, inspections);
public channel posts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # ADD COLUMN in place on both SQLite and PostgreSQL (no table rebuild).
    op.add_column("matters", sa.Column("priority", sa.Boolean(), server_default=sa.false(),
                                       nullable=False))
    op.create_table(
        "records",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("ref_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["office_id"], ["offices.id"],
                                name=op.f("fk_records_office_id_offices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_records")),
    )
    op.create_index(op.f("ix_records_office_id_kind"), "records", ["office_id", "kind"])
    op.create_index(op.f("ix_records_ref_id"), "records", ["ref_id"])
    op.create_table(
        "public_posts",
        sa.Column("matter_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["matter_id"], ["matters.id"],
                                name=op.f("fk_public_posts_matter_id_matters")),
        sa.PrimaryKeyConstraint("matter_id", name=op.f("pk_public_posts")),
    )


def downgrade() -> None:
    op.drop_table("public_posts")
    op.drop_index(op.f("ix_records_ref_id"), table_name="records")
    op.drop_index(op.f("ix_records_office_id_kind"), table_name="records")
    op.drop_table("records")
    if op.get_bind().dialect.name == "sqlite":
        # In place (SQLite >= 3.35): a batch rebuild of `matters` would break the foreign
        # keys of every table that refers to it.
        op.execute("ALTER TABLE matters DROP COLUMN priority")
    else:
        op.drop_column("matters", "priority")
