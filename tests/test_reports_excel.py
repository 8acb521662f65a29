"""The Excel ledger: export with filters and history, export → import round trip into a
fresh database, idempotent re-import, and a bad file that changes nothing."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from ledger.errors import PermissionDenied
from ledger.model import MatterStatus
from ledger.ports import MatterQuery
from reports.excel import (
    COLUMNS,
    EXTRA_COLUMNS,
    ExportFilter,
    ImportRejected,
    export_ledger,
    import_ledger_file,
)
from tests.test_reports_helpers import CONFIDENTIAL_TITLE, Seed, base_world, reopen, seed_once


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seed:
    return seed_once(tmp_path_factory.mktemp("seed"))


@pytest.fixture
async def s(seeded: Seed, tmp_path: Path) -> AsyncIterator[Seed]:
    seed = reopen(seeded, tmp_path)
    yield seed
    await seed.engine.dispose()


@pytest.fixture
async def fresh(tmp_path: Path, s: Seed) -> AsyncIterator[Seed]:
    """Another database with the same units and people, and no matters."""
    other = await base_world(tmp_path / "fresh.db")
    other.clock.set(s.clock.now())
    yield other
    await other.engine.dispose()


async def export(s: Seed, f: ExportFilter | None = None) -> bytes:
    out = io.BytesIO()
    await export_ledger(s.uow(), s.clock, s.cal, s.office_id, out, f)
    return out.getvalue()


def sheet(data: bytes, name: str = "督办台账") -> list[list[Any]]:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    return [list(r) for r in wb[name].iter_rows(values_only=True)]


def titles(data: bytes) -> list[str]:
    return [r[2] for r in sheet(data)[1:]]


async def counts(s: Seed) -> tuple[int, int]:
    async with s.uow() as u:
        n = await u.matters.count(MatterQuery(office_id=s.office_id))
        events = await u.events.since(s.office_id, s.clock.now().replace(year=2000))
    return n, len(events)


# ---- export


async def test_export_columns_rows_and_history(s: Seed) -> None:
    data = await export(s)
    rows = sheet(data)
    assert tuple(rows[0]) == COLUMNS + EXTRA_COLUMNS
    assert len(rows) == 8
    by_title = {r[2]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    m1 = by_title["城区道路改造"]
    assert (m1["序号"], m1["编号"], m1["来源"], m1["类别"], m1["牵头单位"]) == \
        (1, "督〔2026〕1号", "县委县政府决策", "一般", "住建局")
    assert (m1["第一责任人"], m1["责任人"], m1["承办人"]) == ("住建局局长", "住建局科长", "住建局干事")
    assert m1["交办日期"].date() == date(2026, 11, 2) and m1["办结时限"].date() == date(2026, 11, 13)
    assert (m1["状态"], m1["红黄绿灯"], m1["销号日期"]) == ("办理中", "红灯", None)
    m2 = by_title["国道沿线环境整治"]
    assert (m2["配合单位"], m2["状态"], m2["最新进展"]) == ("城关镇", "已销号", "已整治完毕")
    assert m2["销号日期"].date() == date(2026, 11, 19) and m2["红黄绿灯"] is None
    assert by_title[CONFIDENTIAL_TITLE]["密级"] == "机密"
    assert by_title["学校周边交通秩序"]["红黄绿灯"] == "黄灯"
    assert by_title["重复登记的事项"]["状态"] == "已撤销"
    history = sheet(data, "办理记录")
    assert tuple(history[0]) == ("编号", "事项", "时间", "动作", "分工", "操作人", "内容")
    m1_events = [r[3] for r in history[1:] if r[0] == "督〔2026〕1号"]
    assert m1_events == ["立项", "交办", "催办", "通报批评"]
    urge = next(r for r in history[1:] if r[3] == "催办")
    assert urge[4] == "住建局" and urge[5] == "督查室" and "限期：2026-11-20" in urge[6]


async def test_export_filters(s: Seed) -> None:
    z = await export(s, ExportFilter(unit_id=s.units["住建局"]))
    assert titles(z) == ["城区道路改造", CONFIDENTIAL_TITLE, "学校周边交通秩序"]
    closed = await export(s, ExportFilter(statuses=frozenset({MatterStatus.CLOSED})))
    assert titles(closed) == ["农贸市场整治", "国道沿线环境整治"]
    week = await export(s, ExportFilter(since=date(2026, 11, 16), until=date(2026, 11, 17),
                                        include_confidential=False, history=False))
    assert titles(week) == ["国道沿线环境整治", "学校周边交通秩序"]
    assert openpyxl.load_workbook(io.BytesIO(week)).sheetnames == ["督办台账"]


# ---- import


async def test_round_trip_into_a_fresh_database(s: Seed, fresh: Seed, tmp_path: Path) -> None:
    original = await export(s)
    path = tmp_path / "台账.xlsx"
    path.write_bytes(original)
    result = await import_ledger_file(fresh.uow(), fresh.clock, fresh.cal, fresh.admin, path)
    assert (len(result.created), len(result.skipped), result.rows) == (7, 0, 7)
    assert result.created[0] == "督〔2026〕1号"
    again = await export(fresh)
    assert sheet(again) == sheet(original)
    async with fresh.uow() as u:
        m = await u.matters.find(fresh.office_id, 2026, 5)
        imported = await u.events.since(fresh.office_id, fresh.clock.now())
    assert m.confidential and m.title == CONFIDENTIAL_TITLE and "导入" in m.tags
    assert [e.kind for e in imported if e.matter_id is None] == ["ledger_imported"]
    record = imported[-1]
    assert record.after["created"] == 7 and record.after["file"] == "台账.xlsx"

    # The same file again creates nothing twice.
    before = await counts(fresh)
    twice = await import_ledger_file(fresh.uow(), fresh.clock, fresh.cal, fresh.admin, path)
    assert (len(twice.created), len(twice.skipped)) == (0, 7)
    assert (await counts(fresh))[0] == before[0]
    assert "已在台账中7件" in twice.summary


def office_file(rows: list[list[Any]], head: tuple[str, ...] = COLUMNS) -> bytes:
    """An office's own ledger: a title row above the header, its own column order."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["某县督办事项台账（2026年）"])
    ws.append(list(head))
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def row(**values: Any) -> list[Any]:
    return [values.get(c) for c in COLUMNS]


