"""The Excel ledger (台账, §2.1): export to .xlsx and import an office's existing one.

Sheet 督办台账, one row per matter (一事一记), columns:
序号 编号 事项 来源 类别 牵头单位 配合单位 第一责任人 责任人 承办人 交办日期 办结时限 最新进展 状态
红黄绿灯 销号日期, then four more so a round trip loses nothing the bot needs:
密级 (机密 or empty), 事项内容, 领导批示, 批示领导.
Sheet 办理记录: every event of the exported matters (who, when, what).

Import reads the sheet 督办台账 (else the first): the header row is the first of the top 20
holding 事项; columns are matched by name, unknown ones ignored, only 事项 required. Every
row is checked; one bad row rejects the whole file with a per-row report (ImportRejected).
Idempotency key: the 编号 when given (kept as the matter's number), else (事项, 牵头单位,
交办日期) — see `ledger.reporting.import_ledger`.

Speed: the big sheets are written and read by `reports.xlsx` (streamed SpreadsheetML, about
ten times openpyxl's write-only/read-only modes); openpyxl reads what that reader cannot.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Any, TypeVar
from xml.etree import ElementTree

from openpyxl import load_workbook
from openpyxl.utils.datetime import from_excel

from ledger.clock import LOCAL_TZ, Clock, local_today, to_local
from ledger.deadlines import MatterClass
from ledger.lights import LightPolicy, matter_light
from ledger.model import AssignmentStatus, Event, Light, Matter, MatterStatus, Source
from ledger.ports import MatterQuery, UnitOfWork
from ledger.reporting import (
    ImportRejected,
    ImportResult,
    ImportRow,
    RowError,
    gc_paused,
    import_ledger,
    require_office_actor,
)
from ledger.workcalendar import WorkCalendar
from presentation import attachments
from presentation.labels import CLASS_LABELS, EVENT_LABELS, MATTER_STATUS_LABELS, SOURCE_LABELS
from reports.xlsx import Styled, Unreadable, XlsxWriter, read_sheet

__all__ = [
    "COLUMNS",
    "EXTRA_COLUMNS",
    "HISTORY_COLUMNS",
    "ExportFilter",
    "ExportStats",
    "ImportRejected",
    "ImportResult",
    "Progress",
    "export_ledger",
    "import_ledger_file",
    "read_ledger_rows",
    "write_ledger",
]

T = TypeVar("T")

LEDGER_SHEET = "督办台账"
HISTORY_SHEET = "办理记录"
COLUMNS = ("序号", "编号", "事项", "来源", "类别", "牵头单位", "配合单位", "第一责任人",
           "责任人", "承办人", "交办日期", "办结时限", "最新进展", "状态", "红黄绿灯", "销号日期")
EXTRA_COLUMNS = ("密级", "事项内容", "领导批示", "批示领导")
HISTORY_COLUMNS = ("编号", "事项", "时间", "动作", "分工", "操作人", "内容")
WIDTHS = (6, 16, 36, 14, 10, 14, 20, 10, 10, 10, 12, 12, 40, 8, 8, 12, 6, 40, 30, 10)
HISTORY_WIDTHS = (16, 36, 18, 14, 14, 12, 60)

LIGHT_TEXT = {Light.GREEN: "绿灯", Light.YELLOW: "黄灯", Light.RED: "红灯"}
CONFIDENTIAL_MARK = "机密"


@dataclass(frozen=True)
class ExportFilter:
    """Which matters to export; fields left None do not filter. The period is on the
    registration day (local dates, both ends included)."""

    unit_id: int | None = None
    statuses: frozenset[MatterStatus] | None = None
    since: date | None = None
    until: date | None = None
    include_confidential: bool = True
    history: bool = True


@dataclass(frozen=True)
class ExportStats:
    matters: int
    events: int


# ---------------------------------------------------------------- export


def _local_day(moment: datetime | None) -> date | None:
    return to_local(moment).date() if moment is not None else None


def _summary(e: Event) -> str:
    a = e.after
    parts: list[str] = []
    for key, label in (("text", ""), ("reason", "理由："), ("comment", "意见："),
                       ("note", "说明："), ("limit", "限期："), ("deadline", "时限："),
                       ("new_deadline", "新时限："), ("committed_deadline", "承诺时限："),
                       ("title", "")):
        value = a.get(key)
        if value:
            parts.append(f"{label}{value}")
    if e.kind == "assigned":
        parts.append("牵头" if a.get("lead") else "配合")
    if a.get("attachments"):  # 附件：2张照片、语音 0:12、位置 (…)
        parts.append(f"附件：{attachments.summary(a['attachments'])}")
    return "；".join(parts)


Progress = Callable[[int, int], Awaitable[None]]
"""Told (rows done, rows in all) after each batch: a chat edits one message, the command
line draws a bar."""


class _LedgerWriter:
    """The two sheets, appended a batch at a time (the writer spools rows to disk)."""

    def __init__(self, units: dict[int, str], persons: dict[int, str], cal: WorkCalendar,
                 today: date, policy: LightPolicy | None, history: bool) -> None:
        self.units, self.persons, self.cal, self.today = units, persons, cal, today
        self.policy = policy or LightPolicy()
        self.wb = XlsxWriter()
        self.ws = self.wb.sheet(LEDGER_SHEET, WIDTHS, freeze="C2", autofilter=True)
        self.ws.append([Styled(name, "header") for name in COLUMNS + EXTRA_COLUMNS])
        self.hs = None
        if history:
            self.hs = self.wb.sheet(HISTORY_SHEET, HISTORY_WIDTHS, freeze="A2", autofilter=True)
            self.hs.append([Styled(name, "header") for name in HISTORY_COLUMNS])
        # what the history sheet needs of each matter: its number, title, units by no
        self.names: dict[int, tuple[str, str, dict[int, str]]] = {}
        self.matters = 0
        self.events = 0
        self.first: datetime | None = None

    def add_matters(self, matters: Iterable[Matter]) -> None:
        units, persons, ws = self.units, self.persons, self.ws
        status_labels = MATTER_STATUS_LABELS
        for m in matters:
            self.matters += 1
            i = self.matters
            if m.id is not None:
                self.names[m.id] = (m.number, m.title,
                                    {a.no: units.get(a.unit_id, "") for a in m.assignments})
            if self.first is None or m.registered_at < self.first:
                self.first = m.registered_at
            lead = m.lead
            co = "、".join(units.get(a.unit_id, "") for a in m.top_assignments
                          if not a.lead and a.status != AssignmentStatus.CANCELLED)
            light: Styled | str = ""
            if lead is not None and m.is_open:
                color = matter_light(m, self.cal, self.today, self.policy)
                light = Styled(LIGHT_TEXT[color], color.value)
            if lead is not None:
                ws.append([
                    i, m.number, m.title, SOURCE_LABELS[m.source], CLASS_LABELS[m.klass],
                    units.get(lead.unit_id, ""), co, persons.get(lead.principal_id, ""),
                    persons.get(lead.responsible_id, ""), persons.get(lead.handler_id, ""),
                    _local_day(lead.assigned_at), lead.effective_deadline,
                    lead.last_progress_text or "", status_labels[m.status], light,
                    _local_day(m.closed_at), CONFIDENTIAL_MARK if m.confidential else "",
                    m.body, m.instruction_text or "", m.instruction_author or ""])
            else:
                ws.append([
                    i, m.number, m.title, SOURCE_LABELS[m.source], CLASS_LABELS[m.klass],
                    "", "", "", "", "", None, m.deadline, "", status_labels[m.status], "",
                    _local_day(m.closed_at), CONFIDENTIAL_MARK if m.confidential else "",
                    m.body, m.instruction_text or "", m.instruction_author or ""])

    def add_events(self, events: Iterable[Event]) -> None:
        hs, names, persons, labels = self.hs, self.names, self.persons, EVENT_LABELS
        if hs is None:
            return
        for e in events:
            if e.matter_id is None or e.matter_id not in names:
                continue
            number, title, by_no = names[e.matter_id]
            unit = by_no.get(e.assignment_no, "") if e.assignment_no is not None else ""
            actor = persons.get(e.actor_id, "") if e.actor_id is not None else "系统"
            hs.append([number, title, to_local(e.at).replace(tzinfo=None),
                       labels.get(e.kind, e.kind), unit, actor, _summary(e)])
            self.events += 1

    def save(self, target: str | Path | IO[bytes]) -> ExportStats:
        self.wb.save(target)
        return ExportStats(self.matters, self.events)


def write_ledger(target: str | Path | IO[bytes], matters: Sequence[Matter],
                 events: Iterable[Event], units: dict[int, str], persons: dict[int, str],
                 cal: WorkCalendar, today: date, policy: LightPolicy | None = None,
                 history: bool = True) -> ExportStats:
    """Write matters (in the given order) and, if `history`, their events."""
    w = _LedgerWriter(units, persons, cal, today, policy, history)
    w.add_matters(matters)
    w.add_events(events)
    return w.save(target)


BATCH = 2000  # matters read, decoded and written at a time


def _quietly(work: Callable[..., T], *args: Any) -> T:
    """Bulk work in a thread with the cyclic GC paused: a full collection set off by its
    allocations would hold the GIL, and so stall the event loop, for hundreds of ms."""
    with gc_paused():
        return work(*args)


async def export_ledger(uow: UnitOfWork, clock: Clock, cal: WorkCalendar, office_id: int,
                        target: str | Path | IO[bytes], f: ExportFilter | None = None,
                        policy: LightPolicy | None = None,
                        actor_id: int | None = None, progress: Progress | None = None,
                        ) -> ExportStats:
    """The office's ledger, filtered, oldest first. With `actor_id`, only the office may.

    Streamed: a batch of matters at a time from the database (keyset, one read
    transaction) into the writer's spool, each batch written in a thread; then the
    history, a batch of events at a time. Memory stays flat whatever the ledger's size."""
    f = f or ExportFilter()
    async with uow:
        if actor_id is not None:
            await require_office_actor(uow, actor_id, office_id)
        units = {u.id: u.name for u in await uow.people.units(office_id)}
        persons = {p.id: p.name for p in await uow.people.persons(office_id)}
        q = MatterQuery(
            office_id=office_id, statuses=f.statuses, unit_id=f.unit_id,
            include_confidential=f.include_confidential,
            registered_from=_start(f.since) if f.since else None,
            registered_to=_start(f.until + timedelta(days=1)) if f.until else None)
        total = await uow.matters.count(q)
        w = _LedgerWriter(units, persons, cal, local_today(clock), policy, f.history)
        async for batch in uow.matters.batches(q, BATCH):
            await asyncio.to_thread(_quietly, w.add_matters, batch)
            if progress is not None:
                await progress(w.matters, total)
        if f.history and w.first is not None:
            async for events in uow.events.batches_since(office_id,
                                                         w.first - timedelta(days=1)):
                await asyncio.to_thread(_quietly, w.add_events, events)
    return await asyncio.to_thread(_quietly, w.save, target)


