"""Assignments: an index on (klass, status), so the reminder timer pass reads the open urgent
assignments (hourly reminders) from an index instead of scanning every open assignment.

Revision ID: 0011
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_assignments_klass_status", "assignments", ["klass", "status"])


def downgrade() -> None:
    op.drop_index("ix_assignments_klass_status", table_name="assignments")
