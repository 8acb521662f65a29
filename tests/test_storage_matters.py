"""Storage of matters: event stream + snapshot + assignment projection, and queries."""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.deadlines import MatterClass
from ledger.errors import Conflict, NotFound
from ledger.model import (
    AssignmentStatus,
    Attachment,
    Event,
    Matter,
    MatterStatus,
)
from ledger.ports import AssignmentRow, BulletinRecord, MatterQuery
from storage.matter_json import matter_to_json
from storage.tables import assignments, events, matters
from storage.uow import SqlUnitOfWork
from tests.test_storage_helpers import (
    T0,
    World,
    add_matter,
    assign,
    migrated_engine,
    register,
    seed,
)

D = date(2026, 3, 16)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncEngine:
    e = await migrated_engine(tmp_path / "duban.db")
    yield e  # type: ignore[misc]
    await e.dispose()


@pytest.fixture
async def world(engine: AsyncEngine) -> World:
    return await seed(engine)


async def _replayed(engine: AsyncEngine, matter_id: int) -> tuple[Matter, Matter]:
    async with SqlUnitOfWork(engine, read_only=True) as uow:
        stored = await uow.matters.get(matter_id)
        history = await uow.events.for_matter(matter_id)
    return stored, Matter.replay(history)


def _busy_matter(w: World) -> Matter:
    """A matter with most kinds of history, built before it has an id."""
    m = register(w, 7, title="老旧小区改造（保密）", confidential=True)
    lead = assign(w, m, w.unit_a, lead=True, deadline=D)
    co = assign(w, m, w.unit_b, lead=False, deadline=D)
    m.sign(at=T0 + timedelta(hours=1), actor_id=w.a_people[1], no=lead, committed=D)
    m.report_progress(at=T0 + timedelta(hours=2), actor_id=w.a_people[2], no=lead,
                      text="已完成方案设计", attachments=(
                          Attachment("photo", "AgACAgUAAx0", None),
                          Attachment("document", "BQACAgUAAx0", "方案.pdf")))
    m.request_extension(at=T0 + timedelta(hours=3), actor_id=w.b_people[1], no=co,
                        reason="需要协调资金", new_deadline=D + timedelta(days=10),
                        today=T0.date(), by_principal=False)
    m.confirm_extension(at=T0 + timedelta(hours=4), actor_id=w.b_people[0], no=co)
    m.decide_extension(at=T0 + timedelta(hours=5), actor_id=w.admin_id, no=co, approve=True)
    m.urge(at=T0 + timedelta(hours=6), actor_id=w.admin_id, no=lead, limit=D,
           today=T0.date(), note="请加快进度")
    return m


async def test_add_round_trips_the_whole_matter(engine: AsyncEngine, world: World) -> None:
    m = _busy_matter(world)
    version = m.version
    await add_matter(engine, m)
    assert m.id is not None and m.pending == [] and m.version == version == 9
    stored, replayed = await _replayed(engine, m.id)
    assert matter_to_json(stored) == matter_to_json(m)
    assert matter_to_json(replayed) == matter_to_json(m)
    assert stored.assignment(2).extension is None
    assert stored.assignment(2).deadline == D + timedelta(days=10)
    async with engine.connect() as conn:
        seqs = (await conn.execute(select(events.c.matter_seq, events.c.matter_id)
                                   .order_by(events.c.id))).all()
        state = (await conn.execute(select(matters.c.state))).scalar_one()
    assert seqs == [(i, m.id) for i in range(1, 10)]
    assert state == matter_to_json(m)  # the snapshot column itself has the id


