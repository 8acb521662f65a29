"""`duban holidays import FILE`, `duban holidays show YEAR`, and the calendar `duban deadline`
counts on (with the years entered in DUBAN_DB). Exit codes: 0 done, 1 refused (bad file),
2 cannot start."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from datetime import date
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from bot.config import Config
from bot.paths import _display, _ensure_dir
from ledger.calendar_entry import enter_year, load_entered
from ledger.clock import Clock, SystemClock
from ledger.errors import DomainError
from ledger.holidays import SOURCE_LABELS, Arrangement, HolidayFileError, read_arrangement
from ledger.ports import EnteredYear
from ledger.workcalendar import STATUS_LABELS, WorkCalendar, YearSchedule
from storage.db import database_url, make_engine
from storage.uow import uow_factory

__all__ = ["add_parser", "calendar_with_entered", "cmd_holidays", "entered_schedules", "provisional_note",
           "year_status_text"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    hp = sub.add_parser("holidays", help="a year's holiday arrangement (节假日安排)")
    hsub = hp.add_subparsers(dest="holidays_command", required=True)
    imp = hsub.add_parser("import", help="enter a year from the State Council notice, "
                                         "a holiday-cn JSON or a schedule.toml section")
    imp.add_argument("file")
    show = hsub.add_parser("show", help="a year's status (内置/已录入/暂定) and its days")
    show.add_argument("year")


def cmd_holidays(config: Config, args: argparse.Namespace, clock: Clock | None = None) -> int:
    if args.holidays_command == "import":
        path = Path(args.file)
        try:
            data = path.read_bytes()
        except OSError as e:
            print(f"读不到文件 {path}：{e.strerror or e}", file=sys.stderr)
            return 2
        toml_years: set[int] = set()
        if config.schedule is not None and config.schedule.exists():
            toml_years = set(WorkCalendar.parse_toml(
                config.schedule.read_text(encoding="utf-8-sig")))
        return asyncio.run(_import(config, data, toml_years, clock or SystemClock()))
    return asyncio.run(_show(config, args.year))


def provisional_note(cal: WorkCalendar, a: date, b: date) -> str | None:
    """The note for a count that touches a provisional year, else None."""
    years = cal.provisional_years(a, b)
    if not years:
        return None
    names = "、".join(f"{y}年" for y in years)
    return (f"暂定：{names}的节假日安排尚未录入，按周末和法定节假日计算，未计调休；"
            "录入后（duban holidays import 通知文件）以正式安排为准。")


def year_status_text(cal: WorkCalendar, year: int, entry: EnteredYear | None) -> str:
    status = cal.year_status(year)
    label = STATUS_LABELS[status]
    if status == "builtin":
        return f"{year}年：{label}（chinesecalendar 内置的国务院安排）"
    if status == "entered":
        if entry is None:
            return f"{year}年：{label}（schedule.toml）"
        return (f"{year}年：{label}（{SOURCE_LABELS.get(entry.source, entry.source)}，"
                f"{entry.entered_by_name} 于 {entry.entered_at:%Y-%m-%d %H:%M} UTC 录入）")
    if status == "provisional":
        return (f"{year}年：{label}（尚未录入国务院办公厅的通知：按周末和法定节假日计算，"
                "未计调休。录入：duban holidays import 通知文件，或在机器人里发送文件并附 /holidays）")
    return f"{year}年：无法计算工作日"


def _db_exists(config: Config) -> bool:
    url = database_url(config.db)
    if url.startswith("sqlite") and ":///" in url:
        path = url.split(":///", 1)[1].split("?", 1)[0]
        return bool(path) and path != ":memory:" and Path(path).exists()
    return True


async def _entered(config: Config) -> list[EnteredYear]:
    """The years entered in DUBAN_DB; none when there is no database (nothing is created)."""
    if not _db_exists(config):
        return []
    engine = make_engine(database_url(config.db))
    try:
        async with uow_factory(engine, read_only=True)() as u:
            return await u.holidays.latest()
    except SQLAlchemyError:
        return []  # no schema yet, or one from before holiday_years
    finally:
        await engine.dispose()


async def entered_schedules(config: Config) -> dict[int, YearSchedule]:
    """The years entered in DUBAN_DB, as the calendar takes them (none without a database)."""
    return {e.year: Arrangement(e.year, e.holidays, e.workdays, e.source).schedule
            for e in await _entered(config)}


def calendar_with_entered(config: Config) -> WorkCalendar:
    """schedule.toml and package data, plus the years entered in DUBAN_DB."""
    cal = WorkCalendar.from_toml(config.schedule)
    cal.set_entered(asyncio.run(entered_schedules(config)))
    return cal


def _print_days(a: Arrangement) -> None:
    for line in a.lines():
        print(f"  {line}")


async def _show(config: Config, text: str) -> int:
    try:
        year = int(text)
    except ValueError:
        print(f"年份应写成 2027 这样的四位数字，实际为「{text}」", file=sys.stderr)
        return 2
    entries = {e.year: e for e in await _entered(config)}
    cal = WorkCalendar.from_toml(config.schedule)
    cal.set_entered({y: Arrangement(y, e.holidays, e.workdays, e.source).schedule
                     for y, e in entries.items()})
    if not cal.covers(year):
        print(f"{year}年超出可计算的范围（1901—2099）。", file=sys.stderr)
        return 2
    print(year_status_text(cal, year, entries.get(year)))
    sched = cal.schedule(year)
    _print_days(Arrangement(year, sched.holidays, sched.workdays, "show"))
    return 0


async def _import(config: Config, data: bytes, toml_years: set[int], clock: Clock) -> int:
    try:
        arrangement = read_arrangement(data)
    except HolidayFileError as e:
        print(f"未录入：{e}", file=sys.stderr)
        return 1
    from bot.runner import prepare_database  # lazy: heavy (Telegram), only when a year is imported

    url = database_url(config.db)
    _ensure_dir(url)
    engine = await prepare_database(url)
    try:
        cal = WorkCalendar.from_toml(config.schedule)
        uow = uow_factory(engine)
        await load_entered(uow, cal)
        try:
            result = await enter_year(uow(), clock, cal, arrangement, actor_id=None,
                                      actor_name=f"命令行（{getpass.getuser()}）")
        except DomainError as e:
            print(f"未录入：{e}", file=sys.stderr)
            return 1
    finally:
        await engine.dispose()
    print(f"已录入 {arrangement.year} 年节假日安排"
          f"（{SOURCE_LABELS[arrangement.source]}，原为{STATUS_LABELS[result.status_before]}），"
          f"数据库：{_display(url)}")
    _print_days(arrangement)
    if arrangement.ignored:
        print("  不属于该年、未录入的日期：" + "、".join(d.isoformat() for d in arrangement.ignored))
    if arrangement.year in toml_years:
        print(f"注意：schedule.toml 中也有 [{arrangement.year}] 一节，它优先于这次录入。")
    if result.recounted:
        print(f"按新安排重算了 {len(result.recounted)} 项分工的办结时限，已通知责任人和承办人：")
        for r in result.recounted:
            print(f"  {r.number}（第{r.no}项）：{r.before.isoformat()} → {r.after.isoformat()}")
    else:
        print("没有需要重算时限的分工。")
    return 0
