"""Many offices on one deployment (issue 16): the rules of ledger.offices at their
boundaries, and isolation stated as a table — role × office × action across a county with
two townships, on a real database: no read and no write crosses an office boundary (lists,
cards, history, numbers, urging, closing, progress, invitations, groups, exports, the web
page, bulletins)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.runner import prepare_database
from ledger.clock import FixedClock
from ledger.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from ledger.lights import LightPolicy
from ledger.model import Matter, Office, Person, Role
from ledger.offices import (
    PREFIX_MAX,
    Ambiguous,
    acting_binding,
    check_prefix,
    names_office,
    office_named,
    reference_in_office,
    rollup,
    top_office,
)
from ledger.ports import MatterQuery, UnitOfWorkFactory
from ledger.reporting import load_snapshot
from ledger.usecases import offices as uc
from ledger.usecases.accountability import urge
from ledger.usecases.closing import close_matter, report_progress, request_completion
from ledger.usecases.ledger_mgmt import RegisterMatter, register_and_assign, teams
from ledger.usecases.people import add_unit, bind_group, create_invite
from ledger.usecases.reading import ListFilter, find_matter, get_matter, history, list_matters
from ledger.workcalendar import WorkCalendar
from public.web import make_app
from reports.excel import export_ledger
from storage.uow import uow_factory
from tests.dbs import url_for

START = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


# ---------------------------------------------------------------- the rules


def _p(pid: int, office: int, active: bool = True) -> Person:
    return Person(pid, office, f"p{pid}", frozenset({Role.HANDLER}), telegram_id=7,
                  active=active)


@pytest.mark.parametrize(("bindings", "group", "chosen", "expected"), [
    ([], None, None, None),
    ([_p(1, 1)], None, None, 1),
    ([_p(1, 1)], 1, None, 1),
    ([_p(1, 1)], 2, None, None),                 # a group of another office: not bound there
    ([_p(1, 1), _p(2, 2)], None, None, "ask"),   # two offices, no choice yet
    ([_p(1, 1), _p(2, 2)], None, 2, 2),
    ([_p(1, 1), _p(2, 2)], None, 3, "ask"),      # a stale choice is no choice
    ([_p(1, 1), _p(2, 2)], 1, 2, 1),             # a bound group's office wins over the choice
    ([_p(1, 1), _p(2, 2)], 3, None, None),
    ([_p(1, 1, active=False), _p(2, 2)], None, None, 2),  # only one active: no question
    ([_p(1, 1, active=False)], None, None, 1),   # deactivated: returned, to say 停用
    ([_p(1, 1, active=False)], 1, None, 1),
])
def test_acting_binding(bindings: list[Person], group: int | None, chosen: int | None,
                        expected: int | str | None) -> None:
    got = acting_binding(bindings, group_office_id=group, chosen_office_id=chosen)
    if expected == "ask":
        assert got == Ambiguous(tuple(p.office_id for p in bindings if p.active))
    elif expected is None:
        assert got is None
    else:
        assert isinstance(got, Person) and got.id == expected


def test_names_office_only_with_two_active_bindings() -> None:
    assert not names_office([_p(1, 1)])
    assert not names_office([_p(1, 1), _p(2, 2, active=False)])
    assert names_office([_p(1, 1), _p(2, 2)])


def test_prefix_boundaries() -> None:
    assert check_prefix(" 城关督 ") == "城关督"
    assert check_prefix("督" * PREFIX_MAX) == "督" * PREFIX_MAX
    for bad, says in (("督" * (PREFIX_MAX + 1), "太长"), ("", "请写编号前缀"),
                      ("城关3", "不能含数字"), ("城 关", "不能含"), ("城〔关", "不能含")):
        with pytest.raises(InvalidInput, match=says):
            check_prefix(bad)


def test_reference_prefix_and_default_office() -> None:
    county, town = Office(1, "县督查室", "县督"), Office(2, "城关镇督查室", "城关督", 1)
    assert reference_in_office("县督〔2026〕3号", county)
    assert not reference_in_office("城关督〔2026〕3号", county)
    assert reference_in_office("3", town) and reference_in_office("26-3", town)
    assert top_office([town, county]) == county
    assert top_office([town]) == town and top_office([]) is None
    assert office_named([county, town], "城关督") == town
    assert office_named([county, town], "城关镇督查室") == town
    assert office_named([county, town], "1") == county
    assert office_named([county, town], "东关") is None


async def test_rollup_counts_at_the_deadline(tmp_path: Path) -> None:
    """A child's matter is 超期 the day after its deadline, not on it; the parent's
    /offices figures count only the child's own matters."""
    w, engine = await _world(tmp_path)
    try:
        m = w.matters["a"]
        deadline = m.lead.effective_deadline if m.lead else START.date()
        async with w.uow() as u:
            matters = await u.matters.list(MatterQuery(office_id=w.offices["a"].id))
        since = START - timedelta(days=1)
        on = rollup(matters, w.cal, deadline, LightPolicy(), since)
        after = rollup(matters, w.cal, deadline + timedelta(days=1), LightPolicy(), since)
        assert (on.open, on.overdue, after.overdue, after.red) == (1, 0, 1, 1)
        assert [x.number for x in after.worst] == ["城关督〔2026〕1号"]
        _, rows = await uc.child_offices(w.uow(), w.people[("county", "admin")],
                                         clock=w.clock, cal=w.cal)
        assert [(r.figures.open if r.figures else None) for r in rows] == [1, 1]
    finally:
        await engine.dispose()


