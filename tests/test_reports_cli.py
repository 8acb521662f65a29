"""`duban export` / `duban import` (bot.cli → bot.cli_reports) and the appraisal file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import openpyxl
import pytest

from bot.cli import main
from bot.cli_reports import cli_appraisal
from bot.config import Config
from ledger.clock import FixedClock
from storage.db import upgrade
from tests.dbs import copy_db, url_for
from tests.test_reports_helpers import Seed, seed_once


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seed:
    return seed_once(tmp_path_factory.mktemp("seed"))


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for var in ("DUBAN_CONFIG", "DUBAN_DB", "DUBAN_ADMINS", "DUBAN_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def test_export_then_import_into_an_empty_database(
        seeded: Seed, env: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DUBAN_DB", copy_db(seeded.path, env / "old.db"))
    assert main(["export", "台账.xlsx"]) == 0
    assert "已导出 7 件事项" in capsys.readouterr().out
    rows = list(openpyxl.load_workbook(env / "台账.xlsx")["督办台账"].iter_rows(values_only=True))
    assert len(rows) == 8

    # A new database: units and people must exist first, so the import is refused whole.
    fresh = env / "new.db"
    asyncio.run(upgrade(url_for(fresh)))
    monkeypatch.setenv("DUBAN_DB", url_for(fresh))
    monkeypatch.setenv("DUBAN_ADMINS", "1001")
    assert main(["import", "台账.xlsx"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("导入失败") and "单位「住建局」不在单位名单中" in err

    # The matters of an unnumbered sheet without units go in, once.
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["序号", "事项", "交办日期"])
    ws.append([1, "全县安全生产大检查", "2026-11-02"])
    wb.save(env / "简表.xlsx")
    assert main(["import", "简表.xlsx"]) == 0
    assert "新导入1件" in capsys.readouterr().out
    assert main(["import", "简表.xlsx"]) == 0
    assert "新导入0件，已在台账中1件" in capsys.readouterr().out


def test_cli_refuses_without_schema_or_file(env: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DUBAN_DB", url_for(env / "none.db"))
    assert main(["export", "x.xlsx"]) == 2
    assert "duban db upgrade" in capsys.readouterr().err
    assert main(["import", "missing.xlsx"]) == 2
    assert "找不到文件" in capsys.readouterr().err


def test_appraisal_file(seeded: Seed, env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = copy_db(seeded.path, env / "a.db")
    out = env / "考评.xlsx"
    code = asyncio.run(cli_appraisal(Config(db=db), out, 2026,
                                     clock=FixedClock(seeded.clock.now())))
    assert code == 0
    assert "第一名 交通局（107分）" in capsys.readouterr().out
    assert openpyxl.load_workbook(out).sheetnames == ["考评得分", "得分明细"]