async def test_save_appends_and_refreshes_projection(engine: AsyncEngine, world: World) -> None:
    w = world
    m = _busy_matter(w)
    await add_matter(engine, m)
    assert m.id is not None
    async with SqlUnitOfWork(engine) as uow:
        loaded = await uow.matters.find(w.office_id, 2026, 7)
        loaded.request_completion(at=T0 + timedelta(days=1), actor_id=w.a_people[1], no=1,
                                  text="已完工", attachments=())
        loaded.close(at=T0 + timedelta(days=2), actor_id=w.admin_id, comment="验收合格")
        await uow.matters.save(loaded)
        assert loaded.pending == []
        await uow.commit()
    stored, replayed = await _replayed(engine, m.id)
    assert stored.status == MatterStatus.CLOSED and stored.version == 11
    assert matter_to_json(replayed) == matter_to_json(stored) == matter_to_json(loaded)
    async with engine.connect() as conn:
        rows = (await conn.execute(select(assignments.c.no, assignments.c.status,
                                          assignments.c.deadline)
                                   .order_by(assignments.c.no))).all()
        status = (await conn.execute(select(matters.c.status, matters.c.closed_at))).one()
    assert rows == [(1, "closed", D), (2, "closed", D + timedelta(days=10))]
    assert status == ("closed", T0 + timedelta(days=2))


async def test_save_without_changes_is_a_no_op(engine: AsyncEngine, world: World) -> None:
    m = await add_matter(engine, register(world, 1))
    async with SqlUnitOfWork(engine) as uow:
        await uow.matters.save(await uow.matters.get(m.id))  # type: ignore[arg-type]
        await uow.commit()
    stored, _ = await _replayed(engine, m.id)  # type: ignore[arg-type]
    assert stored.version == 1


async def test_concurrent_save_of_the_same_version_conflicts(
        engine: AsyncEngine, world: World) -> None:
    w = world
    m = register(w, 1)
    no = assign(w, m, w.unit_a, lead=True, deadline=D)
    await add_matter(engine, m)
    assert m.id is not None
    # Two users load the same version...
    async with SqlUnitOfWork(engine, read_only=True) as uow:
        first = await uow.matters.get(m.id)
        second = await uow.matters.get(m.id)
    first.report_progress(at=T0 + timedelta(hours=1), actor_id=w.a_people[2], no=no,
                          text="第一条")
    second.report_progress(at=T0 + timedelta(hours=1), actor_id=w.a_people[1], no=no,
                           text="第二条")
    async with SqlUnitOfWork(engine) as uow:
        await uow.matters.save(first)
        await uow.commit()
    # ...the second save must not silently overwrite the first.
    async with SqlUnitOfWork(engine) as uow:
        with pytest.raises(Conflict, match="刚被别人修改过"):
            await uow.matters.save(second)
    stored, replayed = await _replayed(engine, m.id)
    assert stored.assignment(no).last_progress_text == "第一条"
    assert matter_to_json(replayed) == matter_to_json(stored)


async def test_save_many_saves_each_matter_like_save(engine: AsyncEngine, world: World) -> None:
    """A batch of reports: several matters in a few statements, each stream exact."""
    w = world
    ms = []
    for seq in (1, 2, 3):
        m = register(w, seq)
        assign(w, m, w.unit_a, lead=True, deadline=D)
        ms.append(await add_matter(engine, m))
    async with SqlUnitOfWork(engine) as uow:
        loaded = await uow.matters.get_many([m.id for m in ms if m.id is not None] + [999])
        assert sorted(loaded) == [m.id for m in ms]  # a missing id is left out
        for i, m in enumerate(loaded.values()):
            for k in range(i + 1):
                m.report_progress(at=T0 + timedelta(hours=k + 1), actor_id=w.a_people[2],
                                  no=1, text=f"进展{k}")
        await uow.matters.save_many(list(loaded.values()))
        await uow.commit()
    for i, m in enumerate(ms):
        assert m.id is not None
        stored, replayed = await _replayed(engine, m.id)
        assert stored.version == m.version + i + 1
        assert stored.assignment(1).last_progress_text == f"进展{i}"
        assert matter_to_json(replayed) == matter_to_json(stored)
    async with engine.connect() as conn:
        rows = (await conn.execute(select(assignments.c.matter_id, assignments.c.last_progress_at)
                                   .order_by(assignments.c.matter_id))).all()
    assert [r[1] for r in rows] == [T0 + timedelta(hours=k) for k in (1, 2, 3)]


