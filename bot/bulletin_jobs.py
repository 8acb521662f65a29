"""Scheduled bulletins: each `[[bulletins]]` spec becomes a JobQueue job on an APScheduler
CronTrigger (Asia/Shanghai). When it fires it publishes the issue for its period (numbered,
kept in the ledger), then posts it to every named chat: the text (split at 4096), the chart
as a photo and the .docx as a document. A chat already posted to (the job ran again, or the
process restarted mid-way) is skipped; a chat that fails is logged and the others still get
it.

Sent through the chat layer's delivery adapter (handlers.delivery.send_bulletin): the
same rate limiter and the same reading of Telegram's refusals as every outbox notice.
Scheduled from bot/app.py's post_init (in the process that holds the scheduler lock).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from telegram import Bot
from telegram.ext import Job

from bot.config_sections import BulletinSpec, cron_trigger
from bot.reminder_jobs import START_JOB, service_for
from handlers.delivery import SendRefused, send_bulletin
from handlers.deps import App, Ctx, Deps
from handlers.receipts import read_markup
from ledger.bulletins import current_period, previous_period
from ledger.clock import local_today
from ledger.model import Role
from ledger.usecases.receipts import open_bulletin_receipt
from reports.bulletin import Bulletin, publish, render_files

__all__ = ["BulletinJob", "Posted", "bulletin_job", "post_bulletin", "schedule_bulletins"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BulletinJob:
    spec: BulletinSpec
    office_id: int | None = None   # None: the first office (a single-office deployment)


@dataclass
class Posted:
    bulletin: Bulletin
    new: bool
    sent: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)    # posted before
    failed: dict[int, str] = field(default_factory=dict)


def schedule_bulletins(app: App, specs: Sequence[BulletinSpec], office_id: int | None = None,
                       ) -> list[Job[Ctx]]:
    """One cron job per spec; returns the jobs (their `next_t` says when each runs)."""
    assert app.job_queue is not None, "python-telegram-bot[job-queue] is required"
    jobs: list[Job[Ctx]] = []
    for i, spec in enumerate(specs):
        jobs.append(app.job_queue.run_custom(
            bulletin_job, job_kwargs={"trigger": cron_trigger(spec.cron)},
            data=BulletinJob(spec, office_id), name=f"{spec.name}-{i}"))
    return jobs


async def bulletin_job(context: Ctx) -> None:
    job = context.job
    assert job is not None and isinstance(job.data, BulletinJob)

    jq = context.application.job_queue
    waiting = jq is not None and bool(jq.get_jobs_by_name(START_JOB))
    if waiting and service_for(context.application) is None:
        # Our scheduler is waiting for the lock another instance holds: that one posts.
        log.info("bulletin %s skipped: another instance runs the scheduler", job.name)
        return
    # A failure goes to the job error handler (handlers.errors.on_job_error): logged with
    # its traceback and reported to the ops chat or the admins; the job queue goes on.
    await post_bulletin(context.bot, context.deps, job.data.spec, job.data.office_id)


async def _targets(deps: Deps, spec: BulletinSpec, office_id: int) -> list[int]:
    targets = list(spec.chats)
    if spec.leaders:
        async with deps.uow() as uow:
            for p in await uow.people.persons(office_id):
                if p.has(Role.LEADER) and p.telegram_id is not None and p.reachable:
                    targets.append(p.telegram_id)
    return list(dict.fromkeys(targets))


async def post_bulletin(bot: Bot, deps: Deps, spec: BulletinSpec, office_id: int | None = None,
                        ) -> Posted:
    """Publish the issue `spec` names for its period and post it to its chats."""
    if office_id is None:
        async with deps.uow() as uow:
            offices = await uow.people.offices()
        if not offices:
            raise RuntimeError("no office yet: nothing to report")
        office_id = offices[0].id
    today = local_today(deps.clock)
    period = (previous_period(spec.kind, today) if spec.period == "previous"
              else current_period(spec.kind, today))
    b, record, new = await publish(deps.uow, deps.clock, deps.cal, office_id, spec.kind, period,
                                   policy=deps.light_policy)
    assert record.id is not None
    files = await render_files(b, deps.cal, recipients=spec.recipients)  # in a thread
    posted = Posted(b, new)
    for chat_id in await _targets(deps, spec, office_id):
        if chat_id in record.delivered:
            posted.skipped.append(chat_id)
            continue
        # In a group bound to the office: 「已阅」 on the .docx (handlers.receipts).
        receipt = await open_bulletin_receipt(
            deps.uow(), deps.clock, deps.cal, deps.config.reminders.receipts, office_id,
            record.id, f"{b.name}（{b.doc_number}）", chat_id)
        try:
            message = await send_bulletin(
                bot, chat_id, files.texts, files.chart_png, f"{b.name}　各单位按时办结与超期情况",
                files.docx, files.docx_name, f"{b.name}（{b.doc_number}）",
                read_markup(deps, receipt.id) if receipt and receipt.id else None)
        except SendRefused as e:
            log.warning("bulletin %s to chat %s failed: %s", b.name, chat_id, e)
            posted.failed[chat_id] = str(e)
            continue
        async with deps.uow() as uow:
            await uow.bulletins.mark_delivered(record.id, chat_id)
            if receipt is not None and receipt.id is not None:
                await uow.receipts.posted(receipt.id, message.chat_id, message.message_id)
            await uow.commit()
        posted.sent.append(chat_id)
    return posted
