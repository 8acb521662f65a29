"""End to end: who may use the bot at all, forged buttons, invitations, /cancel, errors."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from ledger.model import AssignmentStatus, MatterStatus, Role
from ledger.usecases import reading
from tests.bot_e2e import (
    bot,
    buttons,
    find,
    forge,
    matter,
    quick_matter,
    say,
    tap,
    text,
)

UNBOUND = "您还没有绑定身份，请向督查室索取邀请链接。"


async def test_unbound_user_sees_and_changes_nothing(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        m = await quick_matter(h)
        stranger = h.people["stranger"]
        for words in ("/start", "/list", "/show 1", "/mine", "/new 私立 | 城关镇 | 默认",
                      "随便说说", "/history 1"):
            assert text(await say(h, stranger, words)) == UNBOUND, words
        card = find(h.people["town_handler"].inbox(), "交办通知")
        answer = await forge(h, stranger, card, f"m:close:{m.id}:0")
        assert answer is not None and answer.show_alert and answer.text == UNBOUND
        assert (await matter(h, m.id or 0)).status == MatterStatus.IN_PROGRESS


async def test_forged_callback_data_is_refused(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        m = await quick_matter(h, "城关镇专项 | 城关镇 | 默认")
        other = await quick_matter(h, "发改局专项 | 县发改局 | 默认")
        handler = h.people["town_handler"]
        card = find(handler.inbox(), "交办通知")
        for data in ("m:drop:1:1", "garbage", "m:sign:1", "l:zz:9", "m:sign:0:1"):
            answer = await forge(h, handler, card, data)
            assert answer is not None and answer.show_alert and "无效" in str(answer.text)
        answer = await forge(h, handler, card, f"m:close:{m.id}:0")
        assert answer is not None and answer.show_alert and "只有督查室" in str(answer.text)
        answer = await forge(h, handler, card, f"m:extok:{m.id}:1")
        assert answer is not None and answer.show_alert
        answer = await forge(h, handler, card, f"m:sign:{other.id}:1")
        assert answer is not None and answer.show_alert and "无权查看" in str(answer.text)
        answer = await forge(h, handler, card, f"m:cext:{m.id}:1")
        assert answer is not None and answer.show_alert
        answer = await forge(h, handler, card, "m:show:99999:0")
        assert answer is not None and answer.show_alert
        answer = await forge(h, handler, card, "n:ok")
        assert answer is not None and answer.show_alert
        assert (await matter(h, m.id or 0)).status == MatterStatus.IN_PROGRESS
        assert (await matter(h, other.id or 0)).assignments[0].status == (
            AssignmentStatus.ASSIGNED)


async def test_invite_link_binds_once(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        admin = h.people["admin"]
        assert "请这样写：/invite" in text(await say(h, admin, "/invite 张三"))
        assert "看不懂角色「厨师」" in text(await say(h, admin, "/invite 张三 城关镇 厨师"))
        assert "没有「城南镇」" in text(await say(h, admin, "/invite 张三 城南镇 承办人"))
        refused = await say(h, h.people["town_resp"], "/invite 张三 城关镇 承办人")
        assert "只有督查室" in text(refused)
        answer = await say(h, admin, "/invite 张三 城关镇 承办人,责任人")
        link = re.search(r"https://t\.me/duban_demo_bot\?start=([\w-]+)", text(answer))
        assert link is not None and "只能用一次" in text(answer)
        stranger = h.people["stranger"]
        hello = await say(h, stranger, f"/start {link[1]}")
        assert "绑定成功" in text(hello) and "张三" in text(hello)
        assert "城关镇" in text(hello) and "责任人、承办人" in text(hello)
        async with h.deps.uow() as uow:
            person = await uow.people.by_telegram(stranger.id)
        assert person is not None and person.roles == {Role.HANDLER, Role.RESPONSIBLE}
        assert person.unit_id == h.units["城关镇"]
        latecomer = h.server.person(first_name="李四", username="u_lisi")
        again = await say(h, latecomer, f"/start {link[1]}")
        assert "已经用过" in text(again)
        assert text(await say(h, latecomer, "/start nonsense-token")) == (
            "邀请链接无效，请向督查室重新索取。")
        assert "您好" in text(await say(h, stranger, "/start"))
        assert "城关镇（4人）" in text(await say(h, admin, "/units"))
        # the group binds to a unit, by the office only
        group = h.server.group(title="城关镇工作群", members=[admin, stranger])
        assert "只有督查室" in text(await say(h, stranger, "/bindgroup 城关镇", chat=group))
        bound = await say(h, admin, "/bindgroup 城关镇", chat=group)
        assert "「城关镇」工作群" in text(bound)


async def test_cancel_ends_flows_and_prompts(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        admin = h.people["admin"]
        assert "当前没有进行中的操作" in text(await say(h, admin, "/cancel"))
        await say(h, admin, "/new")
        assert text(await say(h, admin, "/cancel")) == "已取消。"
        assert "请直接回复事项卡片" in text(await say(h, admin, "不是标题"))
        m = await quick_matter(h)
        handler = h.people["town_handler"]
        await tap(h, handler, find(handler.inbox(), "交办通知"), "📝 报送进展")
        assert text(await say(h, handler, "/cancel")) == "已取消。"
        await say(h, handler, "这句不算进展")
        lead = (await matter(h, m.id or 0)).lead
        assert lead is not None and lead.progress_count == 0
        # a flow's stale button after /cancel
        await say(h, admin, "/new")
        step = await say(h, admin, "一个标题")
        await say(h, admin, "/cancel")
        answer = await tap(h, admin, step, "县委县政府决策")
        assert answer is not None and answer.show_alert


async def test_help_menus_and_unknown_commands(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        assert "/new" in text(await say(h, h.people["admin"], "/help"))
        unit_help = text(await say(h, h.people["town_handler"], "/help"))
        assert "签收" in unit_help and "/new" not in unit_help
        assert "邀请链接" in text(await say(h, h.people["stranger"], "/help"))
        assert "没有这个命令" in text(await say(h, h.people["admin"], "/frobnicate"))
        # default, private and group menus at start; the person's own on /start
        before = len(h.server.calls_to("setMyCommands"))
        assert before >= 3
        await say(h, h.people["town_handler"], "/start")
        assert len(h.server.calls_to("setMyCommands")) == before + 1


async def test_unexpected_errors_are_reported(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    async with bot(tmp_path) as h:
        group = h.office_group
        deps = h.app.bot_data.deps
        h.app.bot_data.deps = replace(deps, config=replace(deps.config, ops_chat_id=group.id))

        async def broken(*args: object, **kwargs: object) -> None:
            raise RuntimeError("database on fire")

        monkeypatch.setattr(reading, "my_work_page", broken)
        answer = await say(h, h.people["town_handler"], "/mine")
        assert text(answer) == "出错了，已通知管理员，请稍后再试。"
        report = text(group.messages()[-1])
        assert "database on fire" in report and "RuntimeError" in report
        assert h.token not in report


async def test_group_progress_needs_a_bound_group(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        m = await quick_matter(h, "城关镇专项 | 城关镇 | 默认")
        admin, handler = h.people["admin"], h.people["town_handler"]
        group = h.server.group(title="未绑定群", members=[admin, handler])
        card = await say(h, admin, "/show 1", chat=group)
        assert "城关镇专项" in text(card)
        await handler.reply(card, "群里报一下")
        await h.settle()
        assert "尚未绑定" in text(group.messages()[-1])
        await say(h, admin, "/bindgroup 城关镇", chat=group)
        await handler.reply(card, "群里报一下")
        await h.settle()
        assert "已记入台账" in text(group.messages()[-1])
        lead = (await matter(h, m.id or 0)).lead
        assert lead is not None and lead.progress_count == 1
        # buttons on a group card act for whoever presses them, after a fresh check
        await tap(h, handler, card, "🕘 历史")
        assert "报送进展" in text(group.messages()[-1])
        assert buttons(card)
