"""Scheduled bulletins: each `[[bulletins]]` spec becomes a JobQueue job on an APScheduler
CronTrigger (Asia/Shanghai). When it fires it publishes the issue for its period (numbered,
kept in the ledger), then queues it for every named chat as a `bulletin` outbox notice
(the issue's id and the chat only). The outbox dispatcher sends it (handlers.delivery:
the text split at 4096, the chart as a photo, the .docx as a document, rebuilt from the
record), with the outbox's pacing and backoff: the one retry policy. A chat already posted
to (`bulletins.delivered`; the job ran again, or the process restarted mid-way) is skipped;
a chat that refuses fails alone and the others still get it.

Scheduled from bot/app.py's post_init (in the process that holds the scheduler lock).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from telegram.ext import Job

from bot.config import Config
from bot.config_sections import BulletinSpec, cron_trigger
from bot.reminder_jobs import START_JOB, service_for
from handlers.deps import App, Ctx, Deps
from ledger.bulletins import current_period, previous_period
from ledger.clock import local_today
from ledger.model import Office, Role
from ledger.offices import bulletin_chats, top_office
from ledger.ports import Notice
from ledger.usecases.receipts import bulletin_receipt
from reminders import kinds
from reports.bulletin import Bulletin, publish
from settings.offices import office_bulletins

__all__ = ["BulletinJob", "Posted", "bulletin_job", "delivery", "post_bulletin",
           "schedule_bulletins", "schedule_office_bulletins"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BulletinJob:
    spec: BulletinSpec
    office_id: int | None = None   # None: the first office (a single-office deployment)


@dataclass
class Posted:
    bulletin: Bulletin
    new: bool
    bulletin_id: int = 0
    office_id: int = 0
    queued: list[int] = field(default_factory=list)     # chats it is (still) going to
    skipped: list[int] = field(default_factory=list)    # posted before


@dataclass
class Delivery:
    """Where an issue went, as the ledger and the outbox know it."""

    sent: list[int] = field(default_factory=list)
    pending: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)


def _key(bulletin_id: int, chat_id: int) -> str:
    return f"bulletin:{bulletin_id}:{chat_id}"


def schedule_bulletins(app: App, specs: Sequence[BulletinSpec], office_id: int | None = None,
                       ) -> list[Job[Ctx]]:
    """One cron job per spec; returns the jobs (their `next_t` says when each runs)."""
    assert app.job_queue is not None, "python-telegram-bot[job-queue] is required"
    jobs: list[Job[Ctx]] = []
    for i, spec in enumerate(specs):
        name = f"{spec.name}-{i}" if office_id is None else f"{spec.name}-o{office_id}-{i}"
        jobs.append(app.job_queue.run_custom(
            bulletin_job, job_kwargs={"trigger": cron_trigger(spec.cron)},
            data=BulletinJob(spec, office_id), name=name))
    return jobs


def schedule_office_bulletins(app: App, config: Config, offices: Sequence[Office],
                              ) -> list[Job[Ctx]]:
    """Each office's scheduled bulletins (settings.offices.office_bulletins: the top office
    has [[bulletins]] and its own table's, the others their own table's): each issue
    numbered by its office's prefix, counting its own ledger, sent to its own chats."""
    if not offices:  # not bootstrapped yet: the first office, when the job fires
        return schedule_bulletins(app, config.bulletins)
    jobs: list[Job[Ctx]] = []
    by: dict[int, list[BulletinSpec]] = {}
    for office_id, spec in office_bulletins(config, offices):
        by.setdefault(office_id, []).append(spec)
    for office_id, specs in by.items():
        jobs += schedule_bulletins(app, specs, office_id)
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
    await post_bulletin(context.deps, job.data.spec, job.data.office_id)


async def _targets(deps: Deps, spec: BulletinSpec, office_id: int) -> list[int]:
    """The spec's chats and (groups) the office's bound groups, never a group bound to
    another office (ledger.offices.bulletin_chats); its leaders privately (leaders)."""
    async with deps.uow() as uow:
        bound = {c: g.office_id for c in spec.chats if (g := await uow.chats.get(c)) is not None}
        if spec.groups:
            bound |= {g.chat_id: g.office_id for g in await uow.chats.for_office(office_id)}
        targets, refused = bulletin_chats(spec.chats, bound, office_id, spec.groups)
        if spec.leaders:
            for p in await uow.people.persons(office_id):
                if p.has(Role.LEADER) and p.telegram_id is not None and p.reachable:
                    targets.append(p.telegram_id)
    for chat_id in refused:
        log.warning("bulletin %s of office %s not sent to chat %s: that group is bound to "
                    "another office", spec.name, office_id, chat_id)
    return list(dict.fromkeys(targets))


async def post_bulletin(deps: Deps, spec: BulletinSpec, office_id: int | None = None,
                        ) -> Posted:
    """Publish the issue `spec` names for its period and queue it for its chats."""
    if office_id is None:
        async with deps.uow() as uow:
            top = top_office(await uow.people.offices())
        if top is None:
            raise RuntimeError("no office yet: nothing to report")
        office_id = top.id
    today = local_today(deps.clock)
    period = (previous_period(spec.kind, today) if spec.period == "previous"
              else current_period(spec.kind, today))
    b, record, new = await publish(deps.uow, deps.clock, deps.cal, office_id, spec.kind, period,
                                   policy=deps.light_policy)
    assert record.id is not None
    posted = Posted(b, new, record.id, office_id)
    now = deps.clock.now()
    targets = await _targets(deps, spec, office_id)  # its own unit of work: not nested
    title = f"{b.name}（{b.doc_number}）"
    async with deps.uow() as uow:
        queued = {n.key for n in await uow.outbox.by_keys(
            [_key(record.id, chat_id) for chat_id in targets])}
        for chat_id in targets:
            if chat_id in record.delivered:
                posted.skipped.append(chat_id)
                continue
            # Queued once per issue and chat (the key): a second run adds nothing.
            if _key(record.id, chat_id) not in queued:
                # In a group bound to the office: 「已阅」 on the .docx (handlers.receipts),
                # opened in the same transaction as its outbox row.
                receipt = await bulletin_receipt(uow, deps.clock, deps.cal,
                                                 deps.config.reminders.receipts, office_id,
                                                 record.id, title, chat_id)
                await uow.outbox.add(Notice(
                    key=_key(record.id, chat_id), office_id=office_id, kind=kinds.BULLETIN,
                    due_at=now, chat_id=chat_id,
                    payload={"bulletin_id": record.id, "recipients": spec.recipients,
                             "receipt_id": receipt.id if receipt is not None else None}))
            posted.queued.append(chat_id)
        await uow.commit()
    deps.kick()
    return posted


async def delivery(deps: Deps, posted: Posted) -> Delivery:
    """Where the issue has gone so far (sent), is going (pending) and failed (why)."""
    out = Delivery()
    async with deps.uow() as uow:
        record = next(r for r in await uow.bulletins.list(posted.office_id)
                      if r.id == posted.bulletin_id)
        notices = await uow.outbox.by_keys(
            [_key(posted.bulletin_id, c) for c in posted.queued])
    out.sent = [c for c in posted.skipped + posted.queued if c in record.delivered]
    for n in notices:
        assert n.chat_id is not None
        if n.chat_id in record.delivered:
            continue
        if n.status == "pending":
            out.pending.append(n.chat_id)
        else:
            out.failed[n.chat_id] = n.last_error or n.status
    return out
