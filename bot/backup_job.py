"""Nightly backups (`[backup]` in the config): `duban backup` run by the bot itself, on the
instance that holds the scheduler lock (so two instances do not both write one), keeping
the newest `keep` files in `dir`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.config import ConfigError
from ledger.clock import LOCAL_TZ, to_local

if TYPE_CHECKING:
    from bot.context import App, Ctx

log = logging.getLogger(__name__)

JOB_NAME = "nightly-backup"
PREFIX = "duban-backup-"
SUFFIX = ".zip"
_KEYS = {"dir", "time", "keep"}


@dataclass(frozen=True)
class BackupSchedule:
    dir: Path
    at: time = time(3, 0)   # Asia/Shanghai
    keep: int = 7


def parse_backup(raw: Mapping[str, Any] | None, base: Path) -> BackupSchedule | None:
    """`[backup]`: dir (relative to the config file), time ("03:00"), keep (files)."""
    if not raw:
        return None
    for k in raw:
        if k not in _KEYS:
            raise ConfigError(f"配置项 backup.{k} 不认识；可用的有：{', '.join(sorted(_KEYS))}")
    if not raw.get("dir"):
        raise ConfigError("配置项 backup.dir 缺失：写上备份文件存放的目录，如 \"/var/backups/duban\"")
    d = BackupSchedule(Path())
    try:
        at = time.fromisoformat(str(raw.get("time", d.at.strftime("%H:%M"))))
    except ValueError:
        raise ConfigError(f"配置项 backup.time 应为时刻，如 \"03:00\"，实际为 {raw['time']!r}") from None
    keep = raw.get("keep", d.keep)
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
        raise ConfigError(f"配置项 backup.keep 应为正整数（保留的备份份数），实际为 {keep!r}")
    return BackupSchedule(dir=base / str(raw["dir"]), at=at, keep=keep)


async def nightly_backup(url: str, spec: BackupSchedule, now: datetime,
                         files_dir: Path | None = None) -> Path:
    """One backup into `spec.dir`, then the oldest beyond `spec.keep` removed."""
    from storage.backup import dump
    from storage.db import make_engine

    await asyncio.to_thread(spec.dir.mkdir, parents=True, exist_ok=True)
    target = spec.dir / f"{PREFIX}{to_local(now):%Y%m%d-%H%M%S}{SUFFIX}"
    engine = make_engine(url)
    try:
        await dump(engine, target, files_dir=files_dir, created_at=now)
    finally:
        await engine.dispose()
    await asyncio.to_thread(_prune, spec.dir, spec.keep)
    return target


def _prune(directory: Path, keep: int) -> None:
    ours = sorted(p for p in directory.glob(f"{PREFIX}*{SUFFIX}") if p.is_file())
    for old in ours[:-keep]:
        old.unlink(missing_ok=True)


def schedule_backups(app: App) -> None:
    """From post_init: the daily job, when `[backup]` is configured."""
    spec = app.bot_data.deps.config.backup
    if spec is None or app.job_queue is None:
        return
    app.job_queue.run_daily(backup_job, spec.at.replace(tzinfo=LOCAL_TZ), name=JOB_NAME,
                            data=spec)


async def backup_job(context: Ctx) -> None:
    from bot.cli_backup import files_dir
    from reminders.scheduler import service_for
    from storage.db import database_url

    app = context.application
    if service_for(app) is None:   # another instance holds the scheduler lock: its job
        return
    deps = app.bot_data.deps
    spec = deps.config.backup
    if spec is None:
        return
    try:
        path = await nightly_backup(database_url(deps.config.db), spec, deps.clock.now(),
                                    files_dir(deps.config))
    except Exception:
        log.exception("nightly backup into %s failed", spec.dir)
        return
    log.info("nightly backup written: %s", path)
