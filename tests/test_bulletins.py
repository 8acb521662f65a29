"""Bulletins: figures of a seeded ledger, numbering, confidentiality, periods, text split."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import docx
import pytest

from ledger.bulletins import BulletinKind, Period, current_period, previous_period
from ledger.errors import PermissionDenied
from reports.bulletin import (
    build_bulletin,
    bulletin_document,
    publish,
    render_bulletin_text,
    split_text,
)
from tests.test_reports_helpers import CONFIDENTIAL_TITLE, Seed, reopen, seed_once

WEEK = Period(date(2026, 11, 16), date(2026, 11, 22))


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seed:
    return seed_once(tmp_path_factory.mktemp("seed"))


@pytest.fixture
async def s(seeded: Seed, tmp_path: Path) -> AsyncIterator[Seed]:
    seed = reopen(seeded, tmp_path)
    yield seed
    await seed.engine.dispose()


# ---- periods


def test_periods() -> None:
    monday = date(2026, 11, 23)
    assert previous_period(BulletinKind.REGULAR, monday) == WEEK
    assert previous_period(BulletinKind.REGULAR, date(2026, 11, 22)) == \
        Period(date(2026, 11, 9), date(2026, 11, 15))
    assert previous_period(BulletinKind.PROJECT, date(2026, 1, 5)) == \
        Period(date(2025, 12, 1), date(2025, 12, 31))
    assert previous_period(BulletinKind.QUARTERLY, date(2026, 4, 1)) == \
        Period(date(2026, 1, 1), date(2026, 3, 31))
    assert previous_period(BulletinKind.QUARTERLY, date(2026, 2, 10)) == \
        Period(date(2025, 10, 1), date(2025, 12, 31))
    assert current_period(BulletinKind.REGULAR, date(2026, 11, 25)) == \
        Period(date(2026, 11, 23), date(2026, 11, 25))
    assert current_period(BulletinKind.PROJECT, date(2026, 11, 25)).start == date(2026, 11, 1)
    assert WEEK.label == "2026年11月16日至11月22日"
    assert Period(date(2025, 12, 29), date(2026, 1, 4)).label == "2025年12月29日至2026年1月4日"
    with pytest.raises(ValueError):
        Period(date(2026, 1, 2), date(2026, 1, 1))


# ---- figures


async def test_figures_of_the_seeded_week(s: Seed) -> None:
    b = await build_bulletin(s.uow(), s.clock, s.cal, s.office_id, BulletinKind.REGULAR, WEEK)
    f = b.figures
    assert (f.registered, f.closed, f.closed_on_time) == (2, 2, 1)
    assert (f.open, f.overdue, f.overdue_matters, f.due_soon, f.stagnating) == (3, 1, 1, 1, 1)
    assert (f.urged, f.commended, f.criticized) == (1, 1, 1)
    assert b.preview and b.number == 1 and b.doc_number == "督察〔2026〕1号"

    assert [x.title for x in b.registered] == ["国道沿线环境整治", "学校周边交通秩序"]
    assert [(x.title, x.on_time) for x in b.closed] == [("农贸市场整治", False),
                                                         ("国道沿线环境整治", True)]
    [unit] = b.overdue_by_unit
    assert unit.unit == "住建局" and unit.workdays == 6
    [line] = unit.lines
    assert (line.title, line.deadline, line.workdays_overdue, line.urge_count) == \
        ("城区道路改造", date(2026, 11, 13), 6, 1)
    assert [(x.title, x.workdays_left) for x in b.due_soon] == [("学校周边交通秩序", 1)]
    assert [(x.title, x.workdays) for x in b.stagnating] == [("工业园区标准厂房建设", 10)]
    assert [(x.title, x.limit) for x in b.urged] == [("城区道路改造", date(2026, 11, 20))]
    assert [(x.unit, x.reason) for x in b.commendations] == [("交通局", "措施得力，提前完成")]
    assert [(x.unit, x.reason) for x in b.criticisms] == [("住建局", "催办时限内未落实")]

    rows = {r.unit: r for r in b.units}
    assert list(rows) == ["住建局", "交通局", "城关镇"]
    z, j, c = rows["住建局"], rows["交通局"], rows["城关镇"]
    assert (z.open, z.overdue, z.closed, z.urged, z.criticized) == (2, 1, 0, 1, 1)
    assert (j.open, j.closed, j.closed_on_time, j.commended, j.on_time_text) == (1, 1, 1, 1, "100%")
    assert (c.open, c.closed, c.closed_on_time, c.on_time_text) == (0, 2, 1, "50%")


async def test_project_bulletin_holds_project_matters_only(s: Seed) -> None:
    b = await build_bulletin(s.uow(), s.clock, s.cal, s.office_id, BulletinKind.PROJECT,
                             Period(date(2026, 11, 1), date(2026, 11, 22)))
    assert b.matter_ids == {s.m["m6"]}
    assert b.figures.registered == 1 and b.figures.open == 1
    assert b.info.label == "《项目建设督查专报》"


async def test_confidential_and_cancelled_matters_appear_nowhere(s: Seed) -> None:
    b = await build_bulletin(s.uow(), s.clock, s.cal, s.office_id, BulletinKind.REGULAR, WEEK)
    assert s.m["m3"] not in b.matter_ids and s.m["m7"] not in b.matter_ids
    text = "\n".join(render_bulletin_text(b))
    assert CONFIDENTIAL_TITLE not in text and "重复登记" not in text
    document = docx.Document(io.BytesIO(bulletin_document(b, s.cal)))
    body = "\n".join(p.text for p in document.paragraphs)
    cells = "\n".join(c.text for t in document.tables for r in t.rows for c in r.cells)
    assert CONFIDENTIAL_TITLE not in body + cells
    assert "城区道路改造" in body


# ---- numbering


async def test_numbers_per_kind_and_year_and_idempotent(s: Seed) -> None:
    b1, r1, new1 = await publish(s.uow, s.clock, s.cal, s.office_id, BulletinKind.REGULAR)
    assert (b1.number, b1.period, new1, b1.preview) == (1, WEEK, True, False)
    again, r_again, new_again = await publish(s.uow, s.clock, s.cal, s.office_id,
                                              BulletinKind.REGULAR, WEEK)
    assert (again.number, r_again.id, new_again) == (1, r1.id, False)
    nxt = Period(date(2026, 11, 23), date(2026, 11, 29))
    b2, _, _ = await publish(s.uow, s.clock, s.cal, s.office_id, BulletinKind.REGULAR, nxt)
    assert b2.number == 2 and b2.doc_number == "督察〔2026〕2号" and b2.issue == "2026年第2期"
    p1, _, _ = await publish(s.uow, s.clock, s.cal, s.office_id, BulletinKind.PROJECT)
    assert p1.number == 1 and p1.period == Period(date(2026, 10, 1), date(2026, 10, 31))
    # A preview of a published period shows its number; of a new one, the next number.
    seen = await build_bulletin(s.uow(), s.clock, s.cal, s.office_id, BulletinKind.REGULAR,
                                WEEK)
    assert (seen.number, seen.preview) == (1, False)
    s.when(date(2027, 1, 4))
    y2, _, _ = await publish(s.uow, s.clock, s.cal, s.office_id, BulletinKind.REGULAR)
    assert (y2.year, y2.number) == (2027, 1)
    async with s.uow() as u:
        records = await u.bulletins.list(s.office_id, "regular")
        events = await u.events.since(s.office_id, r1.published_at)
    assert [(r.year, r.number) for r in records] == [(2026, 1), (2026, 2), (2027, 1)] or \
        sorted((r.year, r.number) for r in records) == [(2026, 1), (2026, 2), (2027, 1)]
    assert sum(e.kind == "bulletin_published" for e in events) == 4


async def test_only_the_office_publishes(s: Seed) -> None:
    handler = s.people["住建局"][2]
    with pytest.raises(PermissionDenied):
        await publish(s.uow, s.clock, s.cal, s.office_id, BulletinKind.REGULAR,
                      actor_id=handler)
    b, _, _ = await publish(s.uow, s.clock, s.cal, s.office_id, BulletinKind.REGULAR,
                            actor_id=s.admin)
    assert b.number == 1


# ---- text


async def test_text_names_the_figures(s: Seed) -> None:
    b = await build_bulletin(s.uow(), s.clock, s.cal, s.office_id, BulletinKind.REGULAR, WEEK)
    [text] = render_bulletin_text(b)
    assert text.startswith("📋 《督察》2026年第1期（预览）")
    assert "统计期间：2026年11月16日至11月22日" in text
    assert "本期新立项 2 件，办结 2 件（按时办结 1 件）" in text
    assert "🔴 住建局：1 项，合计超期 6 个工作日" in text
    assert "城区道路改造：时限 11月13日，超期 6 个工作日，已催办 1 次" in text
    assert "👍 交通局" in text and "❗ 住建局" in text
    assert "城关镇：本期办结 2，按时 1（50%）" in text
    assert "\n\n\n" not in text


def test_split_keeps_every_line_and_the_limit() -> None:
    lines = [f"· 督〔2026〕{i}号 某项工作第{i}项推进情况🚧：时限 11月{i % 28 + 1}日" for i in range(900)]
    text = "标题\n\n" + "\n".join(lines[:300]) + "\n\n二、下一节\n" + "\n".join(lines[300:])
    parts = split_text(text, 4096)
    assert len(parts) > 1
    for p in parts:
        assert len(p.encode("utf-16-le")) // 2 <= 4096
        assert p == p.strip("\n")
    rejoined = [ln for p in parts for ln in p.split("\n") if ln.strip()]
    assert rejoined == [ln for ln in text.split("\n") if ln.strip()]
    # A section break in the second half of a message is where it is cut.
    assert any(p.startswith("二、下一节") for p in parts)
    # One line longer than the limit is cut inside, nothing lost.
    long = "长" * 5000
    assert "".join(split_text(long, 4096)) == long
    assert split_text("", 4096) == [] and split_text("a\n\n\nb", 4096) == ["a\n\n\nb"]


# ---- the bulletin's own confidentiality filter (not the query's)


def test_compute_bulletin_leaves_out_a_confidential_matter_it_is_handed() -> None:
    """compute_bulletin is handed a confidential matter directly (no query filtered it):
    it must appear in no line and no figure."""
    from datetime import UTC, datetime

    from ledger.bulletins import compute_bulletin
    from ledger.deadlines import MatterClass
    from ledger.model import Matter, Source
    from ledger.workcalendar import WorkCalendar

    at = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)
    matters = []
    for i, (title, secret) in enumerate((("公开的事项", False), ("机密的事项", True)), 1):
        m = Matter.register(
            office_id=1, year=2026, seq=i, prefix="督", title=title, body=title,
            source=Source.INSTRUCTION, klass=MatterClass.NORMAL, confidential=secret,
            tags=(), received_at=at, at=at, actor_id=1, instruction_text=None,
            instruction_author=None, deadline=None)
        m.id = i
        m.assign(at=at, actor_id=1, unit_id=1, lead=True, principal_id=2, responsible_id=3,
                 handler_id=4, deadline=date(2026, 11, 18))  # overdue by the 22nd
        matters.append(m)
    b = compute_bulletin(kind=BulletinKind.REGULAR, matters=matters, events=[],
                         units={1: "城关镇"}, cal=WorkCalendar(), period=WEEK,
                         as_of=datetime(2026, 11, 23, 1, 0, tzinfo=UTC), office_name="督查室",
                         doc_prefix="督察", number=1)
    assert [x.title for x in b.registered] == ["公开的事项"]
    assert (b.figures.registered, b.figures.open, b.figures.overdue) == (1, 1, 1)
    assert [x.title for u in b.overdue_by_unit for x in u.lines] == ["公开的事项"]
