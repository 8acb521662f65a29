"""`duban office add 名称 --prefix 城关督 --parent 县督查室 --admin ID[:姓名]` and
`duban office list`: offices on one deployment (issue 16). Migrates DUBAN_DB first, like
the other commands that write. Exit codes: 0 done, 1 refused (bad input), 2 cannot start."""

from __future__ import annotations

import argparse
import asyncio
import sys

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Config, ConfigError, admin_item
from bot.paths import _display, _ensure_dir
from ledger.clock import Clock, SystemClock
from ledger.errors import DomainError
from ledger.offices import office_named, top_office
from ledger.usecases.offices import add_office
from storage.db import database_url
from storage.uow import uow_factory

__all__ = ["OfficeUnknown", "add_parser", "cmd_office", "office_id_named", "parse_admin",
           "web_office"]


async def _prepare(url: str) -> AsyncEngine:
    # lazy: bot.runner loads Telegram's code, which `duban deadline` and the rest never need
    from bot.runner import prepare_database
    return await prepare_database(url)


class OfficeUnknown(DomainError):
    """`--office` names no office."""


async def office_id_named(engine: AsyncEngine, office: str) -> int:
    """`--office` as typed (name, prefix or id); refuses an unknown one, naming the known."""
    async with uow_factory(engine, read_only=True)() as u:
        every = await u.offices.all()
    found = office_named(every, office)
    if found is None:
        raise OfficeUnknown(f"找不到督查室「{office}」。现有："
                            + ("、".join(o.name for o in every) or "（还没有督查室）"))
    return found.id


def web_office(url: str, office: str) -> int | None:
    """`duban web --office`: its id, or None (said on stderr) for an unknown office."""
    async def find() -> int:
        engine = await _prepare(url)
        try:
            return await office_id_named(engine, office)
        finally:
            await engine.dispose()
    try:
        return asyncio.run(find())
    except OfficeUnknown as e:
        print(str(e), file=sys.stderr)
        return None


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    op = sub.add_parser("office", help="offices on this deployment (县、乡镇督查室)")
    osub = op.add_subparsers(dest="office_command", required=True)
    add = osub.add_parser("add", help="add an office: its name, numbering prefix, parent, admins")
    add.add_argument("name", metavar="名称")
    add.add_argument("--prefix", required=True, help="numbering prefix: 城关督 → 城关督〔2026〕1号")
    add.add_argument("--parent", default=None, help="the parent office's name or prefix")
    add.add_argument("--admin", action="append", default=[], metavar="ID[:姓名]",
                     help="a Telegram user id of its admin, optionally with a name; repeatable")
    osub.add_parser("list", help="the offices, their prefixes and parents")


def parse_admin(text: str) -> tuple[int, str | None]:
    """`123456` or `123456:张三`: the DUBAN_ADMINS syntax, by its one parser."""
    try:
        tg, name = admin_item("--admin", text)
    except ConfigError as e:
        raise ValueError(str(e)) from None
    return tg, name or None


def cmd_office(config: Config, args: argparse.Namespace, clock: Clock | None = None) -> int:
    if args.office_command == "add":
        try:
            admins = [parse_admin(a) for a in args.admin]
        except ValueError as e:
            print(str(e), file=sys.stderr)
            return 1
        return asyncio.run(_add(config, args.name, args.prefix, args.parent, admins,
                                clock or SystemClock()))
    return asyncio.run(_list(config))


async def _add(config: Config, name: str, prefix: str, parent: str | None,
               admins: list[tuple[int, str | None]], clock: Clock) -> int:
    url = database_url(config.db)
    _ensure_dir(url)
    engine = await _prepare(url)
    try:
        try:
            office = await add_office(uow_factory(engine)(), clock, name, prefix, parent, admins)
        except DomainError as e:
            print(f"未添加：{e}", file=sys.stderr)
            return 1
    finally:
        await engine.dispose()
    print(f"已添加督查室「{office.name}」（编号 {office.doc_prefix}〔年份〕序号号），"
          f"数据库：{_display(url)}")
    if parent:
        print(f"上级督查室：{parent}")
    if admins:
        print("管理员：" + "、".join(f"{n or '管理员'}（{tg}）" for tg, n in admins)
              + "。请他们在私聊中向机器人发送 /start。")
    else:
        print("还没有管理员：用 --admin ID 重新添加，或由上级督查室管理员在 /offices 中邀请。")
    return 0


async def _list(config: Config) -> int:
    url = database_url(config.db)
    _ensure_dir(url)
    engine = await _prepare(url)
    try:
        async with uow_factory(engine, read_only=True)() as u:
            every = await u.offices.all()
    finally:
        await engine.dispose()
    if not every:
        print("还没有督查室：运行 `duban run`，或 duban office add 名称 --prefix 前缀。")
        return 0
    names = {o.id: o.name for o in every}
    top = top_office(every)
    for o in every:
        above = f"，上级：{names[o.parent_id]}" if o.parent_id in names else ""
        mark = "（默认）" if top is not None and o.id == top.id else ""
        print(f"{o.id}\t{o.name}{mark}\t编号前缀 {o.doc_prefix}{above}")
    return 0