async def test_save_many_with_a_stale_matter_saves_none(engine: AsyncEngine,
                                                        world: World) -> None:
    w = world
    ms = []
    for seq in (1, 2):
        m = register(w, seq)
        assign(w, m, w.unit_a, lead=True, deadline=D)
        ms.append(await add_matter(engine, m))
    async with SqlUnitOfWork(engine, read_only=True) as uow:
        batch = list((await uow.matters.get_many([m.id for m in ms if m.id])).values())
        other = await uow.matters.get(batch[1].id or 0)
    other.report_progress(at=T0, actor_id=w.a_people[2], no=1, text="别人先保存了")
    async with SqlUnitOfWork(engine) as uow:
        await uow.matters.save(other)
        await uow.commit()
    for m in batch:
        m.report_progress(at=T0, actor_id=w.a_people[2], no=1, text="批量")
    async with SqlUnitOfWork(engine) as uow:
        with pytest.raises(Conflict):
            await uow.matters.save_many(batch)
    first, _ = await _replayed(engine, batch[0].id or 0)
    second, _ = await _replayed(engine, batch[1].id or 0)
    assert first.assignment(1).last_progress_text is None  # not half-written
    assert second.assignment(1).last_progress_text == "别人先保存了"


async def test_event_position_is_a_second_guard(engine: AsyncEngine, world: World) -> None:
    """Even if the version check were passed, an event at a taken position collides."""
    w = world
    m = register(w, 1)
    no = assign(w, m, w.unit_a, lead=True, deadline=D)
    await add_matter(engine, m)
    async with engine.begin() as conn:
        await conn.execute(insert(events).values(
            office_id=w.office_id, at=T0, actor_id=None, kind="notice_sent", matter_id=m.id,
            matter_seq=3, before={}, after={}))
    m.report_progress(at=T0, actor_id=w.a_people[2], no=no, text="进展")
    async with SqlUnitOfWork(engine) as uow:
        with pytest.raises(Conflict):
            await uow.matters.save(m)
    async with engine.begin() as conn:
        with pytest.raises(IntegrityError):
            await conn.execute(insert(events).values(
                office_id=w.office_id, at=T0, actor_id=None, kind="x", matter_id=m.id,
                matter_seq=1, before={}, after={}))


async def test_add_with_a_taken_number_conflicts(engine: AsyncEngine, world: World) -> None:
    await add_matter(engine, register(world, 3))
    async with SqlUnitOfWork(engine) as uow:
        assert await uow.matters.next_seq(world.office_id, 2026) == 4
        assert await uow.matters.next_seq(world.office_id, 2027) == 1
        with pytest.raises(Conflict, match="督〔2026〕3号"):
            await uow.matters.add(register(world, 3))


async def test_matter_event_appended_through_the_log_joins_the_stream(
        engine: AsyncEngine, world: World) -> None:
    w = world
    m = register(w, 1)
    assign(w, m, w.unit_a, lead=True, deadline=D)
    await add_matter(engine, m)
    assert m.id is not None
    async with SqlUnitOfWork(engine) as uow:
        await uow.events.append(Event(kind="notice_sent", at=T0 + timedelta(hours=1),
                                      actor_id=None, office_id=w.office_id, matter_id=m.id,
                                      assignment_no=1, after={"kind": "assigned"}))
        await uow.matters.set_paused(m.id, True)
        await uow.commit()
    stored, replayed = await _replayed(engine, m.id)
    assert stored.version == 3
    assert matter_to_json(replayed) == matter_to_json(stored)
    async with SqlUnitOfWork(engine) as uow:
        rows = await uow.matters.open_assignments(w.office_id)
        assert [r.paused for r in rows] == [True]
        with pytest.raises(NotFound):
            await uow.matters.set_paused(999, True)


