"""公示 (§2.7): one post per public matter in the office's public channel, edited when the
matter changes; a closed matter's post shows 已销号 and its close date. Confidential
matters never appear (ledger.publicview decides what is public).

`sync_channel` compares each public matter's post text with what was last posted (a
digest in `public_posts`) and sends or edits only what changed. It runs on the JobQueue
every minute and right after a use case kicks the dispatcher.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass, replace

from aiohttp import web
from telegram import Bot

from handlers.common import fit
from handlers.delivery import SendRefused, post_or_edit
from handlers.deps import App, Ctx, Deps
from ledger.model import MatterStatus
from ledger.ports import PublicPost
from ledger.publicview import is_public, public_row
from public.web import serve

log = logging.getLogger(__name__)

SYNC_JOB = "public-channel-sync"
SYNC_EVERY_SECONDS = 60
_locks: dict[tuple[str, int], asyncio.Lock] = {}
# Per process: the matter versions already in the channel, so a run only renders the
# matters that changed since (the first run after a start compares every digest).
_seen: dict[tuple[str, int], dict[int, int]] = {}


def _key(bot: Bot) -> tuple[str, int]:
    return (bot.token, id(asyncio.get_running_loop()))


def _lock(bot: Bot) -> asyncio.Lock:
    """One sync at a time per bot and event loop (the job and a kick may overlap)."""
    lock = _locks.get(_key(bot))
    if lock is None:
        lock = _locks[_key(bot)] = asyncio.Lock()
    return lock


@dataclass
class SyncStats:
    posted: int = 0
    edited: int = 0
    unchanged: int = 0


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


async def sync_channel(bot: Bot, deps: Deps) -> SyncStats:
    """Bring the public channel up to date with the ledger. No channel configured: no-op."""
    stats = SyncStats()
    channel = deps.config.public_channel_id
    if channel is None:
        return stats
    async with _lock(bot):
        seen = _seen.setdefault(_key(bot), {})
        async with deps.uow() as uow:
            offices = await uow.people.offices()
            wanted: list[tuple[int, int, str, PublicPost | None]] = []
            for office in offices:
                versions = await uow.posts.candidates(office.id)
                changed = [mid for mid, v in versions.items() if seen.get(mid) != v]
                if not changed:
                    continue
                units = {u.id: u for u in await uow.people.units(office.id)}
                persons = {p.id: p for p in await uow.people.persons(office.id)}
                for mid in sorted(changed):
                    m = await uow.matters.get(mid)
                    post = await uow.posts.get(mid)
                    if is_public(m):
                        text = deps.render("public_post.j2",
                                           r=public_row(m, units, persons))
                    elif post is not None and m.status == MatterStatus.CANCELLED:
                        text = deps.render("lines.j2", k="public_cancelled", m=m)
                    else:
                        seen[mid] = m.version
                        continue
                    wanted.append((mid, m.version, fit(text), post))
        for matter_id, version, text, post in wanted:
            digest = _digest(text)
            if post is not None and post.digest == digest:
                seen[matter_id] = version
                stats.unchanged += 1
                continue
            now = deps.clock.now()
            try:
                chat_id, message_id = await post_or_edit(
                    bot, channel, text,
                    None if post is None else (post.chat_id, post.message_id))
            except SendRefused as e:
                if e.retry:
                    log.info("public channel: flood limit, the rest waits for the next run")
                    break
                log.warning("public channel: could not post matter %s: %s", matter_id, e)
                continue
            if post is None:
                new = PublicPost(matter_id, chat_id, message_id, digest, now)
                stats.posted += 1
            else:
                new = replace(post, digest=digest, edited_at=now)
                stats.edited += 1
            async with deps.uow() as uow:
                await uow.posts.put(new)
                await uow.commit()
            seen[matter_id] = version
    return stats


async def sync_job(context: Ctx) -> None:
    await sync_channel(context.bot, context.deps)


def schedule_public(app: App) -> None:
    """Every minute, and right after each kick (a use case changed something)."""
    deps = app.bot_data.deps
    if deps.config.public_channel_id is None or app.job_queue is None:
        return
    jq = app.job_queue
    jq.run_repeating(sync_job, interval=SYNC_EVERY_SECONDS, first=1, name=SYNC_JOB)
    previous = deps.kick

    def kick() -> None:
        previous()
        if app.running:
            jq.run_once(sync_job, 0.2, name=f"{SYNC_JOB}-kick")

    app.bot_data.deps = replace(deps, kick=kick)


# ---------------------------------------------------------------- the page in the bot


_web: dict[int, web.AppRunner] = {}


async def start_web(app: App) -> None:
    """`[public] web_in_bot`: serve the public page from the bot's own process."""
    deps = app.bot_data.deps
    cfg = deps.config
    if not cfg.web_in_bot or id(app) in _web:
        return

    _web[id(app)] = await serve(deps.uow, deps.clock, cfg.web_host, cfg.web_port,
                                cfg.web_title)
    log.info("public page on http://%s:%s/", cfg.web_host, cfg.web_port)


async def stop_web(app: App) -> None:
    runner = _web.pop(id(app), None)
    if runner is not None:
        await runner.cleanup()
