"""Outbox: drop the three indexes no query reads (due_at; status, due_at; status,
next_try_at). The dispatcher reads ix_outbox_ready (0004); every outbox row written (seven
per automatic 催办) kept eight b-trees up to date, now five.

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DROPPED = {"ix_outbox_due_at": ["due_at"], "ix_outbox_status_due_at": ["status", "due_at"],
            "ix_outbox_status_next_try_at": ["status", "next_try_at"]}


def upgrade() -> None:
    for name in _DROPPED:
        op.drop_index(name, table_name="outbox")


def downgrade() -> None:
    for name, columns in _DROPPED.items():
        op.create_index(name, "outbox", columns)
