"""/holidays: the office enters next year's holiday arrangement in chat; the calendar's jobs
(entered years re-read from storage; the warning ahead while next year is not entered)."""

from __future__ import annotations

import hashlib
import logging

from telegram import (
    Document,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
    Update,
)
from telegram.error import TelegramError

from handlers.common import ALERT_MAX, fit, line, require_person, today
from handlers.deps import App, Ctx, Deps
from handlers.light_jobs import recount_soon
from ledger import permissions as perm
from ledger.calendar_entry import enter_year, load_entered
from ledger.errors import InvalidInput
from ledger.holidays import (
    SOURCE_LABELS,
    WHAT_TO_SEND,
    Arrangement,
    HolidayFileError,
    read_arrangement,
)
from ledger.workcalendar import STATUS_LABELS

log = logging.getLogger(__name__)

MAX_BYTES = 256 * 1024       # a notice is a few KB
REFRESH_SECONDS = 300        # entered years re-read (an import from the command line)
REFRESH_JOB = "calendar-refresh"
_KEY_PREFIX = "h:ok:"


def _text(deps: Deps, key: str, **values: object) -> str:
    return deps.render("holidays.j2", k=key, **values)


def _document(msg: Message) -> tuple[Message, Document] | None:
    """The file sent with the /holidays caption, or the one /holidays replies to."""
    if msg.document is not None:
        return msg, msg.document
    replied = msg.reply_to_message
    if replied is not None and replied.document is not None:
        return replied, replied.document
    return None


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


async def _download(context: Ctx, doc: Document) -> bytes:
    if doc.file_size is not None and doc.file_size > MAX_BYTES:
        raise InvalidInput(_text(context.deps, "too_large", kb=doc.file_size // 1024,
                                 what=WHAT_TO_SEND))
    file = await context.bot.get_file(doc.file_id)
    data = bytes(await file.download_as_bytearray())
    if len(data) > MAX_BYTES:
        raise InvalidInput(_text(context.deps, "too_large", kb=len(data) // 1024,
                                 what=WHAT_TO_SEND))
    return data


def _read(deps: Deps, data: bytes) -> Arrangement:
    try:
        return read_arrangement(data)
    except HolidayFileError as e:
        raise InvalidInput(_text(deps, "bad_file", error=str(e))) from e


def status_lines(deps: Deps) -> list[str]:
    year = today(deps).year
    out = []
    for y in (year, year + 1):
        out.append(f"{y}年：{STATUS_LABELS[deps.cal.year_status(y)]}")
    return out


async def holidays_command(update: Update, context: Ctx) -> None:
    """/holidays: status of this and next year; with a file: preview and a 确认 button."""
    deps = context.deps
    actor = await require_person(update, context)
    perm.require_office(actor)
    msg = update.effective_message
    assert msg is not None
    found = _document(msg)
    if found is None:
        await msg.reply_text(_text(deps, "status", statuses=status_lines(deps)), do_quote=False)
        return
    doc_msg, doc = found
    data = await _download(context, doc)
    a = _read(deps, data)
    key = f"{_KEY_PREFIX}{a.year}:{_digest(data)}"
    buttons = InlineKeyboardMarkup([[InlineKeyboardButton("✅ 确认录入", callback_data=key)]])
    text = _text(deps, "preview", a=a, source=SOURCE_LABELS[a.source],
                 status=STATUS_LABELS[deps.cal.year_status(a.year)])
    # The preview replies to the file itself: the press finds the file there again, so
    # nothing waits in memory between preview and confirmation.
    await msg.get_bot().send_message(
        msg.chat_id, fit(text), reply_markup=buttons,
        reply_parameters=ReplyParameters(doc_msg.message_id, allow_sending_without_reply=True))


async def on_confirm(update: Update, context: Ctx) -> None:
    """确认录入: the file again (from the message the preview replies to), checked the same
    way, stored, and what was counted provisionally recounted."""
    deps = context.deps
    query = update.callback_query
    assert query is not None
    parts = (query.data or "").split(":")
    if len(parts) != 4 or not parts[2].isdigit():
        await query.answer(line(deps, "bad_button")[:ALERT_MAX], show_alert=True)
        return
    actor = await require_person(update, context)
    perm.require_office(actor)
    preview = query.message if isinstance(query.message, Message) else None
    replied = preview.reply_to_message if preview is not None else None
    if replied is None or replied.document is None:
        raise InvalidInput(_text(deps, "gone"))
    data = await _download(context, replied.document)
    if _digest(data) != parts[3]:
        raise InvalidInput(_text(deps, "changed"))
    a = _read(deps, data)
    if str(a.year) != parts[2]:
        raise InvalidInput(_text(deps, "changed"))
    result = await enter_year(deps.uow(), deps.clock, deps.cal, a, actor_id=actor.id,
                              actor_name=actor.name)
    deps.kick()
    recount_soon(context)  # lights counted provisionally move too
    done = _text(deps, "done", year=a.year, n=len(result.recounted))
    await query.answer("已录入")
    assert preview is not None
    try:
        await preview.edit_reply_markup(reply_markup=None)  # pressed once is enough
    except TelegramError as e:  # too old to edit: the entry is stored all the same
        log.info("could not remove the 确认 button: %s", e)
    await preview.reply_text(done, do_quote=False)


# ---------------------------------------------------------------- jobs

async def _refresh_job(context: Ctx) -> None:
    deps = context.deps
    seen = deps.cal.version
    await load_entered(deps.read or deps.uow, deps.cal)
    if deps.cal.version != seen:  # a year entered by another process (duban holidays)
        recount_soon(context)


async def start_calendar(app: App) -> None:
    """At start (post_init): the years entered in storage, re-read every few minutes (a
    `duban holidays import` by another process). The weekly warning while next year is
    not entered is planned by the reminder scheduler (reminders.scheduler)."""
    deps = app.bot_data.deps
    entries = await load_entered(deps.read or deps.uow, deps.cal)
    if entries:
        log.info("entered holiday years: %s", ", ".join(str(e.year) for e in entries))
    if app.job_queue is None:
        return
    app.job_queue.run_repeating(_refresh_job, interval=REFRESH_SECONDS, first=REFRESH_SECONDS,
                                name=REFRESH_JOB)
