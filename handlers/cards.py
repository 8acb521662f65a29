"""Matter cards and outbox notices: the text and ONLY the buttons the viewer may press.

`compose_notice` runs inside the dispatcher's open unit of work, so everything here reads
through the `uow` it is given and never opens another (SQLite writers would queue on
each other).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from handlers.common import fit, today, with_dates
from handlers.deps import Deps
from handlers.keys import card_key, matter_key
from handlers.office_context import office_heading
from ledger import policy, queries
from ledger.lights import (
    assignment_light,
    assignment_provisional,
    matter_light,
    matter_provisional,
    workdays_left,
)
from ledger.model import (
    Assignment,
    Matter,
    Person,
    Unit,
)
from ledger.ports import Notice, UnitOfWork

OFFICE_FEED_KINDS = frozenset({"office_progress", "office_completion_requested",
                               "office_extension_requested", "office_unreachable"})


@dataclass
class Directory:
    """Names of an office's persons and units, for display."""

    persons: dict[int, Person]
    units: dict[int, Unit]

    @classmethod
    async def load(cls, uow: UnitOfWork, office_id: int) -> Directory:
        persons, units = await queries.office_directory(uow, office_id)
        return cls(persons, units)

    @classmethod
    async def fetch(cls, deps: Deps, office_id: int) -> Directory:
        async with deps.uow() as uow:
            return await cls.load(uow, office_id)

    def person(self, person_id: int | None) -> str:
        p = self.persons.get(person_id) if person_id is not None else None
        if p is None:
            return "—"
        if not p.active:  # /revoke or /handover ended the binding
            return f"{p.name}（已停用）"
        # Telegram said Forbidden: the office must reach this person another way.
        return p.name if p.reachable else f"{p.name}（⚠️联系不上）"

    def unit(self, unit_id: int | None) -> str:
        u = self.units.get(unit_id) if unit_id is not None else None
        return u.name if u else "—"


# ---------------------------------------------------------------- buttons