async def test_get_and_find_missing(engine: AsyncEngine, world: World) -> None:
    async with SqlUnitOfWork(engine) as uow:
        with pytest.raises(NotFound, match="找不到"):
            await uow.matters.get(42)
        with pytest.raises(NotFound, match="2026 年第 5 号"):
            await uow.matters.find(world.office_id, 2026, 5)


# ---- queries ----

async def _ledger(engine: AsyncEngine, w: World) -> dict[str, int]:
    """Six matters covering every filter."""
    ids: dict[str, int] = {}

    m = register(w, 1, title="道路改造")                 # A leads, B co; A overdue by 3-11
    assign(w, m, w.unit_a, lead=True, deadline=date(2026, 3, 10))
    assign(w, m, w.unit_b, lead=False, deadline=date(2026, 3, 20))
    ids["road"] = (await add_matter(engine, m)).id  # type: ignore[assignment]

    m = register(w, 2, title="学校扩建 Phase-II", confidential=True)   # B only
    assign(w, m, w.unit_b, lead=True, deadline=date(2026, 3, 12))
    ids["school"] = (await add_matter(engine, m)).id  # type: ignore[assignment]

    m = register(w, 3, title="污水处理")                  # registered, no assignment
    ids["sewage"] = (await add_matter(engine, m)).id  # type: ignore[assignment]

    m = register(w, 4, title="桥梁检修")                  # A, closed
    no = assign(w, m, w.unit_a, lead=True, deadline=date(2026, 3, 5))
    m.request_completion(at=T0, actor_id=w.a_people[1], no=no, text="完成")
    m.close(at=T0, actor_id=w.admin_id, comment="")
    ids["bridge"] = (await add_matter(engine, m)).id  # type: ignore[assignment]

    m = register(w, 5, title="重复登记")                  # cancelled
    assign(w, m, w.unit_b, lead=True, deadline=date(2026, 3, 5))
    m.cancel(at=T0, actor_id=w.admin_id, reason="重复登记")
    ids["dup"] = (await add_matter(engine, m)).id  # type: ignore[assignment]

    late = T0.replace(year=2025)
    m = register(w, 1, title="去年的道路", year=2025, at=late)
    assign(w, m, w.unit_a, lead=True, deadline=date(2025, 12, 31), at=late)
    ids["old"] = (await add_matter(engine, m)).id  # type: ignore[assignment]
    return ids


