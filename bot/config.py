"""Configuration: a TOML file (DUBAN_CONFIG), overridden by DUBAN_* environment variables.

Every key is documented in config.example.toml. A bad value stops start-up with one line
naming the key and why.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, time
from pathlib import Path

from bot.config_sections import parse_backup, parse_bulletins, parse_receipts, parse_reports
from ledger.errors import InvalidInput
from ledger.offices import check_prefix
from settings import (
    DEFAULT_API_URL,
    BackupSchedule,
    BulletinSpec,
    Config,
    ConfigError,
    OfficeSettings,
    ReminderPolicy,
)

__all__ = ["DEFAULT_API_URL", "BackupSchedule", "BulletinSpec", "Config", "ConfigError",
           "ReminderPolicy", "load_config"]
from typing import Any

# The bot's numeric id, a colon, the secret; `:` or `123:` alone is no token.
_TOKEN_RE = re.compile(r"[0-9]+:[A-Za-z0-9_-]+")


def _int(key: str, value: object) -> int:
    if isinstance(value, bool):
        raise ConfigError(f"配置项 {key} 应为整数，实际为 {value!r}")
    try:
        return int(str(value).strip())
    except ValueError:
        raise ConfigError(f"配置项 {key} 应为整数，实际为 {value!r}") from None


def _time(key: str, value: object) -> time:
    if isinstance(value, time):
        return value
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"配置项 {key} 应为时刻，如 \"09:00\"，实际为 {value!r}") from None


ADMIN_NAME_MAX = 50  # as any person's name (ledger.errors.NAME_MAX)
_ADMIN_SPLIT = re.compile(r"[,;，；]+")


def admin_item(key: str, item: object) -> tuple[int, str]:
    """One `ID` or `ID:姓名` (DUBAN_ADMINS, office.admins, `duban office add --admin`):
    the id and the name ("" when none is given)."""
    example = "12345:王芳"
    raw_id, sep, raw_name = str(item).replace("：", ":").partition(":")
    try:
        tg = int(raw_id.strip()) if not isinstance(item, bool) else None
    except ValueError:
        tg = None
    if tg is None or tg <= 0:
        raise ConfigError(f"{key} 中的「{item}」不是 Telegram 用户 id"
                          f"（应为正整数，可带姓名，如 {example}）")
    name = " ".join(raw_name.split())
    if sep and not name:
        raise ConfigError(f"{key} 中的「{item}」冒号后缺少姓名（如 {example}）")
    if len(name) > ADMIN_NAME_MAX:
        raise ConfigError(f"{key} 中 {tg} 的姓名太长（{len(name)}字），最多{ADMIN_NAME_MAX}字")
    return tg, name


def _admins(key: str, value: object) -> tuple[tuple[int, ...], tuple[tuple[int, str], ...]]:
    """DUBAN_ADMINS / office.admins: Telegram user ids, each optionally `ID:姓名`, separated
    by commas (or semicolons; bare ids also by spaces). Returns the ids, and the names given."""
    example = "12345:王芳,67890"
    items: list[object]
    if isinstance(value, str):
        items = []
        for part in _ADMIN_SPLIT.split(value):
            part = part.strip()
            if ":" in part or "：" in part:
                items.append(part)
            else:
                items += part.split()
    elif isinstance(value, list):
        items = list(value)
    else:
        raise ConfigError(f"配置项 {key} 应为 Telegram 用户 id 列表，可带姓名，如 {example}")
    ids: list[int] = []
    names: dict[int, str] = {}
    for item in items:
        tg, name = admin_item(f"配置项 {key}", item)
        if name and names.get(tg, name) != name:
            raise ConfigError(f"配置项 {key} 中 {tg} 写了两个姓名：「{names[tg]}」和「{name}」")
        if tg not in ids:
            ids.append(tg)
        if name:
            names[tg] = name
    return tuple(ids), tuple(names.items())


def _url(key: str, value: object) -> str:
    text = str(value).strip()
    if not text.startswith(("http://", "https://")):
        raise ConfigError(f"配置项 {key} 应以 http:// 或 https:// 开头，实际为 {text!r}")
    return text


def _days_ahead(value: object) -> int:
    days = _int("office.max_days_ahead", value)
    if not 1 <= days <= 3660:
        raise ConfigError(f"配置项 office.max_days_ahead 应在 1 到 3660 之间（天），实际为 {days}")
    return days


# [reminders] keys (the others of ReminderPolicy come from [calendar] and [receipts]).
REMINDER_KEYS = ("before_workdays", "on_due_day", "overdue_every_workday", "urgent_every_hours",
                 "stagnant_workdays", "auto_urge_after_workdays", "urge_limit_workdays",
                 "send_at", "quiet_start", "quiet_end", "workdays_only")
_WORKDAYS_MAX = 60  # a lead time or threshold in working days: about three months at most


def _workdays(key: str, value: object, low: int = 0) -> int:
    n = _int(key, value)
    if not low <= n <= _WORKDAYS_MAX:
        raise ConfigError(f"配置项 {key} 应在 {low} 到 {_WORKDAYS_MAX} 之间（工作日），实际为 {n}")
    return n


def _bool(key: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"配置项 {key} 应为 true 或 false，实际为 {value!r}")
    return value


def _reminders(raw: Mapping[str, Any], base: ReminderPolicy | None = None,
               where: str = "reminders") -> ReminderPolicy:
    """`[reminders]`, or an office's `[offices."城关督".reminders]`: the keys given over
    `base` (the deployment's policy, for an office)."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"配置项 {where} 应为一节，如 [{where}] before_workdays = [3, 1]")
    for k in raw:
        if k not in REMINDER_KEYS:
            raise ConfigError(f"配置项 {where}.{k} 不认识；可用的有：{', '.join(sorted(REMINDER_KEYS))}")
    d = base or ReminderPolicy()
    before = raw.get("before_workdays", list(d.before_workdays))
    if not isinstance(before, list):
        raise ConfigError(f"配置项 {where}.before_workdays 应为整数列表，如 [3, 1]")
    hours = _int(f"{where}.urgent_every_hours",
                 raw.get("urgent_every_hours", d.urgent_every_hours))
    if not 0 <= hours <= 24:
        raise ConfigError(f"配置项 {where}.urgent_every_hours 应在 0 到 24 之间（小时），实际为 {hours}")
    return replace(
        d,
        before_workdays=tuple(sorted({_workdays(f"{where}.before_workdays", x, 1)
                                      for x in before}, reverse=True)),
        on_due_day=_bool(f"{where}.on_due_day", raw.get("on_due_day", d.on_due_day)),
        overdue_every_workday=_bool(f"{where}.overdue_every_workday",
                                    raw.get("overdue_every_workday", d.overdue_every_workday)),
        urgent_every_hours=hours,
        stagnant_workdays=_workdays(f"{where}.stagnant_workdays",
                                    raw.get("stagnant_workdays", d.stagnant_workdays)),
        auto_urge_after_workdays=_workdays(f"{where}.auto_urge_after_workdays",
                                           raw.get("auto_urge_after_workdays",
                                                   d.auto_urge_after_workdays)),
        urge_limit_workdays=_workdays(f"{where}.urge_limit_workdays",
                                      raw.get("urge_limit_workdays", d.urge_limit_workdays), 1),
        send_at=_time(f"{where}.send_at", raw.get("send_at", d.send_at)),
        quiet_start=_time(f"{where}.quiet_start", raw.get("quiet_start", d.quiet_start)),
        quiet_end=_time(f"{where}.quiet_end", raw.get("quiet_end", d.quiet_end)),
        workdays_only=_bool(f"{where}.workdays_only", raw.get("workdays_only", d.workdays_only)),
    )


_OFFICE_KEYS = {"reminders", "bulletins", "public"}
_OFFICE_PUBLIC_KEYS = {"channel_id", "web_title"}


def _offices(raw: object, policy: ReminderPolicy) -> tuple[OfficeSettings, ...]:
    """`[offices."城关督"]` tables, keyed by an office's numbering prefix: its own
    reminders (over the deployment's), scheduled bulletins and public channel/page title."""
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        raise ConfigError('配置项 offices 应写成 [offices."编号前缀"] 表，如 [offices."城关督"]')
    out: list[OfficeSettings] = []
    for prefix, table in raw.items():
        where = f'offices."{prefix}"'
        try:
            check_prefix(str(prefix))
        except InvalidInput as e:
            raise ConfigError(f"配置项 [{where}]：{e}") from None
        if not isinstance(table, Mapping):
            raise ConfigError(f"配置项 {where} 应为表，如 [{where}.reminders]")
        for k in table:
            if k not in _OFFICE_KEYS:
                raise ConfigError(f"配置项 {where}.{k} 不认识；可用的有：{', '.join(sorted(_OFFICE_KEYS))}")
        pub = table.get("public", {})
        if not isinstance(pub, Mapping):
            raise ConfigError(f"配置项 {where}.public 应为表，如 [{where}.public] channel_id = \"@频道\"")
        for k in pub:
            if k not in _OFFICE_PUBLIC_KEYS:
                raise ConfigError(f"配置项 {where}.public.{k} 不认识；可用的有："
                                  f"{', '.join(sorted(_OFFICE_PUBLIC_KEYS))}")
        channel_raw = pub.get("channel_id")
        out.append(OfficeSettings(
            prefix=str(prefix).strip(),
            reminders=(_reminders(table["reminders"], policy, f"{where}.reminders")
                       if "reminders" in table else None),
            bulletins=parse_bulletins(table.get("bulletins"), f"{where}.bulletins"),
            public_channel_id=(_channel(f"{where}.public.channel_id", channel_raw)
                               if channel_raw else None),
            web_title=str(pub["web_title"]).strip() or None if "web_title" in pub else None))
    return tuple(out)


_TOP_KEYS = {"bulletins", "appraisal", "telegram", "database", "office", "webhook", "reminders", "calendar", "ops",
             "public", "logging", "files", "intake", "backup",
             "receipts", "offices"}
_PUBLIC_KEYS = {"channel_id", "web_host", "web_port", "web_title", "web_in_bot"}


_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


def _channel(key: str, value: object) -> int | str:
    """A channel's numeric id (-100…) or its public @username."""
    text = str(value).strip()
    if text.startswith("@") and len(text) > 1:
        return text
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"配置项 {key} 应为频道 id（如 -1001234567890）或 @频道用户名，"
                          f"实际为 {value!r}") from None


