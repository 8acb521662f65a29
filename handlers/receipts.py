"""已阅 receipts in chat: the 「已阅」 button, its press, /unread, and the text of a
receipt's reminder and escalation. The rules (who is expected, when to remind) are
ledger.receipts; the use cases ledger.usecases.receipts."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from handlers.cards import Directory
from handlers.common import ALERT_MAX, fit, is_group, require_person
from handlers.deps import Ctx, Deps
from handlers.keys import parse_read_key, read_key
from ledger import policy
from ledger.errors import NotFound, PermissionDenied
from ledger.model import Person
from ledger.ports import Notice, UnitOfWork
from ledger.receipts import KIND_LABELS, Receipt
from ledger.usecases import receipts as uc
from reminders.outbox import Stale

__all__ = ["compose_receipt_notice", "on_read", "read_markup", "unread_command",
           "with_read_button"]


def say(deps: Deps, key: str, /, **values: object) -> str:
    return deps.render("receipts.j2", k=key, **values)


def read_button(deps: Deps, receipt_id: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(say(deps, "button"), callback_data=read_key(receipt_id))


def read_markup(deps: Deps, receipt_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[read_button(deps, receipt_id)]])


def with_read_button(deps: Deps, markup: InlineKeyboardMarkup | None,
                     receipt_id: int) -> InlineKeyboardMarkup:
    """The notice's own buttons with 「已阅」 as a first row."""
    rows = [list(r) for r in markup.inline_keyboard] if markup is not None else []
    return InlineKeyboardMarkup([[read_button(deps, receipt_id)], *rows])


async def _what(uow: UnitOfWork, r: Receipt, viewer: Person | None = None,
                group: bool = False) -> str:
    """What the receipt is about, as /unread and the reminders name it (a confidential
    matter's title only where the policy lets it be shown)."""
    if r.matter_id is not None:
        try:
            m = await uow.matters.get(r.matter_id)
        except NotFound:
            return "已删除的事项"
        if group and not policy.may_show(viewer, policy.place_of(True), m):
            return f"🔒 {m.number}"
        return f"{m.number}「{m.title}」"
    return f"「{r.title}」"


def _label(r: Receipt) -> str:
    label = KIND_LABELS.get(r.kind, "通知")
    return f"{label}（{r.title}）" if r.matter_id is not None and r.title else label


async def on_read(update: Update, context: Ctx) -> None:
    """`rd:<receipt>`: who read it and when; a second press says so."""
    deps = context.deps
    query = update.callback_query
    assert query is not None
    receipt_id = parse_read_key(query.data)
    if receipt_id is None:
        await query.answer(deps.render("lines.j2", k="bad_button")[:ALERT_MAX], show_alert=True)
        return
    actor = await require_person(update, context)
    ack = await uc.acknowledge(deps.uow(), deps.clock, actor.id, receipt_id)
    key = "read_first" if ack.first else "read_again"
    await query.answer(say(deps, key, at=ack.read_at)[:ALERT_MAX])


async def unread_command(update: Update, context: Ctx) -> None:
    """/unread (督查室): the notices still unacknowledged and who has not read each."""
    deps = context.deps
    actor = await require_person(update, context)
    if not actor.is_office:
        raise PermissionDenied(say(deps, "not_office"))
    found = await uc.unread(deps.uow(), actor.id)
    msg = update.effective_message
    assert msg is not None
    if not found:
        await msg.reply_text(say(deps, "unread_none"), do_quote=False)
        return
    async with (deps.read or deps.uow)() as uow:
        names = await Directory.load(uow, actor.office_id)
        items = []
        for r in found:
            unread = [f"{names.person(x.person_id)}（{names.unit(x.unit_id)}）"
                      for x in r.unread]
            items.append({"what": await _what(uow, r, actor, is_group(update.effective_chat)),
                          "label": _label(r),
                          "sent": r.created_at, "unread": unread})
    await msg.reply_text(fit(say(deps, "unread", items=items)), do_quote=False)


async def compose_receipt_notice(deps: Deps, uow: UnitOfWork, notice: Notice,
                                 viewer: Person | None,
                                 ) -> tuple[str, InlineKeyboardMarkup | None]:
    """A receipt's reminder (to an unread reader) or escalation (to their principal),
    checked against the ledger now: raises Stale when everyone concerned has read it."""
    found = await uc.still_unread(uow, notice)
    if isinstance(found, str):
        raise Stale(found)
    r, left = found
    assert r.id is not None
    what = await _what(uow, r)
    label = KIND_LABELS.get(r.kind, "通知")
    if notice.kind == uc.RECEIPT_REMIND:
        return (say(deps, "remind", what=what, label=label, sent=r.created_at),
                read_markup(deps, r.id))
    names = await Directory.load(uow, r.office_id)
    text = say(deps, "escalate", what=what, label=label, sent=r.created_at,
               unread=[names.person(x.person_id) for x in left])
    mine = viewer is not None and any(x.person_id == viewer.id for x in left)
    return text, read_markup(deps, r.id) if mine else None
