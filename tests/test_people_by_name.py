"""People by name: DUBAN_ADMINS' ID:姓名, an unnamed admin asked for a name, never
「管理员<id>」 (issue 13)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ledger.clock import FixedClock
from ledger.errors import InvalidInput, InvalidTransition
from ledger.usecases.people import UNNAMED_ADMIN, bootstrap_office, give_name
from tests.fakes import FakeUnitOfWork, Store

START = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


@pytest.fixture
def store() -> Store:
    return Store()


async def test_named_and_unnamed_admins(store: Store) -> None:
    clock = FixedClock(START)
    await bootstrap_office(FakeUnitOfWork(store), clock, "县委县政府督查室", [1001, 1002],
                           "督", {1001: "王芳"})
    by_tg = {p.telegram_id: p for p in store.persons.values()}
    assert (by_tg[1001].name, by_tg[1001].name_pending) == ("王芳", False)
    assert (by_tg[1002].name, by_tg[1002].name_pending) == (UNNAMED_ADMIN, True)
    assert not any("1001" in p.name or "1002" in p.name for p in store.persons.values())
    # the unnamed one gives a name: stored, an event, asked no more
    named = await give_name(FakeUnitOfWork(store), clock, by_tg[1002].id, "  李  明 ")
    assert (named.name, named.name_pending) == ("李 明", False)
    assert store.persons[named.id].name == "李 明"
    e = store.events[-1]
    assert (e.kind, e.actor_id, e.before, e.after) == (
        "person_named", named.id, {"name": UNNAMED_ADMIN}, {"name": "李 明"})
    with pytest.raises(InvalidTransition, match="已登记为「李 明」"):
        await give_name(FakeUnitOfWork(store), clock, named.id, "张三")
    with pytest.raises(InvalidTransition, match="已登记为「王芳」"):
        await give_name(FakeUnitOfWork(store), clock, by_tg[1001].id, "张三")


async def test_a_bad_name_is_refused_and_nothing_written(store: Store) -> None:
    clock = FixedClock(START)
    await bootstrap_office(FakeUnitOfWork(store), clock, "县委县政府督查室", [1001])
    (admin,) = store.persons.values()
    events = len(store.events)
    for bad, says in (("", "请直接回复您的姓名"), ("/help", "请直接回复您的姓名"),
                      ("长" * 51, "姓名太长")):
        with pytest.raises(InvalidInput, match=says):
            await give_name(FakeUnitOfWork(store), clock, admin.id, bad)
    assert store.persons[admin.id].name_pending and len(store.events) == events


async def test_a_name_added_to_duban_admins_later_names_the_waiting_admin(
        store: Store) -> None:
    clock = FixedClock(START)
    await bootstrap_office(FakeUnitOfWork(store), clock, "县委县政府督查室", [1001])
    await bootstrap_office(FakeUnitOfWork(store), clock, "县委县政府督查室", [1001], "督",
                           {1001: "王芳"})
    (admin,) = store.persons.values()
    assert (admin.name, admin.name_pending) == ("王芳", False)
    assert [e.kind for e in store.events] == ["person_added", "person_named"]
    # idempotent: a third start changes nothing
    await bootstrap_office(FakeUnitOfWork(store), clock, "县委县政府督查室", [1001], "督",
                           {1001: "王芳"})
    assert len(store.events) == 2
