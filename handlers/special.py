"""Commands for the office's other systems (ledger.usecases: special, liaisons, meetings):
/priority, /project, /figures, /enterprise(s), /visit, /inspect, /propose, /inspections,
/meeting(s), /decisions; the one-tap 立项 button on records; and the notices those use
cases queue."""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

from handlers.cards import Directory, button, labels, matter_card
from handlers.common import (
    ALERT_MAX,
    args_text,
    fit,
    is_group,
    reply_about,
    require_person,
    today,
)
from handlers.deps import App, Ctx, Deps
from handlers.figures import say
from handlers.keys import parse_record_key, record_key
from handlers.livecards import record_card
from handlers.office import Draft, check_teams, read_deadline, register_and_assign, teams
from handlers.replies import content
from ledger import queries
from ledger.clock import LOCAL_TZ, to_local
from ledger.dateparse import parse_deadline
from ledger.deadlines import MatterClass
from ledger.errors import InvalidInput
from ledger.model import Attachment, Matter, Person, ProjectKind, Source
from ledger.policy import may_register, notice_shown
from ledger.ports import Notice, Record, UnitOfWork
from ledger.usecases import accountability as acct
from ledger.usecases import liaisons, meetings, reading, records, special
from presentation.labels import INSPECTION_MODE_LABELS

_BAR = re.compile(r"[|｜]")
_UNITS = re.compile(r"[,，、;；]+")
_ITEMS = re.compile(r"[；;\n]+")
_TIME = re.compile(r"\s*(\d{1,2})[:：点](\d{2})?分?\s*$")
_SOURCES = {records.VISIT: Source.ENTERPRISE, records.MEETING: Source.MEETING,
            records.INSPECTION: Source.INSPECTION}
_PROJECT_WORDS = {"项目建设": ProjectKind.CONSTRUCTION, "项目": ProjectKind.CONSTRUCTION,
                  "招商引资": ProjectKind.INVESTMENT, "招商": ProjectKind.INVESTMENT}
_OFF_WORDS = ("取消", "撤销", "否", "off")
_ITEM_NO = re.compile(r"^\s*\d{1,2}\s*[.、)）]\s*")


def _usage(deps: Deps, name: str) -> InvalidInput:
    return InvalidInput(say(deps, "usage", name=name))


async def _answer(update: Update, text: str, markup: InlineKeyboardMarkup | None = None,
                  ) -> Message:
    msg = update.effective_message
    assert msg is not None
    return await msg.reply_text(fit(text), reply_markup=markup, do_quote=False)


async def _unit_id(deps: Deps, office_id: int, name: str) -> int:
    async with deps.uow() as uow:
        unit = await queries.unit_named(uow, office_id, name.strip())
    if unit is None:
        raise InvalidInput(say(deps, "unknown_unit", unit=name.strip()))
    return unit.id


async def _unit_ids(deps: Deps, office_id: int, text: str) -> list[int]:
    out: list[int] = []
    for name in (n.strip() for n in _UNITS.split(text)):
        if name:
            uid = await _unit_id(deps, office_id, name)
            if uid not in out:
                out.append(uid)
    return out


# ---------------------------------------------------------------- 三个优先, 专项督查


async def priority_command(update: Update, context: Ctx) -> None:
    """/priority 编号 理由 — flag (三个优先); /priority 编号 取消 — unflag."""
    deps = context.deps
    actor = await require_person(update, context)
    parts = args_text(update).split(maxsplit=1)
    if not parts:
        raise _usage(deps, "priority")
    m = await reading.find_matter(deps.uow(), deps.clock, actor.id, parts[0])
    rest = parts[1].strip() if len(parts) > 1 else ""
    on = rest not in _OFF_WORDS
    assert m.id is not None
    m = await special.set_priority(deps.uow(), deps.clock, actor.id, m.id, on, rest)
    deps.kick()
    await reply_about(update, context, say(deps, "priority_set", m=m), m.id)


