"""Replies: to a prompt (签收 date, 延期 reason…) or to any message the bot sent about a
matter, which records progress on that matter (text, photos, files, voice, video, video
notes, audio, locations, venues; anything else is answered with what to send instead)."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, replace
from typing import Any

from telegram import ForceReply, Message, Update
from telegram.error import TelegramError
from telegram.ext import ConversationHandler

from handlers import downloads, media
from handlers.common import fit, is_group, line, remember, require_person, today
from handlers.deps import Ctx, Deps
from handlers.figures import maybe_figures, say
from handlers.refresh import Origin, refresh
from ledger import queries
from ledger.dateparse import ParsedDeadline, parse_deadline_counted
from ledger.errors import InvalidInput
from ledger.model import Attachment, Matter, Person
from ledger.ports import MessageRef
from ledger.usecases import closing
from ledger.usecases import deadlines as dl

PROMPT_KEY = "prompt"
PROMPT_KINDS = frozenset({"sign", "prog", "done", "ext", "ret", "extno"})
_EXT_SPLIT = re.compile(r"[\s，,；;：:]+")


@dataclass(frozen=True)
class Prompt:
    """A question the bot asked and waits for; lost on restart (then reply to the card)."""

    kind: str
    matter_id: int
    no: int | None
    chat_id: int
    message_id: int
    origin: Origin | None = None  # the message whose button asked


def pending_prompt(context: Ctx, chat_id: int) -> Prompt | None:
    data = context.user_data
    p = data.get(PROMPT_KEY) if data is not None else None
    return p if isinstance(p, Prompt) and p.chat_id == chat_id else None


def clear_prompt(context: Ctx) -> None:
    if context.user_data is not None:
        context.user_data.pop(PROMPT_KEY, None)


async def ask(update: Update, context: Ctx, kind: str, m: Matter, no: int | None,
              origin: Origin | None = None, **values: Any) -> None:
    """Send a ForceReply question about `m` and wait for the answer."""
    deps = context.deps
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None and m.id is not None
    group = is_group(chat)
    # In a group, ForceReply(selective) reaches only an @mentioned user.
    mention = f"@{user.username}" if group and user.username else ""
    text = deps.render("prompt.j2", kind=kind, m=m, user=mention or user.full_name,
                       group=group, **values)
    force = ForceReply(selective=bool(mention) or not group,
                       input_field_placeholder=line(deps, "placeholder", kind=kind))
    msg = await context.bot.send_message(chat.id, fit(text), reply_markup=force)
    await remember(deps, msg, m.id, no)
    if context.user_data is not None:
        context.user_data[PROMPT_KEY] = Prompt(kind, m.id, no, chat.id, msg.message_id, origin)


def content(msg: Message) -> tuple[str, list[Attachment]]:
    """Text or caption, and what came with it (photo, file, voice, video, location…)."""
    return (msg.text or msg.caption or "").strip(), media.attachments(msg)


async def confirm(update: Update, context: Ctx, text: str, m: Matter, no: int | None) -> None:
    """One line back, as a reply; remembered so a reply to it lands on the matter too."""
    msg = update.effective_message
    assert msg is not None
    sent = await msg.reply_text(fit(text), do_quote=True)
    await remember(context.deps, sent, m.id, no)


async def record_progress(update: Update, context: Ctx, actor: Person, matter_id: int,
                          no: int | None) -> None:
    deps = context.deps
    msg = update.effective_message
    assert msg is not None
    text, atts = content(msg)
    if text and not atts:
        figures = await maybe_figures(deps, actor, matter_id, no, text)
        if figures is not None:  # a project's monthly figures (专项督查)
            fm, f = figures
            await confirm(update, context, say(deps, "figures_recorded", m=fm, f=f), fm, no)
            return
    report = closing.ProgressReport(actor.id, matter_id, no, text, tuple(atts))
    # One write per report: the confirmation is worded from a read and sent, then the event,
    # its notices, the confirmation's ref and the update's done mark commit together. A crash
    # in between leaves the update not done: it is recorded at the next start.
    m, a = await deps.intake.check(report)
    big = downloads.too_big(deps.config, atts)  # recorded, but no original to archive
    sent = await msg.reply_text(fit(line(deps, "progress_recorded", m=m, atts=atts, big=big,
                                         limit_mb=deps.config.files_download_mb)),
                                do_quote=True)
    reply = MessageRef(sent.chat_id, sent.message_id, matter_id, a.no)
    try:
        await deps.intake.report(replace(report, reply=reply))
    except Exception:
        # Not recorded after all (the matter changed in between, or the database failed):
        # the confirmation is taken back and the error handler says why.
        with contextlib.suppress(TelegramError):
            await sent.delete()
        raise
    deps.kick()


async def answer_prompt(update: Update, context: Ctx, prompt: Prompt) -> None:
    deps = context.deps
    actor = await require_person(update, context)
    msg = update.effective_message
    assert msg is not None
    text, atts = content(msg)
    mid, no = prompt.matter_id, prompt.no
    if prompt.kind == "prog":
        await record_progress(update, context, actor, mid, no)
        clear_prompt(context)
        return
    if prompt.kind == "sign":
        if not text:
            raise InvalidInput(line(deps, "need_date"))
        parsed = parse_deadline_counted(text, today(deps), deps.cal)
        m = await dl.sign(deps.uow(), deps.clock, actor.id, mid, no, parsed.day,
                          parsed.counted)
        reply = line(deps, "signed", m=m, committed=parsed.day)
    elif prompt.kind == "done":
        m = await closing.request_completion(deps.uow(), deps.clock, actor.id, mid, no, text, atts)
        reply = line(deps, "completion_requested", m=m, atts=atts,
                     big=downloads.too_big(deps.config, atts),
                     limit_mb=deps.config.files_download_mb)
    elif prompt.kind == "ext":
        asked, reason = _extension_text(deps, text)
        new_deadline = asked.day
        m = await dl.request_extension(deps.uow(), deps.clock, actor.id, mid, no, reason,
                                       new_deadline, deps.config.max_days_ahead,
                                       asked.counted)
        a = m.assignment(no) if no is not None else None
        to_office = a is not None and a.extension is not None and a.extension.confirmed_by
        reply = line(deps, "extension_requested", m=m, new=new_deadline,
                     to_office=bool(to_office))
    elif prompt.kind == "ret":
        m = await closing.return_matter(deps.uow(), deps.clock, actor.id, mid, text)
        reply = line(deps, "returned", m=m, reason=text, actor=actor.name)
    elif prompt.kind == "extno":
        if no is None:
            raise InvalidInput(line(deps, "bad_button"))
        m = await dl.decide_extension(deps.uow(), deps.clock, actor.id, mid, no, False,
                                       reason=text)
        reply = line(deps, "extension_rejected", m=m, reason=text, actor=actor.name)
    else:
        clear_prompt(context)
        return
    clear_prompt(context)
    deps.kick()
    await confirm(update, context, reply, m, no)
    await refresh(context, prompt.origin, actor, m)


def _extension_text(deps: Deps, text: str) -> tuple[ParsedDeadline, str]:
    """`12月20日 拆迁协商未完成` → (the date, how it was counted; reason)."""
    parts = _EXT_SPLIT.split(text.strip(), maxsplit=1)
    if len(parts) < 2 or not parts[1].strip():
        raise InvalidInput(deps.render("usage_extension.j2"))
    return parse_deadline_counted(parts[0], today(deps), deps.cal), parts[1].strip()


async def is_about_matter(update: Update, context: Ctx) -> bool:
    """A reply to a prompt or to a message about a matter: belongs to on_message even
    while a /new flow waits for typed text."""
    msg, chat = update.effective_message, update.effective_chat
    reply_to = msg.reply_to_message if msg is not None else None
    if reply_to is None or chat is None:
        return False
    prompt = pending_prompt(context, chat.id)
    if prompt is not None and reply_to.message_id == prompt.message_id:
        return True
    return await _lookup(context.deps, chat.id, reply_to.message_id) is not None


async def on_message(update: Update, context: Ctx) -> None:
    """Text, a photo, file, voice, video or location: a prompt's answer, a reply about a matter, or a hint."""
    deps = context.deps
    msg, chat, user = update.effective_message, update.effective_chat, update.effective_user
    if msg is None or chat is None or user is None:
        return
    group = is_group(chat)
    if not group:
        await require_person(update, context)  # strangers get the unbound line, nothing else
    reply_to = msg.reply_to_message
    prompt = pending_prompt(context, chat.id)
    if prompt is not None and ((reply_to is None and not group)
                               or (reply_to is not None
                               and reply_to.message_id == prompt.message_id)):
        await answer_prompt(update, context, prompt)
        return
    if reply_to is not None and reply_to.from_user is not None and (
            reply_to.from_user.id == context.bot.id):
        ref = await _lookup(deps, chat.id, reply_to.message_id)
        if ref is None:
            if not group:
                await msg.reply_text(line(deps, "not_about_matter"))
            return
        actor = await require_person(update, context)
        if group and not await _bound(deps, chat.id):
            await msg.reply_text(line(deps, "group_not_bound"))
            return
        await record_progress(update, context, actor, ref.matter_id, ref.assignment_no)
        return
    if not group:
        await msg.reply_text(line(deps, "hint_reply"), do_quote=False)


