"""`duban` subcommands that outside scripts call."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main


def test_deadline_prints_iso_date_first(capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DUBAN_CONFIG", raising=False)
    assert main(["deadline", "2026-09-28", "10"]) == 0
    assert capsys.readouterr().out.split()[0] == "2026-10-16"


def test_deadline_into_a_year_not_entered_is_provisional(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        tmp_path: object) -> None:
    monkeypatch.delenv("DUBAN_CONFIG", raising=False)
    monkeypatch.setenv("DUBAN_DB", f"{tmp_path}/none.db")
    assert main(["deadline", "2026-12-28", "10"]) == 0
    out = capsys.readouterr().out
    # Dec 29-31 (3), Jan 1 statutory holiday, Jan 4-8 (8), Jan 11-12 (10); no 调休 guessed
    assert out.split()[0] == "2027-01-12"
    assert "暂定" in out and "2027年" in out


def test_deadline_rejects_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deadline", "9/28", "10"]) == 2
    assert main(["deadline", "2026-09-28", "-1"]) == 2
    assert "工作日数" in capsys.readouterr().err


def test_console_script_entry_point() -> None:
    out = subprocess.run([sys.executable, "-m", "bot.cli", "deadline", "2026-09-28", "10"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.startswith("2026-10-16")


@pytest.mark.sqlite_only  # reads the SQLite file directly
def test_db_upgrade_creates_schema_and_refuses_newer(tmp_path: object,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio
    import sqlite3
    from pathlib import Path

    from storage.db import SchemaTooNew, check_schema, make_engine

    db = Path(str(tmp_path)) / "sub" / "ledger.db"
    monkeypatch.setenv("DUBAN_DB", str(db))
    monkeypatch.delenv("DUBAN_CONFIG", raising=False)
    assert main(["db", "upgrade"]) == 0
    assert "数据库已升级" in capsys.readouterr().out
    with sqlite3.connect(db) as conn:
        tables = {r[0] for r in conn.execute("select name from sqlite_master")}
        assert {"matters", "events", "outbox"} <= tables
        conn.execute("update alembic_version set version_num = 'from_the_future'")

    async def check() -> None:
        engine = make_engine(str(db))
        try:
            await check_schema(engine)
        finally:
            await engine.dispose()

    with pytest.raises(SchemaTooNew):
        asyncio.run(check())


def test_output_cut_short_by_a_pipe_is_no_error(tmp_path: Path) -> None:
    # `duban holidays show 2027 | head -1`: the reader leaves; no traceback, exit 0.
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    env["DUBAN_DB"] = str(tmp_path / "none.db")
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "holidays", "show", "2027"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            cwd=tmp_path)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().decode().startswith("2027年：暂定")
    proc.stdout.close()  # what `head -1` does after its line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0
    assert "Traceback" not in err and "BrokenPipe" not in err
