"""Outbox: an index on (status, when a notice is ready), so the dispatcher's "what is due
now" and "when is the next" read a few index entries instead of every pending row.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The expression must read exactly as the queries' (storage.repositories._ready_at).
    op.create_index("ix_outbox_ready", "outbox",
                    ["status", sa.text("coalesce(next_try_at, due_at)")])


def downgrade() -> None:
    op.drop_index("ix_outbox_ready", table_name="outbox")
