"""The visibility and action policy (ledger/policy.py), stated as tables: who (role) ×
where (place) × what (matter kind) → shown, and who × matter state → actions offered."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from ledger import policy
from ledger.deadlines import MatterClass
from ledger.model import Matter, Person, Role, Source
from ledger.policy import Place

AT = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
DEADLINE = date(2026, 12, 4)

TOWN, OTHER_UNIT = 1, 2
PEOPLE = {
    "admin": Person(1, 1, "督查室王", frozenset({Role.ADMIN}), None, 1001),
    "leader": Person(2, 1, "李县长", frozenset({Role.LEADER}), None, 1002),
    "liaison": Person(3, 1, "联络员吴", frozenset({Role.LIAISON}), None, 1003),
    "principal": Person(4, 1, "镇长赵", frozenset({Role.PRINCIPAL}), TOWN, 1004),
    "responsible": Person(5, 1, "副镇长钱", frozenset({Role.RESPONSIBLE}), TOWN, 1005),
    "handler": Person(6, 1, "干事孙", frozenset({Role.HANDLER}), TOWN, 1006),
    # Another unit's principal: the matter is not assigned to them.
    "other": Person(7, 1, "局长周", frozenset({Role.PRINCIPAL}), OTHER_UNIT, 1007),
    # Named on the matter, but deactivated (/revoke).
    "revoked": Person(5, 1, "副镇长钱", frozenset({Role.RESPONSIBLE}), TOWN, 1005,
                      active=False),
    "nobody": None,
}


def matter(kind: str) -> Matter:
    """normal | confidential | closed | unassigned | cancelled | awaiting_review |
    ext_principal | ext_office | overdue_ext"""
    m = Matter.register(
        office_id=1, year=2026, seq=1, prefix="督", title="修路", body="修好城关镇的路",
        source=Source.INSTRUCTION, klass=MatterClass.NORMAL,
        confidential=kind == "confidential", tags=(), received_at=AT, at=AT, actor_id=1,
        instruction_text=None, instruction_author=None, deadline=None)
    m.id = 1
    if kind == "cancelled":
        m.cancel(at=AT, actor_id=1, reason="重复立项")
    if kind in ("unassigned", "cancelled"):
        return m
    m.assign(at=AT, actor_id=1, unit_id=TOWN, lead=True, principal_id=4, responsible_id=5,
             handler_id=6, deadline=DEADLINE)
    if kind in ("closed", "awaiting_review"):
        m.request_completion(at=AT, actor_id=5, no=1, text="已完成")
    if kind == "closed":
        m.close(at=AT, actor_id=1, comment="同意销号")
    if kind in ("ext_principal", "ext_office"):
        m.request_extension(at=AT, actor_id=5 if kind == "ext_principal" else 4, no=1,
                            reason="雨季", new_deadline=DEADLINE + timedelta(days=7),
                            today=AT.date(), by_principal=kind == "ext_office")
    return m


# ---------------------------------------------------------------- shown

P, G, PUB, B = Place.PRIVATE, Place.GROUP, Place.PUBLIC, Place.BULLETIN
ROLES = ("admin", "leader", "liaison", "principal", "responsible", "handler", "other",
         "revoked", "nobody")

# kind → role → shown at (private, group, public, bulletin). Public and bulletin ignore who.
SHOWN: dict[str, dict[str, tuple[bool, bool, bool, bool]]] = {
    "normal": {
        "admin": (True, True, True, True), "leader": (True, True, True, True),
        "liaison": (True, True, True, True), "principal": (True, True, True, True),
        "responsible": (True, True, True, True), "handler": (True, True, True, True),
        "other": (False, False, True, True), "revoked": (False, False, True, True),
        "nobody": (False, True, True, True),
    },
    # RULES 5: the office and the named persons, privately; nowhere else.
    "confidential": {
        "admin": (True, False, False, False), "leader": (False, False, False, False),
        "liaison": (False, False, False, False), "principal": (True, False, False, False),
        "responsible": (True, False, False, False), "handler": (True, False, False, False),
        "other": (False, False, False, False), "revoked": (False, False, False, False),
        "nobody": (False, False, False, False),
    },
    "closed": {
        "admin": (True, True, True, True), "leader": (True, True, True, True),
        "liaison": (True, True, True, True), "principal": (True, True, True, True),
        "responsible": (True, True, True, True), "handler": (True, True, True, True),
        "other": (False, False, True, True), "revoked": (False, False, True, True),
        "nobody": (False, True, True, True),
    },
    # Not assigned yet: no names or deadline to publish; no unit's matter yet.
    "unassigned": {
        "admin": (True, True, False, True), "leader": (True, True, False, True),
        "liaison": (True, True, False, True), "principal": (False, False, False, True),
        "responsible": (False, False, False, True), "handler": (False, False, False, True),
        "other": (False, False, False, True), "revoked": (False, False, False, True),
        "nobody": (False, True, False, True),
    },
    "cancelled": {
        "admin": (True, True, False, False), "leader": (True, True, False, False),
        "liaison": (True, True, False, False), "principal": (False, False, False, False),
        "responsible": (False, False, False, False), "handler": (False, False, False, False),
        "other": (False, False, False, False), "revoked": (False, False, False, False),
        "nobody": (False, True, False, False),
    },
}


@pytest.mark.parametrize(("kind", "role"), [(k, r) for k in SHOWN for r in ROLES])
def test_shown(kind: str, role: str) -> None:
    m = matter(kind)
    person = PEOPLE[role]
    got = tuple(policy.may_show(person, place, m) for place in (P, G, PUB, B))
    assert got == SHOWN[kind][role]


def test_filter_shown_drops_what_may_not_be_shown() -> None:
    ms = [matter("normal"), matter("confidential")]
    assert policy.filter_shown(PEOPLE["leader"], P, ms) == [ms[0]]
    assert policy.filter_shown(None, G, ms) == [ms[0]]
    assert policy.filter_shown(PEOPLE["admin"], P, ms) == ms


@pytest.mark.parametrize(("role", "place", "fetch"), [
    ("admin", P, True), ("admin", G, False), ("leader", P, False),
    ("principal", P, False), ("principal", G, False)])
def test_queries_fetch_confidential_for_the_office_in_private_only(
        role: str, place: Place, fetch: bool) -> None:
    person = PEOPLE[role]
    assert person is not None
    assert policy.sees_confidential(person, place) is fetch


# ---------------------------------------------------------------- actions

ON_TIME, DEADLINE_DAY, LATE = AT.date(), DEADLINE, DEADLINE + timedelta(days=1)

# (kind, role, today) → the card's actions, in the order the card shows them.
ACTIONS: list[tuple[str, str, date, list[str]]] = [
    ("normal", "admin", ON_TIME, ["urge", "hist"]),
    ("normal", "principal", ON_TIME, ["sign", "prog", "done", "ext", "hist"]),
    ("normal", "responsible", ON_TIME, ["sign", "prog", "done", "ext", "hist"]),
    ("normal", "handler", ON_TIME, ["sign", "prog", "ext", "hist"]),
    ("normal", "leader", ON_TIME, ["hist"]),
    ("normal", "liaison", ON_TIME, ["hist"]),
    ("normal", "other", ON_TIME, ["hist"]),
    ("normal", "revoked", ON_TIME, ["hist"]),
    ("normal", "nobody", ON_TIME, ["hist"]),
    # Extension only before the deadline: the deadline day still offers it, the next not.
    ("normal", "responsible", DEADLINE_DAY, ["sign", "prog", "done", "ext", "hist"]),
    ("normal", "responsible", LATE, ["sign", "prog", "done", "hist"]),
    ("confidential", "principal", ON_TIME, ["sign", "prog", "done", "ext", "hist"]),
    ("confidential", "admin", ON_TIME, ["urge", "hist"]),
    ("awaiting_review", "admin", ON_TIME, ["close", "ret", "hist"]),
    ("awaiting_review", "responsible", ON_TIME, ["prog", "ext", "hist"]),
    ("closed", "admin", ON_TIME, ["hist"]),
    ("closed", "responsible", ON_TIME, ["hist"]),
    # The responsible person asked: the principal confirms; the office waits.
    ("ext_principal", "principal", ON_TIME, ["sign", "prog", "done", "cext", "hist"]),
    ("ext_principal", "responsible", ON_TIME, ["sign", "prog", "done", "hist"]),
    ("ext_principal", "admin", ON_TIME, ["urge", "hist"]),
    ("ext_principal", "other", ON_TIME, ["hist"]),
    # The principal asked: the office decides.
    ("ext_office", "admin", ON_TIME, ["extok", "extno", "urge", "hist"]),
    ("ext_office", "principal", ON_TIME, ["sign", "prog", "done", "hist"]),
    ("unassigned", "admin", ON_TIME, ["hist"]),
]


@pytest.mark.parametrize(("kind", "role", "today", "names"), ACTIONS)
def test_card_actions(kind: str, role: str, today: date, names: list[str]) -> None:
    acts = policy.card_actions(PEOPLE[role], matter(kind), today)
    assert [a.name for a in acts] == names


@pytest.mark.parametrize(("feed", "kind", "files", "names"), [
    ("office_completion_requested", "awaiting_review", True, ["close", "ret", "show", "files"]),
    ("office_completion_requested", "closed", False, ["show"]),
    ("office_extension_requested", "ext_office", False, ["extok", "extno", "show"]),
    ("office_progress", "awaiting_review", True, ["show", "files"]),
    ("office_progress", "ext_office", False, ["show"]),
])
def test_feed_actions(feed: str, kind: str, files: bool, names: list[str]) -> None:
    assert [a.name for a in policy.feed_actions(feed, matter(kind), files)] == names


@pytest.mark.parametrize(("kind", "to", "shown"), [
    ("normal", "liaison", True), ("normal", "nobody", True),
    # Addressed to a person: theirs (the use case chose them); to a group: never.
    ("confidential", "liaison", True), ("confidential", "admin", True),
    ("confidential", "nobody", False)])
def test_notice_shown(kind: str, to: str, shown: bool) -> None:
    assert policy.notice_shown(PEOPLE[to], matter(kind)) is shown


def test_a_group_notice_offers_the_card_and_history_only() -> None:
    assert [a.name for a in policy.group_notice_actions()] == ["show", "hist"]


# ---------------------------------------------------------------- who hears of it


@pytest.mark.parametrize(("chats", "confidential", "targets"), [
    ([-100], False, [(None, -100)]),
    ([-100], True, [(1, None), (9, None)]),     # never a group (RULES 5)
    ([], False, [(1, None), (9, None)]),        # no office group: each admin privately
    ([-100, -200], False, [(None, -100), (None, -200)]),
])
def test_office_audience(chats: list[int], confidential: bool,
                         targets: list[tuple[int | None, int | None]]) -> None:
    assert policy.office_audience(chats, [1, 9], confidential) == targets


# ---------------------------------------------------------------- menus


@pytest.mark.parametrize(("roles", "menu"), [
    ({Role.ADMIN, Role.LEADER}, "office"), ({Role.LIAISON, Role.LEADER}, "liaison"),
    ({Role.LEADER}, "leader"), ({Role.PRINCIPAL}, "unit"), ({Role.HANDLER}, "unit")])
def test_menu_of(roles: set[Role], menu: str) -> None:
    assert policy.menu_of(frozenset(roles)) == menu


def test_help_sections_of_a_revoked_person_are_empty() -> None:
    assert not any(policy.help_sections(PEOPLE["revoked"]).values())
    assert policy.help_sections(PEOPLE["principal"]) == {
        "office": False, "leader": False, "unit": True, "principal": True, "liaison": False}
