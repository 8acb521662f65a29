"""The office's commands: /new (guided flow or one line), /close, /return, /urge."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from datetime import date, timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from handlers.cards import Directory, labels, matter_card
from handlers.common import args_text, is_group, line, reply_about, require_person, today, usage
from handlers.deps import Ctx, Deps
from handlers.livecards import record_card
from handlers.replies import cancel, confirm, is_about_matter, on_message
from ledger import permissions as perm
from ledger import queries
from ledger.dateparse import DateParseError, ParsedDeadline, parse_deadline_counted
from ledger.deadlines import MatterClass, check_deadline, default_deadline
from ledger.errors import InvalidInput
from ledger.model import Matter, Person, Source
from ledger.usecases import accountability as acct
from ledger.usecases import closing, reading
from ledger.usecases import ledger_mgmt as mgmt
from ledger.usecases.ledger_mgmt import Team
from presentation.labels import CLASS_LABELS, ROLE_LABELS, SOURCE_LABELS

TITLE, INSTRUCTION, SOURCE, CLASS, UNITS, DEADLINE, SECRET, CONFIRM = range(8)
DRAFT_KEY = "new"
FLOW_TIMEOUT = timedelta(minutes=30)  # an abandoned flow must not swallow later messages
_SPLIT_UNITS = re.compile(r"[,，、;；]+")
_BAR = re.compile(r"[|｜]")


@dataclass
class Draft:
    """The /new flow's answers so far (context.user_data; lost on restart)."""

    title: str = ""
    body: str = ""
    source: Source = Source.COUNTY_DECISION
    klass: MatterClass = MatterClass.NORMAL
    instruction: str | None = None
    units: list[int] = field(default_factory=list)  # first: the lead unit
    deadline: date | None = None
    deadline_counted: tuple[date, int] | None = None  # typed as N个工作日: from, how many
    confidential: bool = False
    origin: dict[str, object] | None = None  # see mgmt.RegisterMatter.origin


async def teams(deps: Deps, office_id: int, unit_ids: list[int]) -> list[Team]:
    async with deps.uow() as uow:
        return await mgmt.teams(uow, office_id, unit_ids)


def check_teams(deps: Deps, found: list[Team]) -> None:
    gaps = [(t.unit.name, "、".join(ROLE_LABELS[r] for r in t.missing()))
            for t in found if t.missing()]
    if gaps:
        raise InvalidInput(line(deps, "team_missing", gaps=gaps))


async def register_and_assign(deps: Deps, actor: Person, d: Draft, found: list[Team],
                              ) -> Matter:
    """The draft as a 立项 + 交办 command (ledger.usecases.ledger_mgmt)."""
    cmd = mgmt.RegisterMatter(title=d.title, body=d.body, source=d.source, klass=d.klass,
                             confidential=d.confidential, instruction_text=d.instruction,
                             deadline=d.deadline, origin=d.origin,
                             deadline_counted=d.deadline_counted if d.deadline else None)
    m = await mgmt.register_and_assign(deps.uow, deps.clock, deps.cal, actor.id, cmd, found,
                                       line(deps, "auto_cancel_reason"),
                                       deps.config.max_days_ahead)
    deps.kick()
    return m


async def _send_card(update: Update, context: Ctx, actor: Person, m: Matter) -> None:
    assert m.id is not None
    deps = context.deps
    group = is_group(update.effective_chat)
    text, markup = await matter_card(deps, m, actor, group)
    head = line(deps, "registered", m=m)
    msg = await reply_about(update, context, f"{head}\n\n{text}" if markup else head, m.id,
                            reply_markup=markup)
    await record_card(deps, msg, m.id, actor)  # it follows the matter from now on


# ---------------------------------------------------------------- the one-line form