def _start(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=LOCAL_TZ)


# ---------------------------------------------------------------- import

_SOURCES = {**{label: s for s, label in SOURCE_LABELS.items()}, **{s.value: s for s in Source}}
_CLASSES = {**{label: k for k, label in CLASS_LABELS.items()},
            **{k.value: k for k in MatterClass}, "普通": MatterClass.NORMAL,
            "急": MatterClass.URGENT, "重大": MatterClass.MAJOR}
_STATUSES = {**{label: s for s, label in MATTER_STATUS_LABELS.items()},
             **{s.value: s for s in MatterStatus}, "已办结": MatterStatus.CLOSED,
             "办结": MatterStatus.CLOSED, "在办": MatterStatus.IN_PROGRESS,
             "未办结": MatterStatus.IN_PROGRESS}
_DATE_RE = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*$")
_SPLIT_RE = re.compile(r"[、，,;；\s]+")


class _BadCell(ValueError):
    pass


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _date(value: Any) -> date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 20000 < value < 80000:   # an Excel serial day number in a cell without a format
            moment = from_excel(value)
            if isinstance(moment, datetime):
                return moment.date()
        raise _BadCell(f"「{_text(value)}」不是日期")
    m = _DATE_RE.match(str(value))
    if m:
        try:
            return date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            pass
    raise _BadCell(f"「{_text(value)}」不是日期，请写成 2026-11-25")


