"""The one visibility and action policy: who may see a matter where, and which actions a
card, notice or feed line offers them.

Every reader asks here: the use cases, the cards and lists in private and group chats,
the bulletins, the public channel and the web page. Nobody else tests `confidential`
or a role to decide what is shown (RULES 5: a confidential matter is seen by the office
and its named persons only, in private; never in a group, a bulletin or in public).

The answers are names (`Action.name`); the chat layer maps names to buttons and labels.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import Enum

from ledger import permissions as perm
from ledger.model import (
    Assignment,
    AssignmentStatus,
    ExtensionState,
    Matter,
    MatterStatus,
    Person,
    Role,
)
from ledger.ports import UnitOfWork
from ledger.receipts import urge_readers


class Place(Enum):
    PRIVATE = "private"      # a private chat with the person
    GROUP = "group"          # a bound group: the office's group or a unit's group
    PUBLIC = "public"        # the public channel and the web page (公示)
    BULLETIN = "bulletin"    # a bulletin (通报), sent to groups and printed


# Posted publicly once assigned (names and a deadline exist) and until closed.
PUBLIC_STATUSES = frozenset({MatterStatus.IN_PROGRESS, MatterStatus.COMPLETION_REQUESTED,
                             MatterStatus.CLOSED})


def publishable(m: Matter) -> bool:
    """May leave the office's private circle at all: groups, bulletins, exports marked
    public, the public channel (RULES 5)."""
    return not m.confidential


def may_show(person: Person | None, place: Place, m: Matter) -> bool:
    """Whether `m` may be shown to `person` (None: nobody in particular) at `place`."""
    if place is Place.PUBLIC:
        return publishable(m) and m.status in PUBLIC_STATUSES and m.lead is not None
    if place is Place.BULLETIN:
        return publishable(m) and m.cancelled_at is None
    if place is Place.GROUP:
        # Everyone in the group reads it, whoever asked.
        return publishable(m) and (person is None or perm.can_view(person, m))
    return person is not None and perm.can_view(person, m)


def notice_shown(addressee: Person | None, m: Matter) -> bool:
    """An outbox notice about `m`: one addressed to a person is theirs (the use case chose
    them, e.g. the liaison who proposed it); one to a group (no addressee) follows the
    group's rule."""
    return addressee is not None or may_show(None, Place.GROUP, m)


def place_of(group: bool) -> Place:
    return Place.GROUP if group else Place.PRIVATE


def sees_confidential(person: Person, place: Place) -> bool:
    """A query for `person` at `place` may fetch confidential matters at all (each one is
    still checked with `may_show`)."""
    return place is Place.PRIVATE and person.is_office


def sees_whole_office(person: Person) -> bool:
    """Lists every unit's matters, not just the person's own unit's (leaders, liaisons)."""
    return person.is_office or person.has(Role.LEADER) or person.has(Role.LIAISON)


def filter_shown(person: Person | None, place: Place, matters: Iterable[Matter],
                 ) -> list[Matter]:
    return [m for m in matters if may_show(person, place, m)]


# ---------------------------------------------------------------- actions


@dataclass(frozen=True)
class Action:
    """An action offered: its name (a button), and the assignment it is about."""

    name: str
    no: int | None = None
    unit_id: int | None = None  # for labelling when several assignments offer the same


SIGN, PROGRESS, DONE, EXTEND, CONFIRM_EXT = "sign", "prog", "done", "ext", "cext"
CLOSE, RETURN, EXT_OK, EXT_NO, URGE = "close", "ret", "extok", "extno", "urge"
HISTORY, SHOW, FILES = "hist", "show", "files"


def unit_actions(viewer: Person, m: Matter, today: date) -> list[Action]:
    """What a named person or their unit's principal may do on their own assignment."""
    out: list[Action] = []
    mine = perm.actor_assignments(viewer, m)
    if mine:
        a = mine[0]
        if a.status == AssignmentStatus.ASSIGNED:
            out.append(Action(SIGN, a.no))
        out.append(Action(PROGRESS, a.no))
        if a.status != AssignmentStatus.COMPLETION_REQUESTED and perm.can_lead_assignment(
                viewer, a):
            out.append(Action(DONE, a.no))
        if a.may_request_extension(today):
            out.append(Action(EXTEND, a.no))
    for a in m.assignments:
        if (a.is_open and a.extension is not None
                and a.extension.state == ExtensionState.AWAITING_PRINCIPAL
                and perm.is_principal(viewer, a)):
            out.append(Action(CONFIRM_EXT, a.no))
    return out


def office_actions(m: Matter, *, review: bool = True, extension: bool = True,
                   urge: bool = True) -> list[Action]:
    """The office's decisions on a matter (销号/退回, 延期审批, 催办)."""
    out: list[Action] = []
    if not m.is_open:
        return out
    if review and m.status == MatterStatus.COMPLETION_REQUESTED:
        out += [Action(CLOSE), Action(RETURN)]
    if extension:
        for a in m.assignments:
            if (a.is_open and a.extension is not None
                    and a.extension.state == ExtensionState.AWAITING_OFFICE):
                out += [Action(EXT_OK, a.no, a.unit_id), Action(EXT_NO, a.no, a.unit_id)]
    if urge and m.status == MatterStatus.IN_PROGRESS and any(
            a.is_open for a in m.top_assignments):
        out.append(Action(URGE))
    return out


