"""`duban doctor` on a healthy and on a damaged setup, through the sandbox's Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import Config
from bot.doctor import Check, calendar_year, check_lock, report
from ledger.workcalendar import WorkCalendar
from reminders.lock import SchedulerLock
from sandbox.server import SandboxServer
from sandbox.testing import running_server, sandbox_config
from storage.db import make_engine
from tests.startup_helpers import (
    UNKNOWN_TOKEN,
    Result,
    clean_env,
    damage_a_page,
    duban,
    migrated_db,
)


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    async with running_server(sandbox_config(flood_limits=False)) as server:
        yield server


def api_root(server: SandboxServer) -> str:
    return server.base_url.removesuffix("/bot")


def lines_named(r: Result, name: str) -> list[str]:
    return [line for line in r.out.splitlines() if f" {name}：" in line]


async def test_healthy_setup(tmp_path: Path, sandbox: SandboxServer) -> None:
    token = sandbox.create_bot(username="duban_bot")
    channel = sandbox.channel("示例县督查公示", username="xian_gongshi")
    db = await migrated_db(tmp_path / "var" / "duban.db")
    engine = make_engine(str(db))
    lock = SchedulerLock(engine, holder="county-server:4242:abc123")
    assert await lock.acquire(datetime.now(UTC))   # a bot "running" beside the doctor
    try:
        r = await duban(["doctor"], clean_env(
            DUBAN_TOKEN=token, DUBAN_API_URL=api_root(sandbox), DUBAN_DB=str(db),
            DUBAN_PUBLIC_CHANNEL=str(channel.id)), tmp_path)
    finally:
        await lock.release()
        await engine.dispose()
    assert r.code == 0, r.out + r.err
    assert r.out.splitlines()[-1].startswith("全部通过"), r.out
    for name in ("配置", "Bot API", "数据库", "调度锁", "公示频道", "文件存储"):
        found = lines_named(r, name)
        assert found and all(line.startswith("✔") for line in found), (name, r.out)
    assert "@duban_bot" in lines_named(r, "Bot API")[0]
    assert "0004" in lines_named(r, "数据库")[0] or "最新" in lines_named(r, "数据库")[0]
    assert "county-server:4242:abc123" in lines_named(r, "调度锁")[0]
    assert str(tmp_path / "var" / "files") in lines_named(r, "文件存储")[0]
    assert len(lines_named(r, "日历")) == 2
    # Safe beside a running bot: never takes its updates.
    assert sandbox.calls_to("getMe")
    assert not sandbox.calls_to("getUpdates", ok=None)
    assert sandbox.calls_to("getChatMember")
    assert token not in r.out + r.err


async def test_damaged_setup_names_what_failed(tmp_path: Path, sandbox: SandboxServer) -> None:
    db = await migrated_db(tmp_path / "duban.db")
    damage_a_page(db)
    (tmp_path / "blocked").write_text("a file where the file store's directory should be")
    config = tmp_path / "duban.toml"
    config.write_text('[files]\ndir = "blocked/files"\n', encoding="utf-8")
    r = await duban(["doctor"], clean_env(
        DUBAN_TOKEN=UNKNOWN_TOKEN, DUBAN_API_URL=api_root(sandbox), DUBAN_DB=str(db),
        DUBAN_CONFIG=str(config)), tmp_path)
    assert r.code == 1, r.out + r.err
    assert "Traceback" not in r.err
    last = r.out.splitlines()[-1]
    assert last.startswith("未通过") and "Bot API" in last and "数据库" in last, r.out
    assert "文件存储" in last
    assert "401" in lines_named(r, "Bot API")[0]
    assert "quick_check" in lines_named(r, "数据库")[0]
    assert lines_named(r, "配置")[0].startswith("✔")
    assert UNKNOWN_TOKEN not in r.out + r.err


async def test_channel_without_rights_and_database_behind(tmp_path: Path,
                                                          sandbox: SandboxServer) -> None:
    token = sandbox.create_bot(username="duban_bot")
    channel = sandbox.channel("公示频道")
    channel.state.bots_may_post = False
    db = tmp_path / "never-upgraded.db"
    r = await duban(["doctor"], clean_env(
        DUBAN_TOKEN=token, DUBAN_API_URL=api_root(sandbox), DUBAN_DB=str(db),
        DUBAN_PUBLIC_CHANNEL=str(channel.id)), tmp_path)
    assert r.code == 1, r.out
    assert "发布消息" in lines_named(r, "公示频道")[0]
    assert "duban db upgrade" in lines_named(r, "数据库")[0]
    assert not db.exists()   # the doctor looks; it does not create the ledger
    assert r.out.splitlines()[-1] == "未通过：数据库、公示频道"


async def test_unknown_channel(tmp_path: Path, sandbox: SandboxServer) -> None:
    token = sandbox.create_bot(username="duban_bot")
    db = await migrated_db(tmp_path / "duban.db")
    r = await duban(["doctor"], clean_env(
        DUBAN_TOKEN=token, DUBAN_API_URL=api_root(sandbox), DUBAN_DB=str(db),
        DUBAN_PUBLIC_CHANNEL="@no_such_channel"), tmp_path)
    assert r.code == 1
    assert "@no_such_channel" in lines_named(r, "公示频道")[0]


async def test_bad_config_is_a_failed_check(tmp_path: Path) -> None:
    r = await duban(["doctor"], clean_env(DUBAN_TOKEN=":"), tmp_path)
    assert r.code == 1
    assert r.out.splitlines()[0].startswith("✘ 配置：") and "DUBAN_TOKEN" in r.out


# ---- the calendar check and the exit code ----

def test_calendar_years_built_in_entered_and_provisional(tmp_path: Path) -> None:
    schedule = tmp_path / "schedule.toml"
    schedule.write_text('[2031]\nholidays = ["2031-01-01"]\nworkdays = []\n', encoding="utf-8")
    cal = WorkCalendar.from_toml(schedule)
    assert calendar_year(cal, 2026).status == "ok"
    assert "内置" in calendar_year(cal, 2026).detail
    assert "已录入" in calendar_year(cal, 2031).detail
    unknown = calendar_year(cal, 2099)
    assert unknown.status == "warn"
    assert "警告" in unknown.line() and "暂定" in unknown.line() and "2099" in unknown.line()


def test_warnings_leave_the_exit_code_alone() -> None:
    ok = Check("配置", "ok", "x")
    warn = Check("日历", "warn", "警告：2027年…暂定")
    lines, code = report([ok, warn])
    assert code == 0 and lines[-1] == "全部通过（1 条警告）"
    lines, code = report([ok, warn, Check("数据库", "fail", "坏了")])
    assert code == 1 and lines[-1] == "未通过：数据库"


async def test_stale_lock_holder_is_a_warning(tmp_path: Path) -> None:
    db = await migrated_db(tmp_path / "duban.db")
    engine = make_engine(str(db))
    then = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    try:
        assert await SchedulerLock(engine, holder="old-host:1:aaaaaa").acquire(then)
    finally:
        await engine.dispose()
    cfg = Config(db=str(db))
    fresh = await check_lock(cfg, then + timedelta(seconds=5))
    assert fresh.status == "ok" and "old-host:1:aaaaaa" in fresh.detail
    stale = await check_lock(cfg, then + timedelta(minutes=10))
    assert stale.status == "warn" and "接管" in stale.detail


async def test_this_year_comes_from_the_clock() -> None:
    # The doctor asks about today's year and the next; a date in 2098 finds both provisional.
    from bot.doctor import check_calendar

    checks = await check_calendar(Config(), date(2098, 5, 1))
    assert [c.status for c in checks] == ["warn", "warn"]
    assert "2098" in checks[0].detail and "2099" in checks[1].detail


async def test_sandbox_channel_without_rights_refuses_posts(sandbox: SandboxServer) -> None:
    from telegram import Bot
    from telegram.error import BadRequest

    token = sandbox.create_bot(username="duban_bot")
    channel = sandbox.channel("公示频道")
    async with Bot(token, base_url=sandbox.base_url, base_file_url=sandbox.base_file_url) as bot:
        await bot.send_message(channel.id, "公示：督〔2026〕1号")
        channel.state.bots_may_post = False
        with pytest.raises(BadRequest, match="administrator rights"):
            await bot.send_message(channel.id, "公示：督〔2026〕2号")
        member = await bot.get_chat_member(channel.id, bot.id)
        assert member.status == "administrator" and not member.can_post_messages
