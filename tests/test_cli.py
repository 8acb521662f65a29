"""`duban` subcommands that outside scripts call."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.cli import main


def test_deadline_prints_iso_date_first(capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DUBAN_CONFIG", raising=False)
    assert main(["deadline", "2026-09-28", "10"]) == 0
    assert capsys.readouterr().out.split()[0] == "2026-10-16"


def test_deadline_in_unknown_year_fails_in_chinese(capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DUBAN_CONFIG", raising=False)
    assert main(["deadline", "2026-12-28", "10"]) != 0
    err = capsys.readouterr().err
    assert "2027" in err and "schedule.toml" in err


def test_deadline_rejects_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deadline", "9/28", "10"]) == 2
    assert main(["deadline", "2026-09-28", "-1"]) == 2
    assert "工作日数" in capsys.readouterr().err


def test_console_script_entry_point() -> None:
    out = subprocess.run([sys.executable, "-m", "bot.cli", "deadline", "2026-09-28", "10"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.startswith("2026-10-16")
