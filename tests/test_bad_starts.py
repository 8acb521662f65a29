"""Bad starts of `duban run`: one Chinese line naming the setting or file, exit 2, no
traceback; `duban --debug run` shows the traceback. Each case as an operator meets it."""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from sandbox.server import SandboxServer
from sandbox.testing import running_server, sandbox_config
from tests.startup_helpers import (
    UNKNOWN_TOKEN,
    Result,
    clean_env,
    closed_port,
    damage_a_page,
    duban,
    migrated_db,
)


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    async with running_server(sandbox_config(flood_limits=False)) as server:
        yield server


def nowhere() -> str:
    return f"http://127.0.0.1:{closed_port()}"


async def run(tmp_path: Path, db: str, *, token: str = UNKNOWN_TOKEN, api: str | None = None,
              debug: bool = False, prefix: tuple[str, ...] = (), **env: str) -> Result:
    args = ["--debug", "run"] if debug else ["run"]
    return await duban(args, clean_env(DUBAN_TOKEN=token, DUBAN_DB=db,
                                       DUBAN_API_URL=api or nowhere(), **env),
                       tmp_path, prefix)


def assert_one_line(r: Result, *words: str) -> str:
    assert r.code == 2, r.err
    assert "Traceback" not in r.err and "Error:" not in r.err, r.err
    assert len(r.err_lines) == 1, r.err
    line = r.err_lines[0]
    for word in words:
        assert word in line, line
    return line


async def test_token_telegram_rejects(tmp_path: Path, sandbox: SandboxServer) -> None:
    r = await run(tmp_path, str(tmp_path / "d.db"), api=sandbox.base_url.removesuffix("/bot"))
    assert_one_line(r, "401", "DUBAN_TOKEN")
    assert UNKNOWN_TOKEN not in r.err
    debug = await run(tmp_path, str(tmp_path / "d.db"), debug=True,
                      api=sandbox.base_url.removesuffix("/bot"))
    assert debug.code == 2 and "Traceback" in debug.err and "InvalidToken" in debug.err
    assert UNKNOWN_TOKEN not in debug.err   # not even in the traceback


async def test_unreachable_api_url(tmp_path: Path) -> None:
    api = nowhere()
    line = assert_one_line(await run(tmp_path, str(tmp_path / "d.db"), api=api),
                           "DUBAN_API_URL", api)
    assert "DUBAN_PROXY" in line   # the way in where Telegram is blocked