async def quick_new(update: Update, context: Ctx, actor: Person, text: str) -> None:
    """`/new 标题 | 牵头单位[,配合单位…] | 时限 [| 急件|重大疑难] [| 机密]`."""
    deps = context.deps
    parts = [p.strip() for p in _BAR.split(text)]
    if len(parts) < 3 or not parts[0] or not parts[1]:
        raise usage(deps, "new")
    d = Draft(title=parts[0])
    for flag in parts[3:]:
        if flag in ("急件", "急"):
            d.klass = MatterClass.URGENT
        elif flag in ("重大疑难", "重大", "疑难"):
            d.klass = MatterClass.MAJOR
        elif flag in ("一般", ""):
            pass
        elif flag in ("机密", "保密", "涉密"):
            d.confidential = True
        else:
            raise InvalidInput(deps.render("usage_new.j2", bad=flag))
    set_deadline(d, read_deadline_counted(deps, parts[2], d.klass))
    async with deps.uow() as uow:
        unit_ids, unknown = await queries.units_named(
            uow, actor.office_id, (n for n in map(str.strip, _SPLIT_UNITS.split(parts[1])) if n))
    if unknown is not None:
        raise InvalidInput(line(deps, "unknown_unit", unit=unknown))
    if not unit_ids:
        raise usage(deps, "new")
    found = await teams(deps, actor.office_id, unit_ids)
    check_teams(deps, found)
    m = await register_and_assign(deps, actor, d, found)
    await _send_card(update, context, actor, m)


def read_deadline(deps: Deps, text: str, klass: MatterClass) -> date | None:
    """A typed deadline (any parse_deadline form) or 默认; checked against the class rules
    before anything is registered."""
    parsed = read_deadline_counted(deps, text, klass)
    return parsed.day if parsed is not None else None


def read_deadline_counted(deps: Deps, text: str, klass: MatterClass) -> ParsedDeadline | None:
    """`read_deadline`, with how an N个工作日 deadline was counted."""
    text = text.strip()
    if text in ("", "默认", "默认时限", "无"):
        return None
    day = today(deps)
    parsed = parse_deadline_counted(text, day, deps.cal)
    check_deadline(deps.cal, day, klass, parsed.day, deps.config.max_days_ahead)
    return parsed


def set_deadline(d: Draft, parsed: ParsedDeadline | None) -> None:
    d.deadline = parsed.day if parsed is not None else None
    d.deadline_counted = parsed.counted if parsed is not None else None


# ---------------------------------------------------------------- the guided flow


def _draft(context: Ctx) -> Draft:
    data = context.user_data
    d = data.get(DRAFT_KEY) if data is not None else None
    if not isinstance(d, Draft):
        raise InvalidInput(line(context.deps, "flow_expired"))
    return d


async def new_entry(update: Update, context: Ctx) -> int:
    deps = context.deps
    actor = await require_person(update, context)
    perm.require_office(actor)
    text = args_text(update)
    if text:
        await quick_new(update, context, actor, text)
        return ConversationHandler.END
    if context.user_data is not None:
        context.user_data[DRAFT_KEY] = Draft()
    msg = update.effective_message
    assert msg is not None
    await msg.reply_text(deps.render("new_step.j2", step="title"), do_quote=False)
    return TITLE


def _keyboard(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=c) for t, c in row]
                                 for row in rows])


def _source_keyboard() -> InlineKeyboardMarkup:
    items = [(label, f"n:src:{s.value}") for s, label in SOURCE_LABELS.items()]
    return _keyboard([items[i:i + 2] for i in range(0, len(items), 2)])


def _class_keyboard() -> InlineKeyboardMarkup:
    return _keyboard([[(label, f"n:cls:{k.value}") for k, label in CLASS_LABELS.items()]])


async def new_title(update: Update, context: Ctx) -> int:
    deps = context.deps
    if await is_about_matter(update, context):
        await on_message(update, context)
        return TITLE
    d = _draft(context)
    msg = update.effective_message
    assert msg is not None
    title, _, body = (msg.text or "").strip().partition("\n")
    if not title.strip():
        raise InvalidInput(deps.render("new_step.j2", step="title"))
    d.title, d.body = title.strip(), body.strip()
    await msg.reply_text(deps.render("new_step.j2", step="source", d=d),
                         reply_markup=_source_keyboard(), do_quote=False)
    return SOURCE


async def new_source(update: Update, context: Ctx) -> int:
    deps = context.deps
    d = _draft(context)
    query = update.callback_query
    assert query is not None
    try:
        d.source = Source(str(query.data).split(":", 2)[2])
    except ValueError:
        raise InvalidInput(line(deps, "bad_button")) from None
    await query.answer()
    if d.source == Source.INSTRUCTION:
        await query.edit_message_text(deps.render("new_step.j2", step="instruction", d=d))
        return INSTRUCTION
    await query.edit_message_text(deps.render("new_step.j2", step="class", d=d),
                                  reply_markup=_class_keyboard())
    return CLASS


