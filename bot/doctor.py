"""`duban doctor`: one line per check; a non-zero exit names what failed.

Safe beside a running bot: it calls getMe and getChatMember, never getUpdates (which would
take the updates from the running bot), and its database checks only read (the SQLite
write probe rewrites one header field with its own value and rolls back).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from telegram.error import TelegramError

from bot.cli_holidays import entered_schedules
from bot.config import ConfigError, load_config
from bot.logs import configure_logging, redact
from bot.preflight import (
    StartupProblem,
    api_where,
    bot_api_line,
    database_line,
    make_bot,
    offices_line,
    stored_offices,
)
from ledger.clock import Clock, SystemClock, to_local
from ledger.workcalendar import ScheduleError, WorkCalendar
from reminders.lock import DEFAULT_STALE_AFTER
from storage import health
from storage.db import make_engine
from storage.filestore import default_root
from storage.locks import scheduler_lock_holder

if TYPE_CHECKING:
    from telegram import Bot, User

    from bot.config import Config
    from ledger.workcalendar import WorkCalendar

Status = Literal["ok", "warn", "fail", "skip"]
_MARK = {"ok": "✔", "warn": "⚠", "fail": "✘", "skip": "–"}


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str

    def line(self) -> str:
        return f"{_MARK[self.status]} {self.name}：{self.detail}"


# ---- single checks (each small, so the next engineer can adapt one alone) ----

def check_config(load: Any) -> tuple[Check, Config | None]:

    try:
        config: Config = load()
    except ConfigError as e:
        return Check("配置", "fail", str(e)), None
    return Check("配置", "ok", f"已读取（{config.source}）"), config


async def check_bot_api(config: Config, bot: Bot | None) -> tuple[Check, User | None]:
    if bot is None:
        return Check("Bot API", "fail", "未配置令牌：请设置 DUBAN_TOKEN / telegram.token"), None
    try:
        await bot.initialize()  # one getMe
    except Exception as e:
        line = bot_api_line(e, config)
        if line is None:
            raise
        return Check("Bot API", "fail", line), None
    me = bot.bot
    return Check("Bot API", "ok", f"@{me.username}（id {me.id}）令牌有效，经 {api_where(config)}"), me


async def check_database(config: Config) -> tuple[Check, bool]:
    try:
        state = await health.check_database(config.db, write=True, must_exist=True, schema=True)
    except health.DatabaseProblem as e:
        return Check("数据库", "fail", database_line(e)), False
    kind = "SQLite" if state.backend == "sqlite" else "PostgreSQL"
    integrity = "完整性检查 quick_check 通过，" if state.backend == "sqlite" else "连接正常，"
    return Check("数据库", "ok", f"{kind} {state.where}，结构版本 {state.revision}（最新），"
                               f"{integrity}可写"), True


def calendar_year(cal: WorkCalendar, year: int) -> Check:
    """One year of the working-day calendar: built in, entered by the office, or provisional
    (a warning: deadlines in that year count only weekends and statutory holidays until the
    State Council's arrangement is entered)."""
    status = cal.year_status(year)
    if status == "entered":
        return Check("日历", "ok", f"{year}年：已录入")
    if status == "builtin":
        return Check("日历", "ok", f"{year}年：内置（chinesecalendar）")
    return Check("日历", "warn",
                 f"警告：{year}年的节假日安排尚未录入，该年的工作日为暂定（按周末和法定节假日计算，"
                 f"未含调休）；国务院办公厅公布后请用 `duban holidays import` 或在聊天里发 /holidays 录入")


async def check_calendar(config: Config, today: date) -> list[Check]:

    try:
        cal = WorkCalendar.from_toml(config.schedule)
    except ScheduleError as e:
        return [Check("日历", "fail", f"schedule.toml 有误：{e}")]
    cal.set_entered(await entered_schedules(config))
    return [calendar_year(cal, y) for y in (today.year, today.year + 1)]


async def check_lock(config: Config, now: datetime) -> Check:

    engine = make_engine(config.db)
    try:
        holder, beat = await scheduler_lock_holder(engine)
    finally:
        await engine.dispose()
    if holder is None or beat is None:
        return Check("调度锁", "ok", "无人持有（没有正在运行提醒调度的实例）")
    age = int((now - beat).total_seconds())
    seen = f"{to_local(beat):%Y-%m-%d %H:%M:%S}"
    if age > DEFAULT_STALE_AFTER.total_seconds():
        return Check("调度锁", "warn", f"警告：{holder} 持有，但心跳停在 {seen}（{age} 秒前）："
                                     f"该实例可能已退出，下一个启动的实例会接管")
    return Check("调度锁", "ok", f"{holder} 持有，最后心跳 {seen}（{max(age, 0)} 秒前）")


async def check_offices(config: Config) -> Check:
    """[offices."PREFIX"]: each names a stored office."""
    if not config.offices:
        return Check("各督查室配置", "ok", "未配置 [offices.\"前缀\"]（全部用总的设置）")
    offices = await stored_offices(config.db)
    if offices is None:
        return Check("各督查室配置", "skip", "未检查（数据库尚未升级）")
    line = offices_line(config, offices)
    if line is not None:
        return Check("各督查室配置", "fail", line)
    return Check("各督查室配置", "ok", "、".join(
        f"{o.prefix}" + "（" + "、".join(part for part, has in (
            ("提醒", o.reminders is not None), ("定时通报", bool(o.bulletins)),
            ("公示频道", o.public_channel_id is not None), ("公示页标题", bool(o.web_title)))
            if has) + "）" for o in config.offices))


async def check_channel(config: Config, bot: Bot | None, me: User | None,
                        channel: int | str | None = None, setting: str | None = None,
                        ) -> Check:
    """The deployment's channel ([public]), or an office's (`channel`, `setting`)."""
    if channel is None and setting is None:
        channel = config.public_channel_id
    if channel is None:
        return Check("公示频道", "ok", "未配置（跳过）")
    if bot is None or me is None:
        return Check("公示频道", "skip", "未检查（Bot API 不通）")
    setting = setting or "DUBAN_PUBLIC_CHANNEL / public.channel_id"
    try:
        chat = await bot.get_chat(channel)
        member = await bot.get_chat_member(chat.id, me.id)
    except TelegramError as e:
        return Check("公示频道", "fail", f"无法读取频道 {channel}（{setting}）：{e.message}；"
                                      f"请核对频道 id，并把 @{me.username} 加为频道管理员")
    can_post = bool(getattr(member, "can_post_messages", False))
    can_edit = bool(getattr(member, "can_edit_messages", False))
    if member.status != "administrator" or not (can_post and can_edit):
        missing = "、".join(n for n, ok in (("发布消息", can_post), ("编辑消息", can_edit))
                           if not ok)
        return Check("公示频道", "fail",
                     f"@{me.username} 在频道 {channel}（{setting}）中缺少权限：{missing}；"
                     f"请在频道设置中把它设为管理员并允许发布和编辑消息")
    return Check("公示频道", "ok", f"{chat.title or channel}：@{me.username} 可发布、可编辑")


def files_dir(config: Config) -> Path:
    """`[files] dir`, else `files` beside the SQLite file, else var/files."""
    return default_root(config.files_dir, config.db)


def check_files(config: Config) -> Check:
    where = files_dir(config)
    probe = where / f".duban-doctor-{os.getpid()}"
    try:
        where.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as e:
        return Check("文件存储", "fail", f"目录 {where}（files.dir）不可写：{e.strerror or e}")
    return Check("文件存储", "ok", f"{where} 可写")


# ---- all of them ----

async def run_checks(load: Any, clock: Clock) -> list[Check]:
    checks: list[Check] = []
    first, config = check_config(load)
    checks.append(first)
    if config is None:
        return checks
    bot = None
    if config.token:
        try:
            bot = make_bot(config)
        except StartupProblem as e:
            checks.append(Check("Bot API", "fail", e.line))
    me = None
    try:
        if bot is not None or not any(c.name == "Bot API" for c in checks):
            api, me = await check_bot_api(config, bot)
            checks.append(api)
        db, db_ok = await check_database(config)
        checks.append(db)
        now = clock.now()
        checks.extend(await check_calendar(config, to_local(now).date()))
        checks.append(await check_lock(config, now) if db_ok
                      else Check("调度锁", "skip", "未检查（数据库不可用）"))
        checks.append(await check_offices(config) if db_ok
                      else Check("各督查室配置", "skip", "未检查（数据库不可用）"))
        checks.append(await check_channel(config, bot, me))
        for own in config.offices:
            if own.public_channel_id is not None:
                checks.append(await check_channel(
                    config, bot, me, own.public_channel_id,
                    f'offices."{own.prefix}".public.channel_id'))
        checks.append(check_files(config))
    finally:
        if bot is not None:
            await bot.shutdown()          # nothing when getMe failed…
            await bot.request.shutdown()  # …so close the connections here too
    return checks


def report(checks: Sequence[Check]) -> tuple[list[str], int]:
    lines = [c.line() for c in checks]
    failed = [c.name for c in checks if c.status == "fail"]
    warned = sum(c.status == "warn" for c in checks)
    if failed:
        lines.append(f"未通过：{'、'.join(dict.fromkeys(failed))}")
        return lines, 1
    lines.append("全部通过" + (f"（{warned} 条警告）" if warned else ""))
    return lines, 0


def doctor(load: Any = None, clock: Clock | None = None) -> tuple[list[str], int]:

    checks = asyncio.run(run_checks(load or load_config, clock or SystemClock()))
    return report(checks)


def cli_doctor(debug: bool = False) -> int:


    configure_logging("text", "WARNING", debug=debug)
    logging.getLogger("telegram").setLevel(logging.DEBUG if debug else logging.ERROR)
    lines, code = doctor()

    for line in lines:
        print(redact(line))
    return code