NOT_XLSX = ("不是可读取的 .xlsx 文件。请发送 Excel 工作簿（.xlsx）：在 Excel 或 WPS 里“另存为”"
            "Excel 工作簿，或用 /export 导出的台账填写后再发。")


def _openpyxl_rows(source: str | Path | IO[bytes]) -> Iterator[tuple[int, list[Any]]]:
    """The fallback reader, for workbooks `reports.xlsx` does not understand."""
    try:
        wb = load_workbook(source, read_only=True, data_only=True)
    except Exception:  # not a zip, not a workbook: say so in words, never the exception
        raise ImportRejected([RowError(0, NOT_XLSX)]) from None
    try:
        ws = wb[LEDGER_SHEET] if LEDGER_SHEET in wb.sheetnames else wb.worksheets[0]
        for n, values in enumerate(ws.iter_rows(values_only=True), start=1):
            if any(v is not None and _text(v) for v in values):
                yield n, list(values)
    finally:
        wb.close()


def _sheet_rows(source: str | Path | IO[bytes]) -> Iterator[tuple[int, list[Any]]]:
    start = source.tell() if hasattr(source, "tell") else None
    try:
        yield from read_sheet(source, prefer=LEDGER_SHEET)
        return
    except Unreadable:
        pass
    except (ElementTree.ParseError, KeyError, ValueError, IndexError):
        pass
    if start is not None and hasattr(source, "seek"):
        source.seek(start)
    yield from _openpyxl_rows(source)