async def new_instruction(update: Update, context: Ctx) -> int:
    deps = context.deps
    if await is_about_matter(update, context):
        await on_message(update, context)
        return INSTRUCTION
    d = _draft(context)
    msg = update.effective_message
    assert msg is not None
    d.instruction = (msg.text or "").strip()
    await msg.reply_text(deps.render("new_step.j2", step="class", d=d),
                         reply_markup=_class_keyboard(), do_quote=False)
    return CLASS


async def _units_view(context: Ctx, actor_office: int, d: Draft,
                      note: str = "") -> tuple[str, InlineKeyboardMarkup]:
    deps = context.deps
    async with deps.uow() as uow:
        all_units = await queries.units(uow, actor_office)
    names = {u.id: u.name for u in all_units}
    buttons: list[tuple[str, str]] = []
    for u in all_units[:90]:
        mark = ""
        if u.id in d.units:
            mark = "①" if d.units[0] == u.id else "✓"
        buttons.append((f"{mark}{u.name}", f"n:u:{u.id}"))
    rows = [buttons[i:i + 3] for i in range(0, len(buttons), 3)]
    rows.append([(labels(deps)["done_units"], "n:ud"), (labels(deps)["no"], "n:x")])
    text = deps.render("new_step.j2", step="units", d=d,
                       chosen=[names.get(uid, "?") for uid in d.units], note=note)
    return text, _keyboard(rows)


async def new_class(update: Update, context: Ctx) -> int:
    deps = context.deps
    d = _draft(context)
    query = update.callback_query
    assert query is not None
    try:
        d.klass = MatterClass(str(query.data).split(":", 2)[2])
    except ValueError:
        raise InvalidInput(line(deps, "bad_button")) from None
    actor = await require_person(update, context)
    text, markup = await _units_view(context, actor.office_id, d)
    await query.answer()
    await query.edit_message_text(text, reply_markup=markup)
    return UNITS


async def new_unit_toggle(update: Update, context: Ctx) -> int:
    d = _draft(context)
    query = update.callback_query
    assert query is not None
    actor = await require_person(update, context)
    try:
        uid = int(str(query.data).split(":", 2)[2])
    except ValueError:
        raise InvalidInput(line(context.deps, "bad_button")) from None
    async with context.deps.uow() as uow:
        known = {u.id for u in await queries.units(uow, actor.office_id)}
    if uid not in known:
        raise InvalidInput(line(context.deps, "bad_button"))
    if uid in d.units:
        d.units.remove(uid)
    else:
        d.units.append(uid)
    text, markup = await _units_view(context, actor.office_id, d)
    await query.answer()
    await query.edit_message_text(text, reply_markup=markup)
    return UNITS


def _deadline_keyboard(deps: Deps) -> InlineKeyboardMarkup:
    return _keyboard([[(labels(deps)["default"], "n:dl"), (labels(deps)["no"], "n:x")]])


async def new_units_done(update: Update, context: Ctx) -> int:
    deps = context.deps
    d = _draft(context)
    query = update.callback_query
    assert query is not None
    actor = await require_person(update, context)
    if not d.units:
        await query.answer(line(deps, "pick_a_unit"), show_alert=True)
        return UNITS
    try:
        check_teams(deps, await teams(deps, actor.office_id, d.units))
    except InvalidInput as e:
        text, markup = await _units_view(context, actor.office_id, d, note=str(e))
        await query.answer(str(e)[:200], show_alert=True)
        await query.edit_message_text(text, reply_markup=markup)
        return UNITS
    await query.answer()
    await query.edit_message_text(
        deps.render("new_step.j2", step="deadline", d=d,
                    default=default_deadline(deps.cal, today(deps), d.klass)),
        reply_markup=_deadline_keyboard(deps))
    return DEADLINE


def _secret_keyboard(deps: Deps) -> InlineKeyboardMarkup:
    b = labels(deps)
    return _keyboard([[(b["secret_no"], "n:s:0"), (b["secret_yes"], "n:s:1")]])