# ---------------------------------------------------------------- the table


ROLES = ("admin", "principal", "handler", "leader")


@dataclass
class World:
    uow: UnitOfWorkFactory
    clock: FixedClock
    cal: WorkCalendar
    offices: dict[str, Office] = field(default_factory=dict)
    people: dict[tuple[str, str], int] = field(default_factory=dict)  # (office, role) → id
    units: dict[str, int] = field(default_factory=dict)
    matters: dict[str, Matter] = field(default_factory=dict)


async def _world(tmp_path: Path) -> tuple[World, AsyncEngine]:
    engine = await prepare_database(url_for(tmp_path / "offices.db"))
    uows = uow_factory(engine)
    w = World(uows, FixedClock(START), WorkCalendar())
    tg = iter(range(1000, 2000))
    county = await uc.add_office(uows(), w.clock, "县督查室", "县督", None, [(1, "县管理员")])
    a = await uc.add_office(uows(), w.clock, "城关镇督查室", "城关督", "县督查室", [(2, "城关管理员")])
    b = await uc.add_office(uows(), w.clock, "东关镇督查室", "东关督", "县督", [(3, "东关管理员")])
    w.offices = {"county": county, "a": a, "b": b}
    for key, office in w.offices.items():
        async with uows() as u:
            admin = next(p for p in await u.people.persons(office.id) if p.is_office)
        w.people[(key, "admin")] = admin.id
        unit = await add_unit(uows(), w.clock, admin.id, f"{office.name}本级")
        w.units[key] = unit.id
        async with uows() as u:
            for role, r in (("principal", Role.PRINCIPAL), ("responsible", Role.RESPONSIBLE),
                            ("handler", Role.HANDLER)):
                # 城关镇's admin (tg 2) is also 第一责任人 in the county's ledger
                account = 2 if (key, role) == ("county", "principal") else next(tg)
                p = await u.people.add_person(office.id, f"{key}-{role}", frozenset({r}),
                                              unit_id=unit.id, telegram_id=account)
                w.people[(key, role)] = p.id
            leader = await u.people.add_person(office.id, f"{key}-leader",
                                               frozenset({Role.LEADER}), telegram_id=next(tg))
            w.people[(key, "leader")] = leader.id
            await u.commit()
        async with uows() as u:
            team = await teams(u, office.id, [unit.id])
        w.matters[key] = await register_and_assign(
            uows, w.clock, w.cal, admin.id, RegisterMatter(title=f"{office.name}的事项"),
            team, "测试")
    return w, engine


async def _version(w: World, m: Matter) -> int:
    async with w.uow() as u:
        return (await u.matters.get(m.id or 0)).version


ACTIONS = ("show", "history", "find", "urge", "close", "progress")


