"""Which office a message acts in (issue 16), for `handlers.common.require_person`: the
account's binding in a bound group's office, or in a private chat its only office or the
one it chose (/office). The rule is `ledger.offices.acting_binding`; this module only reads
what it needs and, when the account must choose, asks with one button per office."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ApplicationHandlerStop

from handlers.deps import Ctx, Deps
from ledger.model import Office, Person
from ledger.offices import Ambiguous, acting_binding
from ledger.ports import UnitOfWork
from ledger.usecases import offices as uc_offices

CHOOSE = "of:"  # callback data: of:<office id>


def _group_chat_id(update: Update) -> int | None:
    chat = update.effective_chat
    if chat is not None and chat.type in (chat.GROUP, chat.SUPERGROUP):
        return chat.id
    return None


async def acting_person(deps: Deps, update: Update) -> Person | Ambiguous | None:
    user = update.effective_user
    if user is None:
        return None
    group = _group_chat_id(update)
    # The hot path (a private chat, one office) reads nothing more than the batched lookup.
    bindings = await deps.intake.bindings(user.id)
    if not bindings:
        return None
    if group is None and sum(p.active for p in bindings) <= 1:
        return acting_binding(bindings, group_office_id=None, chosen_office_id=None)
    about = await _about_matter(deps, update) if group is None else None
    return await uc_offices.acting((deps.read or deps.uow)(), user.id, group, about)


async def _about_matter(deps: Deps, update: Update) -> int | None:
    """The matter of the bot's message replied to or pressed (a card, a notice)."""
    query, msg = update.callback_query, update.effective_message
    target = query.message if query is not None else (msg.reply_to_message if msg else None)
    if target is None:
        return None
    ref = await deps.intake.lookup(target.chat.id, target.message_id)
    return None if ref is None else ref.matter_id


def choice_markup(offices: list[Office], current: int | None = None) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        ("✅ " if o.id == current else "") + o.name, callback_data=f"{CHOOSE}{o.id}")]
        for o in offices])


async def ask_office(update: Update, context: Ctx) -> None:
    """The account is bound in several offices and has not chosen: ask, and stop here
    (the person sends the command again once chosen)."""
    deps = context.deps
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    found = await uc_offices.bindings_of((deps.read or deps.uow)(), user.id)
    offices = [o for _, o in found]
    if update.callback_query is not None:
        await update.callback_query.answer()
    await context.bot.send_message(chat.id, deps.render("office_choose.j2", asked=True),
                                   reply_markup=choice_markup(offices))
    raise ApplicationHandlerStop


async def office_heading(deps: Deps, viewer: Person | None, uow: UnitOfWork | None = None,
                         ) -> str:
    """`【城关镇督查室】` and a newline, atop a card or notice for a person bound in several
    offices (ledger.offices.names_office); empty otherwise."""
    if viewer is None or viewer.telegram_id is None:
        return ""
    if uow is None:
        async with (deps.read or deps.uow)() as u:
            office = await uc_offices.names_office(u, viewer)
    else:
        office = await uc_offices.names_office(uow, viewer)
    return "" if office is None else deps.render("offices.j2", k="heading", office=office)