async def test_list_filters(engine: AsyncEngine, world: World) -> None:
    w = world
    ids = await _ledger(engine, w)
    name = {v: k for k, v in ids.items()}

    async def names(**kw: object) -> list[str]:
        q = MatterQuery(office_id=w.office_id, **kw)  # type: ignore[arg-type]
        async with SqlUnitOfWork(engine, read_only=True) as uow:
            found = await uow.matters.list(q)
            assert await uow.matters.count(q) == len(found) or "limit" in kw or "offset" in kw
        return [name[m.id] for m in found]  # type: ignore[index]

    assert await names() == ["dup", "bridge", "sewage", "school", "road", "old"]
    assert await names(statuses=frozenset({MatterStatus.IN_PROGRESS})) == \
        ["school", "road", "old"]
    assert await names(statuses=frozenset({MatterStatus.CLOSED, MatterStatus.CANCELLED})) == \
        ["dup", "bridge"]
    assert await names(statuses=frozenset({MatterStatus.REGISTERED})) == ["sewage"]
    assert await names(unit_id=w.unit_a) == ["bridge", "road", "old"]
    assert await names(unit_id=w.unit_b) == ["dup", "school", "road"]
    assert await names(person_id=w.b_people[2]) == ["dup", "school", "road"]
    assert await names(person_id=w.a_people[0]) == ["bridge", "road", "old"]
    assert await names(person_id=w.admin_id) == []
    assert await names(include_confidential=False) == \
        ["dup", "bridge", "sewage", "road", "old"]
    # Open assignments only: the closed bridge and the cancelled duplicate are not overdue.
    assert await names(overdue_on=date(2026, 3, 11)) == ["road", "old"]
    assert await names(overdue_on=date(2026, 3, 10)) == ["old"]
    assert await names(due_by=date(2026, 3, 12)) == ["school", "road", "old"]
    assert await names(due_by=date(2026, 3, 11)) == ["road", "old"]
    # Unit and overdue hold for the same assignment: B's own part of the road is not late.
    assert await names(unit_id=w.unit_b, overdue_on=date(2026, 3, 13)) == ["school"]
    assert await names(unit_id=w.unit_a, overdue_on=date(2026, 3, 13)) == ["road", "old"]
    assert await names(year=2025) == ["old"]
    assert await names(registered_from=T0) == ["dup", "bridge", "sewage", "school", "road"]
    assert await names(registered_to=T0) == ["old"]
    assert await names(text="道路") == ["road", "old"]
    assert await names(text="phase-ii") == ["school"]           # case-insensitive
    assert await names(text="〔2025〕1") == ["old"]             # on the number
    assert await names(text="%") == []                          # LIKE wildcards are literal
    assert await names(limit=2) == ["dup", "bridge"]
    assert await names(limit=2, offset=2) == ["sewage", "school"]
    assert await names(offset=5) == ["old"]
    assert await names(statuses=frozenset()) == []

    async with SqlUnitOfWork(engine, read_only=True) as uow:
        assert await uow.matters.count(MatterQuery(office_id=w.office_id, limit=1)) == 6
        assert await uow.matters.count(MatterQuery(office_id=w.office_id + 1)) == 0


async def test_open_assignments(engine: AsyncEngine, world: World) -> None:
    w = world
    ids = await _ledger(engine, w)
    async with SqlUnitOfWork(engine, read_only=True) as uow:
        rows = sorted(await uow.matters.open_assignments(), key=lambda r: (r.matter_id, r.no))
        assert rows == sorted(await uow.matters.open_assignments(w.office_id),
                              key=lambda r: (r.matter_id, r.no))
        assert await uow.matters.open_assignments(w.office_id + 1) == []
    got = sorted((r.matter_id, r.no) for r in rows)
    assert got == sorted([(ids["road"], 1), (ids["road"], 2), (ids["school"], 1),
                          (ids["old"], 1)])
    school = next(r for r in rows if r.matter_id == ids["school"])
    assert school.confidential and school.klass == "normal" and not school.paused
    assert school.status is AssignmentStatus.ASSIGNED
    assert (school.unit_id, school.principal_id, school.responsible_id, school.handler_id) == \
        (w.unit_b, *w.b_people)
    assert school.deadline == date(2026, 3, 12) and school.assigned_at.tzinfo is not None
    assert school.last_progress_at is None and school.urge_limit is None
    assert school.urge_count == 0 and not school.criticized


async def test_open_assignment_row_follows_the_matter(engine: AsyncEngine, world: World) -> None:
    w = world
    m = register(w, 1)
    no = assign(w, m, w.unit_a, lead=True, deadline=D)
    await add_matter(engine, m)
    async with SqlUnitOfWork(engine) as uow:
        m = await uow.matters.get(m.id)  # type: ignore[arg-type]
        m.sign(at=T0, actor_id=w.a_people[1], no=no, committed=D - timedelta(days=2))
        m.report_progress(at=T0 + timedelta(hours=3), actor_id=w.a_people[2], no=no,
                          text="推进中")
        m.urge(at=T0, actor_id=None, no=no, limit=D, today=T0.date())
        m.criticize(at=T0, actor_id=None, no=no, reason="进度滞后")
        await uow.matters.save(m)
        await uow.commit()
    async with SqlUnitOfWork(engine, read_only=True) as uow:
        (row,) = await uow.matters.open_assignments()
    assert row.status is AssignmentStatus.SIGNED
    assert row.deadline == D - timedelta(days=2)  # the committed (effective) deadline
    assert row.last_progress_at == T0 + timedelta(hours=3)
    assert (row.urge_limit, row.urge_count, row.criticized) == (D, 1, True)


