"""The stored light (matters.light) recounted when a day passes: at start (a database just
migrated to 0010 is all green), every night just after midnight in Shanghai, and when a
year's holiday arrangement is entered. Batches of short transactions, counted in a thread
(ledger.usecases.reading.recount_lights), so chats keep being answered meanwhile."""

from __future__ import annotations

import logging
from datetime import time
from typing import cast

from handlers.deps import App, Ctx, Deps
from ledger.clock import LOCAL_TZ
from ledger.usecases import reading

log = logging.getLogger(__name__)

RECOUNT_JOB = "lights-recount"
BATCH = 2000  # matters a transaction: a few ms of the writer lock each


async def recount(deps: Deps) -> int:
    changed = await reading.recount_lights(deps.uow, batch=BATCH)
    if changed:
        log.info("lights recounted: %d matters changed", changed)
    return changed


async def recount_job(context: Ctx) -> None:
    await recount(context.deps)


def recount_soon(context: Ctx) -> None:
    """After something that moves lights without saving the matters (a year entered)."""
    jq = cast(App, context.application).job_queue
    if jq is not None:
        jq.run_once(recount_job, 0, name=f"{RECOUNT_JOB}-now")


def schedule_light_recount(app: App) -> None:
    if app.job_queue is None:
        return
    app.job_queue.run_once(recount_job, 0, name=f"{RECOUNT_JOB}-start")
    app.job_queue.run_daily(recount_job, time(0, 0, 30, tzinfo=LOCAL_TZ), name=RECOUNT_JOB)
