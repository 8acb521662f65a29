"""The traffic light as a stored, indexed column on matters, and an index that leads with
priority for the lists' order (三个优先 first, then newest).

Existing rows start green; the bot recounts every open matter's light when it starts (and
every day), so the column is right before the first /list is answered.

Revision ID: 0010
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # ADD COLUMN in place on both SQLite and PostgreSQL (no table rebuild).
    op.add_column("matters", sa.Column("light", sa.String(8), server_default="green",
                                       nullable=False))
    op.create_index(op.f("ix_matters_office_id_priority_year_seq"), "matters",
                    ["office_id", "priority", "year", "seq"])
    op.create_index(op.f("ix_matters_office_id_light_priority_year_seq"), "matters",
                    ["office_id", "light", "priority", "year", "seq"])


def downgrade() -> None:
    op.drop_index(op.f("ix_matters_office_id_light_priority_year_seq"), table_name="matters")
    op.drop_index(op.f("ix_matters_office_id_priority_year_seq"), table_name="matters")
    if op.get_bind().dialect.name == "sqlite":
        # In place (SQLite >= 3.35): a batch rebuild of `matters` would break the foreign
        # keys of every table that refers to it.
        op.execute("ALTER TABLE matters DROP COLUMN light")
    else:
        op.drop_column("matters", "light")
