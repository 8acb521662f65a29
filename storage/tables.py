"""The schema, as SQLAlchemy Core tables. Migrations in storage/migrations must match it.

Matters are event-sourced: `events` is the history (append only), `matters.state` is the
snapshot (`storage.matter_json.matter_to_json`) and `assignments` is a flat projection of the
snapshot that reminders scan without decoding JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
    true,
)
from sqlalchemy.types import TypeDecorator

# Named constraints: Alembic's SQLite batch mode and PostgreSQL both need stable names.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime, stored in UTC.

    SQLite keeps no zone, so values are normalised to UTC on the way in and get UTC
    attached on the way out. Naive datetimes are refused: their zone is a guess.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"UTCDateTime needs a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: storage needs an aware datetime")
        return value.astimezone(UTC)

    def result_processor(self, dialect: Dialect, coltype: object
                         ) -> Callable[[Any], datetime | None] | None:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        parse = datetime.fromisoformat

        # SQLite hands back SQLAlchemy's own text format ("2026-03-02 01:30:00.000000", UTC);
        # parsing it with the offset appended is several times faster than .replace().
        def process(value: str | None) -> datetime | None:
            return None if value is None else parse(value + "+00:00")
        return process

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _id() -> Column[int]:
    return Column("id", Integer, primary_key=True, autoincrement=True)


def _office() -> Column[int]:
    return Column("office_id", Integer, ForeignKey("offices.id"), nullable=False)


offices = Table(
    "offices", metadata,
    _id(),
    Column("name", String(200), nullable=False),
    Column("doc_prefix", String(20), nullable=False, server_default="督"),
    # The office above (a township's is the county's); None: a top office (migration 0012).
    # No foreign key: SQLite adds the column without rebuilding the table.
    Column("parent_id", Integer, nullable=True),
    Index(None, "name", unique=True),
    Index(None, "doc_prefix", unique=True),
)

units = Table(
    "units", metadata,
    _id(),
    _office(),
    Column("name", String(200), nullable=False),
    Column("parent_id", Integer, ForeignKey("units.id"), nullable=True),
    Index(None, "office_id", "name"),
)

persons = Table(
    "persons", metadata,
    _id(),
    _office(),
    Column("name", String(100), nullable=False),
    Column("roles", JSON, nullable=False),  # sorted list of Role values
    Column("unit_id", Integer, ForeignKey("units.id"), nullable=True),
    # One binding per office: an account may be bound in several offices (0012).
    Column("telegram_id", BigInteger, nullable=True, index=True),
    Column("reachable", Boolean, nullable=False, server_default=true()),
    Column("active", Boolean, nullable=False, server_default=true()),
    # an admin from DUBAN_ADMINS without a name, asked for it on /start (0013)
    Column("name_pending", Boolean, nullable=False, server_default=false()),
    Index(None, "office_id"),
    Index(None, "unit_id"),
    Index(None, "office_id", "telegram_id", unique=True),
)

# Which office a private chat works in, for an account bound in several (/office).
office_choices = Table(
    "office_choices", metadata,
    Column("telegram_id", BigInteger, primary_key=True, autoincrement=False),
    Column("office_id", Integer, ForeignKey("offices.id"), nullable=False),
    Column("chosen_at", UTCDateTime, nullable=False),
)

invites = Table(
    "invites", metadata,
    Column("token", String(64), primary_key=True),
    _office(),
    Column("name", String(100), nullable=False),
    Column("roles", JSON, nullable=False),
    Column("unit_id", Integer, ForeignKey("units.id"), nullable=True),
    Column("created_by", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
    Column("person_id", Integer, ForeignKey("persons.id"), nullable=True),
)

group_chats = Table(
    "group_chats", metadata,
    Column("chat_id", BigInteger, primary_key=True, autoincrement=False),
    _office(),
    Column("unit_id", Integer, ForeignKey("units.id"), nullable=True),
    Column("title", String(255), nullable=False),
    Column("bound_by", Integer, nullable=False),
    Column("bound_at", UTCDateTime, nullable=False),
    Index(None, "office_id"),
)

matters = Table(
    "matters", metadata,
    _id(),
    _office(),
    Column("year", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("number", String(64), nullable=False),
    Column("title", Text, nullable=False),
    Column("status", String(32), nullable=False),
    Column("confidential", Boolean, nullable=False),
    Column("klass", String(16), nullable=False),
    Column("source", String(32), nullable=False),
    Column("registered_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime, nullable=True),
    Column("cancelled_at", UTCDateTime, nullable=True),
    Column("paused", Boolean, nullable=False, server_default=false()),
    # 三个优先 (§2.8): flagged matters sort first everywhere.
    Column("priority", Boolean, nullable=False, server_default=false()),
    # How many events the matter has; the optimistic-concurrency token.
    Column("version", Integer, nullable=False),
    Column("state", JSON, nullable=False),  # storage.matter_json.matter_to_json
    # The traffic light (ledger.lights.LightStamp), written with every save and recounted
    # daily, so that /list 红灯 and its count read an index instead of every matter.
    Column("light", String(8), nullable=False, server_default="green"),
    UniqueConstraint("office_id", "year", "seq"),
    Index(None, "office_id", "status"),
    # The lists' order (三个优先 first, newest first), with and without a light filter.
    Index(None, "office_id", "priority", "year", "seq"),
    Index(None, "office_id", "light", "priority", "year", "seq"),
)

message_refs = Table(
    "message_refs", metadata,
    Column("chat_id", BigInteger, nullable=False, autoincrement=False),
    Column("message_id", BigInteger, nullable=False, autoincrement=False),
    Column("matter_id", Integer, ForeignKey("matters.id"), nullable=False),
    Column("assignment_no", Integer, nullable=True),
    PrimaryKeyConstraint("chat_id", "message_id"),
)

# Projection of matters.state, rewritten on every save: never history. Open assignments
# exist only on open matters (closing or cancelling a matter ends them all).
assignments = Table(
    "assignments", metadata,
    Column("matter_id", Integer, ForeignKey("matters.id"), nullable=False,
           autoincrement=False),
    Column("no", Integer, nullable=False, autoincrement=False),
    # Copied from the matter so the reminder scan never touches matters (or its JSON).
    Column("office_id", Integer, nullable=False),
    Column("klass", String(16), nullable=False),
    Column("confidential", Boolean, nullable=False),
    Column("paused", Boolean, nullable=False, server_default=false()),
    Column("parent_no", Integer, nullable=True),
    Column("lead", Boolean, nullable=False),
    Column("unit_id", Integer, ForeignKey("units.id"), nullable=False),
    Column("principal_id", Integer, nullable=False),
    Column("responsible_id", Integer, nullable=False),
    Column("handler_id", Integer, nullable=False),
    Column("status", String(32), nullable=False),
    Column("deadline", Date, nullable=False),  # the effective deadline
    Column("assigned_at", UTCDateTime, nullable=False),
    Column("last_progress_at", UTCDateTime, nullable=True),
    Column("urge_limit", Date, nullable=True),
    Column("urge_count", Integer, nullable=False),
    Column("criticized", Boolean, nullable=False),
    PrimaryKeyConstraint("matter_id", "no"),
    Index(None, "office_id", "status"),
    Index(None, "unit_id"),
    Index(None, "principal_id"),
    Index(None, "responsible_id"),
    Index(None, "handler_id"),
)

events = Table(
    "events", metadata,
    _id(),
    _office(),
    Column("at", UTCDateTime, nullable=False),
    Column("actor_id", Integer, nullable=True),
    Column("kind", String(40), nullable=False),
    Column("matter_id", Integer, ForeignKey("matters.id"), nullable=True),
    # The event's position in its matter's stream (1 = registration). Two writers that
    # loaded the same version collide here, so no event is lost.
    Column("matter_seq", Integer, nullable=True),
    Column("assignment_no", Integer, nullable=True),
    Column("person_id", Integer, nullable=True),
    Column("before", JSON, nullable=False),
    Column("after", JSON, nullable=False),
    UniqueConstraint("matter_id", "matter_seq"),
    Index(None, "office_id", "at"),
)

outbox = Table(
    "outbox", metadata,
    _id(),
    Column("key", String(255), nullable=False, unique=True),
    Column("office_id", Integer, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("person_id", Integer, nullable=True),
    Column("chat_id", BigInteger, nullable=True),
    Column("matter_id", Integer, nullable=True),
    Column("assignment_no", Integer, nullable=True),
    Column("payload", JSON, nullable=False),
    Column("status", String(16), nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_try_at", UTCDateTime, nullable=True),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    # What is due is read by ix_outbox_ready below; (due_at), (status, due_at) and
    # (status, next_try_at) were read by nothing and dropped (migration 0015).
    Index(None, "matter_id"),
    Index(None, "person_id"),
)
# What is due, in order (migration 0004): the same expression as the dispatcher's queries.
Index("ix_outbox_ready", outbox.c.status, func.coalesce(outbox.c.next_try_at, outbox.c.due_at))

# Published bulletin issues (《督察》 etc.), numbered per office, kind and year.
bulletins = Table(
    "bulletins", metadata,
    _id(),
    _office(),
    Column("kind", String(40), nullable=False),
    Column("year", Integer, nullable=False),
    Column("number", Integer, nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("published_at", UTCDateTime, nullable=False),
    Column("published_by", Integer, nullable=True),
    UniqueConstraint("office_id", "kind", "year", "number"),
    UniqueConstraint("office_id", "kind", "period_start", "period_end"),
)

# Which chats an issue was posted to: a row each, so concurrent posts cannot lose one.
bulletin_deliveries = Table(
    "bulletin_deliveries", metadata,
    Column("bulletin_id", Integer, ForeignKey("bulletins.id"), nullable=False,
           autoincrement=False),
    Column("chat_id", BigInteger, nullable=False, autoincrement=False),
    PrimaryKeyConstraint("bulletin_id", "chat_id"),
)

# One row (id = 1): which process runs the scheduler, and when it last said so.
scheduler_lock = Table(
    "scheduler_lock", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("holder", String(200), nullable=True),
    Column("acquired_at", UTCDateTime, nullable=True),
    Column("heartbeat_at", UTCDateTime, nullable=True),
    CheckConstraint("id = 1", name="single_row"),
)

# The office's records that are not matters (key enterprises, visits, joint meetings,
# inspections): current state as JSON; their history is in `events` (after.record_id).
records = Table(
    "records", metadata,
    _id(),
    _office(),
    Column("kind", String(20), nullable=False),
    Column("ref_id", Integer, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("data", JSON, nullable=False),
    Index(None, "office_id", "kind"),
    Index(None, "ref_id"),
)

# The public channel's one post per public matter (公示), and a digest of its text.
public_posts = Table(
    "public_posts", metadata,
    Column("matter_id", Integer, ForeignKey("matters.id"), primary_key=True,
           autoincrement=False),
    Column("chat_id", BigInteger, nullable=False),
    Column("message_id", BigInteger, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("posted_at", UTCDateTime, nullable=False),
    Column("edited_at", UTCDateTime, nullable=True),
)

# Years' holiday arrangements entered by the office (国务院办公厅的通知): append only, the
# latest row of a year is in force. schedule.toml still overrides (ledger.workcalendar).
holiday_years = Table(
    "holiday_years", metadata,
    _id(),
    Column("year", Integer, nullable=False),
    Column("holidays", JSON, nullable=False),   # sorted ISO dates
    Column("workdays", JSON, nullable=False),   # sorted ISO dates (调休上班)
    Column("source", String(40), nullable=False),  # holiday-cn / toml / notice
    Column("entered_by", Integer, nullable=True),  # persons.id; None from the CLI
    Column("entered_by_name", String(200), nullable=False),
    Column("entered_at", UTCDateTime, nullable=False),
    Index(None, "year"),
)


# Durable intake (bot.intake_loop): every update Telegram hands the bot, stored before
# Telegram is told it arrived, and marked done in the transaction of its ledger change.
inbox = Table(
    "inbox", metadata,
    Column("bot_id", BigInteger, nullable=False, autoincrement=False),
    Column("update_id", BigInteger, nullable=False, autoincrement=False),
    Column("payload", JSON, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("done_at", UTCDateTime, nullable=True),
    PrimaryKeyConstraint("bot_id", "update_id"),
    Index(None, "done_at", "received_at"),
)

# The evidence archive (migration 0009): one row per reported file (Telegram's
# file_unique_id, the same for every bot token), with its copy's sha256 in the file store
# (storage.filestore) once downloaded. The events keep the file ids; this keeps the bytes.
evidence = Table(
    "evidence", metadata,
    Column("file_key", String(255), primary_key=True),
    Column("file_id", Text, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("matter_id", Integer, nullable=True),
    Column("person_id", Integer, nullable=True),
    Column("file_name", Text, nullable=True),
    Column("mime_type", String(255), nullable=True),
    Column("status", String(16), nullable=False),  # pending | stored | too_big | failed
    Column("sha256", String(64), nullable=True),
    Column("size", BigInteger, nullable=True),
    Column("note", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("stored_at", UTCDateTime, nullable=True),
    Index(None, "matter_id"),
)

# 已阅 receipts (ledger.receipts): a formal notice that asks to be acknowledged, and its
# readers (who is expected; who read it when). Reads are also events in the history.
receipts = Table(
    "receipts", metadata,
    _id(),
    _office(),
    Column("kind", String(20), nullable=False),
    Column("matter_id", Integer, nullable=True),
    Column("assignment_no", Integer, nullable=True),
    Column("record_id", Integer, nullable=True),
    Column("title", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("chat_id", BigInteger, nullable=True),
    Column("message_id", BigInteger, nullable=True),
    Column("open", Boolean, nullable=False, server_default=true()),
    Index(None, "office_id", "open"),
    Index(None, "matter_id"),
)

receipt_readers = Table(
    "receipt_readers", metadata,
    Column("receipt_id", Integer, ForeignKey("receipts.id"), nullable=False),
    Column("person_id", Integer, nullable=False),
    Column("unit_id", Integer, nullable=True),
    Column("expected", Boolean, nullable=False),
    Column("read_at", UTCDateTime, nullable=True),
    Column("chat_id", BigInteger, nullable=True),     # the private message carrying it
    Column("message_id", BigInteger, nullable=True),
    PrimaryKeyConstraint("receipt_id", "person_id"),
)

# Live cards (issue 13): every message the bot sent that shows a matter's state and buttons,
# redrawn in place through the outbox when the matter changes (storage.repositories.cards).
live_cards = Table(
    "live_cards", metadata,
    Column("chat_id", BigInteger, nullable=False, autoincrement=False),
    Column("message_id", BigInteger, nullable=False, autoincrement=False),
    Column("matter_id", Integer, ForeignKey("matters.id"), nullable=False),
    Column("layout", String(16), nullable=False),
    Column("viewer_id", Integer, nullable=True),   # persons.id whose buttons it shows
    Column("kind", String(40), nullable=True),     # a feed line's notice kind
    Column("files", Boolean, nullable=False, server_default=false()),
    Column("digest", String(64), nullable=True),
    Column("sent_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("chat_id", "message_id"),
    Index(None, "matter_id"),
)