async def test_scan_rows_equal_constructed_rows(engine: AsyncEngine, world: World) -> None:
    """The scan builds AssignmentRow without its __init__ on SQLite: same objects."""
    w = world
    m = register(w, 1, confidential=True, klass=MatterClass.URGENT)
    no = assign(w, m, w.unit_b, lead=True, deadline=D)
    m.report_progress(at=T0 + timedelta(hours=1), actor_id=w.b_people[2], no=no, text="x")
    await add_matter(engine, m)
    assert m.id is not None
    async with SqlUnitOfWork(engine) as uow:
        await uow.matters.set_paused(m.id, True)
        await uow.commit()
    a = m.assignment(no)
    expected = AssignmentRow(
        matter_id=m.id, no=no, office_id=w.office_id, klass="urgent", confidential=True,
        status=AssignmentStatus.ASSIGNED, unit_id=w.unit_b, principal_id=w.b_people[0],
        responsible_id=w.b_people[1], handler_id=w.b_people[2], deadline=D,
        assigned_at=a.assigned_at, last_progress_at=T0 + timedelta(hours=1), urge_limit=None,
        urge_count=0, criticized=False, paused=True)
    async with SqlUnitOfWork(engine, read_only=True) as uow:
        (row,) = await uow.matters.open_assignments()
    assert row == expected and hash(row) == hash(expected) and repr(row) == repr(expected)
    assert type(row) is AssignmentRow and row.status is AssignmentStatus.ASSIGNED
    assert type(row.confidential) is bool and row.assigned_at.tzinfo is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        row.paused = False  # type: ignore[misc]
    # A later save keeps the pause on the projection.
    async with SqlUnitOfWork(engine) as uow:
        again = await uow.matters.get(m.id)
        again.sign(at=T0, actor_id=w.b_people[1], no=no, committed=D)
        await uow.matters.save(again)
        await uow.commit()
    async with SqlUnitOfWork(engine, read_only=True) as uow:
        (row,) = await uow.matters.open_assignments()
    assert row.paused and row.status is AssignmentStatus.SIGNED


async def test_add_many_and_keys(engine: AsyncEngine, world: World) -> None:
    w = world
    batch = []
    for seq in range(1, 51):
        m = register(w, seq, title=f"导入事项{seq}", at=T0 + timedelta(minutes=seq))
        if seq % 2:
            assign(w, m, w.unit_a, lead=True, deadline=D, at=T0 + timedelta(minutes=seq))
            assign(w, m, w.unit_b, lead=False, deadline=D)
        batch.append(m)
    async with SqlUnitOfWork(engine) as uow:
        await uow.matters.add_many(batch)
        await uow.matters.add_many([])
        await uow.commit()
    assert all(m.id is not None and not m.pending for m in batch)
    assert len({m.id for m in batch}) == 50
    for m in (batch[0], batch[1], batch[-1]):
        stored, replayed = await _replayed(engine, m.id)  # type: ignore[arg-type]
        assert matter_to_json(stored) == matter_to_json(m) == matter_to_json(replayed)
    async with SqlUnitOfWork(engine, read_only=True) as uow:
        keys = await uow.matters.keys(w.office_id)
        assert await uow.matters.keys(w.office_id + 1) == []
        assert len(await uow.matters.open_assignments()) == 50
    assert [k.seq for k in keys] == list(range(1, 51))
    first, second = keys[0], keys[1]
    assert (first.id, first.number, first.title) == (batch[0].id, "督〔2026〕1号", "导入事项1")
    assert first.lead_unit_id == w.unit_a
    assert first.lead_assigned_at == T0 + timedelta(minutes=6)
    assert first.registered_at == T0 + timedelta(minutes=1)
    assert (second.lead_unit_id, second.lead_assigned_at) == (None, None)
    # Numbers already taken: the whole batch is refused.
    async with SqlUnitOfWork(engine) as uow:
        with pytest.raises(Conflict):
            await uow.matters.add_many([register(w, 51), register(w, 3)])
    async with SqlUnitOfWork(engine, read_only=True) as uow:
        assert await uow.matters.next_seq(w.office_id, 2026) == 51


