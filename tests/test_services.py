"""Use cases and permission rules, on the in-memory fake unit of work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from ledger.clock import FixedClock
from ledger.deadlines import MatterClass
from ledger.errors import DomainError, InvalidInput, InvalidTransition, NotFound, PermissionDenied
from ledger.lights import LightPolicy, matter_light
from ledger.model import (
    AssignmentStatus,
    Attachment,
    ExtensionState,
    Light,
    Matter,
    MatterStatus,
    Office,
    Person,
    Role,
    Source,
    Unit,
)
from ledger.usecases.accountability import commend, criticize, refer, urge
from ledger.usecases.closing import (
    ProgressReport,
    close_matter,
    report_progress,
    report_progress_many,
    request_completion,
    return_matter,
)
from ledger.usecases.deadlines import confirm_extension, decide_extension, request_extension, sign
from ledger.usecases.ledger_mgmt import (
    AssignSpec,
    RegisterMatter,
    assign,
    cancel_matter,
    decompose,
    register_matter,
)
from ledger.usecases.people import accept_invite, bind_group, create_invite, mark_unreachable
from ledger.usecases.reading import (
    ListFilter,
    find_matter,
    get_matter,
    list_matters,
    my_assignments,
)
from ledger.workcalendar import WorkCalendar
from storage.matter_json import matter_to_json
from tests.fakes import FakeUnitOfWork, Store

# Monday 2026-11-23, 09:00 in Shanghai.
START = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


@dataclass
class World:
    store: Store
    clock: FixedClock
    cal: WorkCalendar
    office: int
    admin: int
    leader: int
    town: int
    dept: int
    principal: int
    resp: int
    handler: int
    co_principal: int
    co_resp: int
    co_handler: int
    outsider: int

    def uow(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self.store)


@pytest.fixture
def w() -> World:
    store = Store()
    clock = FixedClock(START)
    cal = WorkCalendar()
    store.offices[1] = Office(1, "某县督查室")
    store.units[1] = Unit(1, 1, "城关镇")
    store.units[2] = Unit(2, 1, "县发改局")
    store.units[3] = Unit(3, 1, "城关镇社区办", parent_id=1)

    def add(pid: int, name: str, roles: set[Role], unit: int | None) -> int:
        store.persons[pid] = Person(pid, 1, name, frozenset(roles), unit, 1000 + pid)
        return pid

    return World(
        store, clock, cal, 1,
        admin=add(1, "督查室王", {Role.ADMIN}, None),
        leader=add(2, "李县长", {Role.LEADER}, None),
        town=1, dept=2,
        principal=add(3, "镇长赵", {Role.PRINCIPAL}, 1),
        resp=add(4, "副镇长钱", {Role.RESPONSIBLE}, 1),
        handler=add(5, "干事孙", {Role.HANDLER}, 3),
        co_principal=add(6, "局长周", {Role.PRINCIPAL}, 2),
        co_resp=add(7, "科长吴", {Role.RESPONSIBLE}, 2),
        co_handler=add(8, "科员郑", {Role.HANDLER}, 2),
        outsider=add(9, "局外人冯", {Role.HANDLER}, 2),
    )


async def register(w: World, **kw: object) -> Matter:
    cmd = RegisterMatter(title=str(kw.pop("title", "推进老旧小区改造")), **kw)  # type: ignore[arg-type]
    return await register_matter(w.uow(), w.clock, w.cal, w.admin, cmd)


def specs(w: World) -> list[AssignSpec]:
    return [AssignSpec(w.town, w.principal, w.resp, w.handler, lead=True),
            AssignSpec(w.dept, w.co_principal, w.co_resp, w.co_handler)]


async def assigned(w: World, **kw: object) -> Matter:
    m = await register(w, **kw)
    assert m.id is not None
    return await assign(w.uow(), w.clock, w.cal, w.admin, m.id, specs(w))


async def events_of(w: World, m: Matter) -> list[str]:
    assert m.id is not None
    return [e.kind for e in w.store.events if e.matter_id == m.id]


# ---- registering and numbering


async def test_register_numbers_per_year_and_records_event(w: World) -> None:
    a = await register(w)
    b = await register(w, title="第二件")
    assert (a.number, b.number) == ("督〔2026〕1号", "督〔2026〕2号")
    assert b.short_id == "26-2"
    assert await events_of(w, a) == ["registered"]
    assert a.status == MatterStatus.REGISTERED


async def test_only_office_registers(w: World) -> None:
    cmd = RegisterMatter(title="x")
    for who in (w.leader, w.principal, w.handler):
        with pytest.raises(PermissionDenied):
            await register_matter(w.uow(), w.clock, w.cal, who, cmd)
    with pytest.raises(PermissionDenied, match="绑定"):
        await register_matter(w.uow(), w.clock, w.cal, 999, cmd)
    assert w.store.matters == {}


async def test_register_rejects_empty_title_and_instruction_without_text(w: World) -> None:
    with pytest.raises(InvalidInput, match="标题"):
        await register(w, title="  ")
    with pytest.raises(InvalidInput, match="批示"):
        await register(w, source=Source.INSTRUCTION)
    m = await register(w, source=Source.INSTRUCTION, instruction_text="请抓紧落实",
                       instruction_author="李县长")
    assert m.instruction_author == "李县长"


async def test_major_explicit_deadline_capped_at_20_workdays(w: World) -> None:
    with pytest.raises(DomainError):
        await register(w, klass=MatterClass.MAJOR, deadline=date(2027, 1, 29))
    ok = await register(w, klass=MatterClass.MAJOR, deadline=date(2026, 12, 18))
    assert ok.deadline == date(2026, 12, 18)


# ---- decomposition


async def test_assign_defaults_to_10_workdays_and_notifies_named_persons(w: World) -> None:
    m = await assigned(w)
    lead = m.lead
    assert lead is not None
    assert lead.deadline == w.cal.add_workdays(date(2026, 11, 23), 10) == date(2026, 12, 7)
    assert m.status == MatterStatus.IN_PROGRESS
    kinds = {(n.kind, n.person_id) for n in w.store.outbox}
    assert ("assignment", w.resp) in kinds and ("assignment", w.handler) in kinds
    assert ("assignment", w.co_resp) in kinds and ("assignment", w.principal) in kinds


async def test_urgent_is_same_day_and_major_20(w: World) -> None:
    u = await assigned(w, klass=MatterClass.URGENT)
    assert u.lead is not None and u.lead.deadline == date(2026, 11, 23)
    mj = await assigned(w, title="重大", klass=MatterClass.MAJOR)
    assert mj.lead is not None and mj.lead.deadline == date(2026, 12, 21)


async def test_assign_needs_exactly_one_lead_and_right_people(w: World) -> None:
    m = await register(w)
    assert m.id is not None
    with pytest.raises(InvalidInput, match="牵头"):
        await assign(w.uow(), w.clock, w.cal, w.admin, m.id,
                     [AssignSpec(w.town, w.principal, w.resp, w.handler)])
    with pytest.raises(InvalidInput, match="不在"):
        await assign(w.uow(), w.clock, w.cal, w.admin, m.id,
                     [AssignSpec(w.town, w.principal, w.co_resp, w.handler, lead=True)])
    with pytest.raises(InvalidInput, match="第一责任人"):
        await assign(w.uow(), w.clock, w.cal, w.admin, m.id,
                     [AssignSpec(w.town, w.resp, w.resp, w.handler, lead=True)])
    with pytest.raises(PermissionDenied):
        await assign(w.uow(), w.clock, w.cal, w.principal, m.id, specs(w))
    assert await events_of(w, m) == ["registered"]  # nothing half-written


async def test_unit_decomposes_its_own_assignment(w: World) -> None:
    m = await assigned(w)
    assert m.id is not None
    m = await decompose(w.uow(), w.clock, w.cal, w.resp, m.id, 1, w.resp, w.handler,
                        deadline=date(2026, 12, 1))
    sub = m.assignment(3)
    assert sub.parent_no == 1 and sub.deadline == date(2026, 12, 1)
    with pytest.raises(InvalidInput, match="不能晚于"):
        await decompose(w.uow(), w.clock, w.cal, w.resp, m.id, 1, w.resp, w.handler,
                        deadline=date(2027, 1, 30))
    with pytest.raises(PermissionDenied):
        await decompose(w.uow(), w.clock, w.cal, w.handler, m.id, 1, w.resp, w.handler)
    # The sub-assignment's handler reports on the sub-assignment.
    _, a = await report_progress(w.uow(), w.clock, w.handler, m.id, None, "入户摸底完成")
    assert a.no == 3


# ---- the unit's side


async def test_sign_with_committed_deadline(w: World) -> None:
    m = await assigned(w)
    assert m.id is not None
    with pytest.raises(InvalidInput, match="延期"):
        await sign(w.uow(), w.clock, w.resp, m.id, 1, date(2026, 12, 31))
    with pytest.raises(InvalidInput, match="早于今天"):
        await sign(w.uow(), w.clock, w.resp, m.id, 1, date(2026, 11, 1))
    with pytest.raises(PermissionDenied):
        await sign(w.uow(), w.clock, w.co_resp, m.id, 1, date(2026, 12, 4))
    m = await sign(w.uow(), w.clock, w.resp, m.id, 1, date(2026, 12, 4))
    lead = m.assignment(1)
    assert lead.status == AssignmentStatus.SIGNED
    assert lead.effective_deadline == date(2026, 12, 4)
    with pytest.raises(InvalidTransition):
        await sign(w.uow(), w.clock, w.resp, m.id, 1, date(2026, 12, 4))


async def test_progress_with_attachments_reaches_office(w: World) -> None:
    m = await assigned(w)
    assert m.id is not None
    photo = Attachment("photo", "file-1")
    m, a = await report_progress(w.uow(), w.clock, w.handler, m.id, None, "已完成拆除",
                                 [photo])
    assert a.no == 1 and m.assignment(1).last_progress_text == "已完成拆除"
    event = w.store.events[-1]
    assert event.kind == "progress" and event.after["attachments"][0]["file_id"] == "file-1"
    office = [n for n in w.store.outbox if n.kind == "office_progress"]
    assert office and office[0].person_id == w.admin  # no office chat bound yet


async def test_progress_on_someone_elses_matter_is_refused(w: World) -> None:
    m = await assigned(w)
    assert m.id is not None
    with pytest.raises(PermissionDenied):
        await report_progress(w.uow(), w.clock, w.outsider, m.id, None, "我来报")
    with pytest.raises(PermissionDenied):
        await report_progress(w.uow(), w.clock, w.co_handler, m.id, 1, "替牵头单位报")
    with pytest.raises(InvalidInput, match="空"):
        await report_progress(w.uow(), w.clock, w.handler, m.id, None, "  ")
    _, a = await report_progress(w.uow(), w.clock, w.co_handler, m.id, None, "配合完成")
    assert a.no == 2


async def test_reports_in_one_batch_are_each_checked_on_their_own(w: World) -> None:
    m = await assigned(w)
    assert m.id is not None
    before = len(w.store.events)
    P = ProgressReport
    outcomes = await report_progress_many(w.uow(), w.clock, [
        P(w.handler, m.id, None, "第一条"),
        P(w.outsider, m.id, None, "我来报"),        # not theirs
        P(w.handler, 9999, None, "没有这件事"),       # no such matter
        P(w.handler, m.id, None, "  "),             # empty
        P(w.co_handler, m.id, None, "配合单位进展"),
        P(w.handler, m.id, None, "第二条"),
    ])
    assert isinstance(outcomes[1], PermissionDenied)
    assert isinstance(outcomes[2], NotFound)
    assert isinstance(outcomes[3], InvalidInput)
    ok = [o for o in outcomes if not isinstance(o, Exception)]
    assert [a.no for _, a in ok] == [1, 2, 1]
    progress = [e for e in w.store.events[before:] if e.kind == "progress"]
    assert [e.after["text"] for e in progress] == ["第一条", "配合单位进展", "第二条"]
    stored = w.store.matters[m.id]
    assert stored["version"] == m.version + 3
    office = [n for n in w.store.outbox if n.kind == "office_progress"]
    assert len({n.key for n in office}) == len(office) == 3  # one line per report


async def test_completion_review_close_and_return(w: World) -> None:
    m = await assigned(w)
    assert m.id is not None
    with pytest.raises(InvalidTransition, match="尚未申请"):
        await close_matter(w.uow(), w.clock, w.admin, m.id)
    with pytest.raises(PermissionDenied):
        await request_completion(w.uow(), w.clock, w.handler, m.id, None, "办完了")
    m = await request_completion(w.uow(), w.clock, w.resp, m.id, None, "已全部完成")
    assert m.status == MatterStatus.COMPLETION_REQUESTED
    with pytest.raises(InvalidInput, match="理由"):
        await return_matter(w.uow(), w.clock, w.admin, m.id, "")
    m = await return_matter(w.uow(), w.clock, w.admin, m.id, "缺少验收材料")
    assert m.status == MatterStatus.IN_PROGRESS
    assert any(n.kind == "returned" and n.person_id == w.resp for n in w.store.outbox)
    m = await request_completion(w.uow(), w.clock, w.resp, m.id, None, "补充了验收材料")
    with pytest.raises(PermissionDenied):
        await close_matter(w.uow(), w.clock, w.principal, m.id)
    m = await close_matter(w.uow(), w.clock, w.admin, m.id, "审核通过")
    assert m.status == MatterStatus.CLOSED and m.closed_at == w.clock.now()
    assert all(a.status == AssignmentStatus.CLOSED for a in m.assignments)
    with pytest.raises(InvalidTransition, match="已销号"):
        await report_progress(w.uow(), w.clock, w.handler, m.id, None, "再报")


async def test_extension_needs_principal_then_office(w: World) -> None:
    m = await assigned(w)
    assert m.id is not None
    m = await request_extension(w.uow(), w.clock, w.resp, m.id, None, "拆迁协商未完成",
                                date(2026, 12, 18))
    ext = m.assignment(1).extension
    assert ext is not None and ext.state == ExtensionState.AWAITING_PRINCIPAL
    assert any(n.kind == "extension_confirm" and n.person_id == w.principal
               for n in w.store.outbox)
    with pytest.raises(InvalidTransition, match="第一责任人"):
        await decide_extension(w.uow(), w.clock, w.admin, m.id, 1, True)
    with pytest.raises(PermissionDenied):
        await confirm_extension(w.uow(), w.clock, w.resp, m.id, 1)
    m = await confirm_extension(w.uow(), w.clock, w.principal, m.id, 1)
    assert any(n.kind == "office_extension_requested" for n in w.store.outbox)
    with pytest.raises(PermissionDenied):
        await decide_extension(w.uow(), w.clock, w.principal, m.id, 1, True)
    m = await decide_extension(w.uow(), w.clock, w.admin, m.id, 1, True)
    assert m.assignment(1).deadline == date(2026, 12, 18)
    approved = next(e for e in w.store.events if e.kind == "extension_approved")
    assert approved.before["deadline"] == "2026-12-07"  # old deadline kept in the ledger
    assert approved.after["deadline"] == "2026-12-18"


async def test_extension_by_principal_goes_straight_to_office_and_can_be_rejected(
        w: World) -> None:
    m = await assigned(w)
    assert m.id is not None
    m = await request_extension(w.uow(), w.clock, w.principal, m.id, 1, "资金未到位",
                                date(2026, 12, 11))
    with pytest.raises(InvalidInput, match="理由"):
        await decide_extension(w.uow(), w.clock, w.admin, m.id, 1, False)
    m = await decide_extension(w.uow(), w.clock, w.admin, m.id, 1, False, reason="时间充足")
    assert m.assignment(1).extension is None
    assert m.assignment(1).deadline == date(2026, 12, 7)


async def test_extension_only_before_the_deadline(w: World) -> None:
    m = await assigned(w)
    assert m.id is not None
    w.clock.advance(timedelta(days=20))
    with pytest.raises(InvalidTransition, match="届满前"):
        await request_extension(w.uow(), w.clock, w.principal, m.id, 1, "来不及",
                                date(2027, 1, 30))


# ---- escalation


async def test_urge_criticize_commend_refer(w: World) -> None:
    m = await assigned(w)
    assert m.id is not None
    w.clock.advance(timedelta(days=16))  # 2026-12-09, overdue
    m = await urge(w.uow(), w.clock, w.cal, w.admin, m.id, 1, note="请抓紧")
    a = m.assignment(1)
    assert a.urge_count == 1 and a.urge_limit == date(2026, 12, 14)
    assert {n.person_id for n in w.store.outbox if n.kind == "urged"} == {w.principal, w.resp}
    with pytest.raises(PermissionDenied):
        await urge(w.uow(), w.clock, w.cal, w.principal, m.id, 1)
    m = await criticize(w.uow(), w.clock, w.admin, m.id, 1, "催办后仍未落实")
    assert m.assignment(1).criticized
    m = await refer(w.uow(), w.clock, w.admin, m.id, 1, "情节严重")
    m = await commend(w.uow(), w.clock, w.admin, m.id, 2, "配合迅速")
    assert m.assignment(2).commended and m.assignment(1).referred
    assert (await events_of(w, m))[-4:] == ["urged", "criticized", "referred", "commended"]


async def test_cancel_keeps_the_matter_and_its_history(w: World) -> None:
    m = await assigned(w)
    assert m.id is not None
    with pytest.raises(InvalidInput):
        await cancel_matter(w.uow(), w.clock, w.admin, m.id, "")
    m = await cancel_matter(w.uow(), w.clock, w.admin, m.id, "重复登记")
    assert m.status == MatterStatus.CANCELLED
    assert m.id in w.store.matters
    assert (await events_of(w, m))[-1] == "cancelled"
    assert all(n.status != "pending" for n in w.store.outbox if n.matter_id == m.id)


# ---- visibility


async def test_confidential_visible_to_office_and_named_only(w: World) -> None:
    m = await assigned(w, confidential=True)
    assert m.id is not None
    for who in (w.admin, w.resp, w.handler, w.principal):
        await get_matter(w.uow(), who, m.id)
    for who in (w.leader, w.outsider):
        with pytest.raises(NotFound):
            await get_matter(w.uow(), who, m.id)
    page, total = await list_matters(w.uow(), w.clock, w.leader, ListFilter())
    assert total == 0 and page == []


async def test_list_filters(w: World) -> None:
    a = await assigned(w)
    await register(w, title="未交办的")
    assert a.id is not None
    page, total = await list_matters(w.uow(), w.clock, w.admin, ListFilter())
    assert total == 2
    page, total = await list_matters(w.uow(), w.clock, w.resp, ListFilter(mine=True))
    assert [m.id for m in page] == [a.id]
    page, total = await list_matters(w.uow(), w.clock, w.admin,
                                     ListFilter(overdue=True))
    assert total == 0
    w.clock.advance(timedelta(days=15))
    page, total = await list_matters(w.uow(), w.clock, w.admin,
                                     ListFilter(overdue=True))
    assert [m.id for m in page] == [a.id]
    with pytest.raises(PermissionDenied):
        await list_matters(w.uow(), w.clock, w.resp, ListFilter(unit_id=w.dept))
    mine = await my_assignments(w.uow(), w.handler)
    assert [(m.id, x.no) for m, x in mine] == [(a.id, 1)]


async def test_find_by_number_and_short_id(w: World) -> None:
    m = await register(w)
    for ref in ("1", "26-1", "2026-1", "督〔2026〕1号"):
        assert (await find_matter(w.uow(), w.clock, w.admin, ref)).id == m.id
    with pytest.raises(NotFound):
        await find_matter(w.uow(), w.clock, w.admin, "99")
    with pytest.raises(InvalidInput):
        await find_matter(w.uow(), w.clock, w.admin, "abc")


# ---- traffic light


async def test_traffic_light(w: World) -> None:
    m = await assigned(w)
    policy = LightPolicy(near_workdays=2, stagnant_workdays=5)
    today = date(2026, 11, 23)
    assert matter_light(m, w.cal, today, policy) == Light.GREEN
    # No progress for 5 working days: yellow.
    assert matter_light(m, w.cal, date(2026, 11, 30), policy) == Light.YELLOW
    assert matter_light(m, w.cal, date(2026, 12, 3), policy) == Light.YELLOW  # near
    assert matter_light(m, w.cal, date(2026, 12, 8), policy) == Light.RED


# ---- onboarding


async def test_invite_is_single_use_and_expires(w: World) -> None:
    inv = await create_invite(w.uow(), w.clock, w.admin, "新干事", frozenset({Role.HANDLER}),
                              w.town)
    with pytest.raises(PermissionDenied):
        await create_invite(w.uow(), w.clock, w.resp, "x", frozenset({Role.HANDLER}), w.town)
    with pytest.raises(InvalidInput, match="单位"):
        await create_invite(w.uow(), w.clock, w.admin, "x", frozenset({Role.HANDLER}), None)
    p = await accept_invite(w.uow(), w.clock, inv.token, 5555)
    assert p.unit_id == w.town and p.telegram_id == 5555
    with pytest.raises(InvalidInput, match="用过"):
        await accept_invite(w.uow(), w.clock, inv.token, 6666)
    late = await create_invite(w.uow(), w.clock, w.admin, "迟到", frozenset({Role.HANDLER}),
                               w.town)
    w.clock.advance(timedelta(days=4))
    with pytest.raises(InvalidInput, match="过期"):
        await accept_invite(w.uow(), w.clock, late.token, 7777)
    assert [e.kind for e in w.store.events if e.person_id == p.id] == ["person_bound"]


async def test_bind_group_and_office_news_go_there(w: World) -> None:
    await bind_group(w.uow(), w.clock, w.admin, -100, "督查室工作群", None)
    with pytest.raises(PermissionDenied):
        await bind_group(w.uow(), w.clock, w.resp, -200, "x", w.town)
    m = await assigned(w)
    assert m.id is not None
    await report_progress(w.uow(), w.clock, w.resp, m.id, None, "进展")
    office = [n for n in w.store.outbox if n.kind == "office_progress"]
    assert [(n.chat_id, n.person_id) for n in office] == [(-100, None)]


async def test_unreachable_person_is_flagged_and_office_told(w: World) -> None:
    await mark_unreachable(w.uow(), w.clock, w.handler, "bot was blocked by the user")
    assert not w.store.persons[w.handler].reachable
    assert any(n.kind == "office_unreachable" for n in w.store.outbox)
    await mark_unreachable(w.uow(), w.clock, w.handler, "again")
    assert sum(n.kind == "office_unreachable" for n in w.store.outbox) == 1


# ---- history


async def test_full_story_replays_from_events(w: World) -> None:
    m = await assigned(w)
    assert m.id is not None
    mid = m.id
    await sign(w.uow(), w.clock, w.resp, mid, 1, date(2026, 12, 4))
    await report_progress(w.uow(), w.clock, w.handler, mid, None, "一半",
                          [Attachment("document", "f2", "方案.pdf")])
    await request_extension(w.uow(), w.clock, w.resp, mid, 1, "天气", date(2026, 12, 11))
    await confirm_extension(w.uow(), w.clock, w.principal, mid, 1)
    await decide_extension(w.uow(), w.clock, w.admin, mid, 1, True)
    await urge(w.uow(), w.clock, w.cal, w.admin, mid, 2)
    await request_completion(w.uow(), w.clock, w.resp, mid, None, "完成")
    await return_matter(w.uow(), w.clock, w.admin, mid, "材料不全")
    await request_completion(w.uow(), w.clock, w.resp, mid, None, "补齐")
    await close_matter(w.uow(), w.clock, w.admin, mid)
    events = [e for e in w.store.events if e.matter_id == mid]
    replayed = Matter.replay(events)
    assert matter_to_json(replayed) == w.store.matters[mid]
    # Every event names who and when; none was rewritten.
    assert all(e.actor_id is not None and e.at.tzinfo is not None for e in events)
    assert [e.id for e in w.store.events] == sorted(e.id for e in w.store.events)