TICK_ROWS = 2000  # `progress` is told every this many rows


def read_ledger_rows(source: str | Path | IO[bytes], *,
                     progress: Callable[[int], None] | None = None,
                     ) -> tuple[list[ImportRow], list[RowError]]:
    """Parse an .xlsx ledger: the rows, and every cell that cannot be read. The sheet is
    streamed (reports.xlsx, else openpyxl's read-only mode); `progress(rows read)` is
    called every TICK_ROWS rows (from whatever thread this runs in)."""
    rows: list[ImportRow] = []
    errors: list[RowError] = []
    col: dict[str, int] | None = None
    with gc_paused():   # 100k rows of small objects, none in cycles
        for n, values in _sheet_rows(source):
            if progress is not None and n % TICK_ROWS == 0:
                progress(n)
            if col is None:
                names = [_text(v) for v in values]
                if "事项" in names:
                    col = {name: i for i, name in enumerate(names) if name}
                elif n >= 20:
                    break
                continue
            row, errs = _parse_row(n, tuple(values), col)
            errors.extend(errs)
            if row is not None:
                rows.append(row)
    if col is None:
        raise ImportRejected([RowError(1, "找不到表头：前20行中应有一行写着「事项」等列名。")])
    return rows, errors


def _parse_row(n: int, values: tuple[Any, ...], col: dict[str, int],
               ) -> tuple[ImportRow | None, list[RowError]]:
    errors: list[RowError] = []

    def get(name: str) -> Any:
        i = col.get(name)
        return values[i] if i is not None and i < len(values) else None

    def text(name: str) -> str:
        return _text(get(name))

    def day(name: str) -> date | None:
        try:
            return _date(get(name))
        except _BadCell as e:
            errors.append(RowError(n, str(e), name))
            return None

    title = text("事项")
    if not title:
        errors.append(RowError(n, "事项名称不能为空。", "事项"))
    source = Source.COUNTY_DECISION
    if text("来源"):
        if text("来源") not in _SOURCES:
            errors.append(RowError(n, f"来源「{text('来源')}」不认识，可填："
                                   + "、".join(SOURCE_LABELS.values()), "来源"))
        else:
            source = _SOURCES[text("来源")]
    klass = MatterClass.NORMAL
    if text("类别"):
        if text("类别") not in _CLASSES:
            errors.append(RowError(n, f"类别「{text('类别')}」不认识，可填：一般、急件、重大疑难",
                                   "类别"))
        else:
            klass = _CLASSES[text("类别")]
    status: MatterStatus | None = None
    if text("状态"):
        if text("状态") not in _STATUSES:
            errors.append(RowError(n, f"状态「{text('状态')}」不认识，可填："
                                   + "、".join(MATTER_STATUS_LABELS.values()), "状态"))
        else:
            status = _STATUSES[text("状态")]
    assigned_on, deadline, closed_on = day("交办日期"), day("办结时限"), day("销号日期")
    if closed_on is not None and status is None:
        status = MatterStatus.CLOSED
    secrecy = text("密级")
    if errors:
        return None, errors
    return ImportRow(
        row=n, title=title, number=text("编号") or None, source=source, klass=klass,
        lead_unit=text("牵头单位") or None,
        co_units=tuple(x for x in _SPLIT_RE.split(text("配合单位")) if x),
        principal=text("第一责任人") or None, responsible=text("责任人") or None,
        handler=text("承办人") or None, assigned_on=assigned_on, deadline=deadline,
        progress=text("最新进展") or None, status=status, closed_on=closed_on,
        confidential=secrecy in (CONFIDENTIAL_MARK, "是", "秘密", "绝密", "内部"),
        body=text("事项内容"), instruction_text=text("领导批示") or None,
        instruction_author=text("批示领导") or None), []


async def import_ledger_file(uow: UnitOfWork, clock: Clock, cal: WorkCalendar, actor_id: int,
                             source: str | Path | IO[bytes], name: str = "", *,
                             progress: Callable[[int], None] | None = None) -> ImportResult:
    """Read, check and import an .xlsx ledger in one transaction, or raise ImportRejected
    with every bad row and import nothing. The sheet is read in a thread."""
    rows, errors = await asyncio.to_thread(read_ledger_rows, source, progress=progress)
    if not rows and not errors:
        raise ImportRejected([RowError(0, "文件里没有事项。")])
    label = name or (Path(source).name if isinstance(source, str | Path) else "")
    return await import_ledger(uow, clock, cal, actor_id, rows, errors, label)
