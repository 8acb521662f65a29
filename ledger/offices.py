"""Many offices on one deployment (issue 16, policy §2.1 逐级推行台账管理): the one place
that decides which office a person acts in, and what crosses an office's boundary (nothing).

- Every row of the ledger belongs to one office (`office_id`); a person row is a binding of
  a Telegram account in one office, and an account may be bound in several (a township's
  head is 第一责任人 in the county's ledger and admin of the township's own).
- A bound group belongs to one office: there the account acts as its binding in that office,
  or not at all.
- In a private chat (or a group not bound yet) the account acts as its only active binding;
  with several, as the one whose office it chose (/office); not chosen yet: it is asked.
- Offices form a tree (a township's parent is the county's). An office's admins manage its
  child offices (/offices); nobody reads or writes another office's ledger.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from ledger.errors import InvalidInput, shown
from ledger.lights import LightPolicy, matter_light
from ledger.model import NUMBER_RE, Light, Matter, Office, Person
from ledger.workcalendar import WorkCalendar

PREFIX_MAX = 20
_PREFIX_BAD = re.compile(r"[\d〔〕\s]")


def check_prefix(text: str) -> str:
    """A numbering prefix as typed (城关督 → 城关督〔2026〕3号): no digits, brackets or spaces."""
    prefix = text.strip()
    if not prefix:
        raise InvalidInput("请写编号前缀，如 --prefix 城关督（编号即 城关督〔2026〕1号）。")
    if len(prefix) > PREFIX_MAX:
        raise InvalidInput(f"编号前缀太长（{len(prefix)}字）：最多{PREFIX_MAX}字。")
    if _PREFIX_BAD.search(prefix):
        raise InvalidInput(f"编号前缀「{shown(prefix)}」不能含数字、空格或〔〕，如 城关督。")
    return prefix


def same_office(person: Person, office_id: int) -> bool:
    """The isolation rule: a person reads and acts only in the office of their binding."""
    return person.office_id == office_id


def reference_in_office(reference: str, office: Office) -> bool:
    """A full number typed with another office's prefix (城关督〔2026〕3号 typed in the
    county) is not this office's matter, whatever its year and sequence."""
    m = NUMBER_RE.match(reference.strip().lstrip("#"))
    return m is None or not m["prefix"] or m["prefix"] == office.doc_prefix


# ---------------------------------------------------------------- which binding acts


@dataclass(frozen=True)
class Ambiguous:
    """The account is bound in several offices and has not chosen one: ask (buttons)."""

    office_ids: tuple[int, ...]


def acting_binding(bindings: Sequence[Person], *, group_office_id: int | None,
                   chosen_office_id: int | None, about_office_id: int | None = None,
                   ) -> Person | Ambiguous | None:
    """Which of the account's bindings acts here.

    `group_office_id`: the office of the bound group the message came from (None: a private
    chat or a group not bound yet). `chosen_office_id`: the private chat's choice (/office).
    `about_office_id`: the office of the matter the message is about (a reply to its card,
    a button on it): the account acts there if bound there, whatever it chose.
    None: the account is not bound here (a deactivated binding is returned, so that the
    caller says "停用" rather than "未绑定").
    """
    if group_office_id is not None:
        return next((p for p in bindings if p.office_id == group_office_id), None)
    active = [p for p in bindings if p.active]
    about = next((p for p in active if p.office_id == about_office_id), None)
    if about is not None:
        return about
    if not active:
        return bindings[0] if bindings else None
    if len(active) == 1:
        return active[0]
    chosen = next((p for p in active if p.office_id == chosen_office_id), None)
    if chosen is not None:
        return chosen
    return Ambiguous(tuple(p.office_id for p in active))


def may_choose(bindings: Sequence[Person], office_id: int) -> bool:
    """/office: only an office where the account has an active binding."""
    return any(p.active and p.office_id == office_id for p in bindings)


def names_office(bindings: Sequence[Person]) -> bool:
    """Cards and notices name the office when the person belongs to more than one."""
    return len({p.office_id for p in bindings if p.active}) > 1


