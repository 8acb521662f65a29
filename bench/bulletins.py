"""How long one bulletin takes — ledger read, figures, text, chart and .docx — over a
county-sized ledger.

    .venv/bin/python -m bench.bulletins [--matters 10000] [--samples DIR]

Builds a synthetic ledger on SQLite (30 units, a year of matters with real stories: signed,
progress, urged, criticized, commended, extended, closed on time or late, a few
confidential and cancelled ones), then times the weekly 《督察》 issue as of Monday
2026-11-23 09:00. Target: under 2 s for 10,000 matters. `--samples DIR` also writes the
sample documents there: the chart (bulletin_chart.png), the issue with its chart embedded
(bulletin_sample.docx), a 交办通知单 (notice_sample.docx) and a 催办通知单
(urging_notice_sample.docx).
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bench.machine import emit
from ledger.bulletins import BulletinKind, Period
from ledger.clock import LOCAL_TZ, FixedClock
from ledger.deadlines import MatterClass
from ledger.model import Matter, Role, Source
from ledger.ports import UnitOfWorkFactory
from ledger.usecases.accountability import urge
from ledger.usecases.ledger_mgmt import AssignSpec, RegisterMatter, assign, register_matter
from ledger.usecases.people import bootstrap_office
from ledger.usecases.reading import get_matter
from ledger.workcalendar import WorkCalendar, YearSchedule
from storage.db import make_engine, upgrade
from storage.uow import uow_factory

AS_OF = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)   # Monday 09:00 in Shanghai
WEEK = Period(date(2026, 11, 16), date(2026, 11, 22))
UNITS = (
    "城关镇", "东城街道", "西城街道", "南湖镇", "北山镇", "青石镇", "白沙乡", "柳林乡", "桃源乡",
    "金竹乡", "县发改局", "县财政局", "县住建局", "县交通局", "县自然资源局", "县生态环境局",
    "县农业农村局", "县水利局", "县教育局", "县卫健局", "县民政局", "县人社局", "县商务局",
    "县文旅局", "县应急局", "县市场监管局", "县城管局", "县工信局", "县公安局", "工业园区管委会",
)
TITLES = (
    "老旧小区改造", "雨污分流管网建设", "国道沿线环境整治", "农贸市场提升改造", "学校周边交通秩序整治",
    "标准厂房建设", "招商引资项目落地", "河道清淤疏浚", "农村人居环境整治", "重点企业用工保障",
    "城区停车场建设", "安全生产隐患排查", "森林防火专项检查", "食品安全抽检", "乡村振兴示范村建设",
    "12345热线群众诉求办理", "人大代表建议办理", "政协提案办理", "城区亮化工程", "污水处理厂提标改造",
)
SOURCES = (Source.COUNTY_DECISION, Source.DEPLOYMENT, Source.INSTRUCTION, Source.ANNUAL_KEY_WORK,
           Source.PROJECT, Source.PROJECT, Source.MEETING, Source.NPC_SUGGESTION,
           Source.CPPCC_PROPOSAL, Source.PUBLIC_COMPLAINT)


@dataclass
class Ledger:
    path: Path
    office_id: int
    admin: int
    units: dict[str, int]
    people: dict[int, tuple[int, int, int]]   # unit id → principal, responsible, handler
    matters: int


def _at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LOCAL_TZ)


async def people_world(uow: UnitOfWorkFactory, clock: FixedClock) -> tuple[int, int, dict[str, int],
                                                                            dict[int, tuple[int, int, int]]]:
    office_id = await bootstrap_office(uow(), clock, "县委县政府督查室", [1001], "督")
    units: dict[str, int] = {}
    people: dict[int, tuple[int, int, int]] = {}
    async with uow() as u:
        admin = await u.people.by_telegram(1001)
        assert admin is not None
        for name in UNITS:
            unit = await u.people.add_unit(office_id, name)
            units[name] = unit.id
            trio = [(await u.people.add_person(office_id, f"{name}{label}", frozenset({role}),
                                               unit_id=unit.id)).id
                    for role, label in ((Role.PRINCIPAL, "主要负责人"), (Role.RESPONSIBLE, "分管负责人"),
                                        (Role.HANDLER, "经办人"))]
            people[unit.id] = (trio[0], trio[1], trio[2])
        await u.commit()
    return office_id, admin.id, units, people


def story(rng: random.Random, cal: WorkCalendar, seq: int, office_id: int, admin: int,
          unit_ids: list[int], people: dict[int, tuple[int, int, int]], today: date) -> Matter:
    """One matter with a plausible history up to `today`."""
    day = cal.workday_on_or_after(date(2026, 1, 5) + timedelta(days=rng.randrange(0, 318)))
    day = min(day, today - timedelta(days=1))
    klass = rng.choices((MatterClass.NORMAL, MatterClass.MAJOR, MatterClass.URGENT), (85, 10, 5))[0]
    source = rng.choice(SOURCES)
    title = f"{rng.choice(TITLES)}（第{seq}项）"
    t0 = _at(day, 9, rng.randrange(60))
    m = Matter.register(
        office_id=office_id, year=2026, seq=seq, prefix="督", title=title,
        body=f"按照县委、县政府部署，推进{title}，明确责任，按期办结。", source=source,
        klass=klass, confidential=rng.random() < 0.02, tags=(), received_at=t0, at=t0,
        actor_id=admin,
        instruction_text="请抓紧研究落实，按时报告结果。" if source is Source.INSTRUCTION else None,
        instruction_author="县长" if source is Source.INSTRUCTION else None, deadline=None)
    workdays = {MatterClass.NORMAL: 10, MatterClass.MAJOR: 20, MatterClass.URGENT: 0}[klass]
    deadline = cal.add_workdays(day, workdays + (0 if klass is MatterClass.MAJOR
                                                 else rng.choice((0, 0, 5, 10))))
    lead_unit = rng.choice(unit_ids)
    p = people[lead_unit]
    t1 = t0 + timedelta(minutes=30)
    a = m.assign(at=t1, actor_id=admin, unit_id=lead_unit, lead=True, principal_id=p[0],
                 responsible_id=p[1], handler_id=p[2], deadline=deadline)
    if rng.random() < 0.3:
        co = rng.choice([u for u in unit_ids if u != lead_unit])
        q = people[co]
        m.assign(at=t1, actor_id=admin, unit_id=co, lead=False, principal_id=q[0],
                 responsible_id=q[1], handler_id=q[2], deadline=deadline)
    if rng.random() < 0.02:
        m.cancel(at=t1 + timedelta(hours=1), actor_id=admin, reason="重复登记")
        return m
    end = _at(today, 8)

    def when(d: date, hour: int = 10) -> datetime | None:
        moment = _at(d, hour, rng.randrange(60))
        return moment if moment < end else None

    signed = when(cal.add_workdays(day, 1))
    if signed is None:
        return m
    m.sign(at=signed, actor_id=p[1], no=a.no, committed=deadline)
    finish = cal.add_workdays(day, max(1, workdays + rng.randint(-4, 12)))
    for k in range(rng.randrange(0, 4)):
        at = when(cal.add_workdays(day, 2 + 3 * k), 15)
        if at is None or at.date() >= finish:
            break
        m.report_progress(at=at, actor_id=p[2], no=a.no, text=f"第{k + 1}阶段工作已完成，正在推进下一步。")
    if rng.random() < 0.1:
        asked = when(max(day + timedelta(days=1), deadline - timedelta(days=3)), 11)
        if asked is not None and signed < asked and asked.date() <= deadline:
            new = cal.add_workdays(deadline, 5)
            m.request_extension(at=asked, actor_id=p[0], no=a.no, reason="涉及征地协调，需延长时限",
                                new_deadline=new, today=asked.date(), by_principal=True)
            decided = asked + timedelta(hours=2)
            if decided < end:
                m.decide_extension(at=decided, actor_id=admin, no=a.no, approve=True)
    due = a.effective_deadline
    odds = 0.97 if (today - day).days > 45 else 0.8
    if rng.random() < odds and (done := when(finish, 16)) is not None:
        u = when(cal.add_workdays(due, 1), 9) if finish > due and rng.random() < 0.5 else None
        if u is not None and u < done:
            m.urge(at=u, actor_id=None, no=a.no, limit=cal.add_workdays(due, 4), today=u.date())
        m.request_completion(at=done, actor_id=p[1], no=a.no, text="已按要求办结，材料附后。")
        closed = when(cal.add_workdays(finish, 1), 10)
        if closed is not None:
            m.close(at=closed, actor_id=admin, comment="经审核，同意销号")
            if finish <= due and rng.random() < 0.08:
                m.commend(at=closed + timedelta(minutes=5), actor_id=admin, no=a.no,
                          reason="行动迅速，措施得力，效果明显")
        return m
    if today > due:
        u = when(cal.add_workdays(due, 2), 9)
        if u is not None:
            limit = cal.add_workdays(u.date(), 3)
            m.urge(at=u, actor_id=None, no=a.no, limit=limit, today=u.date())
            later = when(cal.add_workdays(limit, 1), 10)
            if later is not None and rng.random() < 0.4:
                m.criticize(at=later, actor_id=admin, no=a.no, reason="催办时限内仍未落实")
    return m


def bench_calendar() -> WorkCalendar:
    """The official calendar, plus a plain 2027 (weekends and New Year's Day) for late
    deadlines: the package does not know 2027 yet."""
    return WorkCalendar({2027: YearSchedule(2027, frozenset({date(2027, 1, 1)}), frozenset())})


async def synthetic_ledger(path: Path, n: int, seed: int = 1, batch: int = 5_000) -> Ledger:
    """A migrated SQLite file holding `n` matters of 2026 up to AS_OF."""
    await upgrade(str(path))
    engine = make_engine(str(path))
    try:
        uow = uow_factory(engine)
        clock = FixedClock(AS_OF)
        office_id, admin, units, people = await people_world(uow, clock)
        cal = bench_calendar()
        rng = random.Random(seed)
        ids = list(units.values())
        today = AS_OF.astimezone(LOCAL_TZ).date()
        for start in range(0, n, batch):
            chunk = [story(rng, cal, seq, office_id, admin, ids, people, today)
                     for seq in range(start + 1, min(n, start + batch) + 1)]
            async with uow() as u:
                await u.matters.add_many(chunk)
                await u.commit()
    finally:
        await engine.dispose()
    return Ledger(path, office_id, admin, units, people, n)


@dataclass(frozen=True)
class Samples:
    chart_png: bytes
    bulletin_docx: bytes
    assignment_notice: bytes
    urging_notice: bytes

    def write(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for name, data in (("bulletin_chart.png", self.chart_png),
                           ("bulletin_sample.docx", self.bulletin_docx),
                           ("notice_sample.docx", self.assignment_notice),
                           ("urging_notice_sample.docx", self.urging_notice)):
            (directory / name).write_bytes(data)


async def run(n: int) -> tuple[dict[str, float | int], Samples]:
    from reports.bulletin import build_bulletin, bulletin_document, render_bulletin_text
    from reports.chart import bulletin_chart_png
    from reports.fonts import cjk_font
    from reports.notices import assignment_notice, urging_notice

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        ledger = await synthetic_ledger(Path(tmp) / "bench.db", n)
        seed_s = time.perf_counter() - t
        engine = make_engine(str(ledger.path))
        cal = WorkCalendar()
        clock = FixedClock(AS_OF)
        cjk_font()   # font lookup and matplotlib import: once per process, not per issue
        try:
            uow = uow_factory(engine, read_only=True)
            t0 = time.perf_counter()
            b = await build_bulletin(uow(), clock, cal, ledger.office_id, BulletinKind.REGULAR, WEEK)
            t1 = time.perf_counter()
            texts = render_bulletin_text(b)
            t2 = time.perf_counter()
            png = bulletin_chart_png(b)
            t3 = time.perf_counter()
            doc = bulletin_document(b, cal)
            t4 = time.perf_counter()
            # The sample notice: a leader's instruction to a lead unit and a co-unit.
            writer = uow_factory(engine)
            sample = await register_matter(
                writer(), clock, cal, ledger.admin, RegisterMatter(
                    title="城南片区积水点整治", source=Source.INSTRUCTION,
                    body="入汛前完成城南片区6处积水点改造，消除内涝隐患。",
                    instruction_text="请县住建局牵头，县交通局配合，汛期前务必完成，"
                                     "每周报送进展。", instruction_author="李县长"))
            assert sample.id is not None
            zj, jt = ledger.units["县住建局"], ledger.units["县交通局"]
            await assign(writer(), clock, cal, ledger.admin, sample.id, [
                AssignSpec(zj, *ledger.people[zj], lead=True),
                AssignSpec(jt, *ledger.people[jt])])
            _, notice = await assignment_notice(uow(), clock, sample.id, 1)
            # Its 催办通知单: three working days past the deadline, the office urges.
            due = (await get_matter(uow(), ledger.admin, sample.id))[1].assignment(1)
            later = FixedClock(datetime.combine(cal.add_workdays(due.deadline, 3),
                                                datetime.min.time(), LOCAL_TZ)
                               + timedelta(hours=9))
            await urge(writer(), later, cal, ledger.admin, sample.id, 1,
                       note="请于限期内办结并书面报告。")
            _, urging = await urging_notice(uow(), later, cal, sample.id, 1)
            with_chart = bulletin_document(b, cal, chart_png=png)
        finally:
            await engine.dispose()
    return {
        "matters": n, "bulletin_s": round(t4 - t0, 3), "load_and_figures_s": round(t1 - t0, 3),
        "text_s": round(t2 - t1, 3), "chart_s": round(t3 - t2, 3), "docx_s": round(t4 - t3, 3),
        "messages": len(texts), "chart_kb": len(png) // 1024, "docx_kb": len(doc) // 1024,
        "open": b.figures.open, "overdue": b.figures.overdue, "closed_in_week": b.figures.closed,
        "seed_s": round(seed_s, 1),
    }, Samples(png, with_chart, notice, urging)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--matters", type=int, default=10_000)
    p.add_argument("--samples", type=Path, default=None,
                   help="also write the sample chart, bulletin, 交办通知单 and 催办通知单 here")
    args = p.parse_args()
    result, samples = asyncio.run(run(args.matters))
    if args.samples is not None:
        samples.write(args.samples)
    print(f"{result['matters']} 件事项：通报（读台账+统计、文字、图表、文档）共 {result['bulletin_s']} 秒")
    emit(result)


if __name__ == "__main__":
    main()
