"""Reminder scan without a join (matter fields copied onto assignments); bulletins.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_matters = sa.table("matters", sa.column("id", sa.Integer()), sa.column("klass", sa.String()),
                    sa.column("confidential", sa.Boolean()), sa.column("paused", sa.Boolean()))
_assignments = sa.table("assignments", sa.column("matter_id", sa.Integer()),
                        sa.column("klass", sa.String()), sa.column("confidential", sa.Boolean()),
                        sa.column("paused", sa.Boolean()))


def upgrade() -> None:
    # Nullable first, backfill from the matter, then NOT NULL: works on SQLite (batch
    # mode copies the table) and PostgreSQL alike, with rows present.
    with op.batch_alter_table("assignments") as batch:
        batch.add_column(sa.Column("klass", sa.String(16), nullable=True))
        batch.add_column(sa.Column("confidential", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("paused", sa.Boolean(), server_default=sa.false(),
                                   nullable=False))
        batch.drop_index("ix_assignments_status_deadline")
        batch.create_index(op.f("ix_assignments_office_id_status"), ["office_id", "status"])

    def of_matter(col: str) -> sa.ScalarSelect[object]:
        return (sa.select(_matters.c[col])
                .where(_matters.c.id == _assignments.c.matter_id).scalar_subquery())

    op.execute(_assignments.update().values(klass=of_matter("klass"),
                                            confidential=of_matter("confidential"),
                                            paused=of_matter("paused")))
    with op.batch_alter_table("assignments") as batch:
        batch.alter_column("klass", existing_type=sa.String(16), nullable=False)
        batch.alter_column("confidential", existing_type=sa.Boolean(), nullable=False)

    op.create_table(
        "bulletins",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["office_id"], ["offices.id"],
                                name=op.f("fk_bulletins_office_id_offices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bulletins")),
        sa.UniqueConstraint("office_id", "kind", "year", "number",
                            name=op.f("uq_bulletins_office_id_kind_year_number")),
        sa.UniqueConstraint("office_id", "kind", "period_start", "period_end",
                            name=op.f("uq_bulletins_office_id_kind_period_start_period_end")),
    )
    op.create_table(
        "bulletin_deliveries",
        sa.Column("bulletin_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(["bulletin_id"], ["bulletins.id"],
                                name=op.f("fk_bulletin_deliveries_bulletin_id_bulletins")),
        sa.PrimaryKeyConstraint("bulletin_id", "chat_id", name=op.f("pk_bulletin_deliveries")),
    )


def downgrade() -> None:
    op.drop_table("bulletin_deliveries")
    op.drop_table("bulletins")
    with op.batch_alter_table("assignments") as batch:
        batch.drop_index("ix_assignments_office_id_status")
        batch.create_index(op.f("ix_assignments_status_deadline"), ["status", "deadline"])
        batch.drop_column("paused")
        batch.drop_column("confidential")
        batch.drop_column("klass")