async def project_command(update: Update, context: Ctx) -> None:
    """/project 编号 [项目建设|招商引资|取消]: 专项督查 with monthly figures."""
    deps = context.deps
    actor = await require_person(update, context)
    parts = args_text(update).split(maxsplit=1)
    if not parts:
        raise _usage(deps, "project")
    word = parts[1].strip() if len(parts) > 1 else "项目建设"
    if word in _OFF_WORDS:
        kind: ProjectKind | None = None
    elif word in _PROJECT_WORDS:
        kind = _PROJECT_WORDS[word]
    else:
        raise _usage(deps, "project")
    m = await reading.find_matter(deps.uow(), deps.clock, actor.id, parts[0])
    assert m.id is not None
    m, days = await special.set_project(deps.uow(), deps.clock, deps.cal, actor.id, m.id, kind)
    deps.kick()
    why = None if days or m.project is None else special.why_no_checks(m, deps.cal, today(deps))
    await reply_about(update, context, say(deps, "project_set", m=m, days=days, why=why), m.id)


async def figures_command(update: Update, context: Ctx) -> None:
    """/figures 编号 完成60% 投资1200万 问题：… (also: reply to the monthly ask)."""
    deps = context.deps
    actor = await require_person(update, context)
    parts = args_text(update).split(maxsplit=1)
    if len(parts) < 2:
        raise _usage(deps, "figures")
    figs = special.parse_figures(parts[1])
    if figs is None:
        raise _usage(deps, "figures")
    m = await reading.find_matter(deps.uow(), deps.clock, actor.id, parts[0])
    assert m.id is not None
    m = await special.report_figures(deps.uow(), deps.clock, actor.id, m.id, None, figs)
    deps.kick()
    await reply_about(update, context, say(deps, "figures_recorded", m=m, f=figs), m.id)


# ---------------------------------------------------------------- 责任追究: judgements


async def _judge(update: Update, context: Ctx, kind: str) -> None:
    deps = context.deps
    actor = await require_person(update, context)
    parts = args_text(update).split(maxsplit=1)
    if len(parts) < 2 or not parts[1].strip():
        raise _usage(deps, kind)
    m = await reading.find_matter(deps.uow(), deps.clock, actor.id, parts[0])
    assert m.id is not None
    use_case = {"commend": acct.commend, "criticize": acct.criticize, "refer": acct.refer}[kind]
    m = await use_case(deps.uow(), deps.clock, actor.id, m.id, None, parts[1].strip())
    deps.kick()
    await reply_about(update, context, say(deps, "judged", m=m, kind=kind,
                                           reason=parts[1].strip()), m.id)


async def commend_command(update: Update, context: Ctx) -> None:
    """/commend 编号 理由: 通报表彰 of the lead unit (§2.10)."""
    await _judge(update, context, "commend")


async def criticize_command(update: Update, context: Ctx) -> None:
    """/criticize 编号 理由: 通报批评 of the lead unit (§2.10)."""
    await _judge(update, context, "criticize")


async def refer_command(update: Update, context: Ctx) -> None:
    """/refer 编号 理由: 提请追究责任 (§2.10)."""
    await _judge(update, context, "refer")


# ---------------------------------------------------------------- 重点企业 月回访


async def enterprise_command(update: Update, context: Ctx) -> None:
    """/enterprise 名称 | 服务单位 — add; /enterprise 名称 — its visits and problems."""
    deps = context.deps
    actor = await require_person(update, context)
    text = args_text(update)
    if not text:
        raise _usage(deps, "enterprise")
    parts = [p.strip() for p in _BAR.split(text)]
    if len(parts) >= 2:
        uid = await _unit_id(deps, actor.office_id, parts[1])
        r = await special.add_enterprise(deps.uow(), deps.clock, deps.cal, actor.id, parts[0], uid)
        deps.kick()
        names = await Directory.fetch(deps, actor.office_id)
        await _answer(update, say(deps, "enterprise_added", r=r, names=names))
        return
    r = await special.find_enterprise(deps.uow(), actor.id, parts[0])
    assert r.id is not None
    story = await special.enterprise_story(deps.uow(), actor.id, r.id)
    names = await Directory.fetch(deps, actor.office_id)
    await _answer(update, say(deps, "enterprise_story", s=story, names=names,
                              today=today(deps)))