def card_actions(viewer: Person | None, m: Matter, today: date) -> list[Action]:
    """The buttons of a matter's card for `viewer`, history last."""
    out: list[Action] = []
    if viewer is not None and m.is_open:
        out += unit_actions(viewer, m, today)
        if viewer.is_office:
            out += office_actions(m)
    return [*out, Action(HISTORY)]


def group_notice_actions() -> list[Action]:
    """A notice in a group: whoever opens it gets their own card and buttons."""
    return [Action(SHOW), Action(HISTORY)]


FEED_DECISIONS = {"office_completion_requested": "review",
                  "office_extension_requested": "extension"}


def feed_actions(kind: str, m: Matter, files: bool) -> list[Action]:
    """A line of the office's feed: the decision it asks for, then the card (and files)."""
    decision = FEED_DECISIONS.get(kind)
    out = office_actions(m, review=decision == "review", extension=decision == "extension",
                         urge=False)
    out.append(Action(SHOW))
    if files:
        out.append(Action(FILES))
    return out


# ---------------------------------------------------------------- who hears of it


Target = tuple[int | None, int | None]  # (person id, chat id): one of them is set


def office_audience(office_chats: Sequence[int], admins: Sequence[int],
                    confidential: bool) -> list[Target]:
    """Where the office hears news: its own bound group chats, else each admin privately.
    Confidential news (RULES 5) goes to the admins only, never to a group."""
    if office_chats and not confidential:
        return [(None, c) for c in office_chats]
    return [(p, None) for p in admins]


async def office_hears(uow: UnitOfWork, office_id: int, confidential: bool = False,
                       ) -> list[Target]:
    """`office_audience` of an office, read through an open unit of work."""
    chats = [c.chat_id for c in await uow.chats.for_office(office_id) if c.unit_id is None]
    admins = [p.id for p in await uow.people.persons(office_id) if p.is_office]
    return office_audience(chats, admins, confidential)


@dataclass(frozen=True)
class UrgeAudience:
    """Who a 催办 of one assignment reaches (RULES 7, issue 16): in the matter's office its
    unit's principal and responsible person (they get the notice and the 催办通知单 and are
    expected to press 已阅); when the assignment was passed down (转办) to the unit's own
    office and the child has not closed it, that office's admins too: the notice about
    their linked matter, and the 催办通知单 as the unit received it (no 已阅 expected of
    them), unless their Telegram account already gets it as the unit's person."""

    persons: tuple[int, ...]
    child_office_id: int | None = None
    child_matter_id: int | None = None
    child_admins: tuple[int, ...] = ()
    child_documents: tuple[int, ...] = ()   # the child admins who get the .docx


def urged_persons(a: Assignment) -> tuple[int, ...]:
    """The urged unit's principal and responsible person (one when the same person): the
    readers of its 催办通知单 (`ledger.receipts.urge_readers`)."""
    return tuple(r.person_id for r in urge_readers(a))


async def urge_audience(uow: UnitOfWork, a: Assignment) -> UrgeAudience:
    """`UrgeAudience` of assignment `a`, read through an open unit of work."""
    persons = urged_persons(a)
    down = a.passed_down
    if down is None or down.finished:
        return UrgeAudience(persons)
    admins = [p for p in await uow.people.persons(down.office_id) if p.is_office]
    accounts = {(await uow.people.get_person(pid)).telegram_id for pid in persons}
    return UrgeAudience(persons, down.office_id, down.matter_id,
                        tuple(p.id for p in admins),
                        tuple(p.id for p in admins
                              if p.telegram_id is None or p.telegram_id not in accounts))


# ---------------------------------------------------------------- menus and help


def menu_of(roles: frozenset[Role]) -> str:
    """Which command menu a person's private chat shows: office, liaison, leader or unit."""
    if Role.ADMIN in roles:
        return "office"
    if Role.LIAISON in roles:
        return "liaison"
    if Role.LEADER in roles:
        return "leader"
    return "unit"


def help_sections(person: Person | None) -> dict[str, bool]:
    """The parts of /help a person is shown (a deactivated person: none)."""
    roles = person.roles if person is not None and person.active else frozenset()
    return {"office": Role.ADMIN in roles,
            "leader": bool(roles & {Role.LEADER, Role.LIAISON}),
            "unit": bool(roles & {Role.PRINCIPAL, Role.RESPONSIBLE, Role.HANDLER}),
            "principal": Role.PRINCIPAL in roles, "liaison": Role.LIAISON in roles}


def may_register(person: Person) -> bool:
    """立项 (registering a matter, e.g. from a visit's problems) is the office's."""
    return person.is_office
