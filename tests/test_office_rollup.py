"""转办 and rolling up (issue 16), on a real database: the county's assignment follows its
child matter's state; the final 销号 waits for the child's; urging at the county reaches
the child office's admins (manual and automatic), nobody else's; the parent's bulletin and
appraisal roll the children up with the same counting as /list 下级."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest
from docx import Document
from hypothesis import given
from hypothesis import strategies as st

from ledger.appraisal import (
    Appraisal,
    AppraisalItem,
    AppraisalWeights,
    Factor,
    UnitScore,
    rank_offices,
)
from ledger.bulletins import BulletinKind, Period
from ledger.errors import InvalidTransition, PermissionDenied
from ledger.model import Matter, Office, Role
from ledger.ports import Notice
from ledger.usecases import offices as uc
from ledger.usecases.accountability import PARENT_URGED, auto_urge_many, urge
from ledger.usecases.closing import (
    close_matter,
    report_progress,
    request_completion,
    return_matter,
)
from ledger.usecases.ledger_mgmt import RegisterMatter, register_and_assign, teams
from ledger.usecases.reading import history
from reports.appraisal import build_children_appraisal, write_children_appraisal
from reports.bulletin import build_bulletin, bulletin_files, render_bulletin_text
from tests.test_offices import START, World, _world


async def _notices(w: World, key: tuple[str, str]) -> list[Notice]:
    async with w.uow() as u:
        return await u.outbox.for_person(w.people[key], limit=200)


async def _county(w: World) -> Matter:
    async with w.uow() as u:
        return await u.matters.get(w.matters["county"].id or 0)


async def _passed(w: World) -> Matter:
    _, child = await uc.pass_down(w.uow, w.clock, w.cal, w.people[("a", "admin")],
                                  w.matters["county"].number, ["城关镇督查室本级"])
    return child


async def test_county_urge_reaches_the_child_admins_only_when_passed_down(
        tmp_path: Path) -> None:
    w, engine = await _world(tmp_path)
    try:
        county, admin = w.matters["county"], w.people[("county", "admin")]
        # not passed down yet: the township's admin hears nothing of the county's urge
        await urge(w.uow(), w.clock, w.cal, admin, county.id or 0, None)
        assert [n.kind for n in await _notices(w, ("a", "admin"))
                if n.kind in (PARENT_URGED, "doc_urging")] == []
        child = await _passed(w)
        async with w.uow() as u:  # a second township admin, not bound in the county
            second = await u.people.add_person(w.offices["a"].id, "城关副管理员",
                                               frozenset({Role.ADMIN}), telegram_id=4242)
            await u.commit()
        w.people[("a", "admin2")] = second.id
        await urge(w.uow(), w.clock, w.cal, admin, county.id or 0, None, note="请加快")
        # the first admin's account is the county unit's principal: it has the
        # 催办通知单 that way already, so only the notice about the township's matter
        assert [n.kind for n in await _notices(w, ("a", "admin"))
                if n.kind in (PARENT_URGED, "doc_urging")] == [PARENT_URGED]
        got = [n for n in await _notices(w, ("a", "admin2"))
               if n.kind in (PARENT_URGED, "doc_urging")]
        assert sorted(n.kind for n in got) == ["doc_urging", PARENT_URGED]
        told = next(n for n in got if n.kind == PARENT_URGED)
        # about the township's own matter, in the township's office
        assert (told.matter_id, told.office_id) == (child.id, w.offices["a"].id)
        assert told.payload["parent_number"] == county.number
        assert told.payload["count"] == 2 and told.payload["note"] == "请加快"
        doc = next(n for n in got if n.kind == "doc_urging")
        # the county's 催办通知单 as its unit got it, with no 已阅 expected of them
        assert (doc.matter_id, doc.assignment_no) == (county.id, 1)
        assert "receipt_id" not in doc.payload
        # the unit in the county's ledger still gets its own, with its receipt
        urged = [n for n in await _notices(w, ("county", "principal"))
                 if n.kind == "doc_urging"]
        assert len(urged) == 2 and all(n.payload.get("receipt_id") for n in urged)
        # the other township hears nothing
        for role in ("admin", "principal", "responsible", "handler", "leader"):
            assert [n for n in await _notices(w, ("b", role))
                    if n.kind in (PARENT_URGED, "doc_urging", "urged")] == []
    finally:
        await engine.dispose()


async def test_automatic_urge_reaches_the_child_admins(tmp_path: Path) -> None:
    w, engine = await _world(tmp_path)
    try:
        county = w.matters["county"]
        child = await _passed(w)
        assert county.lead is not None
        late = w.cal.add_workdays(county.lead.effective_deadline, 2)
        now = w.clock.now()
        w.clock.set(now + timedelta(days=(late - now.date()).days))
        [done] = await auto_urge_many(w.uow, w.clock, w.cal, [(county.id or 0, 1)],
                                      after_workdays=1, limit_workdays=3)
        assert done is not None
        told = [n for n in await _notices(w, ("a", "admin")) if n.kind == PARENT_URGED]
        assert len(told) == 1 and told[0].matter_id == child.id
        assert told[0].payload["auto"] is True
        assert len([n for n in await _notices(w, ("county", "principal"))
                    if n.kind == "doc_urging"]) == 1
    finally:
        await engine.dispose()


async def test_final_close_waits_for_the_childs(tmp_path: Path) -> None:
    w, engine = await _world(tmp_path)
    try:
        county = w.matters["county"]
        county_admin, a_admin = w.people[("county", "admin")], w.people[("a", "admin")]
        child = await _passed(w)
        down = (await _county(w)).assignment(1).passed_down
        assert down is not None and (down.number, down.state) == (child.number, "open")
        # the county unit asks to finish before its township closed: the county may not
        await request_completion(w.uow(), w.clock, w.people[("county", "principal")],
                                 county.id or 0, None, "已完成")
        with pytest.raises(InvalidTransition, match="下级尚未销号"):
            await close_matter(w.uow(), w.clock, county_admin, county.id or 0)
        # the township works: its progress shows on the county's assignment
        await report_progress(w.uow(), w.clock, w.people[("a", "handler")], child.id or 0,
                              None, "排查12处")
        down = (await _county(w)).assignment(1).passed_down
        assert down is not None and (down.state, down.last_text) == ("open", "排查12处")
        await request_completion(w.uow(), w.clock, w.people[("a", "responsible")],
                                 child.id or 0, None, "镇里办完")
        assert (await _county(w)).assignment(1).passed_down.state == (  # type: ignore[union-attr]
            "completion_requested")
        # a return in the township sets it back to open
        await return_matter(w.uow(), w.clock, a_admin, child.id or 0, "材料不全")
        assert (await _county(w)).assignment(1).passed_down.state == "open"  # type: ignore[union-attr]
        with pytest.raises(InvalidTransition, match="下级尚未销号"):
            await close_matter(w.uow(), w.clock, county_admin, county.id or 0)
        await request_completion(w.uow(), w.clock, w.people[("a", "responsible")],
                                 child.id or 0, None, "补齐材料")
        await close_matter(w.uow(), w.clock, a_admin, child.id or 0)
        m = await _county(w)
        assert m.assignment(1).passed_down.finished  # type: ignore[union-attr]
        closed = await close_matter(w.uow(), w.clock, county_admin, county.id or 0)
        assert not closed.is_open
        # the state is a projection of the events: replayed, the same
        kinds = [e.kind for e in await history(w.uow(), county_admin, county.id or 0)]
        assert "child_returned" in kinds and kinds[-2:] == ["child_closed", "closed"]
        async with w.uow() as u:
            events = await u.events.for_matter(county.id or 0)
        assert Matter.replay(events).assignment(1).passed_down == closed.assignment(1).passed_down
    finally:
        await engine.dispose()


async def test_parent_bulletin_has_a_section_per_child_counted_as_list_children(
        tmp_path: Path) -> None:
    w, engine = await _world(tmp_path)
    try:
        b_admin = w.people[("b", "admin")]
        async with w.uow() as u:
            team = await teams(u, w.offices["b"].id, [w.units["b"]])
        secret = await register_and_assign(
            w.uow, w.clock, w.cal, b_admin,
            RegisterMatter(title="机密的镇级事项", confidential=True), team, "测试")
        # the townships' matters go red: past their deadline
        a = w.matters["a"]
        assert a.lead is not None
        now = w.clock.now()
        w.clock.set(now + timedelta(days=(a.lead.effective_deadline - now.date()).days + 1))
        today = w.clock.now().date()
        period = Period(today.replace(day=1), today)
        b = await build_bulletin(w.uow(), w.clock, w.cal, w.offices["county"].id,
                                 BulletinKind.REGULAR, period)
        _, lines = await uc.child_offices(w.uow(), w.people[("county", "admin")],
                                          clock=w.clock, cal=w.cal)
        assert [c.office for c in b.children] == ["城关镇督查室", "东关镇督查室"]
        assert [c.figures for c in b.children] == [x.figures for x in lines]
        first = b.children[0].figures
        assert (first.open, first.red, first.overdue) == (1, 1, 1)
        assert first.numbers == ("城关督〔2026〕1号",)
        # the confidential one is neither counted nor named, anywhere
        assert b.children[1].figures.open == 1
        text = "\n".join(render_bulletin_text(b))
        assert "下级督查室台账情况" in text
        assert "城关镇督查室：在办 1 件，红灯 1、黄灯 0，超期 1 件；本期销号 0 件" in text
        assert "🔴 城关督〔2026〕1号" in text and secret.title not in text
        files = bulletin_files(b, w.cal)
        doc = Document(io.BytesIO(files.docx))
        cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
        assert "城关督〔2026〕1号" in cells and "东关镇督查室" in cells
        assert secret.number not in " ".join(cells)
        assert files.chart_png.startswith(b"\x89PNG")
        # a township's own issue has no such section; nor has the project 专报
        town = await build_bulletin(w.uow(), w.clock, w.cal, w.offices["a"].id,
                                    BulletinKind.REGULAR, period)
        assert town.children == ()
        assert "下级督查室" not in "\n".join(render_bulletin_text(town))
        project = await build_bulletin(w.uow(), w.clock, w.cal, w.offices["county"].id,
                                       BulletinKind.PROJECT, period)
        assert project.children == ()
        # closing in the township counts in the period's 销号
        await request_completion(w.uow(), w.clock, w.people[("a", "responsible")],
                                 a.id or 0, None, "办完")
        await close_matter(w.uow(), w.clock, w.people[("a", "admin")], a.id or 0)
        again = await build_bulletin(w.uow(), w.clock, w.cal, w.offices["county"].id,
                                     BulletinKind.REGULAR, period)
        assert (again.children[0].figures.open, again.children[0].figures.closed) == (0, 1)
    finally:
        await engine.dispose()


def _appraisal(scores: list[tuple[str, float, bool]]) -> Appraisal:
    """Units scored as given; `True`: the unit has a scored item (takes part)."""
    out = []
    for i, (unit, score, part) in enumerate(scores):
        items = (AppraisalItem(i, unit, Factor.ON_TIME, 1, "x", "x", 1, score - 100, None, ""),
                 ) if part else ()
        out.append(UnitScore(i, unit, 100.0, items))
    return Appraisal(2026, START, START.date(), AppraisalWeights(), tuple(out))


def test_rank_offices_by_the_mean_of_units_taking_part() -> None:
    a, b, c = (Office(2, "城关镇督查室", "城关督", 1), Office(3, "东关镇督查室", "东关督", 1),
               Office(4, "西关镇督查室", "西关督", 1))
    ranked = rank_offices([
        (a, _appraisal([("一办", 104, True), ("二办", 100, False)])),   # 104: 二办 no part
        (b, _appraisal([("一办", 110, True), ("二办", 98, True)])),     # 104: tie with A
        (c, _appraisal([("一办", 100, False)])),                        # none: the base
    ])
    assert [(s.office, s.score, s.rank) for s in ranked] == [
        ("城关镇督查室", 104.0, 1), ("东关镇督查室", 104.0, 1), ("西关镇督查室", 100.0, 3)]
    assert [len(s.taking_part) for s in ranked] == [1, 2, 0]


async def test_children_appraisal_ranks_the_townships(tmp_path: Path) -> None:
    w, engine = await _world(tmp_path)
    try:
        a = w.matters["a"]
        await request_completion(w.uow(), w.clock, w.people[("a", "responsible")],
                                 a.id or 0, None, "办完")
        await close_matter(w.uow(), w.clock, w.people[("a", "admin")], a.id or 0)
        name, ranked = await build_children_appraisal(w.uow, w.clock, w.cal,
                                                      w.people[("county", "admin")], 2026)
        assert name == "县督查室"
        assert [(s.office, s.score) for s in ranked] == [("城关镇督查室", 102.0),
                                                        ("东关镇督查室", 100.0)]
        with pytest.raises(PermissionDenied):
            await build_children_appraisal(w.uow, w.clock, w.cal,
                                           w.people[("county", "handler")], 2026)
        # a township has none below it
        assert (await build_children_appraisal(w.uow, w.clock, w.cal,
                                               w.people[("a", "admin")], 2026))[1] == ()
        buf = io.BytesIO()
        write_children_appraisal(2026, ranked, buf)
        book = openpyxl.load_workbook(io.BytesIO(buf.getvalue()), read_only=True)
        rows = [r for r in book["下级督查室排名"].iter_rows(values_only=True)]
        assert (1, "城关镇督查室", 1, 102) in rows
    finally:
        await engine.dispose()


@given(st.lists(st.lists(st.tuples(st.integers(80, 120), st.booleans()), max_size=4),
                max_size=6))
def test_rank_offices_properties(offices: list[list[tuple[int, bool]]]) -> None:
    """Best first; equal scores share a rank, and a rank is one more than the offices
    above it; an office with no unit taking part scores the base."""
    given_ = [(Office(i + 2, f"镇{i}", f"镇{i}督", 1),
               _appraisal([(f"办{k}", float(score), part) for k, (score, part) in enumerate(units)]))
              for i, units in enumerate(offices)]
    ranked = rank_offices(given_)
    assert sorted(s.office_id for s in ranked) == [o.id for o, _ in given_]
    for i, s in enumerate(ranked):
        assert s.rank == 1 + sum(t.score > s.score for t in ranked)
        if i:
            assert ranked[i - 1].score >= s.score
        if not s.taking_part:
            assert s.score == 100.0
