"""The one error handler (rules-bot style): a DomainError is the user's answer; anything
else is logged, the user gets a short apology, and the ops chat a report."""

from __future__ import annotations

import logging
import traceback

from telegram import Update
from telegram.error import TelegramError

from handlers.common import ALERT_MAX, MAX_TEXT, fit, line
from handlers.deps import Ctx
from ledger.errors import DomainError
from ledger.usecases.turnover import AmbiguousPerson

log = logging.getLogger(__name__)


async def _tell(update: object, context: Ctx, text: str) -> None:
    if not isinstance(update, Update):
        return
    query = update.callback_query
    if query is not None:
        try:
            await query.answer(text[:ALERT_MAX], show_alert=True)
            return
        except TelegramError:
            pass  # already answered or too old: say it in the chat instead
    msg = update.effective_message
    chat = update.effective_chat
    if msg is not None and query is None:
        await msg.reply_text(fit(text))
    elif chat is not None:
        await context.bot.send_message(chat.id, fit(text))


def _cause(context: Ctx, err: BaseException) -> str:
    """What failed, where: the job, the exception type and the innermost frame."""
    frames = traceback.extract_tb(err.__traceback__)
    at = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "-"
    job = context.job.name if context.job is not None else "-"
    return f"{job}|{type(err).__name__}|{at}"


async def on_job_error(context: Ctx) -> None:
    """A scheduled job failed: log it with its traceback, and report it once per cause to
    the ops chat, or to the admins when there is none. Never swallowed."""
    err = context.error
    assert err is not None
    job = context.job.name if context.job is not None else "?"
    log.error("scheduled job %s failed", job, exc_info=err)
    cause = _cause(context, err)
    seen = context.bot_data.reported_causes
    if cause in seen:
        return
    seen.add(cause)
    config = context.deps.config
    targets = [config.ops_chat_id] if config.ops_chat_id is not None else list(config.admins)
    if not targets:
        log.error("no ops chat and no admins configured: job failure %s reported in the log only",
                  cause)
    for chat_id in targets:
        await _send_report(context, chat_id, f"定时任务 {job}", err)


async def on_error(update: object, context: Ctx) -> None:
    err = context.error
    if update is None and context.job is not None and err is not None:
        await on_job_error(context)
        return
    if isinstance(err, DomainError):
        text = str(err) or line(context.deps, "oops")
        if isinstance(err, AmbiguousPerson):  # the candidates with their roles
            text = context.deps.render("ambiguous_person.j2", ref=err.reference,
                                       people=err.candidates)
        try:
            await _tell(update, context, text)
        except TelegramError as e:
            log.warning("could not deliver a domain error reply: %s", e)
        return
    log.error("unhandled error while handling an update", exc_info=err)
    try:
        await _tell(update, context, line(context.deps, "oops"))
    except TelegramError as e:
        log.warning("could not tell the user about an error: %s", e)
    await _report(update, context)


def _scrub(text: str, context: Ctx) -> str:
    token = context.deps.config.token
    return text.replace(token, "<token>") if token else text


async def _report(update: object, context: Ctx) -> None:
    ops = context.deps.config.ops_chat_id
    err = context.error
    if ops is None or err is None:
        return
    where = ""
    if isinstance(update, Update):
        user = update.effective_user
        chat = update.effective_chat
        where = (f"update {update.update_id}, chat {chat.id if chat else '-'}, "
                 f"user {user.id if user else '-'}")
    await _send_report(context, ops, where, err)


async def _send_report(context: Ctx, chat_id: int, where: str, err: BaseException) -> None:
    trace = "".join(traceback.format_exception(type(err), err, err.__traceback__))
    head = context.deps.render("ops_report.j2", where=where, error=f"{type(err).__name__}: {err}")
    body = _scrub(f"{head}\n\n{trace}", context)
    text = body[-(MAX_TEXT - 20):] if len(body) > MAX_TEXT - 20 else body
    try:
        await context.bot.send_message(chat_id, text)
    except TelegramError as e:
        log.warning("could not report an error to %s: %s", chat_id, e)