async def _act(w: World, action: str, actor: int, m: Matter) -> None:
    uow, mid = w.uow(), m.id or 0
    if action == "show":
        await get_matter(uow, actor, mid)
    elif action == "history":
        await history(uow, actor, mid)
    elif action == "find":
        await find_matter(uow, w.clock, actor, m.number)
    elif action == "urge":
        await urge(uow, w.clock, w.cal, actor, mid, None)
    elif action == "close":
        await close_matter(uow, w.clock, actor, mid)
    else:
        await report_progress(uow, w.clock, actor, mid, None, "进展")


async def test_isolation_table(tmp_path: Path) -> None:
    """Every role of every office, every action on every other office's matter: refused as
    not found / not permitted, and the matter unchanged. Reading one's own office works."""
    w, engine = await _world(tmp_path)
    crossed: list[str] = []
    try:
        for office in w.offices:
            for role in ROLES:
                actor = w.people[(office, role)]
                for target, m in w.matters.items():
                    for action in ACTIONS:
                        before = await _version(w, m)
                        try:
                            await _act(w, action, actor, m)
                        except (NotFound, PermissionDenied):
                            refused = True
                        except DomainError:
                            refused = office == target  # e.g. 销号 before 办结: own office only
                        else:
                            refused = False
                        changed = await _version(w, m) != before
                        if target != office and (not refused or changed):
                            crossed.append(f"{role}@{office} {action} {target}")
                        if target == office and action in ("show", "history", "find") \
                                and refused:
                            crossed.append(f"{role}@{office} cannot {action} its own")
        assert crossed == []
        # lists: every role sees only its own office's matters, in private and in groups
        for office in w.offices:
            for role in ROLES:
                for public in (False, True):
                    found, _ = await list_matters(w.uow(), w.clock, w.people[(office, role)],
                                                  ListFilter(open_only=False, public_only=public))
                    assert {m.office_id for m in found} <= {w.offices[office].id}
                    assert found, (role, office)
    finally:
        await engine.dispose()


async def test_isolation_of_people_groups_and_offices(tmp_path: Path) -> None:
    w, engine = await _world(tmp_path)
    try:
        uows = w.uow
        a_admin, county_admin = w.people[("a", "admin")], w.people[("county", "admin")]
        # an invitation into another office's unit
        with pytest.raises(NotFound):
            await create_invite(uows(), w.clock, a_admin, "张三", frozenset({Role.HANDLER}),
                                w.units["county"])
        # a group belongs to one office: another office's admin cannot take it over
        await bind_group(uows(), w.clock, county_admin, -100, "县群", None)
        with pytest.raises(PermissionDenied, match="其他督查室"):
            await bind_group(uows(), w.clock, a_admin, -100, "县群", w.units["a"])
        await bind_group(uows(), w.clock, county_admin, -100, "县群", w.units["county"])
        # the account bound in two offices acts as the group's office's binding
        county_as, a_as = w.people[("county", "principal")], a_admin
        assert getattr(await uc.acting(uows(), 2, -100), "id", None) == county_as
        assert isinstance(await uc.acting(uows(), 2, None), Ambiguous)
        await bind_group(uows(), w.clock, a_admin, -200, "镇群", None)
        assert getattr(await uc.acting(uows(), 2, -200), "id", None) == a_as
        await uc.choose_office(uows(), w.clock, 2, w.offices["a"].id)
        assert getattr(await uc.acting(uows(), 2, None), "id", None) == a_as
        with pytest.raises(PermissionDenied):
            await uc.choose_office(uows(), w.clock, 2, w.offices["b"].id)
        # an account bound elsewhere is a stranger in a township's group
        assert await uc.acting(uows(), 3, -100) is None
        # /offices: the county sees its two children; a township none; a non-admin refused
        mine, rows = await uc.child_offices(uows(), county_admin)
        assert mine == w.offices["county"]
        assert [r.office.name for r in rows] == ["城关镇督查室", "东关镇督查室"]
        assert [r.admins for r in rows] == [1, 1] and [r.units for r in rows] == [1, 1]
        assert (await uc.child_offices(uows(), a_admin))[1] == []
        with pytest.raises(PermissionDenied):
            await uc.child_offices(uows(), w.people[("county", "handler")])
        # numbering per office prefix
        assert [m.number for m in w.matters.values()] == [
            "县督〔2026〕1号", "城关督〔2026〕1号", "东关督〔2026〕1号"]
    finally:
        await engine.dispose()


