"""The annual appraisal: scores of the seeded ledger, each point traced to a matter."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import openpyxl
import pytest

from ledger.appraisal import AppraisalWeights, Factor, compute_appraisal
from ledger.errors import PermissionDenied
from ledger.ports import MatterQuery
from ledger.workcalendar import WorkCalendar
from reports.appraisal import DETAIL_SHEET, SCORE_SHEET, build_appraisal, write_appraisal
from tests.test_reports_helpers import Seed, reopen, seed_once


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seed:
    return seed_once(tmp_path_factory.mktemp("seed"))


@pytest.fixture
async def s(seeded: Seed, tmp_path: Path) -> AsyncIterator[Seed]:
    seed = reopen(seeded, tmp_path)
    yield seed
    await seed.engine.dispose()


async def test_scores_of_the_seeded_year(s: Seed) -> None:
    a = await build_appraisal(s.uow(), s.clock, s.cal, s.office_id, 2026)
    assert a.cutoff == date(2026, 11, 23)
    assert [(x.rank, x.unit, x.score) for x in a.scores] == [
        (1, "交通局", 107.0), (2, "城关镇", 100.5), (3, "住建局", 90.0)]
    z = a.for_unit(s.units["住建局"])
    assert (z.quantity(Factor.OVERDUE), z.points(Factor.OVERDUE)) == (6, -3.0)
    assert (z.quantity(Factor.URGE), z.quantity(Factor.CRITICISM)) == (1, 1)
    assert {i.number for i in z.items} == {"督〔2026〕1号"}   # m3 is confidential, m5 on time
    c = a.for_unit(s.units["城关镇"])
    assert (c.quantity(Factor.ON_TIME), c.quantity(Factor.LATE_CLOSE)) == (1, 1)
    late = next(i for i in c.items if i.factor is Factor.OVERDUE)
    assert (late.number, late.quantity, late.note) == (
        "督〔2026〕2号", 3, "时限2026年11月17日，至2026年11月20日超期3个工作日")
    # Every point traces to an item.
    for x in a.scores:
        assert x.score == x.base + sum(i.points for i in x.items)


async def test_weights_and_confidential_matters(s: Seed) -> None:
    w = AppraisalWeights(base=0, on_time=10, overdue=-1, overdue_cap_workdays=4, urge=0,
                         criticism=0, commendation=0)
    a = await build_appraisal(s.uow(), s.clock, s.cal, s.office_id, 2026, w,
                              include_confidential=True)
    z = a.for_unit(s.units["住建局"])
    # m1: 6 working days capped at 4; m3 (confidential, deadline 11-18): 3.
    assert sorted(i.quantity for i in z.items if i.factor is Factor.OVERDUE) == [3, 4]
    assert z.score == -7
    assert a.for_unit(s.units["交通局"]).score == 10
    assert w.describe(Factor.ON_TIME) == "+10/件" and w.describe(Factor.OVERDUE) == "-1/工作日"


async def test_a_later_year_counts_only_its_own_days(s: Seed) -> None:
    async with s.uow() as u:
        matters = await u.matters.list(MatterQuery(office_id=s.office_id))
    units = {v: k for k, v in s.units.items()}
    a = compute_appraisal(year=2027, matters=matters, events=[], units=units,
                          cal=WorkCalendar(), as_of=datetime(2027, 12, 31, 12, tzinfo=UTC))
    z = a.for_unit(s.units["住建局"])
    # Still open in 2027 (no calendar for 2027 yet: calendar days), capped at 20 working days.
    assert [i.quantity for i in z.items if i.factor is Factor.OVERDUE] == [20, 20]
    assert a.for_unit(s.units["城关镇"]).items == ()


async def test_xlsx_has_scores_with_weights_and_the_matters_behind(s: Seed) -> None:
    a = await build_appraisal(s.uow(), s.clock, s.cal, s.office_id, 2026)
    out = io.BytesIO()
    write_appraisal(a, out)
    wb = openpyxl.load_workbook(io.BytesIO(out.getvalue()))
    assert wb.sheetnames == [SCORE_SHEET, DETAIL_SHEET]
    scores = [list(r) for r in wb[SCORE_SHEET].iter_rows(values_only=True)]
    head = scores[1]
    assert "按时办结得分（+2/件）" in head and "超期工作日得分（-0.5/工作日）" in head
    assert scores[2][:3] == [1, "交通局", 100] and scores[2][-1] == 107
    detail = [list(r) for r in wb[DETAIL_SHEET].iter_rows(values_only=True)]
    assert detail[0][:4] == ["单位", "编号", "事项", "考评项目"]
    for row in scores[2:5]:
        unit, base, total = row[1], row[2], row[-1]
        points = sum(d[6] for d in detail[1:] if d[0] == unit)
        assert base + points == total
    assert ["住建局", "督〔2026〕1号", "城区道路改造", "通报批评", 1, -5, -5] in \
        [d[:7] for d in detail]


async def test_only_the_office_appraises(s: Seed) -> None:
    with pytest.raises(PermissionDenied):
        await build_appraisal(s.uow(), s.clock, s.cal, s.office_id, 2026,
                              actor_id=s.people["交通局"][0])