async def on_unusable(update: Update, context: Ctx) -> None:
    """A sticker, poll, dice, contact…: never ignored when it answers the bot (in a private
    chat, always): the sender is told what to send instead."""
    msg, chat = update.effective_message, update.effective_chat
    if msg is None or chat is None:
        return
    reply_to = msg.reply_to_message
    to_bot = reply_to is not None and reply_to.from_user is not None and (
        reply_to.from_user.id == context.bot.id)
    if is_group(chat):
        if not to_bot:
            return
    else:
        await require_person(update, context)
    await msg.reply_text(line(context.deps, "cannot_use", kind=media.unusable(msg)),
                         do_quote=to_bot)


async def _lookup(deps: Deps, chat_id: int, message_id: int) -> MessageRef | None:
    return await deps.intake.lookup(chat_id, message_id)


async def _bound(deps: Deps, chat_id: int) -> bool:
    async with (deps.read or deps.uow)() as uow:
        return await queries.is_bound_chat(uow, chat_id)


async def cancel(update: Update, context: Ctx) -> int:
    """/cancel: ends any flow or pending question, everywhere."""
    deps = context.deps
    had = context.user_data is not None and any(
        k in context.user_data for k in (PROMPT_KEY, "new"))
    clear_prompt(context)
    if context.user_data is not None:
        context.user_data.pop("new", None)
    msg = update.effective_message
    if msg is not None:
        await msg.reply_text(line(deps, "cancelled" if had else "nothing_to_cancel"),
                             do_quote=False)
    return ConversationHandler.END
