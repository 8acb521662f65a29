"""Cards, notices, callback data and templates, on the in-memory fakes (no Telegram)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from telegram import InlineKeyboardMarkup

from bot.config import Config
from handlers import cards, notices
from handlers.common import chunks, fit
from handlers.deps import Deps
from handlers.keys import list_key, matter_key, parse_list_key, parse_matter_key
from handlers.menus import OFFICE, commands, commands_for, help_text
from handlers.onboarding import parse_roles
from ledger.clock import FixedClock
from ledger.lights import LightStamp
from ledger.model import Attachment, Office, Person, Role, Unit
from ledger.ports import GroupChat, Notice
from ledger.usecases.accountability import urge
from ledger.usecases.closing import close_matter, report_progress, request_completion, return_matter
from ledger.usecases.deadlines import confirm_extension, decide_extension, request_extension, sign
from ledger.usecases.ledger_mgmt import AssignSpec, RegisterMatter, assign, register_matter
from ledger.usecases.people import mark_unreachable
from ledger.workcalendar import WorkCalendar
from presentation.render import Renderer
from reminders import kinds as kinds_
from reminders.outbox import Stale
from tests.fakes import FakeUnitOfWork, Store

START = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai


@dataclass
class W:
    store: Store
    deps: Deps
    clock: FixedClock

    def person(self, pid: int) -> Person:
        return self.store.persons[pid]


ADMIN, LEADER, PRINCIPAL, RESP, HANDLER, CO_P, CO_R, CO_H, OUTSIDER = range(1, 10)


@pytest.fixture
def w() -> W:
    store = Store()
    store.offices[1] = Office(1, "示例县督查室")
    store.units[1] = Unit(1, 1, "城关镇")
    store.units[2] = Unit(2, 1, "县发改局")
    for pid, name, role, unit in [
        (ADMIN, "王主任", Role.ADMIN, None), (LEADER, "李县长", Role.LEADER, None),
        (PRINCIPAL, "赵镇长", Role.PRINCIPAL, 1), (RESP, "钱副镇长", Role.RESPONSIBLE, 1),
        (HANDLER, "孙干事", Role.HANDLER, 1), (CO_P, "周局长", Role.PRINCIPAL, 2),
        (CO_R, "吴科长", Role.RESPONSIBLE, 2), (CO_H, "郑科员", Role.HANDLER, 2),
        (OUTSIDER, "外人", Role.HANDLER, 2),
    ]:
        store.persons[pid] = Person(pid, 1, name, frozenset({role}), unit, 1000 + pid)
    clock = FixedClock(START)
    deps = Deps(uow=lambda: FakeUnitOfWork(store), clock=clock, cal=WorkCalendar(),
                config=Config(), render=Renderer())
    store.lights = LightStamp(deps.cal, clock, deps.light_policy)
    return W(store, deps, clock)


async def _matter(w: W, confidential: bool = False) -> int:
    m = await register_matter(w.deps.uow(), w.clock, w.deps.cal, ADMIN, RegisterMatter(
        title="老旧小区改造", confidential=confidential))
    assert m.id is not None
    await assign(w.deps.uow(), w.clock, w.deps.cal, ADMIN, m.id, [
        AssignSpec(1, PRINCIPAL, RESP, HANDLER, lead=True),
        AssignSpec(2, CO_P, CO_R, CO_H)])
    return m.id


def _labels(markup: InlineKeyboardMarkup | None) -> list[str]:
    if markup is None:
        return []
    return [b.text for row in markup.inline_keyboard for b in row]


async def _card(w: W, mid: int, viewer: int | None, group: bool = False,
                ) -> tuple[str, list[str]]:
    async with w.deps.uow() as uow:
        m = await uow.matters.get(mid)
    text, markup = await cards.matter_card(
        w.deps, m, w.person(viewer) if viewer else None, group)
    return text, _labels(markup)


async def test_card_shows_only_the_viewers_buttons(w: W) -> None:
    mid = await _matter(w)
    text, office = await _card(w, mid, ADMIN)
    assert "老旧小区改造" in text and "【牵头】城关镇" in text and "【配合】县发改局" in text
    assert "赵镇长" in text and "钱副镇长" in text and "孙干事" in text
    assert "剩10个工作日" in text
    assert "📣 催办" in office and "🕘 历史" in office
    assert "✍️ 签收" not in office and "✅ 销号" not in office
    _, handler = await _card(w, mid, HANDLER)
    assert handler[:2] == ["✍️ 签收", "📝 报送进展"]
    assert "✅ 申请办结" not in handler  # a handler reports; principal/responsible conclude
    assert "📣 催办" not in handler
    _, resp = await _card(w, mid, RESP)
    assert "✅ 申请办结" in resp and "⏳ 申请延期" in resp
    _, leader = await _card(w, mid, LEADER)
    assert leader == ["🕘 历史"]


async def test_completion_and_extension_buttons_follow_state(w: W) -> None:
    mid = await _matter(w)
    await sign(w.deps.uow(), w.clock, RESP, mid, 1, date(2026, 12, 4))
    await request_extension(w.deps.uow(), w.clock, HANDLER, mid, 1, "拆迁协商未完成",
                            date(2026, 12, 18))
    text, principal = await _card(w, mid, PRINCIPAL)
    assert "👌 确认延期" in principal and "待第一责任人确认" in text
    _, office = await _card(w, mid, ADMIN)
    assert "👍 同意延期" not in office
    await confirm_extension(w.deps.uow(), w.clock, PRINCIPAL, mid, 1)
    _, office = await _card(w, mid, ADMIN)
    assert "👍 同意延期" in office and "👎 不同意延期" in office
    await request_completion(w.deps.uow(), w.clock, RESP, mid, 1, "已完工")
    _, office = await _card(w, mid, ADMIN)
    assert "✅ 销号" in office and "↩️ 退回" in office


async def test_confidential_card_never_in_a_group(w: W) -> None:
    mid = await _matter(w, confidential=True)
    text, buttons = await _card(w, mid, ADMIN, group=True)
    assert "机密事项" in text and "老旧小区" not in text and buttons == []
    text, _ = await _card(w, mid, ADMIN)
    assert text.startswith("🔒")


async def test_every_notice_kind_composes(w: W) -> None:
    w.store.chats[-100] = GroupChat(-100, 1, None, "督查室群", ADMIN, START)
    mid = await _matter(w)
    await sign(w.deps.uow(), w.clock, RESP, mid, 1, date(2026, 12, 4))
    await report_progress(w.deps.uow(), w.clock, HANDLER, mid, 1, "已进场",
                          [Attachment("photo", "f1"), Attachment("document", "f2", "a.pdf")])
    await request_extension(w.deps.uow(), w.clock, HANDLER, mid, 1, "拆迁协商未完成",
                            date(2026, 12, 18))
    await confirm_extension(w.deps.uow(), w.clock, PRINCIPAL, mid, 1)
    await decide_extension(w.deps.uow(), w.clock, ADMIN, mid, 1, True)
    await urge(w.deps.uow(), w.clock, w.deps.cal, ADMIN, mid, None, note="请加快")
    await request_completion(w.deps.uow(), w.clock, RESP, mid, 1, "已完工")
    await return_matter(w.deps.uow(), w.clock, ADMIN, mid, "缺照片")
    await request_completion(w.deps.uow(), w.clock, RESP, mid, 1, "补了照片")
    await close_matter(w.deps.uow(), w.clock, ADMIN, mid, "好")
    await mark_unreachable(w.deps.uow(), w.clock, CO_H, "Forbidden")
    payloads: dict[str, dict[str, object]] = {
        "reminder_before": {"deadline": "2026-12-07", "workdays_left": 3},
        "reminder_due": {"deadline": "2026-12-07", "workdays_left": 0},
        "reminder_overdue": {"deadline": "2026-12-07", "overdue_workdays": 2, "overdue_days": 2,
                             "urge_count": 1, "urge_limit": "2026-12-10"},
        "reminder_urgent": {"deadline": "2026-11-23", "overdue": False, "overdue_workdays": 0,
                            "hours": 2},
        "reminder_stagnant": {"since": "2026-11-23", "stagnant_workdays": 5,
                              "deadline": "2026-12-07", "workdays_left": 2},
        "reminder_someday": {"text": "以后新增的提醒"},
        "office_sla": {"level": "register", "due": "2026-11-24", "received": "2026-11-23",
                       "late_workdays": 1, "late": True},
        "office_criticism_flag": {},
        "office_calendar_missing": {"year": 2027},
    }
    extra = [Notice(key=f"r{k}", office_id=1, kind=k, due_at=START, person_id=HANDLER,
                    matter_id=None if k == "office_calendar_missing" else mid,
                    assignment_no=1, payload=p) for k, p in payloads.items()]
    extra.append(Notice(key="sla-group", office_id=1, kind="office_sla", due_at=START,
                        chat_id=-100, matter_id=mid, payload=payloads["office_sla"]))
    kinds = set()
    shown: dict[str, str] = {}
    for n in [*w.store.outbox, *extra]:
        viewer = w.person(n.person_id) if n.person_id else None
        if n.kind in (kinds_.DOC_ASSIGNMENT, kinds_.DOC_URGING):
            continue  # documents, not text: handlers.notice_docs (tests/test_bot_notices.py)
        if n.kind in (kinds_.RECEIPT_REMIND, kinds_.RECEIPT_ESCALATE):
            # The matter is closed: a receipt's reminder is no longer wanted when its turn comes.
            async with w.deps.uow() as uow:
                with pytest.raises(Stale):
                    await notices.compose_notice(w.deps, uow, n, viewer)
            continue
        async with w.deps.uow() as uow:
            text, _ = await notices.compose_notice(w.deps, uow, n, viewer)
        assert text.strip() and len(text) <= 4096, n.kind
        assert "None" not in text and "{" not in text, text
        kinds.add(n.kind)
        shown[n.kind] = text
    assert {"assignment", "extension_confirm", "extension_approved", "urged", "returned",
            "closed", "office_progress", "office_completion_requested",
            "office_extension_requested", "office_unreachable"} <= kinds
    assert "已 5 个工作日未报送进展（上次：2026年11月23日）" in shown["reminder_stagnant"]
    assert "应于 2026年11月24日 前完成分解立项，已超 1 个工作日" in shown["office_sla"]
    assert "2027年的节假日安排尚未录入" in shown["office_calendar_missing"]
    assert "以后新增的提醒" in shown["reminder_someday"]


async def test_office_feed_lines(w: W) -> None:
    w.store.chats[-100] = GroupChat(-100, 1, None, "督查室群", ADMIN, START)
    mid = await _matter(w)
    await report_progress(w.deps.uow(), w.clock, HANDLER, mid, 1, "已进场",
                          [Attachment("photo", "f1")])
    await request_completion(w.deps.uow(), w.clock, RESP, mid, 1, "已完工")
    feed = [n for n in w.store.outbox if n.kind.startswith("office_")]
    assert [n.chat_id for n in feed] == [-100, -100]
    async with w.deps.uow() as uow:
        progress, pb = await notices.compose_notice(w.deps, uow, feed[0], None)
        done, db = await notices.compose_notice(w.deps, uow, feed[1], None)
    assert "孙干事报送进展：已进场（含1张照片）" in progress
    assert _labels(pb) == ["🔎 查看", "📎 附件"]
    assert "申请办结" in done and _labels(db) == ["✅ 销号", "↩️ 退回", "🔎 查看"]


async def test_confidential_office_news_go_to_admins_privately(w: W) -> None:
    w.store.chats[-100] = GroupChat(-100, 1, None, "督查室群", ADMIN, START)
    mid = await _matter(w, confidential=True)
    await report_progress(w.deps.uow(), w.clock, HANDLER, mid, 1, "机密进展")
    feed = [n for n in w.store.outbox if n.kind == "office_progress"]
    assert [(n.person_id, n.chat_id) for n in feed] == [(ADMIN, None)]


async def test_history_and_list_render(w: W) -> None:
    from handlers.views import history_texts, list_page

    mid = await _matter(w)
    await sign(w.deps.uow(), w.clock, RESP, mid, 1, date(2026, 12, 4))
    await urge(w.deps.uow(), w.clock, w.deps.cal, ADMIN, mid, None, note="请加快")
    async with w.deps.uow() as uow:
        m = await uow.matters.get(mid)
    texts = await history_texts(w.deps, w.person(ADMIN), m)
    joined = "\n".join(texts)
    assert "立项" in joined and "交办〔城关镇〕：牵头" in joined and "签收" in joined
    assert "催办" in joined and "请加快" in joined
    for _ in range(11):
        await _matter(w)
    text, markup = await list_page(w.deps, w.person(ADMIN), "a", "", 0, False)
    assert "共 12 件" in text and "第 1/2 页" in text
    assert _labels(markup)[-1] == "下一页 ▶"
    text, markup = await list_page(w.deps, w.person(ADMIN), "a", "", 1, False)
    assert "第 2/2 页" in text and _labels(markup)[-1] == "◀ 上一页"


def test_callback_data_is_parsed_strictly() -> None:
    assert parse_matter_key(matter_key("sign", 12, 3)) == parse_matter_key("m:sign:12:3")
    press = parse_matter_key("m:close:7:0")
    assert press is not None and press.no is None and press.matter_id == 7
    for bad in ("m:drop:1:1", "m:sign:-1:1", "m:sign:1", "x", "", None, "m:sign:01:1",
                "m:sign:1:1:1", "m:sign:9999999999999:1"):
        assert parse_matter_key(bad) is None, bad
    assert parse_list_key(list_key("u3", 2)) == ("u3", 2)
    for bad in ("l:zzzz:1", "l:zz:1", "l:sfoo:1", "l:u0:1", "l:a:-1"):
        assert parse_list_key(bad) is None, bad


def test_roles_words_and_menus(w: W) -> None:
    assert parse_roles("第一责任人,责任人") == {Role.PRINCIPAL, Role.RESPONSIBLE}
    assert parse_roles("联络员") == {Role.LIAISON}
    assert parse_roles("厨师") is None
    assert commands_for(frozenset({Role.ADMIN})) == OFFICE
    assert all(c.description for c in commands(OFFICE))
    assert "/new" in help_text(w.deps, w.person(ADMIN))
    assert "/new" not in help_text(w.deps, w.person(HANDLER))
    assert "邀请链接" in help_text(w.deps, None)


def test_long_texts_are_cut_to_telegram_size() -> None:
    assert len(fit("字" * 5000)) <= 4096
    parts = chunks(["行" * 1000] * 10)
    assert all(len(p) <= 4096 for p in parts) and len(parts) == 3


async def test_list_filters_by_light_and_overdue(w: W) -> None:
    from datetime import timedelta

    from handlers.views import list_page

    await _matter(w)
    far = await register_matter(w.deps.uow(), w.clock, w.deps.cal, ADMIN,
                                RegisterMatter(title="远期事项", deadline=date(2027, 1, 29)))
    assert far.id is not None
    await assign(w.deps.uow(), w.clock, w.deps.cal, ADMIN, far.id,
                 [AssignSpec(2, CO_P, CO_R, CO_H, lead=True)])
    await report_progress(w.deps.uow(), w.clock, CO_H, far.id, None, "x")
    admin = w.person(ADMIN)
    w.clock.advance(timedelta(days=13))  # Sunday 12月6日: the near one is due tomorrow
    await report_progress(w.deps.uow(), w.clock, CO_H, far.id, None, "还在办")
    text, _ = await list_page(w.deps, admin, "y", "黄灯", 0, False)
    assert "老旧小区改造" in text and "远期事项" not in text and "共 1 件" in text
    text, _ = await list_page(w.deps, admin, "o", "超期", 0, False)
    assert "共 0 件" in text
    w.clock.advance(timedelta(days=2))  # Tuesday 12月8日: overdue
    text, _ = await list_page(w.deps, admin, "o", "超期", 0, False)
    assert "老旧小区改造" in text and "共 1 件" in text
    text, _ = await list_page(w.deps, admin, "r", "红灯", 0, False)
    assert "老旧小区改造" in text and "🔴" in text