async def enterprises_command(update: Update, context: Ctx) -> None:
    deps = context.deps
    actor = await require_person(update, context)
    found = await special.enterprises(deps.uow(), actor.id)
    names = await Directory.fetch(deps, actor.office_id)
    await _answer(update, say(deps, "enterprises", rows=found, names=names))


def _register_buttons(deps: Deps, r: Record, items: list[dict[str, Any]],
                      ) -> InlineKeyboardMarkup | None:
    assert r.id is not None
    caption = labels(deps)["reg"]
    rows = [[InlineKeyboardButton(f"{caption} {i}", callback_data=record_key("reg", r.id, i))]
            for i, x in enumerate(items, 1) if x.get("matter_id") is None]
    return InlineKeyboardMarkup(rows) if rows else None


async def visit_command(update: Update, context: Ctx) -> None:
    """/visit 企业名称 | 问题一；问题二 — a monthly visit and the problems raised."""
    deps = context.deps
    actor = await require_person(update, context)
    parts = [p.strip() for p in _BAR.split(args_text(update), maxsplit=1)]
    if not parts or not parts[0]:
        raise _usage(deps, "visit")
    ent = await special.find_enterprise(deps.uow(), actor.id, parts[0])
    assert ent.id is not None
    problems = _ITEMS.split(parts[1]) if len(parts) > 1 else []
    r = await special.record_visit(deps.uow(), deps.clock, actor.id, ent.id, problems)
    markup = _register_buttons(deps, r, r.data["problems"]) if may_register(actor) else None
    await _answer(update, say(deps, "visit_recorded", r=r), markup)


# ---------------------------------------------------------------- 聘员督办: inspections


_MODES = {label: mode for mode, label in INSPECTION_MODE_LABELS.items()}


async def inspect_command(update: Update, context: Ctx) -> None:
    """/inspect 编号或单位 明查|暗访 发现的情况 — as text, as a photo's caption, or as a
    reply to the photo(s) taken."""
    deps = context.deps
    actor = await require_person(update, context)
    msg = update.effective_message
    assert msg is not None
    raw = (msg.text or msg.caption or "").split(maxsplit=1)
    parts = raw[1].split(maxsplit=2) if len(raw) > 1 else []
    if len(parts) < 2 or parts[1] not in _MODES:
        raise _usage(deps, "inspect")
    target, mode = parts[0], _MODES[parts[1]]
    findings = parts[2] if len(parts) > 2 else ""
    _, atts = content(msg)
    if msg.reply_to_message is not None:
        atts += content(msg.reply_to_message)[1]
    matter_id: int | None = None
    unit_id: int | None = None
    async with deps.uow() as uow:
        unit = await queries.unit_named(uow, actor.office_id, target)
    if unit is not None:
        unit_id = unit.id
    else:
        m = await reading.find_matter(deps.uow(), deps.clock, actor.id, target)
        matter_id = m.id
    r = await liaisons.record_inspection(deps.uow(), deps.clock, actor.id, mode, findings,
                                   tuple(atts), matter_id=matter_id, unit_id=unit_id)
    deps.kick()
    names = await Directory.fetch(deps, actor.office_id)
    await _answer(update, say(deps, "inspection_recorded", r=r, names=names,
                              mode=INSPECTION_MODE_LABELS[mode], atts=atts))


async def propose_command(update: Update, context: Ctx) -> None:
    """/propose 督查记录号 建议立项的事项标题."""
    deps = context.deps
    actor = await require_person(update, context)
    parts = args_text(update).split(maxsplit=1)
    if not parts or not parts[0].lstrip("#").isdigit():
        raise _usage(deps, "propose")
    r = await liaisons.propose_matter(deps.uow(), deps.clock, actor.id, int(parts[0].lstrip("#")),
                                parts[1] if len(parts) > 1 else "")
    deps.kick()
    await _answer(update, say(deps, "proposed", r=r))


async def inspections_command(update: Update, context: Ctx) -> None:
    deps = context.deps
    actor = await require_person(update, context)
    found = await liaisons.inspections(deps.uow(), actor.id)
    names = await Directory.fetch(deps, actor.office_id)
    await _answer(update, say(deps, "inspections", rows=found[-20:], names=names,
                              modes=INSPECTION_MODE_LABELS))


