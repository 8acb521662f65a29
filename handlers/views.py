"""Reading the ledger: /list (paginated), /show, /history, /mine, /deadline."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest

from handlers import offices
from handlers.cards import Directory, assignment_view, button, labels, matter_card
from handlers.common import (
    args_text,
    chunks,
    fit,
    is_group,
    line,
    remember,
    reply_about,
    require_person,
    require_shown,
    today,
    usage,
    with_dates,
)
from handlers.deps import Ctx, Deps
from handlers.keys import list_key, mine_key
from handlers.livecards import record_card
from handlers.media import send_attachment
from ledger import queries
from ledger.dateparse import parse_deadline
from ledger.errors import InvalidInput
from ledger.lights import matter_light, matter_provisional, workdays_left
from ledger.model import Light, Matter, MatterStatus, Person
from ledger.usecases import reading
from presentation.labels import MATTER_STATUS_LABELS
from reminders.queries import upcoming_reminders

PAGE = 10
MINE_PAGE = 15

_WORDS: dict[str, str] = {
    "": "a", "all": "a", "全部": "all", "mine": "m", "我的": "m", "overdue": "o", "超期": "o",
    "逾期": "o", "yellow": "y", "黄灯": "y", "red": "r", "红灯": "r", "history": "all",
    "含已办结": "all",
}
_STATUS_BY_LABEL = {label: status for status, label in MATTER_STATUS_LABELS.items()}


@dataclass(frozen=True)
class ListSpec:
    token: str  # a | all | m | o | y | r | s<status> | u<unit id>
    label: str


async def parse_list_args(deps: Deps, actor: Person, text: str) -> ListSpec:
    word = text.strip()
    key = _WORDS.get(word.lower())
    if key is not None:
        return ListSpec(key, word)
    if word in _STATUS_BY_LABEL:
        return ListSpec(f"s{_STATUS_BY_LABEL[word].value}", word)
    if word in {s.value for s in MatterStatus}:
        return ListSpec(f"s{word}", MATTER_STATUS_LABELS[MatterStatus(word)])
    async with deps.uow() as uow:
        unit = await queries.unit_named(uow, actor.office_id, word)
    if unit is None:
        raise InvalidInput(deps.render("usage_list.j2", word=word))
    return ListSpec(f"u{unit.id}", unit.name)


def _filter(token: str, group: bool) -> reading.ListFilter:
    if token == "m":
        return reading.ListFilter(mine=True, public_only=group)
    if token == "o":
        return reading.ListFilter(overdue=True, public_only=group)
    if token == "all":
        return reading.ListFilter(open_only=False, public_only=group)
    if token.startswith("s"):
        status = MatterStatus(token[1:])  # the callback pattern admits known statuses only
        return reading.ListFilter(status=status, open_only=False, public_only=group)
    if token.startswith("u"):
        return reading.ListFilter(unit_id=int(token[1:]), public_only=group)
    return reading.ListFilter(public_only=group)


_LIGHT_OF = {"y": Light.YELLOW, "r": Light.RED}


async def list_page(deps: Deps, actor: Person, token: str, label: str, page: int, group: bool,
                    ) -> tuple[str, InlineKeyboardMarkup | None]:
    """One page of a list, the count from the index (the light is a stored column), so a
    page costs the same with a hundred matters as with a million."""
    text, markup, _ = await _list_page(deps, actor, token, label, page, group)
    return text, markup


async def _list_page(deps: Deps, actor: Person, token: str, label: str, page: int,
                     group: bool) -> tuple[str, InlineKeyboardMarkup | None, int]:
    day = today(deps)
    f = _filter(token, group)
    if token in _LIGHT_OF:
        f = replace(f, light=_LIGHT_OF[token])
    page = max(page, 0)
    items, total = await reading.list_matters(deps.uow(), deps.clock, actor.id, f, limit=PAGE,
                                          offset=page * PAGE)
    pages = max(1, math.ceil(total / PAGE))
    if page >= pages:  # an old button: the list has shrunk since
        page = pages - 1
        items, total = await reading.list_matters(deps.uow(), deps.clock, actor.id, f,
                                              limit=PAGE, offset=page * PAGE)
        pages = max(1, math.ceil(total / PAGE))
    names = await Directory.fetch(deps, actor.office_id)
    rows = [_list_row(deps, m, names, day) for m in items]
    text = deps.render("list.j2", rows=rows, total=total, page=page + 1, pages=pages,
                       label=label, start=page * PAGE)
    return fit(text), _list_buttons(deps, items, token, page, pages), page


def _list_row(deps: Deps, m: Matter, names: Directory, day: date) -> dict[str, object]:
    lead = m.lead
    return {"m": m, "light": matter_light(m, deps.cal, day, deps.light_policy),
            "lead": names.unit(lead.unit_id) if lead else "",
            "deadline": lead.effective_deadline if lead else m.deadline,
            "provisional": matter_provisional(m, deps.cal, day)}


def _list_buttons(deps: Deps, items: list[Matter], token: str, page: int, pages: int,
                  ) -> InlineKeyboardMarkup | None:
    rows: list[list[InlineKeyboardButton]] = []
    shows = [InlineKeyboardButton(str(i + 1 + page * PAGE), callback_data=button(
        deps, "show", m.id).callback_data) for i, m in enumerate(items) if m.id is not None]
    rows += [shows[i:i + 5] for i in range(0, len(shows), 5)]
    nav: list[InlineKeyboardButton] = []
    if page > 0:
        nav.append(InlineKeyboardButton(labels(deps)["prev"],
                                        callback_data=list_key(token, page - 1)))
    if page + 1 < pages:
        nav.append(InlineKeyboardButton(labels(deps)["next"],
                                        callback_data=list_key(token, page + 1)))
    if nav:
        rows.append(nav)
    return InlineKeyboardMarkup(rows) if rows else None


async def list_command(update: Update, context: Ctx) -> None:
    deps = context.deps
    actor = await require_person(update, context)
    if args_text(update) == offices.CHILDREN_WORD:  # /list 下级: the child offices (issue 16)
        await offices.children_reply(update, context, actor)
        return
    spec = await parse_list_args(deps, actor, args_text(update))
    text, markup = await list_page(deps, actor, spec.token, spec.label, 0,
                                   is_group(update.effective_chat))
    msg = update.effective_message
    assert msg is not None
    await msg.reply_text(text, reply_markup=markup, do_quote=False)


def _label_of(deps: Deps, token: str, names: Directory) -> str:
    if token.startswith("u"):
        return names.unit(int(token[1:]))
    if token.startswith("s"):
        try:
            return MATTER_STATUS_LABELS[MatterStatus(token[1:])]
        except ValueError:
            return ""
    return line(deps, "list_label", token=token)


async def list_turn(update: Update, context: Ctx, token: str, page: int) -> None:
    """◀ ▶ pressed: the same list, another page, for whoever pressed."""
    deps = context.deps
    query = update.callback_query
    assert query is not None
    actor = await require_person(update, context)
    msg = query.message
    old = msg.reply_markup if isinstance(msg, Message) else None
    if old is None or not any(str(b.callback_data or "").startswith("l:")
                              for row in old.inline_keyboard for b in row):
        raise InvalidInput(line(deps, "bad_button"))  # only a list message turns pages
    names = await Directory.fetch(deps, actor.office_id)
    text, markup, shown_page = await _list_page(deps, actor, token, _label_of(deps, token, names),
                                                page, is_group(update.effective_chat))
    await _turned(query, deps, page, shown_page, text, markup)


async def _turned(query: CallbackQuery, deps: Deps, asked: int, shown: int, text: str,
                  markup: InlineKeyboardMarkup | None) -> None:
    """Answer a page press: the page asked for, or say that the list moved under it."""
    await query.answer(None if asked == shown else line(deps, "page_moved", page=shown + 1))
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as e:  # pressed twice: the page shown already is this one
        if "not modified" not in str(e).lower():
            raise


# ---------------------------------------------------------------- one matter


async def show_matter(update: Update, context: Ctx, actor: Person, m: Matter) -> Message | None:
    """Send the card of `m` into the update's chat (not in a group if confidential)."""
    deps = context.deps
    assert m.id is not None
    require_shown(deps, update, actor, m)
    text, markup = await matter_card(deps, m, actor, is_group(update.effective_chat))
    msg = await reply_about(update, context, text, m.id, None, reply_markup=markup)
    await record_card(deps, msg, m.id, actor)  # it follows the matter from now on
    return msg