async def test_garbage_database_file(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    db.write_bytes(b"this is not a database\n" * 200)
    assert_one_line(await run(tmp_path, str(db)), str(db), "不是 SQLite", "duban restore",
                    "duban backup")
    debug = await run(tmp_path, str(db), debug=True)
    assert debug.code == 2 and "Traceback" in debug.err


async def test_truncated_database_file(tmp_path: Path) -> None:
    db = await migrated_db(tmp_path / "ledger.db")
    damage_a_page(db)  # make it large, then cut it in the middle of a page
    os.truncate(db, db.stat().st_size // 2 + 100)
    assert_one_line(await run(tmp_path, str(db)), str(db), "损坏", "duban restore")


async def test_damaged_page_refuses_to_start(tmp_path: Path) -> None:
    db = await migrated_db(tmp_path / "ledger.db")
    damage_a_page(db)
    with sqlite3.connect(db) as conn:  # the damage is real: SQLite itself finds it
        try:
            verdict = conn.execute("PRAGMA quick_check").fetchall()
        except sqlite3.DatabaseError as e:
            verdict = [(str(e),)]
    conn.close()
    assert verdict != [("ok",)]
    assert_one_line(await run(tmp_path, str(db)), str(db), "quick_check", "duban restore",
                    "duban backup")


async def test_database_newer_than_the_code(tmp_path: Path) -> None:
    db = await migrated_db(tmp_path / "ledger.db")
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'from_the_future'")
    conn.close()
    assert_one_line(await run(tmp_path, str(db)), str(db), "from_the_future", "升级程序")


async def test_database_path_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "var").write_text("a file, not a directory")
    db = tmp_path / "var" / "duban.db"
    assert_one_line(await run(tmp_path, str(db)), str(db), "DUBAN_DB", "是文件而不是目录")


@pytest.mark.parametrize("url", ["mysql://duban:s3cret@127.0.0.1/duban",
                                 "ftp://duban:s3cret@example/ledger.db",
                                 "postgresql+psycopg2://duban:s3cret@127.0.0.1/duban"])
async def test_unsupported_url_scheme(tmp_path: Path, url: str) -> None:
    line = assert_one_line(await run(tmp_path, url), "DUBAN_DB", "不受支持")
    assert "s3cret" not in line


def _without_root_powers() -> tuple[str, ...]:
    """Root writes any file; drop the capability so permissions count, as for a service user."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: file permissions cannot be tested")
    return (setpriv, "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search", "--")


async def test_read_only_database_is_refused(tmp_path: Path) -> None:
    db = await migrated_db(tmp_path / "ledger.db")
    db.chmod(0o444)
    prefix = _without_root_powers()
    try:
        r = await run(tmp_path, str(db), prefix=prefix)
    finally:
        db.chmod(0o644)
    assert_one_line(r, str(db), "只读", "写权限")


async def test_read_only_directory_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "ro"
    home.mkdir()
    db = await migrated_db(home / "ledger.db")
    db.chmod(0o444)
    home.chmod(0o555)
    prefix = _without_root_powers()
    try:
        r = await run(tmp_path, str(db), prefix=prefix)
    finally:
        home.chmod(0o755)
        db.chmod(0o644)
    assert_one_line(r, str(db), "只读")


@pytest.mark.parametrize("token", [":", "123:", ":abc", "abc:def", "12 3:abc"])
def test_token_format_check(token: str) -> None:
    with pytest.raises(ConfigError, match="DUBAN_TOKEN"):
        load_config({"DUBAN_TOKEN": token})


async def test_colon_token_stops_the_cli(tmp_path: Path) -> None:
    r = await run(tmp_path, str(tmp_path / "d.db"), token=":")
    assert_one_line(r, "DUBAN_TOKEN", "格式")


async def test_demo_checks_the_database_too(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    db.write_bytes(b"garbage" * 1000)
    r = await duban(["demo"], clean_env(DUBAN_DB=str(db)), tmp_path)
    assert_one_line(r, str(db), "不是 SQLite")


async def test_unreadable_database_is_refused(tmp_path: Path) -> None:
    db = await migrated_db(tmp_path / "ledger.db")
    db.chmod(0o000)
    prefix = _without_root_powers()
    try:
        r = await run(tmp_path, str(db), prefix=prefix)
    finally:
        db.chmod(0o644)
    assert_one_line(r, str(db), "无法读取")


async def test_postgresql_server_not_answering(tmp_path: Path) -> None:
    pytest.importorskip("asyncpg")
    url = f"postgresql+asyncpg://duban:s3cret@127.0.0.1:{closed_port()}/duban"
    line = assert_one_line(await run(tmp_path, url), "无法连接数据库", "DUBAN_DB", "***")
    assert "s3cret" not in line


async def test_postgresql_connection_test_passes() -> None:
    from storage import health

    url = os.environ.get("DUBAN_TEST_DB", "")
    if not url.startswith("postgresql"):
        pytest.skip("DUBAN_TEST_DB names no PostgreSQL database")
    from sqlalchemy.engine import make_url

    state = await health.check_database(url, write=True)
    assert state.backend == "postgresql"
    password = make_url(url).password
    assert not password or str(password) not in state.where


async def test_good_start_passes_the_checks_and_logs_json(tmp_path: Path,
                                                          sandbox: SandboxServer) -> None:
    """The checks let a healthy setup through; its log is JSON lines without the token."""
    import asyncio
    import json
    import signal
    import sys

    token = sandbox.create_bot(username="duban_bot")
    env = clean_env(DUBAN_TOKEN=token, DUBAN_DB=str(tmp_path / "var" / "duban.db"),
                    DUBAN_API_URL=sandbox.base_url.removesuffix("/bot"), DUBAN_ADMINS="1",
                    DUBAN_LOG_FORMAT="json")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        # Polling starts with deleteWebhook, after post_init (the menus, the scheduler).
        for _ in range(600):
            if sandbox.calls_to("deleteWebhook") or proc.returncode is not None:
                break
            await asyncio.sleep(0.1)
        assert sandbox.calls_to("setMyCommands")
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    text = err.decode()
    records = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert any("started" in r["message"] for r in records), text
    assert all(set(r) == {"time", "level", "logger", "message", "exc"} for r in records)
    assert not [r for r in records if r["logger"].startswith("apscheduler")]
    assert token not in text
    assert proc.returncode == 0, text