# ---------------------------------------------------------------- 联席会议


def read_moment(deps: Deps, text: str) -> datetime:
    """`12月1日 15:00`, `下周一 9点`, `2026-12-01 15:30` (local time; 9:00 when no time)."""
    text = text.strip()
    at = time(9, 0)
    tm = _TIME.search(text)
    if tm is not None:
        hour, minute = int(tm[1]), int(tm[2] or 0)
        if hour > 23 or minute > 59:
            raise InvalidInput(say(deps, "bad_time", text=text))
        at = time(hour, minute)
        text = text[:tm.start()].strip()
    day = parse_deadline(text, today(deps), deps.cal)
    return datetime.combine(day, at, tzinfo=LOCAL_TZ)


async def meeting_command(update: Update, context: Ctx) -> None:
    """/meeting 议题 | 时间 | 单位1,单位2 [| 地点]; /meeting 会议号 — show it."""
    deps = context.deps
    actor = await require_person(update, context)
    text = args_text(update)
    parts = [p.strip() for p in _BAR.split(text)]
    if len(parts) == 1 and parts[0].lstrip("#").isdigit():
        r = await meetings.get_meeting(deps.uow(), actor.id, int(parts[0].lstrip("#")))
        await _send_meeting(update, context, actor, r, "meeting")
        return
    if len(parts) < 3:
        raise _usage(deps, "meeting")
    at = read_moment(deps, parts[1])
    unit_ids = await _unit_ids(deps, actor.office_id, parts[2])
    r = await meetings.schedule_meeting(deps.uow(), deps.clock, deps.cal, actor.id, parts[0], at,
                                  unit_ids, parts[3] if len(parts) > 3 else "",
                                  receipts=deps.config.reminders.receipts)
    deps.kick()
    await _send_meeting(update, context, actor, r, "meeting_scheduled")


async def _send_meeting(update: Update, context: Ctx, actor: Person, r: Record,
                        key: str) -> None:
    deps = context.deps
    names = await Directory.fetch(deps, actor.office_id)
    numbers = await _numbers(deps, [d.get("matter_id") for d in r.data["decisions"]])
    await _answer(update, say(deps, key, r=r, names=names, at=_at(r), numbers=numbers),
                  _register_buttons(deps, r, r.data["decisions"]))


async def _numbers(deps: Deps, ids: list[int | None]) -> dict[int, Matter]:
    async with deps.uow() as uow:
        return await queries.matters_by_id(uow, ids)


def _at(r: Record) -> datetime:
    return to_local(datetime.fromisoformat(r.data["at"]))


async def meetings_command(update: Update, context: Ctx) -> None:
    deps = context.deps
    actor = await require_person(update, context)
    found = await meetings.meetings(deps.uow(), actor.id)
    await _answer(update, say(deps, "meetings", rows=found[-20:], at=_at))


async def decisions_command(update: Update, context: Ctx) -> None:
    """/decisions 会议号 then one decision a line: `内容 | 牵头单位,配合单位 | 时限`."""
    deps = context.deps
    actor = await require_person(update, context)
    text = args_text(update)
    head, _, body = text.partition("\n")
    head_parts = head.split(maxsplit=1)
    if not head_parts or not head_parts[0].lstrip("#").isdigit():
        raise _usage(deps, "decisions")
    lines = [ln for ln in ([head_parts[1]] if len(head_parts) > 1 else []) + body.splitlines()
             if ln.strip()]
    if not lines:
        raise _usage(deps, "decisions")
    decisions: list[meetings.Decision] = []
    for ln in lines:
        parts = [p.strip() for p in _BAR.split(_ITEM_NO.sub("", ln.strip()))]
        units = tuple(await _unit_ids(deps, actor.office_id, parts[1])) if len(parts) > 1 \
            else ()
        deadline = read_deadline(deps, parts[2], MatterClass.NORMAL) if len(parts) > 2 \
            else None
        decisions.append(meetings.Decision(parts[0], units, deadline))
    r = await meetings.record_decisions(deps.uow(), deps.clock, actor.id,
                                  int(head_parts[0].lstrip("#")), decisions)
    await _send_meeting(update, context, actor, r, "decisions_recorded")


