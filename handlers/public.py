"""公示 (§2.7): one post per public matter in the office's public channel, edited when the
matter changes; a closed matter's post shows 已销号 and its close date. Confidential
matters never appear (ledger.publicview decides what is public).

`sync_channel` plans: it compares each public matter's post text with what was last posted
(a digest in `public_posts`) and queues a `channel_post` outbox notice (the matter's id
only) for what changed. The outbox dispatcher sends it (handlers.delivery renders the post
again at that moment, so the newest state wins) with the same pacing and retries as
everything else. It runs on the JobQueue every minute and right after a use case kicks
the dispatcher.

State lives on the application (`BotData.channel`, `BotData.web`), not in this module.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, replace

from aiohttp import web

from handlers.common import fit
from handlers.deps import App, ChannelState, Ctx, Deps
from ledger.model import Matter, MatterStatus
from ledger.ports import CHANNEL_POST_KIND, Notice, PublicPost, UnitOfWork
from ledger.publicview import is_public, public_row
from ledger.queries import office_directory
from public.web import serve
from settings.offices import any_channel, public_channel

log = logging.getLogger(__name__)

SYNC_JOB = "public-channel-sync"
SYNC_EVERY_SECONDS = 60


@dataclass
class SyncStats:
    posted: int = 0      # new posts queued
    edited: int = 0      # edits queued
    unchanged: int = 0


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


async def post_text(deps: Deps, uow: UnitOfWork, m: Matter, post: PublicPost | None,
                    ) -> str | None:
    """The channel post of `m` as it should read now (None: it has no post to show)."""
    if is_public(m):
        persons, units = await office_directory(uow, m.office_id)
        return fit(deps.render("public_post.j2", r=public_row(m, units, persons)))
    if post is not None and m.status == MatterStatus.CANCELLED:
        return fit(deps.render("lines.j2", k="public_cancelled", m=m))
    return None


async def sync_channel(deps: Deps, state: ChannelState) -> SyncStats:
    """Queue what each office's public channel lacks. No channel configured: no-op."""
    stats = SyncStats()
    if not any_channel(deps.config):
        return stats
    async with state.lock:
        seen = state.seen
        now = deps.clock.now()
        queued: list[tuple[int, int]] = []
        async with deps.uow() as uow:
            offices = await uow.people.offices()
            for office in offices:
                # Each office's matters go to its own channel only (settings.offices); an
                # office without one has nothing posted.
                if public_channel(deps.config, offices, office.id) is None:
                    continue
                versions = await uow.posts.candidates(office.id)
                changed = [mid for mid, v in versions.items() if seen.get(mid) != v]
                for mid in sorted(changed):
                    m = await uow.matters.get(mid)
                    post = await uow.posts.get(mid)
                    text = await post_text(deps, uow, m, post)
                    if text is None or (post is not None and post.digest == digest(text)):
                        seen[mid] = m.version
                        stats.unchanged += text is not None
                        continue
                    await uow.outbox.add(Notice(
                        key=f"pub:{mid}:{m.version}", office_id=m.office_id,
                        kind=CHANNEL_POST_KIND, due_at=now, matter_id=mid))
                    queued.append((mid, m.version))
                    if post is None:
                        stats.posted += 1
                    else:
                        stats.edited += 1
            await uow.commit()
        for mid, version in queued:
            seen[mid] = version
    if queued:
        deps.kick()
    return stats


async def sync_job(context: Ctx) -> None:
    await sync_channel(context.deps, context.bot_data.channel)


def schedule_public(app: App) -> None:
    """Every minute, and right after each kick (a use case changed something)."""
    deps = app.bot_data.deps
    if not any_channel(deps.config) or app.job_queue is None:
        return
    jq = app.job_queue
    jq.run_repeating(sync_job, interval=SYNC_EVERY_SECONDS, first=1, name=SYNC_JOB)
    previous = deps.kick

    def kick() -> None:
        previous()
        if app.running and not jq.get_jobs_by_name(f"{SYNC_JOB}-kick"):
            jq.run_once(sync_job, 0.2, name=f"{SYNC_JOB}-kick")

    app.bot_data.deps = replace(deps, kick=kick)


def record_post(post: PublicPost | None, matter_id: int, chat_id: int, message_id: int,
                text: str, deps: Deps) -> PublicPost:
    """What went out: a new post, or the same one edited."""
    now = deps.clock.now()
    if post is None or (post.chat_id, post.message_id) != (chat_id, message_id):
        return PublicPost(matter_id, chat_id, message_id, digest(text), now)
    return replace(post, digest=digest(text), edited_at=now)


# ---------------------------------------------------------------- the page in the bot


async def start_web(app: App) -> None:
    """`[public] web_in_bot`: serve the public page from the bot's own process."""
    deps = app.bot_data.deps
    cfg = deps.config
    if not cfg.web_in_bot or app.bot_data.web is not None:
        return
    runner: web.AppRunner = await serve(deps.uow, deps.clock, cfg.web_host, cfg.web_port,
                                        cfg.web_title)
    app.bot_data.web = runner
    log.info("public page on http://%s:%s/", cfg.web_host, cfg.web_port)


async def stop_web(app: App) -> None:
    runner, app.bot_data.web = app.bot_data.web, None
    if runner is not None:
        await runner.cleanup()
