"""Storage: schema and migrations, people, invites, chats, outbox, the scheduler lock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.errors import InvalidInput, NotFound
from ledger.model import Event, Role
from ledger.ports import GroupChat, Invite, MessageRef, Notice
from storage.db import (
    SchemaBehind,
    SchemaTooNew,
    alembic_config,
    check_schema,
    current_revision,
    database_url,
    head_revision,
    make_engine,
    upgrade,
    upgrade_sync,
)
from storage.locks import (
    acquire_scheduler_lock,
    heartbeat_scheduler_lock,
    release_scheduler_lock,
)
from storage.tables import invites, metadata
from storage.uow import SqlUnitOfWork, uow_factory
from tests.dbs import url_for
from tests.test_storage_helpers import T0, add_matter, migrated_engine, register, seed

SHANGHAI = timezone(timedelta(hours=8))


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncEngine:
    e = await migrated_engine(tmp_path / "duban.db")
    yield e  # type: ignore[misc]
    await e.dispose()


# ---- engine, URL, migrations ----

def test_database_url_normalises_paths_and_drivers(tmp_path: Path) -> None:
    assert database_url(str(tmp_path / "x.db")) == f"sqlite+aiosqlite:///{tmp_path}/x.db"
    assert database_url("sqlite:////var/duban.db") == "sqlite+aiosqlite:////var/duban.db"
    assert database_url("postgresql://u:p%40ss@db/duban") == \
        "postgresql+asyncpg://u:p%40ss@db/duban"
    assert database_url("sqlite+aiosqlite:///rel.db") == "sqlite+aiosqlite:///rel.db"
    assert database_url(":memory:") == "sqlite+aiosqlite://"


@pytest.mark.sqlite_only
async def test_sqlite_pragmas(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        pragmas = {name: (await conn.exec_driver_sql(f"PRAGMA {name}")).scalar()
                   for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")}
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 30000,
                       "synchronous": 1}


# Expression indexes cannot be reflected on SQLite; the one we have is checked below.
@pytest.mark.filterwarnings("ignore:.*expression-based index:UserWarning",
                            "ignore:.*expression-based index:sqlalchemy.exc.SAWarning")
async def test_upgrade_from_empty_matches_metadata(engine: AsyncEngine) -> None:
    def diff(conn: Connection) -> list[object]:
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True})
        return list(compare_metadata(ctx, metadata))

    async with engine.connect() as conn:
        assert await conn.run_sync(diff) == []
    assert await current_revision(engine) == head_revision()
    await check_schema(engine)


@pytest.mark.sqlite_only
async def test_due_notices_come_from_the_ready_index(engine: AsyncEngine) -> None:
    """The dispatcher asks "what is due now" on every wake-up: with many pending notices
    it must read the index in order, not sort every pending row."""
    from sqlalchemy.dialects import sqlite

    from storage.repositories import _ready_at
    from storage.tables import outbox

    stmt = (select(outbox.c.id).where(outbox.c.status == "pending", _ready_at <= datetime(2026, 1, 1, tzinfo=UTC))
            .order_by(_ready_at, outbox.c.id).limit(100))
    compiled = stmt.compile(dialect=sqlite.dialect())
    params = tuple(None for _ in compiled.positiontup or ())  # values don't change a plan
    async with engine.connect() as conn:
        plan = " ".join(str(r[-1]) for r in await conn.exec_driver_sql(
            f"EXPLAIN QUERY PLAN {compiled}", params))
    assert "ix_outbox_ready" in plan and "TEMP B-TREE" not in plan, plan


async def test_upgrade_is_idempotent_and_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "again.db"
    engine = await migrated_engine(path)
    await seed(engine)
    await upgrade(url_for(path))
    async with SqlUnitOfWork(engine) as uow:
        assert [o.name for o in await uow.people.offices()] == ["某县督查室"]
    await engine.dispose()


@pytest.mark.sqlite_only
def test_upgrade_sync_for_the_cli(tmp_path: Path) -> None:
    upgrade_sync(str(tmp_path / "sub" / "cli.db"))  # creates the directory too
    assert (tmp_path / "sub" / "cli.db").exists()


async def test_check_schema_refuses_an_empty_database(tmp_path: Path) -> None:
    engine = make_engine(url_for(tmp_path / "empty.db"))
    with pytest.raises(SchemaBehind, match="duban db upgrade"):
        await check_schema(engine)
    await engine.dispose()


async def test_check_schema_refuses_a_newer_database(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = 'f00dfeed9999'"))
    with pytest.raises(SchemaTooNew) as info:
        await check_schema(engine)
    message = str(info.value)
    assert "f00dfeed9999" in message and head_revision() in message
    assert "新" in message and "newer" in message


async def test_check_schema_refuses_an_old_database(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    await upgrade(url_for(path), "0001")
    engine = make_engine(url_for(path))
    with pytest.raises(SchemaBehind) as info:
        await check_schema(engine)
    assert "0001" in str(info.value) and head_revision() in str(info.value)
    await upgrade(url_for(path))
    await check_schema(engine)
    await engine.dispose()


@pytest.mark.sqlite_only
async def test_0002_backfills_assignment_rows(tmp_path: Path) -> None:
    """Data written under 0001 survives the batch-mode table rebuilds of 0002."""
    path = tmp_path / "data.db"
    await upgrade(url_for(path), "0001")
    engine = make_engine(url_for(path))
    async with engine.begin() as conn:
        for sql in (
            "INSERT INTO offices (id, name) VALUES (1, '督查室')",
            "INSERT INTO units (id, office_id, name) VALUES (7, 1, '住建局')",
            "INSERT INTO matters (id, office_id, year, seq, number, title, status, confidential,"
            " klass, source, registered_at, paused, version, state) VALUES (1, 1, 2026, 1,"
            " '督〔2026〕1号', 't', 'in_progress', 1, 'major', 'meeting',"
            " '2026-03-02 01:30:00.000000', 1, 2, '{}')",
            "INSERT INTO assignments (matter_id, no, office_id, lead, unit_id, principal_id,"
            " responsible_id, handler_id, status, deadline, assigned_at, urge_count,"
            " criticized) VALUES (1, 1, 1, 1, 7, 2, 3, 4, 'signed', '2026-03-20',"
            " '2026-03-02 01:30:00.000000', 0, 0)",
        ):
            await conn.execute(text(sql))
    await upgrade(url_for(path))
    async with SqlUnitOfWork(engine, read_only=True) as uow:
        (row,) = await uow.matters.open_assignments(1)
    assert (row.klass, row.confidential, row.paused, row.unit_id) == ("major", True, True, 7)

    def down_and_up(conn: Connection) -> None:
        cfg = alembic_config(url_for(path))
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
        command.upgrade(cfg, "head")

    async with engine.begin() as conn:
        await conn.run_sync(down_and_up)
    await check_schema(engine)
    async with SqlUnitOfWork(engine, read_only=True) as uow:
        (row,) = await uow.matters.open_assignments(1)
    assert (row.klass, row.confidential, row.paused) == ("major", True, True)
    await engine.dispose()


# ---- times ----

async def test_aware_datetimes_round_trip_as_utc(engine: AsyncEngine) -> None:
    w = await seed(engine)
    local = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=SHANGHAI)
    invite = Invite(token="t-utc", office_id=w.office_id, name="张三",
                    roles=frozenset({Role.HANDLER}), unit_id=w.unit_a, created_by=w.admin_id,
                    created_at=local, expires_at=local + timedelta(days=3))
    async with SqlUnitOfWork(engine) as uow:
        await uow.invites.add(invite)
        await uow.commit()
    async with SqlUnitOfWork(engine, read_only=True) as uow:
        got = await uow.invites.get("t-utc")
    assert got is not None
    assert got.created_at == local and got.created_at.tzinfo is UTC
    assert got.created_at.hour == 1 and got.created_at.microsecond == 123456
    assert got.expires_at == local + timedelta(days=3)


async def test_naive_datetime_is_rejected(engine: AsyncEngine) -> None:
    w = await seed(engine)
    async with SqlUnitOfWork(engine) as uow:
        with pytest.raises(StatementError, match="naive datetime"):
            await uow.events.append(Event(kind="unit_added", at=datetime(2026, 3, 2, 9, 0),
                                          actor_id=w.admin_id, office_id=w.office_id))


# ---- people ----

async def test_people_round_trip(engine: AsyncEngine) -> None:
    w = await seed(engine)
    async with SqlUnitOfWork(engine) as uow:
        office = await uow.people.get_office(w.office_id)
        assert (office.name, office.doc_prefix) == ("某县督查室", "督")
        sub = await uow.people.add_unit(w.office_id, "住建局城建股", parent_id=w.unit_a)
        assert (await uow.people.get_unit(sub.id)).parent_id == w.unit_a
        assert (await uow.people.unit_by_name(w.office_id, "交通局")).id == w.unit_b  # type: ignore[union-attr]
        assert await uow.people.unit_by_name(w.office_id, "不存在") is None
        assert [u.id for u in await uow.people.units(w.office_id)] == [w.unit_a, w.unit_b, sub.id]

        leader = await uow.people.add_person(w.office_id, "李县长",
                                             frozenset({Role.LEADER, Role.ADMIN}))
        got = await uow.people.get_person(leader.id)
        assert got == leader and got.roles == frozenset({Role.LEADER, Role.ADMIN})
        from dataclasses import replace
        await uow.people.save_person(replace(got, telegram_id=777, reachable=False))
        again = await uow.people.by_telegram(777)
        assert again is not None and again.id == leader.id and not again.reachable
        assert len(await uow.people.persons(w.office_id, unit_id=w.unit_a)) == 3
        assert len(await uow.people.persons(w.office_id)) == 8
        with pytest.raises(InvalidInput):
            await uow.people.add_person(w.office_id, "冒名", frozenset(), telegram_id=777)
    async with SqlUnitOfWork(engine) as uow:
        with pytest.raises(NotFound):
            await uow.people.get_person(9999)
        with pytest.raises(NotFound):
            await uow.people.get_unit(9999)
        with pytest.raises(NotFound):
            await uow.people.get_office(9999)


async def test_leaving_without_commit_rolls_back(engine: AsyncEngine) -> None:
    w = await seed(engine)
    factory = uow_factory(engine)
    async with factory() as uow:
        await uow.people.add_unit(w.office_id, "临时单位")
    async with factory() as uow:
        await uow.people.add_unit(w.office_id, "保留单位")
        await uow.commit()
        await uow.people.add_unit(w.office_id, "提交之后")  # after the commit: dropped
    async with factory() as uow:
        names = [u.name for u in await uow.people.units(w.office_id)]
    assert names == ["住建局", "交通局", "保留单位"]


async def test_people_events_since(engine: AsyncEngine) -> None:
    w = await seed(engine)
    async with SqlUnitOfWork(engine) as uow:
        for i in range(3):
            await uow.events.append(Event(
                kind="person_added", at=T0 + timedelta(hours=i), actor_id=w.admin_id,
                office_id=w.office_id, person_id=w.a_people[0], after={"i": i}))
        await uow.commit()
    async with SqlUnitOfWork(engine) as uow:
        got = await uow.events.since(w.office_id, T0 + timedelta(hours=1))
        assert [e.after["i"] for e in got] == [1, 2]
        got = await uow.events.since(w.office_id, T0, until=T0 + timedelta(hours=2))
        assert [e.after["i"] for e in got] == [0, 1]
        assert all(e.id is not None and e.matter_id is None for e in got)


# ---- invites, chats ----

async def test_invite_is_single_use(engine: AsyncEngine) -> None:
    w = await seed(engine)
    invite = Invite(token="abc123", office_id=w.office_id, name="王五",
                    roles=frozenset({Role.LIAISON}), unit_id=None, created_by=w.admin_id,
                    created_at=T0, expires_at=T0 + timedelta(days=7))
    async with SqlUnitOfWork(engine) as uow:
        await uow.invites.add(invite)
        await uow.commit()
    async with SqlUnitOfWork(engine) as uow:
        assert await uow.invites.mark_used("abc123", T0 + timedelta(hours=1), w.a_people[0])
        assert not await uow.invites.mark_used("abc123", T0 + timedelta(hours=2),
                                               w.b_people[0])
        await uow.commit()
    async with SqlUnitOfWork(engine) as uow:
        got = await uow.invites.get("abc123")
        assert await uow.invites.get("nope") is None
        assert not await uow.invites.mark_used("nope", T0, w.a_people[0])
    assert got is not None
    assert got.used_at == T0 + timedelta(hours=1) and got.person_id == w.a_people[0]
    assert got.roles == frozenset({Role.LIAISON})


async def test_invite_used_by_two_engines_at_once(tmp_path: Path) -> None:
    import asyncio
    path = tmp_path / "race.db"
    e1 = await migrated_engine(path)
    e2 = make_engine(url_for(path))
    w = await seed(e1)
    async with SqlUnitOfWork(e1) as uow:
        for i in range(20):
            await uow.invites.add(Invite(
                token=f"tok{i}", office_id=w.office_id, name="x", roles=frozenset(),
                unit_id=None, created_by=w.admin_id, created_at=T0, expires_at=T0))
        await uow.commit()

    async def use(engine: AsyncEngine, token: str, who: int) -> bool:
        async with SqlUnitOfWork(engine) as uow:
            ok = await uow.invites.mark_used(token, T0, who)
            await uow.commit()
            return ok

    results = await asyncio.gather(*(use(e, f"tok{i}", p) for i in range(20)
                                     for e, p in ((e1, w.a_people[0]), (e2, w.b_people[0]))))
    assert sum(results) == 20
    async with e1.connect() as conn:
        used = (await conn.execute(select(invites.c.person_id))).scalars().all()
    assert len(used) == 20 and None not in used
    await e1.dispose()
    await e2.dispose()


async def test_chats_and_message_refs(engine: AsyncEngine) -> None:
    w = await seed(engine)
    m = await add_matter(engine, register(w, 1))
    assert m.id is not None
    chat = GroupChat(chat_id=-1001234567890123, office_id=w.office_id, unit_id=None,
                     title="督查工作群", bound_by=w.admin_id, bound_at=T0)
    async with SqlUnitOfWork(engine) as uow:
        await uow.chats.bind(chat)
        # Rebinding the same chat to a unit replaces the binding.
        await uow.chats.bind(GroupChat(chat_id=chat.chat_id, office_id=w.office_id,
                                       unit_id=w.unit_a, title="住建局工作群",
                                       bound_by=w.admin_id, bound_at=T0 + timedelta(days=1)))
        ref = MessageRef(chat_id=chat.chat_id, message_id=42, matter_id=m.id, assignment_no=1)
        await uow.chats.remember(ref)
        await uow.chats.remember(ref)  # idempotent
        await uow.commit()
    async with SqlUnitOfWork(engine) as uow:
        got = await uow.chats.get(chat.chat_id)
        assert got is not None and got.unit_id == w.unit_a and got.title == "住建局工作群"
        assert [c.chat_id for c in await uow.chats.for_office(w.office_id)] == [chat.chat_id]
        assert await uow.chats.get(1) is None
        assert await uow.chats.lookup(chat.chat_id, 42) == ref
        assert await uow.chats.lookup(chat.chat_id, 43) is None


# ---- outbox ----

def _notice(w_office: int, key: str, due: datetime, **kw: object) -> Notice:
    return Notice(key=key, office_id=w_office, kind=str(kw.pop("kind", "reminder")),
                  due_at=due, payload={"text": "请报送进展", "n": 1}, **kw)  # type: ignore[arg-type]


async def test_outbox_dedups_by_key_and_orders_due(engine: AsyncEngine) -> None:
    w = await seed(engine)
    m = await add_matter(engine, register(w, 1))
    async with SqlUnitOfWork(engine) as uow:
        first = _notice(w.office_id, "k1", T0 + timedelta(hours=2), person_id=w.a_people[1],
                        matter_id=m.id)
        assert await uow.outbox.add(first) and first.id is not None
        dup = _notice(w.office_id, "k1", T0)
        assert not await uow.outbox.add(dup) and dup.id is None
        assert await uow.outbox.add(_notice(w.office_id, "k2", T0 + timedelta(hours=1),
                                            person_id=w.a_people[1], matter_id=m.id,
                                            kind="urge"))
        assert await uow.outbox.add(_notice(w.office_id, "k3", T0 + timedelta(hours=5),
                                            chat_id=-100, matter_id=m.id))
        await uow.commit()
    async with SqlUnitOfWork(engine) as uow:
        assert await uow.outbox.next_due_at() == T0 + timedelta(hours=1)
        assert await uow.outbox.due(T0) == []
        due = await uow.outbox.due(T0 + timedelta(hours=3))
        assert [n.key for n in due] == ["k2", "k1"]
        assert due[1].payload == {"text": "请报送进展", "n": 1}
        assert due[1].due_at.tzinfo is UTC
        # A retry moves the notice to its retry time.
        await uow.outbox.mark_retry(due[0].id, "429", T0 + timedelta(hours=4))  # type: ignore[arg-type]
        await uow.outbox.mark_sent(due[1].id, T0 + timedelta(hours=3))  # type: ignore[arg-type]
        await uow.commit()
    async with SqlUnitOfWork(engine) as uow:
        assert await uow.outbox.due(T0 + timedelta(hours=3)) == []
        assert await uow.outbox.next_due_at() == T0 + timedelta(hours=4)
        again = await uow.outbox.due(T0 + timedelta(hours=6))
        assert [n.key for n in again] == ["k2", "k3"]
        assert again[0].attempts == 1 and again[0].last_error == "429"
        # A sent key stays taken.
        assert not await uow.outbox.add(_notice(w.office_id, "k1", T0))
        assert await uow.outbox.cancel(m.id, frozenset({"urge"})) == 1  # type: ignore[arg-type]
        await uow.outbox.mark_failed(again[1].id, "blocked")  # type: ignore[arg-type]
        await uow.commit()
    async with SqlUnitOfWork(engine) as uow:
        assert await uow.outbox.next_due_at() is None
        mine = await uow.outbox.for_person(w.a_people[1])
        assert [(n.key, n.status) for n in mine] == [("k2", "cancelled"), ("k1", "sent")]
        assert mine[1].sent_at == T0 + timedelta(hours=3)


async def test_outbox_cancel_all_kinds(engine: AsyncEngine) -> None:
    w = await seed(engine)
    m = await add_matter(engine, register(w, 1))
    async with SqlUnitOfWork(engine) as uow:
        for i in range(3):
            await uow.outbox.add(_notice(w.office_id, f"c{i}", T0, matter_id=m.id))
        await uow.outbox.add(_notice(w.office_id, "other", T0))
        assert await uow.outbox.cancel(m.id) == 3  # type: ignore[arg-type]
        assert [n.key for n in await uow.outbox.due(T0)] == ["other"]


async def test_outbox_dedup_across_engines(tmp_path: Path) -> None:
    import asyncio
    path = tmp_path / "outbox.db"
    e1 = await migrated_engine(path)
    e2 = make_engine(url_for(path))
    w = await seed(e1)

    async def add(engine: AsyncEngine, key: str) -> bool:
        async with SqlUnitOfWork(engine) as uow:
            ok = await uow.outbox.add(_notice(w.office_id, key, T0))
            await uow.commit()
            return ok

    results = await asyncio.gather(*(add(e, f"key{i % 10}") for i in range(40)
                                     for e in (e1, e2)))
    assert sum(results) == 10
    async with SqlUnitOfWork(e2) as uow:
        assert len(await uow.outbox.due(T0)) == 10
    await e1.dispose()
    await e2.dispose()


# ---- scheduler lock ----

async def test_scheduler_lock(engine: AsyncEngine) -> None:
    stale = timedelta(minutes=2)
    assert await acquire_scheduler_lock(engine, "a", T0, stale)
    assert await acquire_scheduler_lock(engine, "a", T0 + timedelta(seconds=5), stale)
    assert not await acquire_scheduler_lock(engine, "b", T0 + timedelta(minutes=1), stale)
    assert await heartbeat_scheduler_lock(engine, "a", T0 + timedelta(minutes=1))
    assert not await acquire_scheduler_lock(engine, "b", T0 + timedelta(minutes=2), stale)
    # a stops heartbeating: b takes over once the heartbeat is stale.
    assert await acquire_scheduler_lock(engine, "b", T0 + timedelta(minutes=3, seconds=1),
                                        stale)
    assert not await heartbeat_scheduler_lock(engine, "a", T0 + timedelta(minutes=4))
    assert not await release_scheduler_lock(engine, "a")
    assert await release_scheduler_lock(engine, "b")
    assert await acquire_scheduler_lock(engine, "a", T0 + timedelta(minutes=5), stale)


async def test_scheduler_lock_one_winner_across_engines(tmp_path: Path) -> None:
    import asyncio
    path = tmp_path / "lock.db"
    e1 = await migrated_engine(path)
    e2 = make_engine(url_for(path))
    got = await asyncio.gather(*(acquire_scheduler_lock(e, f"h{i}", T0, timedelta(minutes=1))
                                 for i, e in enumerate([e1, e2] * 5)))
    assert sum(got) == 1
    await e1.dispose()
    await e2.dispose()


async def test_0013_names_old_placeholder_admins_and_numbers_meetings(tmp_path: Path) -> None:
    """Before 0013 an admin from DUBAN_ADMINS was stored as 「管理员<id>」 and meetings had
    no numbers of their own."""
    path = tmp_path / "old.db"
    await upgrade(url_for(path), "0006")
    engine = make_engine(url_for(path))
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO offices (id, name, doc_prefix) VALUES (1, '督查室', '督')"))
        await conn.execute(text(
            "INSERT INTO persons (id, office_id, name, roles, telegram_id, reachable, active)"
            " VALUES (1, 1, '管理员1001', '[\"admin\"]', 1001, true, true),"
            " (2, 1, '王芳', '[\"admin\"]', 1002, true, true)"))
        for rid, kind in ((1, "inspection"), (2, "meeting"), (3, "visit"), (4, "meeting")):
            await conn.execute(text(
                "INSERT INTO records (id, office_id, kind, created_at, created_by, version, data)"
                f" VALUES ({rid}, 1, '{kind}', '2026-11-23 01:00:00', 1, 1, '{{\"topic\": \"t\"}}')"))
    await upgrade(url_for(path))
    async with SqlUnitOfWork(engine, read_only=True) as uow:
        old, named = await uow.people.persons(1)
        meetings = await uow.records.list(1, "meeting")
        inspection = await uow.records.get(1)
    assert (old.name, old.name_pending) == ("督查室", True)
    assert (named.name, named.name_pending) == ("王芳", False)
    assert [r.data["no"] for r in meetings] == [1, 2] and "no" not in inspection.data
    await engine.dispose()
