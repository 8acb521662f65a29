"""Rules at their boundaries: date limits (ledger.deadlines.check_horizon and the use cases
that apply it) and people coming and going (ledger.usecases.turnover), on the fake unit of work."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.config import ConfigError, load_config
from ledger.clock import FixedClock
from ledger.deadlines import (
    MAX_DAYS_AHEAD,
    DeadlineError,
    MatterClass,
    check_deadline,
    check_horizon,
)
from ledger.errors import InvalidInput, InvalidTransition, NotFound, PermissionDenied
from ledger.model import Matter, Office, Person, Role, Unit
from ledger.ports import Invite
from ledger.usecases import turnover as people
from ledger.usecases.accountability import urge
from ledger.usecases.deadlines import request_extension
from ledger.usecases.ledger_mgmt import AssignSpec, RegisterMatter, assign, register_matter
from ledger.usecases.people import accept_invite
from ledger.usecases.reading import get_matter, my_assignments
from ledger.workcalendar import WorkCalendar
from tests.fakes import FakeUnitOfWork, Store

# Monday 2026-11-23, 09:00 in Shanghai.
START = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
TODAY = date(2026, 11, 23)


# ---------------------------------------------------------------- date limits


def test_a_date_may_be_set_from_the_start_to_a_year_ahead_both_included() -> None:
    assert check_horizon(TODAY, TODAY, "办结时限") == TODAY
    last = TODAY + timedelta(days=MAX_DAYS_AHEAD)
    assert check_horizon(TODAY, last, "办结时限") == last
    with pytest.raises(DeadlineError, match="最迟只能定到 2027年11月23日"):
        check_horizon(TODAY, last + timedelta(days=1), "办结时限")
    with pytest.raises(DeadlineError, match="早于 2026年11月23日"):
        check_horizon(TODAY, TODAY - timedelta(days=1), "催办限期")
    with pytest.raises(DeadlineError, match="催办限期 9999年1月1日 太远了"):
        check_horizon(TODAY, date(9999, 1, 1), "催办限期")


def test_the_limit_is_configurable() -> None:
    assert check_horizon(TODAY, TODAY + timedelta(days=30), "办结时限", 30)
    with pytest.raises(DeadlineError, match="30天内"):
        check_horizon(TODAY, TODAY + timedelta(days=31), "办结时限", 30)
    cal = WorkCalendar()
    with pytest.raises(DeadlineError, match="2100年1月1日 太远了"):
        check_deadline(cal, TODAY, MatterClass.NORMAL, date(2100, 1, 1))
    assert load_config({}).max_days_ahead == MAX_DAYS_AHEAD


def test_config_reads_and_checks_max_days_ahead(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "duban.toml"
    path.write_text("[office]\nmax_days_ahead = 90\n", encoding="utf-8")
    assert load_config({}, path).max_days_ahead == 90
    path.write_text("[office]\nmax_days_ahead = 0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"office\.max_days_ahead"):
        load_config({}, path)


@dataclass
class World:
    store: Store
    clock: FixedClock
    cal: WorkCalendar

    def uow(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self.store)


ADMIN, ADMIN2, PRINCIPAL, RESP, HANDLER, HANDLER2, DEPT_HANDLER = 1, 2, 3, 4, 5, 6, 7


@pytest.fixture
def w() -> World:
    store = Store()
    store.offices[1] = Office(1, "某县督查室")
    store.units[1] = Unit(1, 1, "城关镇")
    store.units[2] = Unit(2, 1, "县发改局")
    for pid, name, roles, unit in (
            (ADMIN, "督查室王", {Role.ADMIN}, None), (ADMIN2, "督查室李", {Role.ADMIN}, None),
            (PRINCIPAL, "镇长赵", {Role.PRINCIPAL}, 1), (RESP, "副镇长钱", {Role.RESPONSIBLE}, 1),
            (HANDLER, "干事孙", {Role.HANDLER}, 1), (HANDLER2, "干事郑", {Role.HANDLER}, 1),
            (DEPT_HANDLER, "科员吴", {Role.HANDLER, Role.RESPONSIBLE, Role.PRINCIPAL}, 2)):
        store.persons[pid] = Person(pid, 1, name, frozenset(roles), unit, 1000 + pid)
    return World(store, FixedClock(START), WorkCalendar())


async def _matter(w: World, title: str = "老旧小区改造") -> Matter:
    m = await register_matter(w.uow(), w.clock, w.cal, ADMIN, RegisterMatter(title))
    assert m.id is not None
    spec = AssignSpec(1, PRINCIPAL, RESP, HANDLER, lead=True)
    return await assign(w.uow(), w.clock, w.cal, ADMIN, m.id, [spec])


async def test_urge_and_new_refuse_dates_past_the_limit(w: World) -> None:
    m = await _matter(w)
    assert m.id is not None
    last = TODAY + timedelta(days=MAX_DAYS_AHEAD)
    done = await urge(w.uow(), w.clock, w.cal, ADMIN, m.id, None, last)
    assert done.lead is not None and done.lead.urge_limit == last
    for bad in (last + timedelta(days=1), date(9999, 1, 1)):
        with pytest.raises(DeadlineError, match="太远了"):
            await urge(w.uow(), w.clock, w.cal, ADMIN, m.id, None, bad)
    with pytest.raises(DeadlineError, match="太远了"):
        await urge(w.uow(), w.clock, w.cal, ADMIN, m.id, None, TODAY + timedelta(days=8),
                   max_days_ahead=7)
    with pytest.raises(DeadlineError, match="2100年1月1日 太远了"):
        await register_matter(w.uow(), w.clock, w.cal, ADMIN,
                              RegisterMatter("远期事项", deadline=date(2100, 1, 1)))
    with pytest.raises(DeadlineError, match="早于交办日期"):
        await register_matter(w.uow(), w.clock, w.cal, ADMIN,
                              RegisterMatter("过期事项", deadline=date(2026, 11, 20)))
    with pytest.raises(DeadlineError, match="延期后的时限 2028年1月1日 太远了"):
        await request_extension(w.uow(), w.clock, RESP, m.id, 1, "拆迁未完成",
                                date(2028, 1, 1))


# ---------------------------------------------------------------- people


async def test_revoke_ends_the_binding_and_lists_open_work(w: World) -> None:
    m = await _matter(w)
    done = await people.revoke(w.uow(), w.clock, ADMIN, "干事孙", "调离")
    assert not done.person.active and done.reason == "调离"
    assert [(x.matter.id, x.assignment.no, x.roles) for x in done.open_work] == [
        (m.id, 1, ("handler",))]
    assert not w.store.persons[HANDLER].active
    assert [e.kind for e in w.store.events if e.person_id == HANDLER] == ["person_revoked"]
    assert [n.kind for n in w.store.outbox if n.person_id == HANDLER][-1] == "person_revoked"
    assert people.may_receive(w.store.persons[HANDLER], "person_revoked")
    assert not people.may_receive(w.store.persons[HANDLER], "reminder_due")
    with pytest.raises(PermissionDenied, match="已停用"):
        await my_assignments(w.uow(), HANDLER)
    with pytest.raises(InvalidTransition, match="已经停用"):
        await people.revoke(w.uow(), w.clock, ADMIN, "干事孙")
    with pytest.raises(PermissionDenied, match="只有督查室"):
        await people.revoke(w.uow(), w.clock, RESP, "镇长赵")
    with pytest.raises(InvalidInput, match="不能停用自己"):
        await people.revoke(w.uow(), w.clock, ADMIN, "督查室王")
    with pytest.raises(NotFound, match="找不到人员「无名氏」"):
        await people.revoke(w.uow(), w.clock, ADMIN, "无名氏")
    with pytest.raises(InvalidInput, match="最多200字"):
        await people.revoke(w.uow(), w.clock, ADMIN, "干事郑", "长" * 201)


async def test_an_admin_hands_over_their_own_post(w: World) -> None:
    w.store.persons[8] = Person(8, 1, "新主任", frozenset({Role.LEADER}), None, 1008)
    done = await people.handover(w.uow(), w.clock, ADMIN, "督查室王", "新主任")
    assert done.new.roles == {Role.ADMIN, Role.LEADER} and not done.old.active
    await people.revoke(w.uow(), w.clock, 8, "督查室李")  # the successor acts as the office
    with pytest.raises(PermissionDenied, match="已停用"):
        await people.revoke(w.uow(), w.clock, ADMIN, "新主任")


async def test_same_names_are_told_apart_by_id(w: World) -> None:
    w.store.persons[8] = Person(8, 1, "干事孙", frozenset({Role.HANDLER}), 2, 1008)
    with pytest.raises(InvalidInput, match=r"有2位「干事孙」.*#5.*#8"):
        await people.revoke(w.uow(), w.clock, ADMIN, "干事孙")
    done = await people.revoke(w.uow(), w.clock, ADMIN, "#8")
    assert done.person.id == 8
    # now the active one is meant
    done = await people.revoke(w.uow(), w.clock, ADMIN, "干事孙")
    assert done.person.id == HANDLER


async def test_handover_moves_each_open_assignment_and_the_roles(w: World) -> None:
    first = await _matter(w)
    second = await _matter(w, "背街小巷整治")
    assert first.id is not None and second.id is not None
    with pytest.raises(InvalidInput, match="不在同一单位"):
        await people.handover(w.uow(), w.clock, ADMIN, "干事孙", "科员吴")
    with pytest.raises(InvalidInput, match="同一个人"):
        await people.handover(w.uow(), w.clock, ADMIN, "干事孙", "干事孙")
    w.store.persons[HANDLER2] = replace(w.store.persons[HANDLER2], telegram_id=None)
    with pytest.raises(InvalidInput, match="还没有绑定"):
        await people.handover(w.uow(), w.clock, ADMIN, "干事孙", "干事郑")
    w.store.persons[HANDLER2] = replace(w.store.persons[HANDLER2], telegram_id=1006,
                                        roles=frozenset({Role.RESPONSIBLE}))
    with pytest.raises(PermissionDenied, match="只有督查室"):
        await people.handover(w.uow(), w.clock, RESP, "干事孙", "干事郑")
    done = await people.handover(w.uow(), w.clock, ADMIN, "干事孙", "干事郑")
    assert done.revoked and not done.old.active
    assert done.new.roles == {Role.HANDLER, Role.RESPONSIBLE}
    assert done.roles_added == {Role.HANDLER}
    assert w.store.persons[HANDLER2].roles == {Role.HANDLER, Role.RESPONSIBLE}
    assert len(done.moved) == 2
    for mid in (first.id, second.id):
        _, m = await get_matter(w.uow(), ADMIN, mid)
        assert m.lead is not None and m.lead.handler_id == HANDLER2
        moves = [e for e in w.store.events if e.matter_id == mid and e.kind == "handed_over"]
        assert len(moves) == 1
        assert moves[0].before["handler_id"] == HANDLER
        assert moves[0].after["handler_id"] == HANDLER2
        # the rebuilt story agrees with the stored state
        story = [e for e in w.store.events if e.matter_id == mid]
        assert Matter.replay(story).lead == m.lead
    kinds = {(n.person_id, n.kind) for n in w.store.outbox}
    assert {(HANDLER, "handover_from"), (HANDLER2, "handover_to"),
            (HANDLER2, "assignment")} <= kinds
    # a revoked person's work can be handed over later too, and nothing is left to move
    again = await people.handover(w.uow(), w.clock, ADMIN, "干事孙", "干事郑")
    assert not again.revoked and again.moved == ()


async def test_a_revoked_account_may_accept_a_new_invite(w: World) -> None:
    await people.revoke(w.uow(), w.clock, ADMIN, "干事孙", "调岗")
    w.store.invites["t"] = Invite("t", 1, "干事孙", frozenset({Role.HANDLER}), 2, ADMIN,
                                  START, START + timedelta(days=3))
    person = await accept_invite(w.uow(), w.clock, "t", 1000 + HANDLER)
    assert person.id != HANDLER and person.unit_id == 2 and person.active
    assert w.store.persons[HANDLER].telegram_id is None
    assert "person_unbound" in [e.kind for e in w.store.events if e.person_id == HANDLER]
    # an active binding still blocks it
    w.store.invites["u"] = Invite("u", 1, "又一个", frozenset({Role.HANDLER}), 2, ADMIN,
                                  START, START + timedelta(days=3))
    with pytest.raises(InvalidInput, match="已绑定为「镇长赵」"):
        await accept_invite(w.uow(), w.clock, "u", 1000 + PRINCIPAL)