async def test_rows_without_number_are_numbered_and_not_imported_twice(fresh: Seed) -> None:
    data = office_file([
        row(事项="城东污水管网改造", 牵头单位="住建局", 配合单位="交通局、城关镇",
            交办日期="2026-10-12", 办结时限="2026/10/30", 类别="重大疑难", 来源="项目建设"),
        row(事项="老旧小区加装电梯", 牵头单位="城关镇", 交办日期=date(2026, 9, 1),
            状态="已销号", 销号日期="2026年9月20日", 最新进展="已完成12部"),
        row(事项="待交办的调研课题"),
        [None] * len(COLUMNS),
    ])
    result = await import_ledger_file(fresh.uow(), fresh.clock, fresh.cal, fresh.admin,
                                      io.BytesIO(data), "office.xlsx")
    assert result.created == ("督〔2026〕1号", "督〔2026〕2号", "督〔2026〕3号")
    async with fresh.uow() as u:
        sewer = await u.matters.find(fresh.office_id, 2026, 1)
        lift = await u.matters.find(fresh.office_id, 2026, 2)
        study = await u.matters.find(fresh.office_id, 2026, 3)
    assert [a.unit_id for a in sewer.top_assignments] == [
        fresh.units["住建局"], fresh.units["交通局"], fresh.units["城关镇"]]
    assert sewer.lead is not None and sewer.lead.deadline == date(2026, 10, 30)
    assert sewer.source.value == "project" and sewer.klass.value == "major"
    assert lift.status is MatterStatus.CLOSED and lift.lead is not None
    assert lift.lead.last_progress_text == "已完成12部"
    assert study.status is MatterStatus.REGISTERED and study.lead is None
    again = await import_ledger_file(fresh.uow(), fresh.clock, fresh.cal, fresh.admin,
                                     io.BytesIO(data))
    assert (again.created, len(again.skipped)) == ((), 3)


async def test_a_bad_file_imports_nothing_and_says_why_per_row(fresh: Seed) -> None:
    good = row(事项="好的一行", 牵头单位="住建局", 交办日期="2026-11-02")
    data = office_file([
        good,
        row(事项="单位不对", 牵头单位="不存在局", 交办日期="2026-11-02"),
        row(事项="日期不对", 牵头单位="住建局", 交办日期="下周一"),
        row(牵头单位="住建局", 交办日期="2026-11-02"),
        row(事项="人不对", 牵头单位="交通局", 责任人="张三"),
        row(事项="编号不对", 编号="第12号"),
        row(事项="好的一行", 牵头单位="住建局", 交办日期="2026-11-02"),
    ])
    before = await counts(fresh)
    with pytest.raises(ImportRejected) as info:
        await import_ledger_file(fresh.uow(), fresh.clock, fresh.cal, fresh.admin,
                                 io.BytesIO(data))
    errors = {(e.row, e.column) for e in info.value.errors}
    assert errors == {(4, "牵头单位"), (5, "交办日期"), (6, "事项"), (7, "责任人"), (8, "编号"),
                      (9, None)}
    message = str(info.value)
    assert message.startswith("导入失败，共6处问题，未导入任何事项。")
    assert "第4行「牵头单位」：单位「不存在局」不在单位名单中。" in message
    assert "第5行「交办日期」：「下周一」不是日期" in message
    assert "第6行「事项」：事项名称不能为空。" in message
    assert "第7行「责任人」：「张三」不是交通局的人员。" in message
    assert "第9行：与第3行是同一事项" in message
    assert await counts(fresh) == before


async def test_number_taken_by_another_matter_and_not_a_workbook(s: Seed) -> None:
    data = office_file([row(编号="督〔2026〕1号", 事项="另一件事")])
    with pytest.raises(ImportRejected, match="已被「城区道路改造」占用"):
        await import_ledger_file(s.uow(), s.clock, s.cal, s.admin, io.BytesIO(data))
    with pytest.raises(ImportRejected, match=r"不是可读取的 \.xlsx 文件"):
        await import_ledger_file(s.uow(), s.clock, s.cal, s.admin, io.BytesIO(b"not a zip"))
    with pytest.raises(ImportRejected, match="找不到表头"):
        await import_ledger_file(s.uow(), s.clock, s.cal, s.admin,
                                 io.BytesIO(office_file([], head=("甲", "乙"))))


async def test_only_the_office_imports_and_exports(s: Seed) -> None:
    handler = s.people["住建局"][2]
    data = office_file([row(事项="x")])
    with pytest.raises(PermissionDenied):
        await import_ledger_file(s.uow(), s.clock, s.cal, handler, io.BytesIO(data))
    with pytest.raises(PermissionDenied):
        await export_ledger(s.uow(), s.clock, s.cal, s.office_id, io.BytesIO(),
                            actor_id=handler)