async def show_command(update: Update, context: Ctx) -> None:
    deps = context.deps
    actor = await require_person(update, context)
    ref = args_text(update)
    if not ref:
        raise usage(deps, "show")
    m = await reading.find_matter(deps.uow(), deps.clock, actor.id, ref)
    await show_matter(update, context, actor, m)


async def history_texts(deps: Deps, actor: Person, m: Matter) -> list[str]:
    assert m.id is not None
    events = await reading.history(deps.uow(), actor.id, m.id)
    names = await Directory.fetch(deps, m.office_id)
    unit_of_no = {e.after.get("no"): e.after.get("unit_id")
                  for e in events if e.kind == "assigned"}
    lines = [deps.render("history_head.j2", m=m, count=len(events))]
    for e in events:
        lines.append(deps.render(
            "history_line.j2", e=e, actor=names.person(e.actor_id) if e.actor_id else "",
            unit=names.unit(unit_of_no.get(e.assignment_no)) if e.assignment_no else "",
            names=names, after=with_dates(e.after), before=with_dates(e.before)))
    return chunks(lines)


async def send_history(update: Update, context: Ctx, actor: Person, m: Matter) -> None:
    assert m.id is not None
    require_shown(context.deps, update, actor, m)
    for text in await history_texts(context.deps, actor, m):
        await reply_about(update, context, text, m.id)


FILES_SHOWN = 10