# ---------------------------------------------------------------- one tap: 立项


async def on_record_button(update: Update, context: Ctx) -> None:
    """`r:reg:<record>:<item>`: a visit's problem, a meeting's decision or an inspection's
    proposal becomes a matter, assigned and linked back to where it came from."""
    deps = context.deps
    query = update.callback_query
    assert query is not None
    press = parse_record_key(query.data)
    if press is None:
        await query.answer(say(deps, "bad_button")[:ALERT_MAX], show_alert=True)
        return
    actor = await require_person(update, context)
    item = await records.item_to_register(deps.uow(), actor.id, press.record_id, press.item)
    found = await teams(deps, actor.office_id, list(item.unit_ids))
    check_teams(deps, found)
    draft = Draft(title=item.title[:200], source=_SOURCES[item.record.kind],
                  deadline=item.deadline, origin=item.origin)
    if item.record.kind == records.INSPECTION:
        draft.body = item.record.data.get("findings", "")
    m = await register_and_assign(deps, actor, draft, found)
    assert m.id is not None
    await records.link_item(deps.uow(), deps.clock, actor.id, press.record_id, press.item, m.id)
    await query.answer(say(deps, "registered_short", m=m)[:ALERT_MAX])
    chat = update.effective_chat
    text, markup = await matter_card(deps, m, actor, is_group(chat))
    msg = await reply_about(update, context, say(deps, "registered_from", m=m, item=item)
                            + "\n\n" + text, m.id, reply_markup=markup)
    await record_card(deps, msg, m.id, actor)  # it follows the matter from now on


# ---------------------------------------------------------------- notices


async def compose_special(deps: Deps, uow: UnitOfWork, notice: Notice, viewer: Person | None,
                          names: Directory, m: Matter | None,
                          ) -> tuple[str, InlineKeyboardMarkup | None]:
    """Text and buttons of the kinds in ledger.usecases.records.NOTICE_KINDS."""
    p = dict(notice.payload)
    if "at" in p and isinstance(p["at"], str):
        p["at"] = to_local(datetime.fromisoformat(p["at"]))
    if m is not None and not notice_shown(viewer, m):
        return deps.render("lines.j2", k="confidential_group", m=m), None
    actor = names.person(p["actor_id"]) if isinstance(p.get("actor_id"), int) else ""
    text = fit(deps.render("notice_special.j2", kind=notice.kind, p=p, m=m, names=names,
                           actor=actor, modes=INSPECTION_MODE_LABELS))
    rows: list[list[InlineKeyboardButton]] = []
    if notice.kind == "office_proposal":
        rid = p.get("record_id")
        if isinstance(rid, int):
            r = await queries.record_or_none(uow, rid)
            if r is not None and (r.data.get("proposal") or {}).get("matter_id") is None:
                rows.append([InlineKeyboardButton(labels(deps)["reg"],
                                                  callback_data=record_key("reg", rid, 1))])
    if m is not None and m.id is not None and notice.kind != "project_check":
        rows.append([button(deps, "show", m.id), button(deps, "hist", m.id)])
    return text, InlineKeyboardMarkup(rows) if rows else None


def attachments_of(r: Record) -> list[Attachment]:
    return [Attachment.from_json(a) for a in r.data.get("attachments", [])]


# ---------------------------------------------------------------- the monthly asks

PLAN_JOB = "special-plan-recurring"


async def plan_job(context: Ctx) -> None:
    deps = context.deps
    await special.plan_recurring(deps.uow(), deps.clock, deps.cal)
    deps.kick()


def schedule_recurring(app: App) -> None:
    """Top up the monthly asks (项目月检查, 企业月回访) at start and every day at 07:30."""
    if app.job_queue is None:
        return
    app.job_queue.run_once(plan_job, 5, name=f"{PLAN_JOB}-start")
    app.job_queue.run_daily(plan_job, time(7, 30, tzinfo=LOCAL_TZ), name=PLAN_JOB)