# ---------------------------------------------------------------- the tree of offices


def top_office(offices: Sequence[Office]) -> Office | None:
    """The default office of exports and the web page: the only one, or the first top one."""
    tops = [o for o in offices if o.parent_id is None] or list(offices)
    return tops[0] if tops else None


def children(offices: Sequence[Office], office_id: int) -> list[Office]:
    return [o for o in offices if o.parent_id == office_id]


def may_manage_children(actor: Person) -> bool:
    """/offices: an office's admins list and add its child offices."""
    return actor.is_office


def is_child(office: Office, parent: Office) -> bool:
    return office.parent_id == parent.id


def office_named(offices: Sequence[Office], text: str) -> Office | None:
    """An office as typed on the command line: its name, its prefix or its id."""
    text = text.strip()
    for o in offices:
        if text in (o.name, o.doc_prefix):
            return o
    if text.isdigit():
        return next((o for o in offices if o.id == int(text)), None)
    return None


def group_rebind_allowed(actor: Person, bound_office_id: int | None) -> bool:
    """A group belongs to one office: another office's admin cannot take it over."""
    return bound_office_id is None or same_office(actor, bound_office_id)


# ---------------------------------------------------------------- rolling up


@dataclass(frozen=True)
class Rollup:
    """A child office's ledger as its parent sees it (/offices, /list 下级, the parent's
    bulletin): each figure is a count of the child's own matters that may leave its office
    at all (never confidential or cancelled ones, RULES 5), traceable to the child's /list."""

    open: int
    red: int
    yellow: int
    overdue: int
    closed: int                    # closed in the window [since, until)
    worst: tuple[Matter, ...]      # the red ones, most overdue first

    @property
    def numbers(self) -> tuple[str, ...]:
        return tuple(m.number for m in self.worst)


def rolled_up(m: Matter) -> bool:
    """Whether a child's matter counts in its parent's figures at all (RULES 5)."""
    return not m.confidential and m.cancelled_at is None


def rollup(matters: Sequence[Matter], cal: WorkCalendar, today: date, policy: LightPolicy,
           since: datetime, worst: int = 3, until: datetime | None = None) -> Rollup:
    """The one counting of a child office's figures: open, red, yellow, overdue (an open
    assignment past its effective deadline) as of `today`; closed in [since, until)."""
    scoped = [m for m in matters if rolled_up(m)]
    open_ = [m for m in scoped if m.is_open]
    lights = {id(m): matter_light(m, cal, today, policy) for m in open_}
    overdue = [m for m in open_ if any(a.is_open and today > a.effective_deadline
                                       for a in m.assignments)]

    def lateness(m: Matter) -> tuple[date, int, int]:
        return (min((a.effective_deadline for a in m.assignments if a.is_open), default=today),
                m.year, m.seq)
    red = [m for m in open_ if lights[id(m)] is Light.RED]
    return Rollup(open=len(open_), red=len(red),
                  yellow=sum(lights[id(m)] is Light.YELLOW for m in open_),
                  overdue=len(overdue),
                  closed=sum(m.closed_at is not None and m.closed_at >= since
                             and (until is None or m.closed_at < until) for m in scoped),
                  worst=tuple(sorted(red, key=lateness)[:worst]))


# ---------------------------------------------------------------- an office's bulletin


def bulletin_chats(listed: Sequence[int], bound: dict[int, int], office_id: int,
                   own_groups: bool) -> tuple[list[int], list[int]]:
    """Where an office's scheduled bulletin goes: the chats its spec lists, and (`groups`)
    every group bound to the office; a listed chat bound to another office gets nothing
    (a group belongs to one office). `bound`: chat id → its office, for the bound chats.
    Returns (chats, refused)."""
    chats = [c for c in listed if bound.get(c, office_id) == office_id]
    refused = [c for c in listed if bound.get(c, office_id) != office_id]
    if own_groups:
        chats += sorted(c for c, o in bound.items() if o == office_id)
    return list(dict.fromkeys(chats)), refused