async def test_exports_web_page_and_bulletins_stay_in_their_office(tmp_path: Path) -> None:
    w, engine = await _world(tmp_path)
    try:
        for key, office in w.offices.items():
            others = [o.doc_prefix + "〔" for k, o in w.offices.items() if k != key]
            # export
            buf = io.BytesIO()
            stats = await export_ledger(w.uow(), w.clock, w.cal, office.id, buf)
            assert stats.matters == 1
            book = openpyxl.load_workbook(io.BytesIO(buf.getvalue()), read_only=True)
            cells = " ".join(str(c) for ws in book.worksheets
                             for row in ws.iter_rows(values_only=True) for c in row if c)
            assert w.matters[key].number in cells
            assert not any(p in cells for p in others), key
            # export in another office's admin's name is refused
            other_admin = w.people[("a" if key != "a" else "b", "admin")]
            with pytest.raises(PermissionDenied):
                await export_ledger(w.uow(), w.clock, w.cal, office.id, io.BytesIO(),
                                    actor_id=other_admin)
            # bulletins are computed from the office's own snapshot
            snap = await load_snapshot(w.uow(), office.id, START - timedelta(days=7),
                                       START + timedelta(days=1))
            assert [m.number for m in snap.matters] == [w.matters[key].number]
            assert {e.office_id for e in snap.events} <= {office.id}
            # the web page of the office
            client = TestClient(TestServer(make_app(w.uow, w.clock, "公示", office.id)))
            await client.start_server()
            try:
                page = await (await client.get("/")).text()
            finally:
                await client.close()
            assert w.matters[key].title in page
            assert not any(p in page for p in others), key
        # the default page is the top office's
        client = TestClient(TestServer(make_app(w.uow, w.clock, "公示")))
        await client.start_server()
        try:
            page = await (await client.get("/")).text()
        finally:
            await client.close()
        assert "县督〔2026〕1号" in page and "城关督" not in page
    finally:
        await engine.dispose()


async def test_passed_down_matter_rolls_up_to_the_county(tmp_path: Path) -> None:
    """转办: the township's linked matter keeps the county's deadline; its progress, 办结
    request and 销号 are recorded on the county's assignment; the county still closes."""
    w, engine = await _world(tmp_path)
    try:
        county = w.matters["county"]
        a_admin = w.people[("a", "admin")]  # also the county unit's 第一责任人 (tg 2)
        with pytest.raises(PermissionDenied, match="切换"):
            await uc.pass_down(w.uow, w.clock, w.cal, w.people[("a", "handler")],
                               county.number, ["城关镇督查室本级"])
        with pytest.raises(PermissionDenied, match="不能转办"):  # not B's admin's assignment
            await uc.pass_down(w.uow, w.clock, w.cal, w.people[("b", "admin")],
                               county.number, ["东关镇督查室本级"])
        parent, child = await uc.pass_down(w.uow, w.clock, w.cal, a_admin, county.number,
                                           ["城关镇督查室本级"])
        assert child.number == "城关督〔2026〕2号" and child.office_id == w.offices["a"].id
        assert parent.id == county.id and parent.office_id == w.offices["county"].id
        assert county.lead is not None
        assert child.deadline == county.lead.effective_deadline
        _, child = await get_matter(w.uow(), a_admin, child.id or 0)
        assert child.lead is not None
        assert child.lead.effective_deadline <= county.lead.effective_deadline
        await report_progress(w.uow(), w.clock, w.people[("a", "handler")], child.id or 0,
                              None, "进展一")
        await request_completion(w.uow(), w.clock, w.people[("a", "responsible")],
                                 child.id or 0, None, "已完成")
        await close_matter(w.uow(), w.clock, a_admin, child.id or 0)
        kinds = [e.kind for e in await history(w.uow(), w.people[("county", "admin")],
                                               county.id or 0)]
        assert kinds[-4:] == ["passed_down", "child_progress", "child_completion_requested",
                              "child_closed"]
        _, now = await get_matter(w.uow(), w.people[("county", "admin")], county.id or 0)
        assert now.is_open  # the county does its own 销号
        # the township cannot see the county's matter through the link
        with pytest.raises(NotFound):
            await get_matter(w.uow(), a_admin, county.id or 0)
    finally:
        await engine.dispose()
