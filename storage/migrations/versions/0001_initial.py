"""Initial schema: people, matters with their events and assignment projection, outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Plain types only: a migration must not change when app code does.
UTC_DT = sa.DateTime(timezone=True)


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), autoincrement=True, nullable=False)


def _office_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["office_id"], ["offices.id"],
                                   name=op.f(f"fk_{table}_office_id_offices"))


def upgrade() -> None:
    op.create_table(
        "offices",
        _id(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("doc_prefix", sa.String(20), server_default="督", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offices")),
    )

    op.create_table(
        "units",
        _id(),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        _office_fk("units"),
        sa.ForeignKeyConstraint(["parent_id"], ["units.id"],
                                name=op.f("fk_units_parent_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_units")),
    )
    op.create_index(op.f("ix_units_office_id_name"), "units", ["office_id", "name"])

    op.create_table(
        "persons",
        _id(),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("telegram_id", sa.BigInteger(), nullable=True),
        sa.Column("reachable", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        _office_fk("persons"),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"],
                                name=op.f("fk_persons_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_persons")),
        sa.UniqueConstraint("telegram_id", name=op.f("uq_persons_telegram_id")),
    )
    op.create_index(op.f("ix_persons_office_id"), "persons", ["office_id"])
    op.create_index(op.f("ix_persons_unit_id"), "persons", ["unit_id"])

    op.create_table(
        "invites",
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.Column("expires_at", UTC_DT, nullable=False),
        sa.Column("used_at", UTC_DT, nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        _office_fk("invites"),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"],
                                name=op.f("fk_invites_person_id_persons")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"],
                                name=op.f("fk_invites_unit_id_units")),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_invites")),
    )

    op.create_table(
        "group_chats",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("bound_by", sa.Integer(), nullable=False),
        sa.Column("bound_at", UTC_DT, nullable=False),
        _office_fk("group_chats"),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"],
                                name=op.f("fk_group_chats_unit_id_units")),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_group_chats")),
    )
    op.create_index(op.f("ix_group_chats_office_id"), "group_chats", ["office_id"])

    op.create_table(
        "matters",
        _id(),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("confidential", sa.Boolean(), nullable=False),
        sa.Column("klass", sa.String(16), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("registered_at", UTC_DT, nullable=False),
        sa.Column("closed_at", UTC_DT, nullable=True),
        sa.Column("cancelled_at", UTC_DT, nullable=True),
        sa.Column("paused", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        _office_fk("matters"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matters")),
        sa.UniqueConstraint("office_id", "year", "seq",
                            name=op.f("uq_matters_office_id_year_seq")),
    )
    op.create_index(op.f("ix_matters_office_id_status"), "matters", ["office_id", "status"])

    op.create_table(
        "message_refs",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("message_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("matter_id", sa.Integer(), nullable=False),
        sa.Column("assignment_no", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["matter_id"], ["matters.id"],
                                name=op.f("fk_message_refs_matter_id_matters")),
        sa.PrimaryKeyConstraint("chat_id", "message_id", name=op.f("pk_message_refs")),
    )

    op.create_table(
        "assignments",
        sa.Column("matter_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("no", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("parent_no", sa.Integer(), nullable=True),
        sa.Column("lead", sa.Boolean(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("principal_id", sa.Integer(), nullable=False),
        sa.Column("responsible_id", sa.Integer(), nullable=False),
        sa.Column("handler_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("assigned_at", UTC_DT, nullable=False),
        sa.Column("last_progress_at", UTC_DT, nullable=True),
        sa.Column("urge_limit", sa.Date(), nullable=True),
        sa.Column("urge_count", sa.Integer(), nullable=False),
        sa.Column("criticized", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["matter_id"], ["matters.id"],
                                name=op.f("fk_assignments_matter_id_matters")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"],
                                name=op.f("fk_assignments_unit_id_units")),
        sa.PrimaryKeyConstraint("matter_id", "no", name=op.f("pk_assignments")),
    )
    op.create_index(op.f("ix_assignments_status_deadline"), "assignments",
                    ["status", "deadline"])
    for col in ("unit_id", "principal_id", "responsible_id", "handler_id"):
        op.create_index(op.f(f"ix_assignments_{col}"), "assignments", [col])

    op.create_table(
        "events",
        _id(),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("at", UTC_DT, nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("matter_id", sa.Integer(), nullable=True),
        sa.Column("matter_seq", sa.Integer(), nullable=True),
        sa.Column("assignment_no", sa.Integer(), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        _office_fk("events"),
        sa.ForeignKeyConstraint(["matter_id"], ["matters.id"],
                                name=op.f("fk_events_matter_id_matters")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("matter_id", "matter_seq",
                            name=op.f("uq_events_matter_id_matter_seq")),
    )
    op.create_index(op.f("ix_events_office_id_at"), "events", ["office_id", "at"])

    op.create_table(
        "outbox",
        _id(),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("due_at", UTC_DT, nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("matter_id", sa.Integer(), nullable=True),
        sa.Column("assignment_no", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_try_at", UTC_DT, nullable=True),
        sa.Column("sent_at", UTC_DT, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("key", name=op.f("uq_outbox_key")),
    )
    op.create_index(op.f("ix_outbox_due_at"), "outbox", ["due_at"])
    op.create_index(op.f("ix_outbox_status_due_at"), "outbox", ["status", "due_at"])
    op.create_index(op.f("ix_outbox_status_next_try_at"), "outbox", ["status", "next_try_at"])
    op.create_index(op.f("ix_outbox_matter_id"), "outbox", ["matter_id"])
    op.create_index(op.f("ix_outbox_person_id"), "outbox", ["person_id"])

    op.create_table(
        "scheduler_lock",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("holder", sa.String(200), nullable=True),
        sa.Column("acquired_at", UTC_DT, nullable=True),
        sa.Column("heartbeat_at", UTC_DT, nullable=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_scheduler_lock_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduler_lock")),
    )


def downgrade() -> None:
    # Tables only: dropping a table drops its indexes on both SQLite and PostgreSQL.
    for table in ("scheduler_lock", "outbox", "events", "assignments", "message_refs",
                  "matters", "group_chats", "invites", "persons", "units", "offices"):
        op.drop_table(table)
