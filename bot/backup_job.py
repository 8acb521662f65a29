"""Nightly backups (`[backup]` in the config): `duban backup` run by the bot itself, on the
instance that holds the scheduler lock (so two instances do not both write one), keeping
the newest `keep` files in `dir`."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli_backup import files_dir
from bot.reminder_jobs import service_for
from ledger.clock import LOCAL_TZ, to_local
from settings import BackupSchedule
from storage.backup import dump
from storage.db import database_url, make_engine

if TYPE_CHECKING:
    from handlers.deps import App, Ctx

log = logging.getLogger(__name__)

JOB_NAME = "nightly-backup"
PREFIX = "duban-backup-"
SUFFIX = ".zip"


async def nightly_backup(url: str, spec: BackupSchedule, now: datetime,
                         files_dir: Path | None = None) -> Path:
    """One backup into `spec.dir`, then the oldest beyond `spec.keep` removed."""
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
