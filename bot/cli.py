"""`duban`: the command line. Subcommands are a stable interface for outside scripts."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import traceback
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from bot import cli_backup, cli_offices
from bot.cli_holidays import add_parser as add_holidays_parser
from bot.cli_holidays import calendar_with_entered, cmd_holidays, provisional_note
from bot.config import Config, ConfigError, load_config
from bot.logs import configure_logging
from bot.paths import _display, _ensure_dir
from ledger.clock import SystemClock
from ledger.errors import DomainError
from ledger.offices import top_office
from ledger.workcalendar import ScheduleError, WorkCalendar
from settings.offices import web_title
from storage.db import database_url, upgrade_sync
from storage.uow import uow_factory

# The commands' heavy modules (Telegram, aiohttp, openpyxl) load inside the command that
# needs them, so that `duban deadline` or `duban backup` starts without them.


def _calendar(config: Config) -> WorkCalendar:
    return calendar_with_entered(config)


def cmd_deadline(config: Config, start: str, n: str) -> int:
    """First word printed: the ISO date (scripts rely on it)."""
    try:
        begin = date.fromisoformat(start)
    except ValueError:
        print(f"起始日期应写成 2026-09-28 这样的格式，实际为「{start}」", file=sys.stderr)
        return 2
    try:
        count = int(n)
        if count < 0:
            raise ValueError
    except ValueError:
        print(f"工作日数应为非负整数，实际为「{n}」", file=sys.stderr)
        return 2
    try:
        cal = _calendar(config)
        result = cal.add_workdays(begin, count)
    except (DomainError, ScheduleError) as e:
        print(str(e), file=sys.stderr)
        return 1
    note = provisional_note(cal, begin, result)
    print(f"{result.isoformat()} （{begin.isoformat()} 之后第 {count} 个工作日）"
          + (f"\n{note}" if note else ""))
    return 0


def cmd_db_upgrade(config: Config) -> int:
    from bot.preflight import run_checks  # lazy: heavy, this command only

    run_checks(config, api=False)
    url = database_url(config.db)
    _ensure_dir(url)
    upgrade_sync(url)
    print(f"数据库已升级到最新结构：{_display(url)}")
    return 0


def cmd_run(config: Config, webhook: bool) -> int:
    if not config.token:
        print("未配置 DUBAN_TOKEN：运行离线演示（本地 Bot API 沙盒）。"
              "要连接真实 Telegram，请按 README 配置令牌。\n")
        return cmd_demo(config)
    from bot.runner import run_bot  # lazy: heavy, this command only

    return run_bot(config, webhook=webhook)


def cmd_demo(config: Config) -> int:
    from bot.demo import run_demo  # lazy: heavy, this command only

    return asyncio.run(run_demo(config))


def cmd_web(config: Config, host: str | None, port: int | None,
            office: str | None = None) -> int:
    """The read-only public page (公示) of one office (`--office`; default the only or the
    top office): the same matters as the public channel."""
    from aiohttp import web  # lazy: heavy, this command only

    from bot.preflight import run_checks  # lazy: heavy, this command only
    from bot.runner import prepare_database  # lazy: heavy, this command only
    from public.web import make_app  # lazy: heavy, this command only

    run_checks(config, api=False)
    url = database_url(config.db)
    _ensure_dir(url)
    host = host or config.web_host
    port = port or config.web_port

    office_id = None
    if office is not None:
        from bot.cli_offices import web_office  # lazy: a command loads only its own

        office_id = web_office(url, office)
        if office_id is None:
            return 1

    async def build() -> web.Application:
        engine = await prepare_database(url)
        read = uow_factory(engine, read_only=True)
        async with read() as u:
            offices = await u.people.offices()
        top = top_office(offices)
        shown = office_id if office_id is not None else top.id if top is not None else None
        # The office's own title ([offices."城关督".public] web_title), else a township's
        # name before [public] web_title.
        title = web_title(config, offices, shown) if shown is not None else config.web_title
        app = make_app(read, SystemClock(), title, office_id)

        async def dispose(_: web.Application) -> None:
            await engine.dispose()
        app.on_cleanup.append(dispose)
        return app

    print(f"公示网页：http://{host}:{port}/ （只读；Ctrl-C 结束）")
    web.run_app(build(), host=host, port=port, print=None)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="duban", description="督办 bot")
    p.add_argument("--debug", action="store_true",
                   help="debug logging; a failed start shows its traceback")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start the bot (no token: the offline demo)")
    run.add_argument("--webhook", action="store_true", help="use a webhook, not long polling")
    sub.add_parser("demo", help="play the whole loop on the local sandbox and print it")
    dl = sub.add_parser("deadline", help="the date N working days after FROM")
    dl.add_argument("start", metavar="FROM")
    dl.add_argument("n", metavar="N")
    ex = sub.add_parser("export", help="write the ledger to an .xlsx file")
    ex.add_argument("file")
    ex.add_argument("--office", default=None,
                    help="the office's name or prefix (default: the only or the top office)")
    im = sub.add_parser("import", help="register matters from an .xlsx ledger")
    im.add_argument("file")
    ar = sub.add_parser("archive", help="a matter's history and original files as a .zip")
    ar.add_argument("reference", metavar="编号")
    ar.add_argument("file", metavar="FILE.zip")
    db = sub.add_parser("db", help="database maintenance")
    dbsub = db.add_subparsers(dest="db_command", required=True)
    dbsub.add_parser("upgrade", help="apply migrations")
    wb = sub.add_parser("web", help="the public read-only web page")
    wb.add_argument("--host", default=None, help="default: [public] web_host")
    wb.add_argument("--port", type=int, default=None, help="default: [public] web_port")
    wb.add_argument("--office", default=None,
                    help="the office's name or prefix (default: the only or the top office)")
    sub.add_parser("doctor", help="check config, Bot API, database, calendar, lock, channel, "
                                  "file store; one line each (safe beside a running bot)")
    add_holidays_parser(sub)
    cli_backup.add_parsers(sub)
    cli_offices.add_parser(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "doctor":
        from bot.doctor import cli_doctor  # lazy: heavy, this command only
        return cli_doctor(debug=args.debug)
    try:
        config = load_config()
    except ConfigError as e:
        print(f"配置错误：{e}", file=sys.stderr)
        return 2
    # Token and URL passwords are masked in every line, in either format.
    configure_logging(config.log_format, config.log_level, token=config.token,
                      debug=args.debug)
    try:
        if args.command == "deadline":
            return cmd_deadline(config, args.start, args.n)
        if args.command == "db":
            return cmd_db_upgrade(config)
        if args.command == "run":
            return cmd_run(config, args.webhook)
        if args.command == "demo":
            return cmd_demo(config)
        if args.command == "export":
            from bot.cli_reports import cli_export  # lazy: heavy, this command only
            return asyncio.run(cli_export(config, Path(args.file), office=args.office))
        if args.command == "archive":
            from bot.cli_archive import cli_archive  # lazy: a command loads only its own
            return asyncio.run(cli_archive(config, args.reference, Path(args.file)))
        if args.command in ("backup", "restore"):
            if args.command == "backup":
                return cli_backup.cmd_backup(config, args.file)
            return cli_backup.cmd_restore(config, args.file, args.force)
        if args.command == "import":
            from bot.cli_reports import cli_import  # lazy: heavy, this command only
            return asyncio.run(cli_import(config, Path(args.file)))
        if args.command == "office":
            from bot.cli_offices import cmd_office  # lazy: a command loads only its own
            return cmd_office(config, args)
        if args.command == "holidays":
            return cmd_holidays(config, args)
        return cmd_web(config, args.host, args.port, args.office)
    except ScheduleError as e:
        print(f"schedule.toml 有误：{e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `duban holidays show 2027 | head`: the reader left early; nothing went wrong here.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as e:
        return _failed_start(e, config, args.debug)


def _failed_start(e: Exception, config: Config, debug: bool) -> int:
    """A start-up failure we know: its one line (and with --debug its traceback), exit 2."""
    from bot.preflight import mask_secrets, startup_line  # lazy: heavy, this command only

    line = startup_line(e, config)
    if line is None:
        raise e
    if debug:
        print(mask_secrets("".join(traceback.format_exception(e)), config), file=sys.stderr)
    print(line, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