async def send_files(update: Update, context: Ctx, actor: Person, m: Matter) -> None:
    """The photos and files reported on a matter, newest first (the office reviews them)."""
    deps = context.deps
    chat = update.effective_chat
    assert m.id is not None and chat is not None
    require_shown(deps, update, actor, m)
    events = await reading.history(deps.uow(), actor.id, m.id)
    names = await Directory.fetch(deps, m.office_id)
    found = [(e, a) for e in reversed(events) if e.kind in ("progress", "completion_requested")
             for a in e.after.get("attachments") or []]
    if not found:
        raise InvalidInput(line(deps, "no_files", m=m))
    for e, a in found[:FILES_SHOWN]:
        caption = fit(line(deps, "file_caption", m=m, e=e, actor=names.person(e.actor_id)),
                      1024)
        sent = await send_attachment(context.bot, chat.id, a, caption)
        await remember(deps, sent, m.id, e.assignment_no)
    if len(found) > FILES_SHOWN:
        await context.bot.send_message(chat.id, line(deps, "more_files", n=len(found)))


async def history_command(update: Update, context: Ctx) -> None:
    deps = context.deps
    actor = await require_person(update, context)
    ref = args_text(update)
    if not ref:
        raise usage(deps, "history")
    m = await reading.find_matter(deps.uow(), deps.clock, actor.id, ref)
    await send_history(update, context, actor, m)


async def mine_page(deps: Deps, actor: Person, page: int, group: bool,
                    ) -> tuple[str, InlineKeyboardMarkup | None, int, reading.WorkPage]:
    """One message: the summary of all one's work (counted in the database), a page of
    it, and ◀ ▶ for the rest: /mine stays one message at ten thousand matters."""
    page = max(page, 0)
    work = await reading.my_work_page(deps.uow(), actor.id, public_only=group, limit=MINE_PAGE,
                                      offset=page * MINE_PAGE)
    pages = max(1, math.ceil(work.total / MINE_PAGE))
    if page >= pages:  # an old button: the work has shrunk since
        page = pages - 1
        work = await reading.my_work_page(deps.uow(), actor.id, public_only=group,
                                          limit=MINE_PAGE, offset=page * MINE_PAGE)
        pages = max(1, math.ceil(work.total / MINE_PAGE))
    names = await Directory.fetch(deps, actor.office_id)
    day = today(deps)
    rows = [{"m": m, **assignment_view(deps, a, names, day)} for m, a in work.items]
    upcoming = [] if group or page else await upcoming_reminders(
        deps.uow(), deps.clock, deps.cal, deps.reminder_policy(actor.office_id), actor.id,
        days=7, limit=10)
    text = deps.render("mine.j2", rows=rows, person=actor, upcoming=upcoming,
                       total=work.total, lights=work.lights, page=page + 1, pages=pages,
                       start=page * MINE_PAGE)
    buttons = [InlineKeyboardButton(str(i + 1 + page * MINE_PAGE), callback_data=button(
        deps, "show", m.id).callback_data) for i, (m, _) in enumerate(work.items)
        if m.id is not None]
    rows_kb = [buttons[i:i + 5] for i in range(0, len(buttons), 5)]
    nav: list[InlineKeyboardButton] = []
    if page > 0:
        nav.append(InlineKeyboardButton(labels(deps)["prev"], callback_data=mine_key(page - 1)))
    if page + 1 < pages:
        nav.append(InlineKeyboardButton(labels(deps)["next"], callback_data=mine_key(page + 1)))
    if nav:
        rows_kb.append(nav)
    return fit(text), InlineKeyboardMarkup(rows_kb) if rows_kb else None, page, work


async def mine_command(update: Update, context: Ctx) -> None:
    deps = context.deps
    actor = await require_person(update, context)
    text, markup, _, work = await mine_page(deps, actor, 0, is_group(update.effective_chat))
    msg = update.effective_message
    assert msg is not None
    sent = await msg.reply_text(text, reply_markup=markup, do_quote=False)
    if work.total == 1 and len(work.items) == 1 and work.items[0][0].id is not None:
        await remember(deps, sent, work.items[0][0].id, work.items[0][1].no)


async def mine_turn(update: Update, context: Ctx, page: int) -> None:
    """◀ ▶ under /mine: the presser's own work, another page."""
    deps = context.deps
    query = update.callback_query
    assert query is not None
    actor = await require_person(update, context)
    text, markup, shown, _ = await mine_page(deps, actor, page, is_group(update.effective_chat))
    await _turned(query, deps, page, shown, text, markup)


async def deadline_command(update: Update, context: Ctx) -> None:
    """/deadline 10 → the date; /deadline 12月5日 → working days left."""
    deps = context.deps
    await require_person(update, context)
    text = args_text(update)
    if not text:
        raise usage(deps, "deadline")
    day = today(deps)
    msg = update.effective_message
    assert msg is not None
    if text.isdigit():
        n = int(text)
        if n > 250:
            raise usage(deps, "deadline")
        target = deps.cal.add_workdays(day, n)
        await msg.reply_text(line(deps, "deadline_n", n=n, target=target, today=day,
                                  provisional=deps.cal.provisional_years(day, target)))
        return
    target = parse_deadline(text, day, deps.cal)
    left = workdays_left(deps.cal, day, target)
    await msg.reply_text(line(deps, "deadline_left", target=target, left=left, today=day,
                              workday=deps.cal.is_workday(target),
                              provisional=deps.cal.provisional_years(day, target)))
