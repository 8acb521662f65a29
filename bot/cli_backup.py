"""`duban backup FILE` and `duban restore [--force] FILE` (storage.backup does the work)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.config import Config
from ledger.clock import SystemClock
from storage.backup import BackupError, dump, restore, sqlite_path
from storage.db import SchemaError, database_url, head_revision, make_engine
from storage.filestore import default_root


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bk = sub.add_parser("backup", help="write a backup of the whole database, every office "
                                       "(no --office; safe while the bot runs)")
    bk.add_argument("file")
    rs = sub.add_parser("restore", help="restore a backup into the empty database DUBAN_DB")
    rs.add_argument("file")
    rs.add_argument("--force", action="store_true",
                    help="replace a database that is not empty (stop the bot first)")


def files_dir(config: Config) -> Path | None:
    """The evidence file store ([files] dir, default beside the SQLite file): backed up and
    restored with the database."""
    return default_root(config.files_dir, config.db)


def display_url(url: str) -> str:
    """A database URL without its password."""

    sa_url = make_url(url)
    if sa_url.get_backend_name() == "sqlite":
        return str(sa_url.database)
    return sa_url.render_as_string(hide_password=True)


# A database that cannot be reached or written: one line, not a traceback.
DB_ERRORS: tuple[type[BaseException], ...] = (OSError,)
try:
    from sqlalchemy.exc import SQLAlchemyError
    DB_ERRORS = (OSError, SQLAlchemyError)
    import asyncpg
    DB_ERRORS = (*DB_ERRORS, asyncpg.PostgresError)
except ImportError:  # pragma: no cover - asyncpg is a dependency
    pass


def unreachable(url: str, e: BaseException) -> str:
    detail = (getattr(e, "strerror", None) or str(e).splitlines()[0] if str(e) else
              type(e).__name__)
    return f"无法读写数据库或文件（{display_url(url)}）：{detail}"


def cmd_backup(config: Config, file: str) -> int:

    url = database_url(config.db)
    out = Path(file)
    try:
        path = sqlite_path(url)
    except BackupError as e:
        print(f"备份失败：{e}", file=sys.stderr)
        return 2
    if path is not None and not path.exists():
        print(f"备份失败：数据库文件不存在：{path}", file=sys.stderr)
        return 2

    async def go() -> int:

        engine = make_engine(url)
        try:
            info = await dump(engine, out, files_dir=files_dir(config),
                              created_at=SystemClock().now())
        except (SchemaError, BackupError) as e:
            print(f"备份失败：{str(e).splitlines()[0]}", file=sys.stderr)
            return 2
        except DB_ERRORS as e:
            print(f"备份失败：{unreachable(url, e)}", file=sys.stderr)
            return 2
        finally:
            await engine.dispose()
        print(f"已备份到 {out}（数据库版本 {info.revision}；{info.summary}"
              f"{f'；附件 {info.files} 个' if info.files else ''}）")
        return 0
    return asyncio.run(go())


def cmd_restore(config: Config, file: str, force: bool) -> int:

    url = database_url(config.db)
    try:
        info = asyncio.run(restore(url, Path(file), force=force, files_dir=files_dir(config)))
    except BackupError as e:
        print(f"恢复失败：{e}", file=sys.stderr)
        return 1
    except DB_ERRORS as e:
        print(f"恢复失败：{unreachable(url, e)}", file=sys.stderr)
        return 2
    head = head_revision()
    upgraded = f"，已升级到 {head}" if info.revision != head else ""
    print(f"已恢复到 {display_url(url)}（备份的数据库版本 {info.revision}{upgraded}；"
          f"{info.summary}{f'；附件 {info.files} 个' if info.files else ''}）")
    return 0