def _warn_from(value: object) -> tuple[int, int] | None:
    if value is False or str(value).strip().lower() in ("off", "false", "no", ""):
        return None
    m = re.fullmatch(r"\s*([0-9]{1,2})-([0-9]{1,2})\s*", str(value))
    try:
        if m is None:
            raise ValueError
        date(2001, int(m[1]), int(m[2]))
    except ValueError:
        raise ConfigError(f"calendar.warn_from 应写成 \"11-01\"（月-日）或 false，实际为 {value!r}") from None
    return int(m[1]), int(m[2])


def load_config(env: Mapping[str, str] | None = None, path: Path | None = None) -> Config:
    """Read the file (DUBAN_CONFIG, else ./duban.toml if present), then the environment."""
    env = os.environ if env is None else env
    if path is None and env.get("DUBAN_CONFIG"):
        path = Path(env["DUBAN_CONFIG"])
        if not path.is_file():
            raise ConfigError(f"DUBAN_CONFIG 指向的文件不存在：{path}")
    if path is None and Path("duban.toml").is_file():
        path = Path("duban.toml")
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"配置文件 {path} 不是合法的 TOML：{e}") from None
    for k in raw:
        if k not in _TOP_KEYS:
            raise ConfigError(f"配置文件中的 [{k}] 不认识；可用的有：{', '.join(sorted(_TOP_KEYS))}")
    reports = parse_reports(raw)
    tg = raw.get("telegram", {})
    office = raw.get("office", {})
    hook = raw.get("webhook", {})
    base = Path(path).parent if path is not None else Path.cwd()

    token = (env.get("DUBAN_TOKEN") or tg.get("token") or "").strip() or None
    if token is not None and not _TOKEN_RE.fullmatch(token.strip()):
        raise ConfigError("DUBAN_TOKEN / telegram.token 格式不对：应形如 123456:ABC-DEF…（向 @BotFather 获取）")
    api_url = _url("DUBAN_API_URL" if env.get("DUBAN_API_URL") else "telegram.api_url",
                   env.get("DUBAN_API_URL") or tg.get("api_url") or DEFAULT_API_URL)
    proxy = env.get("DUBAN_PROXY") or tg.get("proxy") or None
    concurrency_raw = tg.get("api_concurrency")
    concurrency = (_int("telegram.api_concurrency", concurrency_raw)
                   if concurrency_raw is not None else None)
    if concurrency is not None and not 1 <= concurrency <= 100:
        raise ConfigError(f"telegram.api_concurrency 应在 1 到 100 之间，实际为 {concurrency}")
    if proxy and not proxy.startswith(("http://", "https://", "socks5://", "socks5h://")):
        raise ConfigError(f"DUBAN_PROXY / telegram.proxy 应以 http://、socks5:// 开头，实际为 {proxy!r}")
    admins_raw: object = env.get("DUBAN_ADMINS") or office.get("admins") or []
    admins, admin_names = _admins("DUBAN_ADMINS" if env.get("DUBAN_ADMINS") else "office.admins",
                                  admins_raw)
    db = env.get("DUBAN_DB") or raw.get("database", {}).get("url") or "var/duban.db"
    schedule_raw = raw.get("calendar", {}).get("schedule")
    schedule = (base / schedule_raw) if schedule_raw else None
    if schedule is None and (base / "schedule.toml").is_file():
        schedule = base / "schedule.toml"
    warning = _warn_from(raw.get("calendar", {}).get("warn_from", "11-01"))
    ops = raw.get("ops", {}).get("chat_id")
    pub = raw.get("public", {})
    for k in pub:
        if k not in _PUBLIC_KEYS:
            raise ConfigError(f"配置项 public.{k} 不认识；可用的有：{', '.join(sorted(_PUBLIC_KEYS))}")
    channel_raw = env.get("DUBAN_PUBLIC_CHANNEL") or pub.get("channel_id")
    channel = (_channel("DUBAN_PUBLIC_CHANNEL" if env.get("DUBAN_PUBLIC_CHANNEL")
                        else "public.channel_id", channel_raw) if channel_raw else None)
    log = raw.get("logging", {})
    for k in log:
        if k not in ("format", "level"):
            raise ConfigError(f"配置项 logging.{k} 不认识；可用的有：format, level")
    log_format = str(env.get("DUBAN_LOG_FORMAT") or log.get("format", Config.log_format))
    if log_format not in ("text", "json"):
        raise ConfigError(f"配置项 logging.format 应为 \"text\" 或 \"json\"，实际为 {log_format!r}")
    log_level = str(env.get("DUBAN_LOG_LEVEL") or log.get("level", Config.log_level)).upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigError(f"配置项 logging.level 应为 DEBUG、INFO、WARNING 或 ERROR，实际为 {log_level!r}")
    hook_url = env.get("DUBAN_WEBHOOK_URL") or hook.get("url")
    hook_port = env.get("DUBAN_WEBHOOK_PORT") or hook.get("port", Config.webhook_port)
    hook_secret = env.get("DUBAN_WEBHOOK_SECRET") or hook.get("secret") or None
    if hook_secret is not None and not _WEBHOOK_SECRET.fullmatch(str(hook_secret)):
        raise ConfigError("DUBAN_WEBHOOK_SECRET / webhook.secret 只能含字母、数字、_ 和 -，"
                          "长度 1 到 256")
    keep_days = _int("intake.keep_days", raw.get("intake", {}).get(
        "keep_days", Config.inbox_keep_days))
    if keep_days < 1:
        raise ConfigError(f"intake.keep_days 应至少为 1，实际为 {keep_days}")
    files_raw = raw.get("files", {}).get("dir")
    files_mb = _int("files.download_limit_mb", raw.get("files", {}).get(
        "download_limit_mb", Config.files_download_mb))
    if files_mb < 1:
        raise ConfigError(f"files.download_limit_mb 应至少为 1，实际为 {files_mb}")
    policy = replace(_reminders(raw.get("reminders", {})), holidays_warn_from=warning,
                     receipts=parse_receipts(raw.get("receipts")))
    return Config(
        token=token, api_url=api_url, proxy=proxy, api_concurrency=concurrency, db=str(db),
        admins=admins, admin_names=admin_names,
        office_name=str(office.get("name", Config.office_name)),
        doc_prefix=str(office.get("doc_prefix", Config.doc_prefix)),
        schedule=schedule,
        ops_chat_id=_int("ops.chat_id", ops) if ops is not None else None,
        webhook_url=(_url("DUBAN_WEBHOOK_URL" if env.get("DUBAN_WEBHOOK_URL") else "webhook.url",
                          hook_url) if hook_url else None),
        webhook_listen=str(env.get("DUBAN_WEBHOOK_LISTEN")
                           or hook.get("listen", Config.webhook_listen)),
        webhook_port=_int("DUBAN_WEBHOOK_PORT" if env.get("DUBAN_WEBHOOK_PORT")
                          else "webhook.port", hook_port),
        webhook_secret=str(hook_secret) if hook_secret is not None else None,
        inbox_keep_days=keep_days,
        near_workdays=_int("office.near_workdays",
                           office.get("near_workdays", Config.near_workdays)),
        invite_ttl_hours=_int("office.invite_ttl_hours",
                              office.get("invite_ttl_hours", Config.invite_ttl_hours)),
        max_days_ahead=_days_ahead(office.get("max_days_ahead", Config.max_days_ahead)),
        reminders=policy,
        offices=_offices(raw.get("offices"), policy),
        bulletins=reports.bulletins, appraisal=reports.appraisal,
        public_channel_id=channel,
        web_host=str(pub.get("web_host", Config.web_host)),
        web_port=_int("public.web_port", env.get("DUBAN_WEB_PORT") or pub.get(
            "web_port", Config.web_port)),
        web_title=str(pub.get("web_title", Config.web_title)),
        web_in_bot=bool(pub.get("web_in_bot", Config.web_in_bot)),
        log_format=log_format, log_level=log_level,
        files_dir=(base / str(files_raw)) if files_raw else None, files_download_mb=files_mb,
        backup=parse_backup(raw.get("backup"), base),
        source=str(path) if path else "environment",
    )
