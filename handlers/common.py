"""Shared pieces of the handlers: who is talking, texts, and messages about matters."""

from __future__ import annotations

from datetime import date
from typing import Any

from telegram import Chat, Message, Update
from telegram.constants import MessageLimit

from handlers import office_context
from handlers.deps import Ctx, Deps
from ledger import queries
from ledger.clock import local_today
from ledger.errors import InvalidInput, PermissionDenied
from ledger.model import Matter, Person
from ledger.offices import Ambiguous
from ledger.policy import may_show, place_of
from ledger.ports import MessageRef

MAX_TEXT = int(MessageLimit.MAX_TEXT_LENGTH)
ALERT_MAX = 200  # answerCallbackQuery text limit


def line(deps: Deps, key: str, /, **values: Any) -> str:
    """One short reply from templates/lines.j2."""
    return deps.render("lines.j2", k=key, **values)


def today(deps: Deps) -> date:
    return local_today(deps.clock)


def fit(text: str, limit: int = MAX_TEXT) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 8] + "\n……（略）"


def chunks(lines: list[str], limit: int = MAX_TEXT) -> list[str]:
    """Join lines into as few messages as fit Telegram's length limit."""
    out: list[str] = []
    cur = ""
    for raw in lines:
        ln = fit(raw, limit)
        candidate = f"{cur}\n{ln}" if cur else ln
        if len(candidate) > limit:
            out.append(cur)
            cur = ln
        else:
            cur = candidate
    if cur:
        out.append(cur)
    return out


_DATE_KEYS = ("deadline", "new_deadline", "limit", "committed_deadline", "since", "due",
              "received", "urge_limit", "old_deadline", "old_limit")


def with_dates(values: dict[str, Any]) -> dict[str, Any]:
    """ISO dates in an event's or notice's values become dates, for cn_date in templates."""
    out = dict(values)
    for key in _DATE_KEYS:
        value = out.get(key)
        if isinstance(value, str):
            try:
                out[key] = date.fromisoformat(value)
            except ValueError:
                continue
    return out


def is_group(chat: Chat | None) -> bool:
    return chat is not None and chat.type in (Chat.GROUP, Chat.SUPERGROUP)


async def lookup_person(deps: Deps, telegram_id: int) -> Person | None:
    async with (deps.read or deps.uow)() as uow:
        return await queries.person_by_telegram(uow, telegram_id)


async def require_person(update: Update, context: Ctx) -> Person:
    """The caller's ledger identity; unbound or disabled callers are refused. Looked up
    once per update (the context lives as long as the update)."""
    deps = context.deps
    user = update.effective_user
    if not context.caller_known and user is not None:
        # Which office acts here: the bound group's, or the private chat's (issue 16).
        acting = await office_context.acting_person(deps, update)
        if isinstance(acting, Ambiguous):
            await office_context.ask_office(update, context)
        context.caller = acting if isinstance(acting, Person) else None
        context.caller_known = True
    person = context.caller
    if person is None:
        raise PermissionDenied(line(deps, "unbound"))
    if not person.active:
        raise PermissionDenied(line(deps, "inactive"))
    return person


def args_text(update: Update) -> str:
    """Everything after the command word, newlines kept."""
    msg = update.effective_message
    text = (msg.text or msg.caption or "") if msg else ""
    parts = text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


def usage(deps: Deps, name: str) -> InvalidInput:
    return InvalidInput(deps.render(f"usage_{name}.j2"))


async def remember(deps: Deps, msg: Message, matter_id: int | None,
                   no: int | None = None) -> None:
    """So that a reply to this message lands on the matter."""
    if matter_id is None:
        return
    await deps.intake.remember(MessageRef(msg.chat_id, msg.message_id, matter_id, no))


async def reply_about(update: Update, context: Ctx, text: str, matter_id: int | None,
                      no: int | None = None, **kwargs: Any) -> Message:
    """Send into the chat of the update, remembered as a message about the matter."""
    chat = update.effective_chat
    assert chat is not None
    msg = await context.bot.send_message(chat.id, fit(text), **kwargs)
    await remember(context.deps, msg, matter_id, no)
    return msg


def require_shown(deps: Deps, update: Update, viewer: Person, m: Matter) -> None:
    """Ask the policy whether `m` may be shown in this chat; if not, say so (a confidential
    matter in a group) and stop."""
    if not may_show(viewer, place_of(is_group(update.effective_chat)), m):
        raise InvalidInput(line(deps, "confidential_group", m=m))
