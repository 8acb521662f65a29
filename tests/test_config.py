"""Configuration: file, environment overrides, one clear line on a bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import DEFAULT_API_URL, ConfigError, load_config

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"


def test_example_config_loads_with_defaults() -> None:
    c = load_config(env={}, path=EXAMPLE)
    assert c.api_url == DEFAULT_API_URL and c.token is None
    assert c.reminders.before_workdays == (3, 1)
    assert c.db == "var/duban.db"


def test_environment_overrides_file() -> None:
    c = load_config(env={"DUBAN_TOKEN": "123:abc", "DUBAN_API_URL": "http://127.0.0.1:8081",
                         "DUBAN_DB": "/tmp/x.db", "DUBAN_ADMINS": "11, 22",
                         "DUBAN_PROXY": "socks5://127.0.0.1:1080"}, path=EXAMPLE)
    assert (c.token, c.api_root, c.db, c.admins) == ("123:abc", "http://127.0.0.1:8081",
                                                     "/tmp/x.db", (11, 22))
    assert "123:abc" not in c.redacted()


@pytest.mark.parametrize(("env", "key"), [
    ({"DUBAN_TOKEN": "nocolon"}, "DUBAN_TOKEN"),
    ({"DUBAN_API_URL": "api.telegram.org"}, "DUBAN_API_URL"),
    ({"DUBAN_ADMINS": "12,abc"}, "DUBAN_ADMINS"),
    ({"DUBAN_PROXY": "ftp://x"}, "DUBAN_PROXY"),
    ({"DUBAN_CONFIG": "/nonexistent/duban.toml"}, "DUBAN_CONFIG"),
])
def test_bad_values_name_the_key(env: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        load_config(env=env)


def test_bad_file_values_name_the_key(tmp_path: Path) -> None:
    f = tmp_path / "duban.toml"
    f.write_text('[reminders]\nsend_at = "9点"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"reminders\.send_at"):
        load_config(env={}, path=f)
    f.write_text('[remindrs]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="remindrs"):
        load_config(env={}, path=f)


def test_api_calls_in_flight(tmp_path: Path) -> None:
    assert load_config(env={}, path=EXAMPLE).api_in_flight == 16
    f = tmp_path / "duban.toml"
    f.write_text("[telegram]\napi_concurrency = 5\n", encoding="utf-8")
    assert load_config(env={}, path=f).api_in_flight == 5
    f.write_text("[telegram]\napi_concurrency = 0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"telegram\.api_concurrency"):
        load_config(env={}, path=f)


def test_bulletin_schedules_and_appraisal_weights(tmp_path: Path) -> None:
    f = tmp_path / "duban.toml"
    f.write_text('[[bulletins]]\nkind = "regular"\ncron = "0 9 * * mon"\nchats = [-100]\n'
                 '[appraisal]\nurge = -3\n', encoding="utf-8")
    c = load_config(env={}, path=f)
    assert [(b.cron, b.chats) for b in c.bulletins] == [("0 9 * * mon", (-100,))]
    assert c.appraisal is not None and c.appraisal.urge == -3
    f.write_text('[[bulletins]]\nkind = "regular"\ncron = "every monday"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="cron"):
        load_config(env={}, path=f)


@pytest.mark.parametrize(("raw", "admins", "names"), [
    ("1001", (1001,), ()),
    ("1001:王芳", (1001,), ((1001, "王芳"),)),
    ("1001:王芳, 1002", (1001, 1002), ((1001, "王芳"),)),
    ("1001：王芳，1002：李 明；1003 1004", (1001, 1002, 1003, 1004),
     ((1001, "王芳"), (1002, "李 明"))),
    ("1001:王芳,1001", (1001,), ((1001, "王芳"),)),
])
def test_admins_take_id_colon_name(raw: str, admins: tuple[int, ...],
                                   names: tuple[tuple[int, str], ...]) -> None:
    c = load_config(env={"DUBAN_ADMINS": raw}, path=EXAMPLE)
    assert (c.admins, c.admin_names) == (admins, names)


def test_admins_in_the_file_take_names_too(tmp_path: Path) -> None:
    f = tmp_path / "duban.toml"
    f.write_text('[office]\nadmins = [1001, "1002:李明"]\n', encoding="utf-8")
    c = load_config(env={}, path=f)
    assert (c.admins, c.admin_names) == ((1001, 1002), ((1002, "李明"),))


@pytest.mark.parametrize(("raw", "says"), [
    ("王芳:1001", "不是 Telegram 用户 id"),
    ("1001:", "冒号后缺少姓名"),
    ("1001:王芳,abc", "「abc」不是 Telegram 用户 id"),
    ("-5", "不是 Telegram 用户 id"),
    ("1001:" + "长" * 51, "姓名太长"),
    ("1001:王芳,1001:李明", "写了两个姓名"),
])
def test_bad_admins_are_one_clear_line(raw: str, says: str) -> None:
    with pytest.raises(ConfigError, match="DUBAN_ADMINS") as e:
        load_config(env={"DUBAN_ADMINS": raw})
    assert says in str(e.value) and "\n" not in str(e.value)