@lru_cache(maxsize=4)
def _labels(render_id: int, text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw in text.splitlines():
        key, sep, label = raw.partition("=")
        if sep:
            out[key.strip()] = label.strip()
    return out


def labels(deps: Deps) -> dict[str, str]:
    """Button captions from templates/buttons.j2 (`key=caption` lines)."""
    return _labels(id(deps.render), deps.render("buttons.j2"))


def button(deps: Deps, action: str, matter_id: int, no: int | None = None,
           suffix: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(labels(deps)[action] + suffix,
                                callback_data=matter_key(action, matter_id, no))


def _rows(buttons: list[InlineKeyboardButton], width: int = 2) -> list[list[InlineKeyboardButton]]:
    return [buttons[i:i + width] for i in range(0, len(buttons), width)]


def mark_card(markup: InlineKeyboardMarkup) -> InlineKeyboardMarkup:
    """The same buttons, marked as sitting on a matter card."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        b.text, callback_data=card_key(str(b.callback_data)) if b.callback_data else None)
        for b in row] for row in markup.inline_keyboard])


_NAV = frozenset({policy.HISTORY, policy.SHOW, policy.FILES})


def action_buttons(deps: Deps, m: Matter, actions: list[policy.Action], names: Directory,
                   ) -> InlineKeyboardMarkup:
    """The policy's answer as buttons: decisions two a row, then show/history/files."""
    assert m.id is not None
    per_name: dict[str, int] = {}
    for a in actions:
        per_name[a.name] = per_name.get(a.name, 0) + 1
    decide: list[InlineKeyboardButton] = []
    nav: list[InlineKeyboardButton] = []
    for a in actions:
        # Several units' extension requests at once: say whose each button is.
        suffix = (f"·{names.unit(a.unit_id)}" if a.unit_id is not None
                  and per_name[a.name] > 1 else "")
        (nav if a.name in _NAV else decide).append(button(deps, a.name, m.id, a.no, suffix))
    rows = _rows(decide)
    if nav:
        rows.append(nav)
    return InlineKeyboardMarkup(rows)


def card_buttons(deps: Deps, m: Matter, viewer: Person | None, names: Directory,
                 day: date | None = None) -> InlineKeyboardMarkup:
    return action_buttons(deps, m, policy.card_actions(viewer, m, day or today(deps)), names)


# ---------------------------------------------------------------- card text


def _days_left(deps: Deps, day: date, a: Assignment) -> int:
    return workdays_left(deps.cal, day, a.effective_deadline)


def assignment_view(deps: Deps, a: Assignment, names: Directory, day: date,
                    ) -> dict[str, Any]:
    return {
        "a": a, "unit": names.unit(a.unit_id), "principal": names.person(a.principal_id),
        "responsible": names.person(a.responsible_id), "handler": names.person(a.handler_id),
        "left": _days_left(deps, day, a), "overdue": day > a.effective_deadline,
        "light": assignment_light(a, deps.cal, day, deps.light_policy),
        "ext_by": names.person(a.extension.requested_by) if a.extension else "",
        "provisional": a.is_open and assignment_provisional(deps.cal, day, a),
    }


def card_text(deps: Deps, m: Matter, names: Directory, day: date | None = None) -> str:
    day = day or today(deps)
    rows = [assignment_view(deps, a, names, day) for a in m.assignments]
    return fit(deps.render("matter_card.j2", m=m, rows=rows,
                           light=matter_light(m, deps.cal, day, deps.light_policy),
                           provisional=matter_provisional(m, deps.cal, day)))


async def matter_card(deps: Deps, m: Matter, viewer: Person | None, chat_is_group: bool,
                      names: Directory | None = None) -> tuple[str, InlineKeyboardMarkup | None]:
    """The card of a matter for `viewer`. Pass `names` when a unit of work is open."""
    if names is None:
        names = await Directory.fetch(deps, m.office_id)
    if not policy.may_show(viewer, policy.place_of(chat_is_group), m):
        return deps.render("lines.j2", k="confidential_group", m=m), None
    heading = "" if chat_is_group else await office_heading(deps, viewer)
    return (fit(heading + card_text(deps, m, names)),
            mark_card(card_buttons(deps, m, viewer, names)))


# ---------------------------------------------------------------- notices


def feed_buttons(deps: Deps, kind: str, m: Matter, names: Directory, files: bool = False,
                  ) -> InlineKeyboardMarkup:
    return action_buttons(deps, m, policy.feed_actions(kind, m, files), names)


async def compose_notice(deps: Deps, uow: UnitOfWork, notice: Notice, viewer: Person | None,
                         ) -> tuple[str, InlineKeyboardMarkup | None]:
    """Text and buttons for one outbox notice (any kind the use cases or reminders queue)."""
    names = await Directory.load(uow, notice.office_id)
    day = today(deps)
    m: Matter | None = None
    if notice.matter_id is not None:
        m = await queries.matter_or_none(uow, notice.matter_id)
    payload = with_dates(notice.payload)
    kind = notice.kind
    base: dict[str, Any] = {"kind": kind, "p": payload, "names": names, "viewer": viewer}
    if m is None:
        text = deps.render("notice_other.j2", m=None, row=None, **base)
        return fit(text), None
    if not policy.notice_shown(viewer, m):
        return deps.render("lines.j2", k="confidential_group", m=m), None
    a = _notice_assignment(m, notice.assignment_no)
    row = assignment_view(deps, a, names, day) if a is not None else None
    values = {**base, "m": m, "row": row, "actor": names.person(_int(payload.get("actor_id")))}
    if kind in OFFICE_FEED_KINDS:
        files = bool(payload.get("attachments"))
        return (fit(deps.render("office_feed.j2", **values)),
                feed_buttons(deps, kind, m, names, files))
    if kind == "assignment":
        text = deps.render("notice_assignment.j2", card=card_text(deps, m, names, day),
                           **values)
        if viewer is not None:  # it is the card: redrawn whole after 签收 etc.
            return fit(text), mark_card(card_buttons(deps, m, viewer, names, day))
    elif kind in ("extension_confirm", "extension_approved", "extension_rejected", "closed",
                  "returned", "urged"):
        text = deps.render(f"notice_{kind}.j2", **values)
    else:  # reminder_*, office_sla and kinds added later
        text = deps.render("notice_other.j2", **values)
    if viewer is None:  # a group: whoever opens it gets their own buttons
        return fit(text), action_buttons(deps, m, policy.group_notice_actions(), names)
    return fit(text), card_buttons(deps, m, viewer, names, day)


def _notice_assignment(m: Matter, no: int | None) -> Assignment | None:
    if no is not None:
        for a in m.assignments:
            if a.no == no:
                return a
    return m.lead


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
