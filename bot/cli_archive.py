"""`duban archive 编号 FILE.zip`: a matter's archive (history .docx and .json, the original
files from the file store, manifest.csv), as `/archive` sends it, for bot/cli.py.

Exit code: 0 written, 1 refused (no such matter), 2 cannot start (no schema, no office).
A file reported but not (yet) in the store is listed in the manifest as missing.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from bot.config import Config
from bot.runner import make_deps
from handlers.archive import archive_zip, find_in_office
from ledger.calendar_entry import load_entered
from ledger.clock import Clock
from ledger.errors import DomainError
from storage.db import SchemaError, check_schema, database_url, make_engine
from storage.uow import uow_factory

__all__ = ["cli_archive"]


def _err(text: str) -> None:
    print(text, file=sys.stderr)


async def cli_archive(config: Config, reference: str, path: Path | str, *,
                      clock: Clock | None = None) -> int:
    engine = make_engine(database_url(config.db))
    try:
        try:
            await check_schema(engine)
        except SchemaError as e:
            _err(str(e))
            return 2
        deps = make_deps(config, engine, clock=clock)
        await load_entered(uow_factory(engine, read_only=True), deps.cal)
        async with deps.uow() as u:
            offices = await u.people.offices()
        if not offices:
            _err("数据库里还没有督查室：请先运行 `duban run`（或导入台账）。")
            return 2
        try:
            m = await find_in_office(deps, offices[0].id, reference)
        except DomainError as e:
            _err(str(e))
            return 1
        archive = await archive_zip(deps, m)
        target = Path(path)
        await asyncio.to_thread(_write, target, archive.data)
        missing = [f for f in archive.files if f.status != "stored"]
        print(f"已导出 {m.number} 的档案：办理记录 {archive.events} 条，原始文件 "
              f"{len(archive.files) - len(missing)} 个"
              + (f"，{len(missing)} 个未存档（见 manifest.csv）" if missing else "")
              + f"：{target}")
        return 0
    finally:
        await engine.dispose()


def _write(target: Path, data: bytes) -> None:
    """Whole or not at all: written beside the target, then renamed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(target)
