"""Logs for a log collector: JSON lines, library noise turned down, no secret ever written."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from bot.logs import configure_logging, redact
from storage.health import masked

TOKEN = "7000000001:AAO0Tf0W_GDJ5MxxJ8FJxu_mcVZIMzRjfSX"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    noisy = {n: logging.getLogger(n).level for n in ("apscheduler", "httpx", "aiohttp.access")}
    yield
    for h in list(root.handlers):
        root.removeHandler(h)
    for h in handlers:
        root.addHandler(h)
    root.setLevel(level)
    for n, lv in noisy.items():
        logging.getLogger(n).setLevel(lv)


def test_json_lines_with_every_field_and_no_token(restore_logging: None) -> None:
    out = io.StringIO()
    configure_logging("json", "INFO", token=TOKEN, stream=out)
    log = logging.getLogger("bot.test")
    log.info("calling https://api.telegram.org/bot%s/getMe", TOKEN)
    try:
        raise RuntimeError(f"POST /bot{TOKEN}/sendMessage failed")
    except RuntimeError:
        log.exception("send failed for 督办事项 %s", "督〔2026〕1号")
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert set(first) == {"time", "level", "logger", "message", "exc"}
    assert first["level"] == "INFO" and first["logger"] == "bot.test" and first["exc"] is None
    assert first["time"].endswith("+00:00")
    assert second["level"] == "ERROR" and "督〔2026〕1号" in second["message"]
    assert "RuntimeError" in second["exc"] and "Traceback" in second["exc"]
    assert TOKEN not in out.getvalue()
    assert "AAO0Tf0W" not in out.getvalue()


def test_text_format_masks_the_token_too(restore_logging: None) -> None:
    out = io.StringIO()
    configure_logging("text", "INFO", token=TOKEN, stream=out)
    logging.getLogger("bot.test").warning("url %s/bot%s/getUpdates", "http://x", TOKEN)
    assert TOKEN not in out.getvalue() and "<token>" in out.getvalue()


def test_token_shaped_strings_masked_without_knowing_the_token(restore_logging: None) -> None:
    out = io.StringIO()
    configure_logging("json", "INFO", stream=out)
    logging.getLogger("bot.test").info("another bot %s", TOKEN)
    assert TOKEN not in out.getvalue()


def test_library_noise_turned_down(restore_logging: None) -> None:
    out = io.StringIO()
    configure_logging("json", "INFO", stream=out)
    logging.getLogger("apscheduler.executors.default").info('Job "x" executed successfully')
    logging.getLogger("apscheduler.scheduler").info("Added job")
    logging.getLogger("httpx").info("HTTP Request: POST https://api.telegram.org/bot…")
    logging.getLogger("aiohttp.access").info("127.0.0.1 POST /telegram 200")
    logging.getLogger("apscheduler.scheduler").warning("Run time of job was missed")
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["message"] for r in records] == ["Run time of job was missed"]


def test_level_from_config(restore_logging: None) -> None:
    out = io.StringIO()
    configure_logging("text", "WARNING", stream=out)
    logging.getLogger("bot.test").info("quiet")
    logging.getLogger("bot.test").warning("loud")
    assert "quiet" not in out.getvalue() and "loud" in out.getvalue()


def test_logging_config_keys(tmp_path: Path) -> None:
    path = tmp_path / "duban.toml"
    path.write_text('[logging]\nformat = "json"\nlevel = "warning"\n', encoding="utf-8")
    c = load_config({}, path)
    assert (c.log_format, c.log_level) == ("json", "WARNING")
    assert load_config({"DUBAN_LOG_FORMAT": "json"}).log_format == "json"
    path.write_text('[logging]\nformat = "xml"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"logging\.format"):
        load_config({}, path)
    path.write_text('[logging]\ncolour = true\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"logging\.colour"):
        load_config({}, path)


def test_example_config_documents_logging_and_files() -> None:
    text = (Path(__file__).resolve().parent.parent / "config.example.toml").read_text("utf-8")
    assert "[logging]" in text and 'format = "text"' in text and "[files]" in text


@pytest.mark.parametrize("url,secret", [
    ("postgresql+asyncpg://duban:s3cret@db.internal:5432/duban", "s3cret"),
    ("postgresql://duban:p%40ss@10.0.0.5/duban", "p%40ss"),
])
def test_printed_database_urls_hide_the_password(url: str, secret: str) -> None:
    assert secret not in masked(url) and "***" in masked(url)
    assert secret not in redact(f"connecting to {url}")


def test_plain_paths_unchanged() -> None:
    assert masked("var/duban.db") == "var/duban.db"
    assert redact("socks5://me:pw@127.0.0.1:1080") == "socks5://me:***@127.0.0.1:1080"


def test_start_up_log_line_hides_the_database_password() -> None:
    from bot.config import Config

    line = Config(token=TOKEN, db="postgresql+asyncpg://duban:s3cret@db/duban").redacted()
    assert "s3cret" not in line and TOKEN not in line and "db/duban" in line


def test_configuring_twice_keeps_one_handler_and_leaves_others(restore_logging: None) -> None:
    root = logging.getLogger()
    foreign = logging.NullHandler()
    root.addHandler(foreign)
    configure_logging("text")
    configure_logging("json")
    ours = [h for h in root.handlers if h.get_name() == "duban"]
    assert len(ours) == 1 and foreign in root.handlers
