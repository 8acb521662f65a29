"""The annual appraisal (年终目标考评) from the ledger, and its .xlsx: one sheet of scores with
the weights printed beside them, one of the matters behind every point.

    a = await build_appraisal(uow, clock, cal, office_id, 2026, weights)
    write_appraisal(a, "考评2026.xlsx")
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import IO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from ledger import offices as office_rules
from ledger.appraisal import (
    FACTORS,
    Appraisal,
    AppraisalWeights,
    Factor,
    OfficeScore,
    compute_appraisal,
    rank_offices,
)
from ledger.clock import Clock
from ledger.ports import UnitOfWork, UnitOfWorkFactory
from ledger.reporting import day_start, load_snapshot, require_office_actor
from ledger.workcalendar import WorkCalendar

__all__ = ["DETAIL_SHEET", "OFFICES_SHEET", "SCORE_SHEET", "build_appraisal",
           "build_children_appraisal", "write_appraisal", "write_children_appraisal"]

SCORE_SHEET = "考评得分"
DETAIL_SHEET = "得分明细"
OFFICES_SHEET = "下级督查室排名"


async def build_appraisal(uow: UnitOfWork, clock: Clock, cal: WorkCalendar, office_id: int,
                          year: int, weights: AppraisalWeights | None = None, *,
                          include_confidential: bool = False,
                          actor_id: int | None = None) -> Appraisal:
    """Scores of every unit of the office for `year`, as of now."""
    if actor_id is not None:
        async with uow:
            await require_office_actor(uow, actor_id, office_id)
    snap = await load_snapshot(uow, office_id, day_start(date(year, 1, 1)),
                               day_start(date(year + 1, 1, 1)),
                               include_confidential=include_confidential)
    return compute_appraisal(year=year, matters=snap.matters, events=snap.events,
                             units=snap.units, cal=cal, as_of=clock.now(), weights=weights,
                             include_confidential=include_confidential)


async def build_children_appraisal(uows: UnitOfWorkFactory, clock: Clock, cal: WorkCalendar,
                                   actor_id: int, year: int,
                                   weights: AppraisalWeights | None = None,
                                   ) -> tuple[str, tuple[OfficeScore, ...]]:
    """/appraisal 下级: the actor's office's name and its child offices ranked, each child
    appraised on its own ledger (confidential matters never count)."""
    async with uows() as uow:  # the office's admins (ledger.offices.may_manage_children)
        office_id = await require_office_actor(uow, actor_id)
        every = await uow.offices.all()
    mine = next(o for o in every if o.id == office_id)
    children = office_rules.children(every, office_id)
    scored = [(o, await build_appraisal(uows(), clock, cal, o.id, year, weights))
              for o in children]
    return mine.name, rank_offices(scored)


def _fmt(x: float) -> float | int:
    return int(x) if float(x).is_integer() else round(x, 2)


def write_appraisal(a: Appraisal, target: str | Path | IO[bytes]) -> None:
    w = a.weights
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(SCORE_SHEET)
    bold = Font(bold=True)
    factors = list(Factor)
    head = ["名次", "单位", "基础分"]
    for f in factors:
        label, per = FACTORS[f]
        head += [f"{label}（{per}）", f"{label}得分（{w.describe(f)}）"]
    head.append("总分")
    widths = [6, 16, 8] + [12, 16] * len(factors) + [8]
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "C3"
    title = WriteOnlyCell(ws, value=f"{a.year}年度督查工作目标考评得分"
                          f"（截至{a.cutoff.year}年{a.cutoff.month}月{a.cutoff.day}日）")
    title.font = Font(bold=True, size=14)
    ws.append([title])
    cells = []
    for name in head:
        c = WriteOnlyCell(ws, value=name)
        c.font = bold
        c.alignment = Alignment(horizontal="center", wrap_text=True)
        cells.append(c)
    ws.append(cells)
    for s in a.scores:
        row: list[object] = [s.rank, s.unit, _fmt(s.base)]
        for f in factors:
            row += [s.quantity(f), _fmt(s.points(f))]
        total = WriteOnlyCell(ws, value=_fmt(s.score))
        total.font = bold
        row.append(total)
        ws.append(row)
    ws.append([])
    ws.append(["", "说明", "总分 = 基础分 + 各项得分；每一分的来源见「得分明细」。超期按工作日计，"
               f"每项分工每年至多计{w.overdue_cap_workdays}个工作日。机密事项不计入。"])

    ds = wb.create_sheet(DETAIL_SHEET)
    detail_head = ("单位", "编号", "事项", "考评项目", "数量", "权重", "得分", "日期", "说明")
    for i, width in enumerate((16, 16, 36, 12, 8, 8, 8, 12, 50), start=1):
        ds.column_dimensions[get_column_letter(i)].width = width
    ds.freeze_panes = "A2"
    ds.append([WriteOnlyCell(ds, value=h) for h in detail_head])
    for s in a.scores:
        for item in s.items:
            day = None
            if item.day is not None:
                day = WriteOnlyCell(ds, value=item.day)
                day.number_format = "yyyy-mm-dd"
            ds.append([s.unit, item.number, item.title, item.label, item.quantity,
                       _fmt(item.weight), _fmt(item.points), day, item.note])
    wb.save(target)


def write_children_appraisal(year: int, ranked: Sequence[OfficeScore],
                             target: str | Path | IO[bytes]) -> None:
    """The child offices' ranking, and every unit's score behind each office's."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(OFFICES_SHEET)
    bold = Font(bold=True)
    for i, width in enumerate((6, 20, 10, 10), start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    title = WriteOnlyCell(ws, value=f"{year}年度下级督查室目标考评排名")
    title.font = Font(bold=True, size=14)
    ws.append([title])
    head = []
    for name in ("名次", "督查室", "参评单位", "平均得分"):
        c = WriteOnlyCell(ws, value=name)
        c.font = bold
        head.append(c)
    ws.append(head)
    for s in ranked:
        ws.append([s.rank, s.office, len(s.taking_part), _fmt(s.score)])
    ws.append([])
    ws.append(["", "说明", "各督查室按其本级台账考评各单位（与其 /appraisal 相同），平均得分为本年度"
               "有计分项目的单位得分的平均；没有参评单位的按基础分计。机密事项不计入。"])
    us = wb.create_sheet(SCORE_SHEET)
    for i, width in enumerate((20, 6, 16, 8), start=1):
        us.column_dimensions[get_column_letter(i)].width = width
    us.append([WriteOnlyCell(us, value=h) for h in ("督查室", "本级名次", "单位", "总分")])
    for s in ranked:
        for u in s.appraisal.scores:
            us.append([s.office, u.rank, u.unit, _fmt(u.score)])
    wb.save(target)
