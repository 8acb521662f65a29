"""Start-up checks, and every line an operator reads when a start fails.

A bad start ends with ONE Chinese line naming the setting or file (exit code 2); `duban
--debug …` adds the traceback. The same lines serve `duban doctor`. All of them are here,
so they read alike and name settings the same way.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING

from telegram import Bot
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.request import BaseRequest, HTTPXRequest

from bot.http import AiohttpRequest
from bot.logs import redact
from ledger.model import Office
from settings import ConfigError
from settings.offices import check_offices
from storage import health
from storage.db import SchemaError, make_engine
from storage.uow import uow_factory

if TYPE_CHECKING:
    from telegram import Bot, User

    from bot.config import Config

_DB = "DUBAN_DB / database.url"
_TOKEN = "DUBAN_TOKEN / telegram.token"
_RESTORE = ("请把它移到别处保留，再用 `duban restore 备份文件` 从 `duban backup` 做的备份恢复"
            "（见 docs/deploy.md「备份与恢复」）")


_NAME_RE = re.compile(r"[A-Za-z_][\w.]*")


class StartupProblem(Exception):
    """One line for the operator; the original exception is its __cause__."""

    def __init__(self, line: str) -> None:
        self.line = line
        super().__init__(line)


def database_line(p: health.DatabaseProblem) -> str:
    """The operator's line for each database problem."""
    w = p.where
    if isinstance(p, health.UnsupportedURL):
        return (f"数据库地址 {w}（{_DB}）不受支持：只能是 SQLite 文件路径（如 var/duban.db）"
                f"或 postgresql+asyncpg://用户:密码@主机/库名")
    if isinstance(p, health.PathBlocked):
        if p.detail == "is a directory":
            return f"数据库路径 {w}（{_DB}）是一个目录，应为文件路径，如 {w}/duban.db"
        return f"数据库路径 {w}（{_DB}）无法创建：{p.detail} 是文件而不是目录"
    if isinstance(p, health.NotADatabase):
        return (f"数据库文件 {w}（{_DB}）不是 SQLite 数据库（已损坏或不是本程序的文件），"
                f"拒绝启动：{_RESTORE}")
    if isinstance(p, health.Damaged):
        return (f"数据库文件 {w}（{_DB}）已损坏（完整性检查 quick_check 未通过），"
                f"拒绝启动：{_RESTORE}")
    if isinstance(p, health.Unreadable):
        return (f"数据库文件 {w}（{_DB}）无法读取（权限不足）：请让运行 duban 的用户"
                f"能读写该文件及其所在目录")
    if isinstance(p, health.ReadOnly):
        if "://" in w:
            return (f"数据库 {w}（{_DB}）只读，拒绝启动：请检查该数据库用户的写权限，"
                    f"以及是否连到了只读副本（default_transaction_read_only、热备）")
        return (f"数据库 {w}（{_DB}）只读，拒绝启动：请让运行 duban 的用户对该文件及其所在目录"
                f"有写权限（SQLite 还要在同一目录写 -wal、-shm 文件）")
    if isinstance(p, health.Unreachable):
        return (f"无法连接数据库 {w}（{_DB}）：请检查主机、端口、用户名、密码与库名"
                f"（{_clean(p.detail)}）")
    if isinstance(p, health.DriverMissing):
        return (f"数据库 {w}（{_DB}）需要的驱动 {p.detail} 未安装：请运行 "
                f"`pip install {p.detail}`（或重新 `pip install -e .`）")
    if isinstance(p, health.Missing):
        return f"数据库文件 {w}（{_DB}）不存在：首次部署请运行 `duban db upgrade`"
    if isinstance(p, health.TooNew):
        return f"数据库 {w}：{p.detail}"
    if isinstance(p, health.Behind):
        return f"数据库 {w}：{p.detail}"
    return f"数据库 {w}（{_DB}）不可用：{_clean(p.detail)}"


def _clean(detail: str) -> str:
    """A driver's message without its exception class name, on one line."""
    head, sep, rest = detail.partition(": ")
    text = rest if sep and _NAME_RE.fullmatch(head) else detail
    return " ".join(text.split())[:200] or "无详细信息"


def api_where(config: Config) -> str:
    where = f"Bot API {config.api_root}（DUBAN_API_URL）"
    if config.proxy:
        where += f"，经代理 {mask_secrets(config.proxy, config)}（DUBAN_PROXY）"
    return where


