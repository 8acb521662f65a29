"""`duban demo` (what `make run` shows without a token) plays the whole loop and exits 0."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Config
from bot.demo import run_demo


@pytest.mark.sqlite_only  # reads the SQLite file directly
async def test_demo_plays_the_loop_and_keeps_its_ledger(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "demo.db"
    monkeypatch.setenv("DUBAN_DB", str(db))
    lines: list[str] = []
    assert await run_demo(Config(db=str(db)), out=lines.append) == 0
    text = "\n".join(lines)
    for step in ("/new", "签收", "照片", "申请办结", "销号"):
        assert step in text
    assert "已记入台账" in text  # the handler's one-line confirmation of the photo progress
    assert "演示结束" in text and "台账已写入" in lines[-1]

    import sqlite3
    with sqlite3.connect(db) as conn:
        kinds = [k for (k,) in conn.execute(
            "select kind from events where matter_id is not null order by id")]
        status = conn.execute("select status from matters").fetchone()[0]
    assert kinds[:2] == ["registered", "assigned"] and kinds[-1] == "closed"
    assert "progress" in kinds and "signed" in kinds
    assert status == "closed"
