"""People by name: an admin from DUBAN_ADMINS without a name is marked and asked for it;
the placeholder 「管理员<id>」 of earlier versions is replaced; meetings get their own
numbers (data.no), in the order they were scheduled.

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What an unnamed admin is called until they answer (ledger.usecases.people.UNNAMED_ADMIN).
UNNAMED_ADMIN = "督查室"

_persons = sa.table("persons", sa.column("id", sa.Integer()), sa.column("name", sa.String()),
                    sa.column("telegram_id", sa.BigInteger()),
                    sa.column("name_pending", sa.Boolean()))
_records = sa.table("records", sa.column("id", sa.Integer()),
                    sa.column("office_id", sa.Integer()), sa.column("kind", sa.String()),
                    sa.column("data", sa.JSON()))


def upgrade() -> None:
    # ADD COLUMN in place on both SQLite and PostgreSQL (no table rebuild).
    op.add_column("persons", sa.Column("name_pending", sa.Boolean(), server_default=sa.false(),
                                       nullable=False))
    conn = op.get_bind()
    for pid, name, tg in conn.execute(sa.select(_persons.c.id, _persons.c.name,
                                                _persons.c.telegram_id)).all():
        if tg is not None and name == f"管理员{tg}":
            conn.execute(_persons.update().where(_persons.c.id == pid)
                         .values(name=UNNAMED_ADMIN, name_pending=True))
    seen: dict[int, int] = {}  # office id → meetings numbered so far
    rows = conn.execute(sa.select(_records.c.id, _records.c.office_id, _records.c.data)
                        .where(_records.c.kind == "meeting").order_by(_records.c.id)).all()
    for rid, office_id, data in rows:
        office = cast(int, office_id)
        no = seen[office] = seen.get(office, 0) + 1
        if isinstance(data, dict) and "no" not in data:
            conn.execute(_records.update().where(_records.c.id == rid)
                         .values(data={**data, "no": no}))


def downgrade() -> None:
    with op.batch_alter_table("persons") as batch:
        batch.drop_column("name_pending")
