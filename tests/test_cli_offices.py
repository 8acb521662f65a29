"""`duban office add / list` and `--office` for export (issue 16)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.cli_offices import parse_admin
from tests.dbs import url_for


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DUBAN_DB", url_for(tmp_path / "sub" / "ledger.db"))
    monkeypatch.delenv("DUBAN_CONFIG", raising=False)
    monkeypatch.delenv("DUBAN_ADMINS", raising=False)
    return tmp_path


def test_parse_admin() -> None:
    assert parse_admin("123") == (123, None)
    assert parse_admin(" 123 : 张三 ") == (123, "张三")
    for bad in ("", "abc", "0", "-5:张三", ":张三"):
        with pytest.raises(ValueError, match="--admin"):
            parse_admin(bad)


def test_office_add_list_and_export(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # an empty database is migrated first
    assert main(["office", "add", "县督查室", "--prefix", "县督", "--admin", "11:王主任"]) == 0
    out = capsys.readouterr().out
    assert "已添加督查室「县督查室」" in out and "王主任（11）" in out
    assert main(["office", "add", "城关镇督查室", "--prefix", "城关督", "--parent", "县督查室",
                 "--admin", "22"]) == 0
    assert "上级督查室：县督查室" in capsys.readouterr().out
    # refusals, one Chinese line each, nothing added
    for argv, says in (
            (["--prefix", "城关督", "--parent", "县督查室"], "已由「城关镇督查室」使用"),
            (["--prefix", "东关督", "--parent", "市督查室"], "找不到上级督查室「市督查室」"),
            (["--prefix", "东关3"], "不能含数字"),
            (["--prefix", "东关督", "--admin", "abc"], "--admin 中的「abc」不是 Telegram 用户 id")):
        assert main(["office", "add", "东关镇督查室", *argv]) == 1
        err = capsys.readouterr().err
        assert says in err and "Traceback" not in err
    assert main(["office", "add", "县督查室", "--prefix", "另督"]) == 1
    assert "已存在" in capsys.readouterr().err
    assert main(["office", "list"]) == 0
    listed = capsys.readouterr().out
    assert "县督查室（默认）" in listed and "城关镇督查室\t编号前缀 城关督，上级：县督查室" in listed
    assert "东关" not in listed
    # export takes --office; the default is the top office
    assert main(["export", str(db / "a.xlsx"), "--office", "城关督"]) == 0
    assert "已导出 0 件事项" in capsys.readouterr().out
    assert main(["export", str(db / "b.xlsx"), "--office", "无此室"]) == 2
    assert "找不到督查室「无此室」。现有：县督查室、城关镇督查室" in capsys.readouterr().err
    assert main(["web", "--office", "无此室"]) == 1
    assert "找不到督查室「无此室」" in capsys.readouterr().err