async def new_deadline_text(update: Update, context: Ctx) -> int:
    deps = context.deps
    if await is_about_matter(update, context):
        await on_message(update, context)
        return DEADLINE
    d = _draft(context)
    msg = update.effective_message
    assert msg is not None
    try:
        set_deadline(d, read_deadline_counted(deps, msg.text or "", d.klass))
    except InvalidInput as e:
        await msg.reply_text(str(e) + "\n" + line(deps, "or_default"),
                             reply_markup=_deadline_keyboard(deps))
        return DEADLINE
    await msg.reply_text(deps.render("new_step.j2", step="secret", d=d),
                         reply_markup=_secret_keyboard(deps), do_quote=False)
    return SECRET


async def new_deadline_default(update: Update, context: Ctx) -> int:
    deps = context.deps
    d = _draft(context)
    query = update.callback_query
    assert query is not None
    set_deadline(d, None)
    await query.answer()
    await query.edit_message_text(deps.render("new_step.j2", step="secret", d=d),
                                  reply_markup=_secret_keyboard(deps))
    return SECRET


async def new_secret(update: Update, context: Ctx) -> int:
    deps = context.deps
    d = _draft(context)
    query = update.callback_query
    assert query is not None
    d.confidential = str(query.data) == "n:s:1"
    actor = await require_person(update, context)
    names = await Directory.fetch(deps, actor.office_id)
    found = await teams(deps, actor.office_id, d.units)
    b = labels(deps)
    await query.answer()
    await query.edit_message_text(
        deps.render("new_step.j2", step="confirm", d=d, teams=found,
                    unit_names=[names.unit(u) for u in d.units],
                    default=default_deadline(deps.cal, today(deps), d.klass)),
        reply_markup=_keyboard([[(b["yes"], "n:ok"), (b["no"], "n:x")]]))
    return CONFIRM


async def new_confirm(update: Update, context: Ctx) -> int:
    deps = context.deps
    d = _draft(context)
    query = update.callback_query
    assert query is not None
    actor = await require_person(update, context)
    found = await teams(deps, actor.office_id, d.units)
    check_teams(deps, found)
    m = await register_and_assign(deps, actor, d, found)
    if context.user_data is not None:
        context.user_data.pop(DRAFT_KEY, None)
    await query.answer()
    msg = query.message
    if isinstance(msg, Message):
        await msg.edit_reply_markup(None)
    await _send_card(update, context, actor, m)
    return ConversationHandler.END


async def new_abort(update: Update, context: Ctx) -> int:
    query = update.callback_query
    assert query is not None
    if context.user_data is not None:
        context.user_data.pop(DRAFT_KEY, None)
    await query.answer()
    await query.edit_message_text(line(context.deps, "cancelled"))
    return ConversationHandler.END


def _abort() -> CallbackQueryHandler[Ctx, object]:
    return CallbackQueryHandler(new_abort, pattern=r"^n:x$")


def new_conversation() -> ConversationHandler[Ctx]:
    text = filters.TEXT & ~filters.COMMAND & filters.UpdateType.MESSAGE
    with warnings.catch_warnings():
        # per_message=False is meant: the flow follows one person in one chat, and its
        # buttons are checked against the draft, not the message they sit on.
        warnings.filterwarnings("ignore", message=".*per_message.*", category=PTBUserWarning)
        return _conversation(text)


