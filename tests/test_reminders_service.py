"""The scheduler service on a real SQLite ledger, a controllable clock and a fake sender:
planning into the outbox, escalation events, pause/resume, send-time checks, restarts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bench.reminders import County, open_db, seed_people
from bot.config import ReminderPolicy
from ledger.clock import FixedClock, to_local
from ledger.deadlines import MatterClass
from ledger.errors import InvalidInput, InvalidTransition, PermissionDenied
from ledger.model import Source
from ledger.ports import Notice, UnitOfWorkFactory
from ledger.usecases import ledger_mgmt
from ledger.usecases.accountability import (
    CRITICISM_FLAG_REASON,
    pause_reminders,
    reminders_paused,
    resume_reminders,
)
from ledger.usecases.closing import close_matter, report_progress, request_completion
from ledger.usecases.ledger_mgmt import AssignSpec, RegisterMatter, register_matter
from ledger.workcalendar import WorkCalendar
from reminders import kinds, queries
from reminders.outbox import RetryLater, Unreachable
from reminders.scheduler import ReminderService, Settings
from storage.tables import outbox
from tests.dbs import url_for
from tests.reminders_sim import local

CAL = WorkCalendar()


@dataclass
class FakeSender:
    sent: list[tuple[datetime, Notice]] = field(default_factory=list)
    clock: FixedClock | None = None
    fail: dict[int, Exception] = field(default_factory=dict)  # person id → error

    async def send(self, notice: Notice) -> None:
        err = self.fail.get(notice.person_id or 0)
        if err is not None:
            raise err
        assert self.clock is not None
        self.sent.append((self.clock.now(), notice))

    def take(self) -> list[tuple[str, str, int | None]]:
        out = [(to_local(at).strftime("%m-%d %H:%M"), n.kind, n.person_id)
               for at, n in self.sent]
        self.sent.clear()
        return out


@dataclass
class Env:
    uow: UnitOfWorkFactory
    clock: FixedClock
    county: County
    sender: FakeSender
    service: ReminderService
    engine: object

    @property
    def admin(self) -> int:
        return self.county.admin_id

    @property
    def principal(self) -> int:
        return self.county.persons[0]

    @property
    def resp(self) -> int:
        return self.county.persons[1]

    @property
    def handler(self) -> int:
        return self.county.persons[2]

    async def at(self, when: datetime) -> list[tuple[str, str, int | None]]:
        self.clock.set(when)
        await self.service.tick()
        return self.sender.take()

    async def matter(self, deadline: date | None, klass: MatterClass = MatterClass.NORMAL,
                     source: Source = Source.COUNTY_DECISION, confidential: bool = False,
                     assign: bool = True) -> int:
        kw = {"instruction_text": "请抓紧办理"} if source is Source.INSTRUCTION else {}
        m = await register_matter(
            self.uow(), self.clock, CAL, self.admin,
            RegisterMatter(title="推进老旧小区改造", klass=klass, source=source,
                           confidential=confidential, deadline=deadline, **kw))
        assert m.id is not None
        if assign:
            await ledger_mgmt.assign(self.uow(), self.clock, CAL, self.admin, m.id,
                             [AssignSpec(self.county.unit_id, self.principal, self.resp,
                                         self.handler, lead=True)])
        return m.id


def new_service(uow: UnitOfWorkFactory, clock: FixedClock, sender: FakeSender,
                policy: ReminderPolicy | None = None) -> ReminderService:
    return ReminderService(uow, clock, CAL, policy or ReminderPolicy(), sender,
                           Settings(limits=None, concurrency=4))


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    engine, uow = await open_db(url_for(tmp_path / "r.db", migrated=True))
    county = await seed_people(uow, 4, admin_telegram_id=None)
    clock = FixedClock(local(2026, 11, 30, 10))
    sender = FakeSender(clock=clock)
    yield Env(uow, clock, county, sender, new_service(uow, clock, sender), engine)
    await engine.dispose()  # type: ignore[attr-defined]


async def test_a_matter_through_deadline_overdue_urge_and_criticism(env: Env) -> None:
    mid = await env.matter(date(2026, 12, 4))
    got = await env.at(local(2026, 11, 30, 10))
    # The card to each, the 交办通知单 to the responsible person and the principal.
    assert sorted(k for _, k, _ in got) == ["assignment"] * 3 + [kinds.DOC_ASSIGNMENT] * 2
    P, R, H = env.principal, env.resp, env.handler
    assert await env.at(local(2026, 11, 30, 23)) == []
    # Tuesday: three working days left (Dec 2, 3, 4)
    assert sorted(await env.at(local(2026, 12, 1, 9))) == sorted([
        ("12-01 09:00", kinds.BEFORE, R), ("12-01 09:00", kinds.BEFORE, H)])
    assert await env.at(local(2026, 12, 1, 9, 30)) == []          # not twice
    assert sorted(await env.at(local(2026, 12, 3, 9))) == sorted([
        ("12-03 09:00", kinds.BEFORE, R), ("12-03 09:00", kinds.BEFORE, H)])
    assert len(await env.at(local(2026, 12, 4, 9))) == 2          # due today
    assert await env.at(local(2026, 12, 5, 9)) == []              # Saturday
    got = await env.at(local(2026, 12, 7, 9))
    assert sorted(got) == sorted([("12-07 09:00", kinds.OVERDUE, p) for p in (R, H, P)])
    await env.at(local(2026, 12, 8, 9))
    # Wednesday Dec 9, three working days overdue: the automatic 催办 is an event, the
    # urging notice goes to principal and responsible person with a new limit (Dec 14).
    got = await env.at(local(2026, 12, 9, 9))
    assert sorted(k for _, k, _ in got) == sorted([kinds.OVERDUE] * 3 + ["urged"] * 2
                                                  + [kinds.DOC_URGING] * 2)
    async with env.uow() as u:
        m = await u.matters.get(mid)
        events = await u.events.for_matter(mid)
    urged = [e for e in events if e.kind == "urged"]
    assert len(urged) == 1 and urged[0].actor_id is None
    assert m.assignment(1).urge_limit == date(2026, 12, 14)
    for day in (10, 11, 14):
        await env.at(local(2026, 12, day, 9))
    async with env.uow() as u:
        assert not (await u.matters.get(mid)).assignment(1).criticized
    # The limit passed: flagged for 通报批评 (a criticized event, actor None) and the
    # office told, on the next working day.
    got = await env.at(local(2026, 12, 15, 9))
    assert ("12-15 09:00", kinds.OFFICE_CRITICISM_FLAG, env.admin) in got
    async with env.uow() as u:
        m = await u.matters.get(mid)
        events = await u.events.for_matter(mid)
    crit = [e for e in events if e.kind == "criticized"]
    assert len(crit) == 1 and crit[0].actor_id is None
    assert crit[0].after["reason"].startswith(CRITICISM_FLAG_REASON)
    assert m.assignment(1).criticized
    # Nothing escalates twice.
    await env.at(local(2026, 12, 16, 9))
    async with env.uow() as u:
        kinds_seen = [e.kind for e in await u.events.for_matter(mid)]
    assert kinds_seen.count("urged") == 1 and kinds_seen.count("criticized") == 1


async def test_pause_and_resume_are_events_and_silence_reminders(env: Env) -> None:
    mid = await env.matter(date(2026, 12, 4))
    await env.at(local(2026, 11, 30, 10))
    await env.at(local(2026, 12, 3, 8, 55))   # before-1 reminders planned for 09:00
    with pytest.raises(InvalidInput):
        await pause_reminders(env.uow(), env.clock, env.admin, mid, " ")
    with pytest.raises(PermissionDenied):
        await pause_reminders(env.uow(), env.clock, env.resp, mid, "等待县长批示")
    await pause_reminders(env.uow(), env.clock, env.admin, mid, "等待县长批示")
    with pytest.raises(InvalidTransition):
        await pause_reminders(env.uow(), env.clock, env.admin, mid, "再次")
    assert await reminders_paused(env.uow(), env.admin, mid)
    assert await env.at(local(2026, 12, 3, 9)) == []      # planned ones are dropped
    assert await env.at(local(2026, 12, 9, 9)) == []      # no reminders, no auto-urge
    await resume_reminders(env.uow(), env.clock, env.admin, mid, "批示已到")
    got = await env.at(local(2026, 12, 10, 9))
    assert {k for _, k, _ in got} == {kinds.OVERDUE, "urged", kinds.DOC_URGING}
    async with env.uow() as u:
        events = await u.events.for_matter(mid)
    paused = [e for e in events if e.kind == "reminders_paused"]
    resumed = [e for e in events if e.kind == "reminders_resumed"]
    assert paused[0].after == {"paused": True, "reason": "等待县长批示"}
    assert paused[0].actor_id == env.admin
    assert resumed[0].after["reason"] == "批示已到"
    statuses = await _statuses(env, mid)
    assert statuses.get("cancelled", 0) == 2  # the two planned before-1 reminders


async def _statuses(env: Env, matter_id: int) -> dict[str, int]:
    async with env.engine.connect() as conn:  # type: ignore[attr-defined]
        rows = (await conn.execute(select(outbox.c.status).where(
            outbox.c.matter_id == matter_id))).all()
    out: dict[str, int] = {}
    for (s,) in rows:
        out[s] = out.get(s, 0) + 1
    return out


async def test_progress_and_completion_stop_what_was_planned(env: Env) -> None:
    mid = await env.matter(date(2026, 12, 18))
    await env.at(local(2026, 11, 30, 10))
    # Dec 7: five working days without progress; planned at 08:50 for 09:00
    await env.at(local(2026, 12, 7, 8, 50))
    await report_progress(env.uow(), env.clock, env.handler, mid, 1, "已完成方案")
    got = await env.at(local(2026, 12, 7, 9))
    assert [k for _, k, _ in got] == ["office_progress"]  # the office hears; no nagging
    await request_completion(env.uow(), env.clock, env.resp, mid, 1, "已办结")
    assert [k for _, k, _ in await env.at(local(2026, 12, 21, 9))] == [
        "office_completion_requested"]
    await close_matter(env.uow(), env.clock, env.admin, mid, "同意销号")
    got = await env.at(local(2026, 12, 22, 9))
    assert {k for _, k, _ in got} == {"closed"}


async def test_restart_resumes_from_the_outbox_without_repeats(env: Env) -> None:
    for _ in range(3):
        await env.matter(date(2026, 12, 4))
    await env.at(local(2026, 11, 30, 10))
    env.clock.set(local(2026, 12, 4, 9))
    await env.service.plan_pass()              # planned, then the process died
    # A new process: fresh service, same database; the sender fails for one person.
    sender = FakeSender(clock=env.clock, fail={env.handler: RetryLater(60, "network")})
    service = new_service(env.uow, env.clock, sender)
    await service.tick()
    assert sorted(k for _, k in ((a, n.kind) for a, n in sender.sent)) == [kinds.DUE] * 3
    assert {n.person_id for _, n in sender.sent} == {env.resp}
    sender.sent.clear()
    sender.fail.clear()
    env.clock.set(local(2026, 12, 4, 9, 2))
    await service.tick()
    assert [(n.kind, n.person_id) for _, n in sender.sent] == [(kinds.DUE, env.handler)] * 3
    sender.sent.clear()
    # Yet another process, later the same day: nothing is sent again.
    service = new_service(env.uow, env.clock, sender)
    env.clock.set(local(2026, 12, 4, 15))
    await service.tick()
    assert sender.sent == []


async def test_forbidden_marks_unreachable_and_tells_the_office(env: Env) -> None:
    await env.matter(date(2026, 12, 4))
    await env.at(local(2026, 11, 30, 10))
    env.sender.fail[env.handler] = Unreachable(env.handler, "Forbidden: bot was blocked")
    got = await env.at(local(2026, 12, 1, 9))
    assert ("12-01 09:00", "office_unreachable", env.admin) in got
    async with env.uow() as u:
        assert not (await u.people.get_person(env.handler)).reachable


async def test_office_service_level_reminder_until_assigned(env: Env) -> None:
    env.clock.set(local(2026, 12, 4, 16))   # Friday afternoon
    mid = await env.matter(None, source=Source.INSTRUCTION, assign=False)
    assert await env.at(local(2026, 12, 4, 17)) == []
    got = await env.at(local(2026, 12, 7, 9))   # due Monday: 1 working day
    assert got == [("12-07 09:00", kinds.OFFICE_SLA, env.admin)]
    got = await env.at(local(2026, 12, 8, 9))
    assert got == [("12-08 09:00", kinds.OFFICE_SLA, env.admin)]
    async with env.engine.connect() as conn:  # type: ignore[attr-defined]
        payload = (await conn.execute(select(outbox.c.payload).where(
            outbox.c.kind == kinds.OFFICE_SLA).order_by(outbox.c.id.desc()))).first()
    assert payload is not None
    assert payload[0] == {"level": "instruction", "due": "2026-12-07",
                          "received": "2026-12-04", "late_workdays": 1, "late": True}
    env.clock.set(local(2026, 12, 8, 10))
    await ledger_mgmt.assign(env.uow(), env.clock, CAL, env.admin, mid,
                     [AssignSpec(env.county.unit_id, env.principal, env.resp,
                                 env.handler, lead=True)])
    got = await env.at(local(2026, 12, 9, 9))
    assert kinds.OFFICE_SLA not in {k for _, k, _ in got}


async def test_incremental_pass_picks_up_a_change_at_once(env: Env) -> None:
    await env.at(local(2026, 12, 3, 9, 40) - timedelta(seconds=30))  # full pass: empty
    env.clock.set(local(2026, 12, 3, 9, 40))
    mid = await env.matter(date(2026, 12, 3), klass=MatterClass.URGENT)
    await env.at(local(2026, 12, 3, 9, 40))
    assert env.service.last_pass.full is False
    assert env.service.last_pass.rows == 1              # only the changed matter
    got = await env.at(local(2026, 12, 3, 10, 40))
    assert sorted(got) == sorted([("12-03 10:40", kinds.URGENT, env.resp),
                                  ("12-03 10:40", kinds.URGENT, env.handler)])
    assert mid


async def test_upcoming_reminders_for_mine(env: Env) -> None:
    mid = await env.matter(date(2026, 12, 4))
    env.clock.set(local(2026, 12, 1, 12))
    got = await queries.upcoming_reminders(env.uow(), env.clock, CAL, ReminderPolicy(),
                                           env.resp)
    assert [(to_local(x.due_at).strftime("%m-%d %H:%M"), x.kind, x.matter_id)
            for x in got] == [("12-03 09:00", kinds.BEFORE, mid),
                              ("12-04 09:00", kinds.DUE, mid),
                              ("12-07 09:00", kinds.OVERDUE, mid),
                              ("12-08 09:00", kinds.OVERDUE, mid)]
    assert got[0].number.endswith("号") and got[0].title == "推进老旧小区改造"
    with pytest.raises(PermissionDenied):
        await queries.upcoming_reminders(env.uow(), env.clock, CAL, ReminderPolicy(),
                                         env.resp, person_id=env.handler)
    theirs = await queries.upcoming_reminders(env.uow(), env.clock, CAL, ReminderPolicy(),
                                              env.admin, person_id=env.handler)
    assert len(theirs) == 4
    await pause_reminders(env.uow(), env.clock, env.admin, mid, "暂缓")
    assert await queries.upcoming_reminders(env.uow(), env.clock, CAL, ReminderPolicy(),
                                            env.resp) == []


async def test_stale_unknown_calendar_year_warns_the_office_once(env: Env) -> None:
    await env.matter(date(2026, 12, 4))
    # An extension into 2029 (a year no calendar knows): written straight into storage.
    from storage.tables import assignments
    async with env.engine.begin() as conn:  # type: ignore[attr-defined]
        await conn.execute(update(assignments).values(deadline=date(2029, 3, 1)))
    got = await env.at(local(2026, 12, 1, 9))
    assert ("12-01 09:00", kinds.OFFICE_CALENDAR, env.admin) in got
    assert env.service.last_pass.unknown_years == {2029}
    got = await env.at(local(2026, 12, 2, 9))
    assert kinds.OFFICE_CALENDAR not in {k for _, k, _ in got}


async def test_time_shown_and_lateness_are_exact_with_a_fixed_clock(env: Env) -> None:
    await env.matter(date(2026, 12, 4))
    await env.at(local(2026, 11, 30, 10))
    env.clock.set(local(2026, 12, 1, 9))
    await env.service.tick()
    assert all(at == n.due_at == local(2026, 12, 1, 9) for at, n in env.sender.sent)
    assert timedelta(0) == env.sender.sent[0][0] - env.sender.sent[0][1].due_at


async def test_nothing_goes_out_at_night_or_on_holidays_but_urgent(env: Env) -> None:
    # The office assigns on Friday Dec 4 at 23:00: the assignment notices wait for the
    # next working morning's send_at (Monday 09:00); an urgent matter's go out at once.
    env.clock.set(local(2026, 12, 4, 23))
    await env.matter(date(2026, 12, 11))
    assert await env.at(local(2026, 12, 4, 23)) == []
    assert env.service.next_release == local(2026, 12, 7, 9)
    assert await env.service.next_due_at() == local(2026, 12, 7, 9)
    await env.matter(date(2026, 12, 5), klass=MatterClass.URGENT)
    got = await env.at(local(2026, 12, 4, 23, 1))
    assert sorted(k for _, k, _ in got) == ["assignment"] * 3 + [kinds.DOC_ASSIGNMENT] * 2
    assert await env.at(local(2026, 12, 5, 12)) != []        # urgent hourly, Saturday
    got = await env.at(local(2026, 12, 7, 8, 45))             # window open, not send_at
    assert "assignment" not in {k for _, k, _ in got}
    got = await env.at(local(2026, 12, 7, 9))
    assert [k for _, k, _ in got].count("assignment") == 3


async def test_notices_due_in_the_evening_wait_for_the_morning(env: Env) -> None:
    mid = await env.matter(date(2026, 12, 11))
    await env.at(local(2026, 11, 30, 10))
    env.clock.set(local(2026, 12, 1, 21, 30))    # a unit reports at 21:30
    await report_progress(env.uow(), env.clock, env.handler, mid, 1, "夜里加班完成")
    assert await env.at(local(2026, 12, 1, 21, 30)) == []
    got = await env.at(local(2026, 12, 2, 9))
    assert ("12-02 09:00", "office_progress", env.admin) in got
