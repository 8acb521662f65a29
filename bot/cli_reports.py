"""`duban export FILE.xlsx`, `duban import FILE.xlsx`, and the appraisal, for bot/cli.py.

Each returns the process exit code: 0 done, 1 refused (bad rows: nothing imported),
2 cannot start (no database schema, no office, no admin).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Config
from ledger.appraisal import AppraisalWeights
from ledger.calendar_entry import load_entered
from ledger.clock import Clock, SystemClock, local_today
from ledger.errors import DomainError
from ledger.lights import LightPolicy, LightStamp
from ledger.model import Role
from ledger.offices import office_named, top_office
from ledger.usecases.people import bootstrap_office
from ledger.workcalendar import WorkCalendar
from reports.appraisal import build_appraisal, write_appraisal
from reports.excel import ExportFilter, ImportRejected, export_ledger, import_ledger_file
from storage.db import SchemaError, check_schema, database_url, make_engine
from storage.uow import uow_factory

__all__ = ["cli_appraisal", "cli_export", "cli_import"]


def _err(text: str) -> None:
    print(text, file=sys.stderr)


class _Bar:
    """Progress on stderr: a bar redrawn in place on a terminal, else a line every tenth
    (a log file or a pipe gets no carriage returns)."""

    WIDTH = 30

    def __init__(self, label: str) -> None:
        self.label = label
        self.tty = sys.stderr.isatty()
        self.tenth = -1
        self.open = False  # a bar drawn on the terminal without its line end yet

    def show(self, done: int, total: int | None = None) -> None:
        if total is None:  # rows read, the count not known yet
            if self.tty:
                sys.stderr.write(f"\r{self.label}：已读 {done:,} 行")
                self.open = True
            elif done // 10_000 > self.tenth:
                self.tenth = done // 10_000
                print(f"{self.label}：已读 {done:,} 行", file=sys.stderr)
            return
        total = max(total, 1)
        if self.tty:
            filled = self.WIDTH * min(done, total) // total
            sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (self.WIDTH - filled)}]"
                             f" {done:,}/{total:,}")
            self.open = done < total
            if not self.open:
                sys.stderr.write("\n")
            sys.stderr.flush()
        elif (tenth := 10 * min(done, total) // total) > self.tenth:
            self.tenth = tenth
            print(f"{self.label}：{done:,}/{total:,}", file=sys.stderr)

    async def __call__(self, done: int, total: int) -> None:
        self.show(done, total)

    def end(self) -> None:
        if self.open:
            sys.stderr.write("\n")
            self.open = False


async def _engine(config: Config) -> AsyncEngine | None:
    engine = make_engine(database_url(config.db))
    try:
        await check_schema(engine)
    except SchemaError as e:
        await engine.dispose()
        _err(str(e))
        return None
    return engine


async def _calendar(config: Config, engine: AsyncEngine) -> WorkCalendar:
    """schedule.toml and the package, plus the years the office entered in this database."""

    cal = WorkCalendar.from_toml(config.schedule)
    await load_entered(uow_factory(engine, read_only=True), cal)
    return cal


async def _office_id(engine: AsyncEngine, office: str | None = None) -> int | None:
    """`--office` (name, prefix or id); default the only office, or the top one."""
    async with uow_factory(engine, read_only=True)() as uow:
        offices = await uow.people.offices()
    if not offices:
        _err("数据库里还没有督查室：请先运行 `duban run`（或导入台账）。")
        return None
    found = top_office(offices) if office is None else office_named(offices, office)
    if found is None:
        _err(f"找不到督查室「{office}」。现有：" + "、".join(o.name for o in offices))
        return None
    return found.id


async def cli_export(config: Config, path: Path | str, *, clock: Clock | None = None,
                     include_confidential: bool = True, office: str | None = None) -> int:
    """The whole ledger of one office (`--office`; default the only or the top office),
    with its history, to an .xlsx file."""
    engine = await _engine(config)
    if engine is None:
        return 2
    try:
        office_id = await _office_id(engine, office)
        if office_id is None:
            return 2
        target = Path(path)
        stats = await export_ledger(
            uow_factory(engine, read_only=True)(), clock or SystemClock(),
            await _calendar(config, engine), office_id, target,
            ExportFilter(include_confidential=include_confidential), progress=_Bar("导出"))
        print(f"已导出 {stats.matters} 件事项、{stats.events} 条办理记录：{target}")
        return 0
    finally:
        await engine.dispose()


async def cli_import(config: Config, path: Path | str, *, clock: Clock | None = None) -> int:
    """Register the matters of an office's .xlsx ledger, all or nothing, in the name of the
    office's first admin (created from DUBAN_ADMINS on an empty database)."""
    source = Path(path)
    if not await asyncio.to_thread(source.is_file):
        _err(f"找不到文件：{source}")
        return 2
    engine = await _engine(config)
    if engine is None:
        return 2
    clock = clock or SystemClock()
    cal = await _calendar(config, engine)
    # the lights stored with the imported matters are counted on the office's calendar
    uow = uow_factory(engine, lights=LightStamp(cal, clock, LightPolicy(
        near_workdays=config.near_workdays,
        stagnant_workdays=config.reminders.stagnant_workdays)))
    try:
        office_id = await bootstrap_office(uow(), clock, config.office_name,
                                           config.admins, config.doc_prefix,
                                           dict(config.admin_names))
        async with uow() as u:
            admins = [p for p in await u.people.persons(office_id)
                      if p.active and p.has(Role.ADMIN)]
        if not admins:
            _err("督查室还没有管理员：请配置 DUBAN_ADMINS（Telegram 用户 id）后再导入。")
            return 2
        bar = _Bar("读取")
        try:
            result = await import_ledger_file(uow(), clock, cal, admins[0].id, source,
                                              progress=bar.show)
        except ImportRejected as e:
            bar.end()
            _err(str(e))
            return 1
        bar.end()
        print(result.summary)
        if result.created:
            print(f"新事项编号：{result.created[0]} … {result.created[-1]}")
        return 0
    except DomainError as e:
        _err(str(e))
        return 1
    finally:
        await engine.dispose()


async def cli_appraisal(config: Config, path: Path | str, year: int | None = None, *,
                        clock: Clock | None = None) -> int:
    """The annual appraisal (年终目标考评) to an .xlsx file; weights from [appraisal]."""
    engine = await _engine(config)
    if engine is None:
        return 2
    clock = clock or SystemClock()
    try:
        office_id = await _office_id(engine)
        if office_id is None:
            return 2
        # Config.appraisal (from reports.config.parse_appraisal) once bot/config.py has it.
        configured = getattr(config, "appraisal", None)
        weights = configured if isinstance(configured, AppraisalWeights) else None
        year = year or local_today(clock).year
        a = await build_appraisal(uow_factory(engine, read_only=True)(), clock,
                                  await _calendar(config, engine), office_id, year,
                                  weights)
        write_appraisal(a, Path(path))
        best = a.scores[0] if a.scores else None
        print(f"{year}年度考评：{len(a.scores)}个单位" +
              (f"，第一名 {best.unit}（{best.score:g}分）" if best else "") + f"：{path}")
        return 0
    finally:
        await engine.dispose()