def _conversation(text: filters.BaseFilter) -> ConversationHandler[Ctx]:
    return ConversationHandler(
        entry_points=[CommandHandler("new", new_entry, filters.UpdateType.MESSAGE)],
        states={
            TITLE: [MessageHandler(text, new_title)],
            INSTRUCTION: [MessageHandler(text, new_instruction)],
            SOURCE: [CallbackQueryHandler(new_source, pattern=r"^n:src:")],
            CLASS: [CallbackQueryHandler(new_class, pattern=r"^n:cls:")],
            UNITS: [CallbackQueryHandler(new_unit_toggle, pattern=r"^n:u:\d+$"),
                    CallbackQueryHandler(new_units_done, pattern=r"^n:ud$"), _abort()],
            DEADLINE: [MessageHandler(text, new_deadline_text),
                       CallbackQueryHandler(new_deadline_default, pattern=r"^n:dl$"), _abort()],
            SECRET: [CallbackQueryHandler(new_secret, pattern=r"^n:s:[01]$")],
            CONFIRM: [CallbackQueryHandler(new_confirm, pattern=r"^n:ok$"), _abort()],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
        name="new",
        allow_reentry=True,
        conversation_timeout=FLOW_TIMEOUT,
    )


# ---------------------------------------------------------------- review and urge


async def close_command(update: Update, context: Ctx) -> None:
    deps = context.deps
    actor = await require_person(update, context)
    ref, _, comment = args_text(update).partition(" ")
    if not ref:
        raise usage(deps, "close")
    m = await reading.find_matter(deps.uow(), deps.clock, actor.id, ref)
    assert m.id is not None
    m = await closing.close_matter(deps.uow(), deps.clock, actor.id, m.id, comment.strip())
    deps.kick()
    await confirm(update, context, line(deps, "done_close", m=m, actor=actor.name), m, None)


async def return_command(update: Update, context: Ctx) -> None:
    deps = context.deps
    actor = await require_person(update, context)
    ref, _, reason = args_text(update).partition(" ")
    if not ref or not reason.strip():
        raise usage(deps, "return")
    m = await reading.find_matter(deps.uow(), deps.clock, actor.id, ref)
    assert m.id is not None
    m = await closing.return_matter(deps.uow(), deps.clock, actor.id, m.id, reason.strip())
    deps.kick()
    await confirm(update, context, line(deps, "returned", m=m, reason=reason.strip(),
                                        actor=actor.name), m, None)


async def urge_command(update: Update, context: Ctx) -> None:
    """/urge 编号 [限期] [说明]: the first word after the number is a limit if it reads as
    a date, otherwise everything is the note."""
    deps = context.deps
    actor = await require_person(update, context)
    parts = args_text(update).split(maxsplit=2)
    if not parts:
        raise usage(deps, "urge")
    limit: ParsedDeadline | None = None
    note = " ".join(parts[1:])
    if len(parts) > 1:
        try:
            limit = parse_deadline_counted(parts[1], today(deps), deps.cal)
            note = parts[2] if len(parts) > 2 else ""
        except DateParseError:
            limit = None
    m = await reading.find_matter(deps.uow(), deps.clock, actor.id, parts[0])
    assert m.id is not None
    m = await acct.urge(deps.uow(), deps.clock, deps.cal, actor.id, m.id, None,
                        limit.day if limit else None, note,
                        max_days_ahead=deps.config.max_days_ahead,
                        limit_counted=limit.counted if limit else None,
                        receipts=deps.config.reminders.receipts)
    deps.kick()
    await confirm(update, context, line(deps, "done_urge", m=m, actor=actor.name), m, None)


async def pause_command(update: Update, context: Ctx) -> None:
    """/pause 编号 理由: stop a matter's reminders and automatic urging (recorded)."""
    deps = context.deps
    actor = await require_person(update, context)
    parts = args_text(update).split(maxsplit=1)
    if len(parts) < 2:
        raise usage(deps, "pause")
    m = await reading.find_matter(deps.uow(), deps.clock, actor.id, parts[0])
    assert m.id is not None
    m = await acct.pause_reminders(deps.uow(), deps.clock, actor.id, m.id, parts[1])
    deps.kick()
    await confirm(update, context, line(deps, "done_pause", m=m, actor=actor.name,
                                        reason=parts[1]), m, None)


async def resume_command(update: Update, context: Ctx) -> None:
    """/resume 编号 [说明]: reminders start again from their next slot."""
    deps = context.deps
    actor = await require_person(update, context)
    parts = args_text(update).split(maxsplit=1)
    if not parts:
        raise usage(deps, "pause")
    m = await reading.find_matter(deps.uow(), deps.clock, actor.id, parts[0])
    assert m.id is not None
    m = await acct.resume_reminders(deps.uow(), deps.clock, actor.id, m.id,
                                   parts[1] if len(parts) > 1 else "")
    deps.kick()
    await confirm(update, context, line(deps, "done_resume", m=m, actor=actor.name), m, None)
