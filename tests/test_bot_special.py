"""End to end through the sandbox: 三个优先, 专项督查 monthly figures, key enterprises'
月回访, liaisons' inspections, joint meetings, and 公示 (channel post + web page)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from bot.config import Config
from bot.harness import Harness, running_bot
from handlers.public import SyncStats, sync_channel
from ledger.bulletins import BulletinKind, current_period
from ledger.clock import FixedClock
from ledger.model import Event, ProjectKind, Role, Source
from ledger.usecases.closing import close_matter, request_completion
from ledger.usecases.ledger_mgmt import cancel_matter
from ledger.usecases.liaisons import inspections
from ledger.usecases.meetings import meetings
from ledger.usecases.special import (
    Figures,
    add_enterprise,
    parse_figures,
    plan_recurring,
    project_figures,
)
from public.web import make_app
from reports.bulletin import build_bulletin, render_bulletin_text
from sandbox.media import tiny_png
from tests.bot_e2e import (
    START,
    bot,
    buttons,
    find,
    last,
    latest,
    matter,
    quick_matter,
    say,
    tap,
    text,
)
from tests.dbs import url_for


async def _close(h: Harness, matter_id: int) -> None:
    """The lead unit asks for completion and the office closes (销号)."""
    m = await matter(h, matter_id)
    lead = m.lead
    assert lead is not None
    await request_completion(h.deps.uow(), h.clock, lead.responsible_id, matter_id,
                             lead.no, "已办结")
    await close_matter(h.deps.uow(), h.clock, h.ids["admin"], matter_id, "审核通过")
    await h.settle()


async def _liaison(h: Harness) -> Any:
    """A liaison officer (聘员督办) appointed from 县住建局."""
    person = h.server.person(first_name="林联络员", username="u_liaison")
    async with h.deps.uow() as uow:
        p = await uow.people.add_person(h.county.office_id, "林联络员",
                                        frozenset({Role.LIAISON}),
                                        unit_id=h.units["县住建局"], telegram_id=person.id)
        await uow.events.append(Event(kind="person_added", at=h.clock.now(), actor_id=None,
                                      office_id=h.county.office_id, person_id=p.id,
                                      after={"name": p.name, "roles": ["liaison"]}))
        await uow.commit()
    return person


async def test_priority_sorts_first_and_project_asks_monthly_figures(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        admin = h.people["admin"]
        first = await quick_matter(h, "工业园区标准厂房建设 | 城关镇 | 默认")
        await quick_matter(h, "老旧小区改造 | 县住建局 | 默认")
        reply = await say(h, admin, "/priority 1 工业项目涉诉，优先督查")
        assert "⭐ 已标记优先督办" in text(reply)
        listing = await say(h, admin, "/list")
        lines = [ln for ln in text(listing).splitlines() if "示督" in ln]
        assert "⭐" in lines[0] and first.number in lines[0]
        card = await say(h, admin, "/show 1")
        assert "⭐ 优先督办：工业项目涉诉" in text(card)
        issue = await build_bulletin(h.deps.uow(), h.clock, h.deps.cal, h.county.office_id,
                                     BulletinKind.REGULAR,
                                     current_period(BulletinKind.REGULAR, START.date()))
        assert "【优先】工业园区标准厂房建设" in "\n".join(render_bulletin_text(issue))

        reply = await say(h, admin, "/project 1 项目建设")
        assert "已列入专项督查" in text(reply) and "12月1日" in text(reply)
        # 1 December 2026 (Tuesday), 09:00 in Shanghai: the first working day of the month
        assert isinstance(h.clock, FixedClock)
        h.clock.set(datetime(2026, 12, 1, 1, 0, tzinfo=UTC))
        await h.deliver()
        ask = find(h.people["town_resp"].inbox(), "月度检查")
        assert "2026-12" in text(ask) and first.title in text(ask)
        await h.people["town_resp"].reply(ask, "完成60% 累计投资1200万 问题：征地尚未完成")
        await h.settle()
        assert "已记入台账" in text(last(h.people["town_resp"]))
        assert "完成 60%" in text(find(h.office_group.messages(), "月度数据"))
        rows = await project_figures(h.deps.uow(), h.county.office_id)
        assert [(r.number, r.percent, r.investment, r.problems, r.project) for r in rows] == [
            (first.number, 60, 1200.0, "征地尚未完成", ProjectKind.CONSTRUCTION.value)]
        m = await matter(h, first.id or 0)
        assert m.figures is not None and m.figures["percent"] == 60
        # a text without a percentage is ordinary progress
        await h.people["town_resp"].reply(ask, "本周完成基础浇筑")
        await h.settle()
        m = await matter(h, first.id or 0)
        assert m.lead is not None and m.lead.last_progress_text == "本周完成基础浇筑"


async def test_enterprise_visit_problem_becomes_matter_tracked_to_closure(
        tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        admin = h.people["admin"]
        added = await say(h, admin, "/enterprise 宏达机械 | 县发改局")
        assert "已加入重点企业名单：宏达机械" in text(added)
        assert "宏达机械" in text(await say(h, admin, "/enterprises"))
        visit = await say(h, admin, "/visit 宏达机械 | 用电增容审批慢；缺少技术工人")
        assert "用电增容审批慢" in text(visit)
        assert buttons(visit) == ["📌 立项 1", "📌 立项 2"]
        await tap(h, admin, visit, "📌 立项 1")
        assert "已立项并交办" in text(last(admin))
        m = await latest(h)
        assert m.source == Source.ENTERPRISE and m.title == "宏达机械反映：用电增容审批慢"
        assert m.origin is not None and m.origin["kind"] == "visit"
        assert m.lead is not None and m.lead.unit_id == h.units["县发改局"]
        assert "交办通知" in text(find(h.people["dept_resp"].inbox(), "交办通知"))
        # tapping again does not register twice
        await tap(h, admin, visit, "📌 立项 1")
        assert (await latest(h)).id == m.id
        story = await say(h, admin, "/enterprise 宏达机械")
        assert f"{m.number} 办理中" in text(story) and "缺少技术工人 — 未立项" in text(story)
        await _close(h, m.id or 0)
        story = await say(h, admin, "/enterprise 宏达机械")
        assert f"{m.number} 已销号" in text(story)
        # 责任追究: the office commends the fast unit; a unit cannot judge
        judged = await say(h, admin, f"/commend {m.seq} 三天解决企业用电难题")
        assert "已记入通报表彰" in text(judged)
        assert (await matter(h, m.id or 0)).lead.commended  # type: ignore[union-attr]
        denied = await say(h, h.people["dept_principal"], f"/criticize {m.seq} 拖延")
        assert "只有督查室" in text(denied)
        # the unit serving the enterprise sees the same story
        story = await say(h, h.people["dept_principal"], "/enterprise 宏达机械")
        assert "已销号" in text(story)
        # a monthly visit reminder is queued for the office
        h.clock.set(datetime(2026, 12, 1, 1, 0, tzinfo=UTC))  # type: ignore[attr-defined]
        await h.deliver()
        assert "本月回访提醒" in text(find(h.office_group.messages(), "回访提醒"))


async def test_liaison_inspects_and_proposes_but_never_sees_confidential(
        tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        admin = h.people["admin"]
        public = await quick_matter(h, "城区道路维修 | 县住建局 | 默认")
        secret = await quick_matter(h, "信访积案化解 | 城关镇 | 默认 | 机密")
        liaison = await _liaison(h)
        card = await say(h, liaison, "/show 1")
        assert public.title in text(card)
        denied = await say(h, liaison, f"/show {secret.seq}")
        assert "找不到这件事项，或您无权查看" in text(denied)
        assert secret.title not in text(denied)
        denied = await say(h, liaison, f"/inspect {secret.seq} 暗访 看看")
        assert "找不到这件事项，或您无权查看" in text(denied)
        listing = await say(h, liaison, "/list")
        assert secret.title not in text(listing) and public.title in text(listing)
        # 暗访 with a photo, the command in its caption
        await liaison.send_photo(tiny_png(), caption="/inspect 1 暗访 工地未按要求围挡")
        await h.settle()
        recorded = last(liaison)
        assert "督查记录 #" in text(recorded) and "暗访" in text(recorded)
        assert "含1张照片" in text(recorded)
        feed = find(h.office_group.messages(), "督查联络员")
        assert "林联络员" in text(feed) and "工地未按要求围挡" in text(feed)
        history = await say(h, admin, "/history 1")
        assert "明查暗访" in text(history) and "林联络员" in text(history)
        records = await inspections(h.deps.uow(), h.ids["admin"])
        assert records[0].data["inspector_role"] == "liaison"
        assert records[0].data["attachments"][0]["kind"] == "photo"
        # a 明查 of a unit, and a proposal the office registers in one tap
        reply = await say(h, liaison, "/inspect 城关镇 明查 老街排水沟堵塞")
        assert "明查" in text(reply)
        rid = (await inspections(h.deps.uow(), h.ids["admin"]))[-1].id
        reply = await say(h, liaison, f"/propose {rid} 疏通老街排水沟")
        assert "已向督查室建议立项" in text(reply)
        proposal = find(admin.inbox(), "建议立项")
        assert "疏通老街排水沟" in text(proposal) and "📌 立项" in buttons(proposal)
        # the liaison cannot register it
        denied = await say(h, liaison, f"/propose {rid} 再来一次")
        assert "已经建议立项" in text(denied)
        await tap(h, admin, proposal, "📌 立项")
        m = await latest(h)
        assert m.source == Source.INSPECTION and m.title == "疏通老街排水沟"
        assert m.lead is not None and m.lead.unit_id == h.units["城关镇"]
        assert m.origin == {"kind": "inspection", "id": rid, "item": 1}
        told = find(liaison.inbox(), "您的建议已立项")
        assert m.number in text(told)


async def test_joint_meeting_invites_reminds_and_a_decision_becomes_a_matter(
        tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        admin = h.people["admin"]
        reply = await say(h, admin,
                          "/meeting 研究工业园区用地问题 | 12月1日 15:00 | 县发改局,县住建局 | 三楼会议室")
        assert "已安排联席会议" in text(reply) and "12月1日 15:00" in text(reply)
        for key in ("dept_principal", "build_principal"):
            invite = find(h.people[key].inbox(), "联席会议邀请")
            assert "研究工业园区用地问题" in text(invite) and "三楼会议室" in text(invite)
        assert all("联席会议" not in text(x) for x in h.people["town_principal"].inbox())
        # the working day before (Monday 30 November), 09:00
        h.clock.set(datetime(2026, 11, 30, 1, 0, tzinfo=UTC))  # type: ignore[attr-defined]
        await h.deliver()
        assert "联席会议提醒" in text(last(h.people["dept_principal"]))
        rid = (await meetings(h.deps.uow(), h.ids["admin"]))[0].id
        decided = await say(h, admin, f"/decisions {rid}\n1. 完成园区道路设计 | 县住建局,县发改局 | 12月20日\n"
                                      "2. 县发改局牵头研究用地指标")
        assert "已记录会议决定" in text(decided)
        assert buttons(decided) == ["📌 立项 1", "📌 立项 2"]
        await tap(h, admin, decided, "📌 立项 1")
        m = await latest(h)
        assert m.source == Source.MEETING and m.title == "完成园区道路设计"
        assert m.origin == {"kind": "meeting", "id": rid, "item": 1}
        assert [(a.unit_id, a.lead) for a in m.assignments] == [
            (h.units["县住建局"], True), (h.units["县发改局"], False)]
        assert m.lead is not None and m.lead.deadline == date(2026, 12, 20)
        shown = await say(h, admin, f"/meeting {rid}")
        assert f"→ {m.number}" in text(shown) and buttons(shown) == ["📌 立项 2"]
        # no units given: the office is told to use /new
        await tap(h, admin, shown, "📌 立项 2")
        async with h.deps.uow() as uow:
            r = await uow.records.get(rid or 0)
        assert r.data["decisions"][1]["matter_id"] is None


async def _sync(h: Harness) -> SyncStats:
    """The channel's planner, then the outbox's delivery of what it queued."""
    stats = await sync_channel(h.deps, h.app.bot_data.channel)
    await h.settle()
    return stats


async def test_public_channel_and_web_page_show_closed_matters_never_confidential(
        tmp_path: Path) -> None:
    config = Config(public_channel_id="@shixian_gongshi")
    async with running_bot(tmp_path, clock=FixedClock(START), config=config,
                           db_url=url_for(tmp_path / "duban.db", migrated=True)) as h:
        channel = h.server.channel("示例县督查事项公示", username="shixian_gongshi")
        public = await quick_matter(h, "城区道路维修 | 县住建局,城关镇 | 默认")
        secret = await quick_matter(h, "信访积案化解 | 城关镇 | 默认 | 机密")
        await _sync(h)
        posts = channel.messages()
        assert len(posts) == 1
        post = text(posts[0])
        assert public.number in post and "县住建局（牵头）、城关镇" in post
        assert "具体责任人：陈科长" in post and "具体承办人：褚科员" in post
        assert "办结时限：2026年12月7日" in post and "状态：办理中" in post
        assert all(secret.title not in text(p) for p in posts)
        stats = await _sync(h)
        assert stats.posted == 0 and stats.edited == 0

        await _close(h, public.id or 0)
        await _sync(h)
        posts = channel.messages()
        assert len(posts) == 1 and "✅ 已销号（2026年11月23日）" in text(posts[0])
        assert posts[0].get("edit_date")

        # a matter registered by mistake and cancelled leaves the board marked 已撤销
        wrong = await quick_matter(h, "重复登记的事项 | 城关镇 | 默认")
        await _sync(h)
        await cancel_matter(h.deps.uow(), h.clock, h.ids["admin"], wrong.id or 0, "重复登记")
        await _sync(h)
        posts = channel.messages()
        assert len(posts) == 2 and "状态：已撤销" in text(posts[1])

        client = TestClient(TestServer(make_app(h.deps.uow, h.clock, "示例县督查事项公示")))
        await client.start_server()
        try:
            page = await (await client.get("/")).text()
            assert public.title in page and "已销号（2026年11月23日）" in page
            assert secret.title not in page and secret.number not in page
            assert wrong.title not in page
            assert "陈科长" in page and "褚科员" in page
            closed = await (await client.get("/", params={"status": "closed"})).text()
            assert public.title in closed
            other = await (await client.get(
                "/", params={"unit": str(h.units["县发改局"])})).text()
            assert public.title not in other and "没有符合条件" in other
            found = await (await client.get("/", params={"q": "道路"})).text()
            assert public.title in found
            escaped = await (await client.get("/", params={"q": "<script>"})).text()
            assert "<script>" not in escaped.split("<body>")[1].split("</form>")[0]
        finally:
            await client.close()


async def test_web_page_from_the_ledger_alone(tmp_path: Path) -> None:
    """Matters registered but not yet assigned, cancelled and confidential ones stay off."""
    async with bot(tmp_path) as h:
        m = await quick_matter(h)
        await cancel_matter(h.deps.uow(), h.clock, h.ids["admin"], m.id or 0, "重复登记")
        client = TestClient(TestServer(make_app(h.deps.uow, h.clock)))
        await client.start_server()
        try:
            page = await (await client.get("/")).text()
            assert m.title not in page and "共 0 项" in page
        finally:
            await client.close()


def test_figures_words_and_monthly_days() -> None:
    from ledger.recurrence import first_workdays_of_months
    from ledger.workcalendar import WorkCalendar

    f = parse_figures("完成60% 累计投资1.2亿 问题：征地尚未完成")
    assert f == Figures(60, 12000.0, "征地尚未完成")
    assert parse_figures("进度 35％，投资 800万元，问题：无") == Figures(35, 800.0, "")
    assert parse_figures("本周完成基础浇筑") is None
    cal = WorkCalendar.from_toml(None)
    # the 1st of each month moved to the first working day on or after it
    days = first_workdays_of_months(cal, date(2025, 12, 15), 3)
    assert [d.month for d in days] == [1, 2, 3]
    assert all(cal.is_workday(d) and d.day <= 7 for d in days)
    # never past the last year the calendar knows
    assert all(d.year <= 2026 for d in first_workdays_of_months(cal, date(2026, 11, 23), 12))


def test_public_config_keys(tmp_path: Path) -> None:
    from bot.config import ConfigError, load_config

    path = tmp_path / "duban.toml"
    path.write_text('[public]\nchannel_id = -1001234567890\nweb_port = 9000\n', "utf-8")
    c = load_config({}, path)
    assert (c.public_channel_id, c.web_port) == (-1001234567890, 9000)
    assert load_config({"DUBAN_PUBLIC_CHANNEL": "@gongshi"}, path).public_channel_id == "@gongshi"
    path.write_text('[public]\nchannel = 1\n', "utf-8")
    try:
        load_config({}, path)
    except ConfigError as e:
        assert "public.channel" in str(e)
    else:
        raise AssertionError("an unknown [public] key must be refused")


async def test_monthly_asks_are_topped_up_once_the_calendar_knows_the_year(
        tmp_path: Path) -> None:
    from bot.demo_county import seed_sample_county
    from bot.runner import prepare_database
    from ledger.workcalendar import WorkCalendar
    from storage.tables import outbox
    from storage.uow import uow_factory

    engine = await prepare_database(url_for(tmp_path / "d.db"))
    try:
        uow, clock = uow_factory(engine), FixedClock(START)
        cal = WorkCalendar.from_toml(None)
        county = await seed_sample_county(uow, clock, {})
        await add_enterprise(uow(), clock, cal, county.ids["admin"], "宏达机械",
                             county.units["县发改局"])

        async def periods() -> list[str]:
            async with engine.connect() as conn:
                rows = await conn.execute(outbox.select().where(outbox.c.kind == "visit_due"))
                return sorted(r.payload["period"] for r in rows)

        assert await periods() == ["2026-12"]  # 2027's holidays are not entered yet
        await plan_recurring(uow(), clock, cal)
        assert await periods() == ["2026-12"]  # idempotent
        known = WorkCalendar(WorkCalendar.parse_toml(
            '[2027]\nholidays = ["2027-01-01", "2027-02-05..2027-02-13"]\nworkdays = []\n'))
        await plan_recurring(uow(), clock, known)
        got = await periods()
        assert got[0] == "2026-12" and got[1] == "2027-01" and len(got) == 12
    finally:
        await engine.dispose()


async def test_the_page_can_run_inside_the_bot(tmp_path: Path) -> None:
    import socket

    from aiohttp import ClientSession

    from handlers.public import stop_web

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    config = Config(web_in_bot=True, web_port=port, web_title="示例县公示")
    async with running_bot(tmp_path, clock=FixedClock(START), config=config,
                           db_url=url_for(tmp_path / "duban.db", migrated=True)) as h:
        try:
            m = await quick_matter(h)
            async with ClientSession() as http, http.get(f"http://127.0.0.1:{port}/") as r:
                page = await r.text()
            assert r.status == 200 and "示例县公示" in page and m.title in page
        finally:
            await stop_web(h.app)


async def test_records_keep_writers_apart_and_an_empty_ledger_has_no_page(
        tmp_path: Path) -> None:
    from bot.runner import prepare_database
    from ledger.errors import Conflict
    from ledger.ports import Record
    from storage.uow import uow_factory

    engine = await prepare_database(url_for(tmp_path / "r.db"))
    try:
        uow, clock = uow_factory(engine), FixedClock(START)
        client = TestClient(TestServer(make_app(uow, clock, "公示")))
        await client.start_server()
        try:
            r = await client.get("/")
            assert r.status == 503 and "尚未启用" in await r.text()
        finally:
            await client.close()
        async with uow() as u:
            office = await u.people.add_office("督查室")
            rec = await u.records.add(Record(office_id=office.id, kind="meeting",
                                             created_at=clock.now(), created_by=1,
                                             data={"topic": "t", "decisions": []}))
            await u.commit()
        assert rec.id is not None
        async with uow() as u:
            stale = await u.records.get(rec.id)  # read, then someone else writes
        async with uow() as a:
            ra = await a.records.get(rec.id)
            ra.data["topic"] = "a"
            await a.records.save(ra)
            await a.commit()
        async with uow() as b:
            stale.data["topic"] = "b"
            try:
                await b.records.save(stale)
            except Conflict:
                pass
            else:
                raise AssertionError("a stale writer must get Conflict")
        async with uow() as u:
            assert (await u.records.get(rec.id)).data["topic"] == "a"
            assert [x.id for x in await u.records.list(office.id, "meeting")] == [rec.id]
    finally:
        await engine.dispose()