def bot_api_line(e: BaseException, config: Config) -> str | None:
    """The operator's line for a Bot API failure; None when `e` is not one."""

    if isinstance(e, InvalidToken):
        if "not found" in str(e).lower():
            return (f"{api_where(config)} 返回 404：地址不是 Bot API 的根地址，或令牌不对；"
                    f"请检查 DUBAN_API_URL 与 {_TOKEN}")
        return (f"Telegram 拒绝了令牌（401 Unauthorized）：请检查 {_TOKEN}"
                f"（向 @BotFather 获取，形如 123456:ABC-DEF…）")
    if isinstance(e, NetworkError):
        return (f"无法连接 {api_where(config)}：{mask_secrets(_clean(str(e)), config)}。"
                f"在中国大陆请配置 DUBAN_PROXY 或自建 Bot API 服务器，见 docs/deploy.md")
    if isinstance(e, TelegramError):
        return f"{api_where(config)} 拒绝了请求：{mask_secrets(_clean(str(e)), config)}"
    return None


def startup_line(e: BaseException, config: Config | None) -> str | None:
    """Any start-up failure we know, as its one line; None: a real bug (keep traceback)."""

    if isinstance(e, StartupProblem):
        return e.line
    if isinstance(e, health.DatabaseProblem):
        return database_line(e)
    if isinstance(e, SchemaError):
        return str(e).splitlines()[0]
    if config is not None:
        return bot_api_line(e, config)
    return None


def mask_secrets(text: str, config: Config | None = None) -> str:
    """Text safe to print: passwords in URLs masked, the bot token removed."""

    return redact(text, config.token if config is not None else None)


# ---- the checks ----

def make_bot(config: Config) -> Bot:
    """A Bot talking to the configured API root, through the configured proxy; the same
    transport choice as bot.app (aiohttp, or httpx for SOCKS)."""


    assert config.token
    request: BaseRequest
    if config.proxy is None or config.proxy.startswith(("http://", "https://")):
        request = AiohttpRequest(connections=2, proxy=config.proxy, read_timeout=15.0)
    else:
        try:
            request = HTTPXRequest(proxy=config.proxy, connect_timeout=10.0, read_timeout=15.0)
        except RuntimeError as e:  # python-telegram-bot without its `socks` extra
            raise StartupProblem(
                "DUBAN_PROXY / telegram.proxy 是 SOCKS 代理，但未安装 SOCKS 支持：请运行 "
                "`pip install \"python-telegram-bot[socks]\"`（或重新 `pip install -e .`）"
            ) from e
    return Bot(config.token, base_url=f"{config.api_root}/bot",
               base_file_url=f"{config.api_root}/file/bot", request=request)


async def bot_identity(config: Config) -> User:
    """getMe (only: never getUpdates, so this is safe beside a running bot)."""
    if not config.token:
        raise StartupProblem(f"未配置令牌：请设置 {_TOKEN}")
    bot = make_bot(config)
    try:
        await bot.initialize()  # one getMe
        return bot.bot
    except Exception as e:
        line = bot_api_line(e, config)
        if line is None:
            raise
        raise StartupProblem(line) from e
    finally:
        await bot.shutdown()          # nothing when initialize() failed…
        await bot.request.shutdown()  # …so close the connections here too


async def database_for_start(url: str) -> health.Health:
    """What `duban run` / `duban demo` need: usable, writable, not newer than the code
    (a database behind is upgraded by the caller; a missing SQLite file is created)."""
    try:
        return await health.check_database(url, write=True, schema=False)
    except health.DatabaseProblem as e:
        raise StartupProblem(database_line(e)) from e


async def schema_not_newer(url: str, where: str) -> None:
    try:
        await health.schema_state(url, where)
    except health.Behind:
        pass
    except health.TooNew as e:
        raise StartupProblem(database_line(e)) from e


async def check_start(config: Config, *, api: bool = True) -> None:
    """Everything `duban run` checks before it builds the application."""
    url = config.db
    state = await database_for_start(url)
    if state.backend != "sqlite" or (p := health.sqlite_path(url)) is None or p.exists():
        await schema_not_newer(url, state.where)
        await offices_configured(config)
    if api:
        await bot_identity(config)


async def stored_offices(url: str) -> list[Office] | None:
    """The offices in the database (None: it cannot say yet, e.g. a schema still behind)."""
    engine = make_engine(url)
    try:
        async with uow_factory(engine, read_only=True)() as u:
            return list(await u.people.offices())
    except Exception:  # not migrated yet, or no database: the start creates or upgrades it
        return None
    finally:
        await engine.dispose()


def offices_line(config: Config, offices: list[Office]) -> str | None:
    """`[offices."PREFIX"]` naming no stored office: the line to print (None: all known)."""
    try:
        check_offices(config, offices)
    except ConfigError as e:
        return str(e)
    return None


async def offices_configured(config: Config) -> None:
    if not config.offices:
        return
    offices = await stored_offices(config.db)
    line = offices_line(config, offices) if offices is not None else None
    if line is not None:
        raise StartupProblem(f"配置错误：{line}")


def run_checks(config: Config, *, api: bool = True) -> None:
    """`check_start` for synchronous callers (outside any event loop)."""
    asyncio.run(check_start(config, api=api))