# ---- bulletins ----

async def test_bulletins(engine: AsyncEngine, world: World) -> None:
    w = world
    march = BulletinRecord(office_id=w.office_id, kind="ducha", year=2026, number=1,
                           period_start=date(2026, 3, 1), period_end=date(2026, 3, 31),
                           published_at=T0, published_by=w.admin_id, delivered=(-100, -200))
    async with SqlUnitOfWork(engine) as uow:
        assert await uow.bulletins.next_number(w.office_id, "ducha", 2026) == 1
        stored = await uow.bulletins.add(march)
        assert stored.id is not None and stored.delivered == (-200, -100)
        assert await uow.bulletins.next_number(w.office_id, "ducha", 2026) == 2
        assert await uow.bulletins.next_number(w.office_id, "project", 2026) == 1
        await uow.bulletins.mark_delivered(stored.id, -300)
        await uow.bulletins.mark_delivered(stored.id, -300)  # idempotent
        april = await uow.bulletins.add(replace(march, number=2, delivered=(),
                                                period_start=date(2026, 4, 1),
                                                period_end=date(2026, 4, 30)))
        await uow.commit()
    async with SqlUnitOfWork(engine) as uow:
        got = await uow.bulletins.for_period(w.office_id, "ducha", date(2026, 3, 1),
                                             date(2026, 3, 31))
        assert got == replace(stored, delivered=(-300, -200, -100))
        assert got.published_at.tzinfo is not None  # type: ignore[union-attr]
        assert await uow.bulletins.for_period(w.office_id, "ducha", date(2026, 3, 1),
                                              date(2026, 3, 30)) is None
        assert [b.number for b in await uow.bulletins.list(w.office_id)] == [1, 2]
        assert await uow.bulletins.list(w.office_id, kind="project") == []
        assert await uow.bulletins.list(w.office_id, year=2025) == []
        assert (await uow.bulletins.list(w.office_id, "ducha", 2026))[1] == april
        with pytest.raises(Conflict, match="第 2 期"):
            await uow.bulletins.add(replace(march, number=2, period_start=date(2026, 5, 1)))
    async with SqlUnitOfWork(engine) as uow:
        with pytest.raises(Conflict, match="期间"):
            await uow.bulletins.add(replace(march, number=3))


async def test_changed_matters_since(engine: AsyncEngine, world: World) -> None:
    """The re-plan after a change asks which matters moved, not for their events."""
    w = world
    first = await add_matter(engine, register(w, 1))
    second = await add_matter(engine, register(w, 2))
    async with SqlUnitOfWork(engine) as uow:
        m = await uow.matters.get(second.id or 0)
        assign(w, m, w.unit_a, lead=True, deadline=D, at=T0 + timedelta(hours=3))
        await uow.matters.save(m)
        await uow.commit()
    async with SqlUnitOfWork(engine, read_only=True) as uow:
        changed = uow.events.changed_matters
        assert await changed(w.office_id, T0 - timedelta(days=1)) == {first.id, second.id}
        assert await changed(w.office_id, T0 + timedelta(hours=1)) == {second.id}
        assert await changed(w.office_id, T0 + timedelta(hours=4)) == set()
        assert await changed(w.office_id + 1, T0 - timedelta(days=1)) == set()
