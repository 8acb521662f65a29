"""End to end: a township office on the county's deployment (issue 16) — added by the
county's admin with /offices, its first admin invited by deep link, its own numbering,
nothing crossing the boundary either way, and a person in two offices choosing in private."""

from __future__ import annotations

import re
from pathlib import Path

from bot.harness import Harness
from tests.bot_e2e import Msg, bot, buttons, find, forge, last, reply, say, tap, text


def _token(msg: Msg) -> str:
    link = re.search(r"\?start=([\w-]+)", text(msg))
    assert link is not None, text(msg)
    return link[1]


async def _township(h: Harness) -> None:
    """The county adds 城关镇督查室; 赵镇长 (城关镇's 第一责任人 in the county ledger)
    becomes its admin, adds a unit and invites 孙干事 (also county-bound) to it."""
    admin, town = h.people["admin"], h.people["town_principal"]
    answer = await say(h, admin, "/offices 新增 城关镇督查室 城关督 赵镇长")
    assert "已新增下级督查室「城关镇督查室」" in text(answer)
    assert "城关督〔年份〕序号号" in text(answer)
    welcome = await say(h, town, f"/start {_token(answer)}")
    assert "赵镇长" in text(welcome)
    # bound in two offices now: the private chat asks which one
    asked = await say(h, town, "/units")
    assert "同时在几个督查室任职" in text(asked)
    assert set(buttons(asked)) == {"示例县委县政府督查室（演示数据）", "城关镇督查室"}
    chose = await tap(h, town, asked, "城关镇督查室")
    assert chose is not None and "已切换到「城关镇督查室」" in (chose.text or "")
    assert "已切换到「城关镇督查室」" in text(last(town))
    # the township's own ledger: a unit and its people
    assert "已添加单位「城建办」" in text(await say(h, town, "/addunit 城建办"))
    invite = await say(h, town, "/invite 孙干事 城建办 第一责任人,责任人,承办人")
    await say(h, h.people["town_handler"], f"/start {_token(invite)}")


async def test_township_office_is_added_invited_and_numbers_its_own(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        admin, town = h.people["admin"], h.people["town_principal"]
        await _township(h)
        created = await say(h, town, "/new 镇区道路修缮 | 城建办 | 默认")
        assert "城关督〔2026〕1号" in text(created), text(created)
        # 孙干事 got the township's card, naming the office (bound in two)
        card = find(h.people["town_handler"].inbox(), "城关督〔2026〕1号")
        assert "【城关镇督查室】" in text(card)
        # the county's list and the county group see nothing of it
        assert "城关督" not in text(await say(h, admin, "/list"))
        assert "城关督" not in text(await say(h, admin, "/list", chat=h.office_group))
        assert "找不到" in text(await say(h, admin, "/show 城关督〔2026〕1号"))
        # the county's own numbering goes on unchanged
        county = await say(h, admin, "/new 全县防汛排查 | 城关镇 | 默认")
        assert "示督〔2026〕1号" in text(county)
        # /offices and /list 下级 list the child with its sizes and figures
        listed = await say(h, admin, "/offices")
        assert "城关镇督查室" in text(listed) and "管理员 1 人" in text(listed)
        rolled = await say(h, admin, "/list 下级")
        assert "城关镇督查室" in text(rolled) and "在办 1 件" in text(rolled)
        assert "只有督查室" in text(await say(h, h.people["dept_handler"], "/list 下级"))
        # the county's matter is not the township's: by number, in a list, by a button
        assert "找不到" in text(await say(h, town, "/show 示督〔2026〕1号"))
        assert "全县防汛排查" not in text(await say(h, town, "/list"))
        county_card = find(admin.inbox(), "示督〔2026〕1号")
        datas = [b["callback_data"] for row in county_card["reply_markup"]["inline_keyboard"]
                 for b in row]
        for data in datas:
            answer = await forge(h, town, last(town), data)
            assert answer is not None and "找不到" in (answer.text or ""), (data, answer)
        # nor does the county's admin act on the township's matter
        town_card = find(town.inbox(), "城关督〔2026〕1号")
        for row in town_card.get("reply_markup", {}).get("inline_keyboard", []):
            for b in row:
                answer = await forge(h, admin, last(admin), b["callback_data"])
                assert answer is not None and "找不到" in (answer.text or ""), (b, answer)


async def test_person_in_two_offices_chooses_and_switches(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        town = h.people["town_principal"]
        await _township(h)
        # the choice is remembered: no question again
        assert "同时在几个督查室任职" not in text(await say(h, town, "/mine"))
        switch = await say(h, town, "/office")
        assert "当前督查室：城关镇督查室" in text(switch)
        assert "✅ 城关镇督查室" in buttons(switch)
        answer = await tap(h, town, switch, "示例县委县政府督查室（演示数据）")
        assert answer is not None and "已切换到「示例县委县政府督查室" in (answer.text or "")
        # back in the county: a unit principal there, not an admin
        assert "只有督查室" in text(await say(h, town, "/addunit 另一个办"))
        # /office in a group is refused with what to do instead
        assert "请在私聊中发送 /office" in text(
            await say(h, h.people["leader"], "/office", chat=h.office_group))
        # someone bound once is told there is nothing to switch
        assert "无需切换" in text(await say(h, h.people["admin"], "/office"))
        assert "还没有绑定" in text(await say(h, h.people["stranger"], "/office"))


async def test_offices_errors(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        admin = h.people["admin"]
        assert "请这样写：/offices 新增" in text(await say(h, admin, "/offices 新增 城关镇督查室"))
        assert "请这样写：/offices 新增" in text(await say(h, admin, "/offices 什么"))
        assert "还没有" in text(await say(h, admin, "/offices"))
        assert "不能含数字" in text(await say(h, admin, "/offices 新增 城关镇督查室 城关3 赵镇长"))
        assert "已由" in text(await say(h, admin, "/offices 新增 城关镇督查室 示督 赵镇长"))
        await say(h, admin, "/offices 新增 城关镇督查室 城关督 赵镇长")
        assert "已存在" in text(await say(h, admin, "/offices 新增 城关镇督查室 城关二 赵镇长"))
        assert "只有督查室" in text(await say(h, h.people["town_handler"], "/offices"))
        # a forged office button for an office one is not in
        msg = await say(h, h.people["town_handler"], "/mine")
        answer = await forge(h, h.people["town_handler"], msg, "of:2")
        assert answer is not None and "不能切换" in (answer.text or "")
        answer = await forge(h, h.people["town_handler"], msg, "of:x")
        assert answer is not None and "按钮无效" in (answer.text or "")


async def test_county_matter_is_passed_down_to_the_township(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        admin, town = h.people["admin"], h.people["town_principal"]
        await _township(h)
        county = await say(h, admin, "/new 全县防汛排查 | 城关镇 | 默认")
        assert "示督〔2026〕1号" in text(county)
        assert "没有「某办」这个单位" in text(await say(h, town, "/passdown 示督〔2026〕1号 某办"))
        answer = await say(h, town, "/passdown 示督〔2026〕1号 城建办")
        assert "已转办：上级事项 示督〔2026〕1号 在本督查室立为 城关督〔2026〕1号" in text(answer)
        assert "2026年12月7日" in text(answer)  # the county's deadline, not later
        # the township's handler got its card; the county's history records the link
        card = find(h.people["town_handler"].inbox(), "城关督〔2026〕1号")
        assert "全县防汛排查" in text(card)
        # progress from the township handler's phone (bound in both offices: the card
        # decides which) rolls up to the county's matter and group
        await reply(h, h.people["town_handler"], card, "已排查12处隐患")
        up = find(h.office_group.messages(), "下级督查室报送进展")
        assert "城关督〔2026〕1号：已排查12处隐患" in text(up) and "示督〔2026〕1号" in text(up)
        heard = find(h.office_group.messages(), "已转办下级督查室")
        assert "城关镇督查室已在本级台账立为 城关督〔2026〕1号" in text(heard)
        hist = await say(h, admin, "/history 1")
        assert "转办下级督查室" in text(hist) and "城关督〔2026〕1号" in text(hist)
        assert "下级报送进展〔城关镇〕（城关督〔2026〕1号）：已排查12处隐患" in text(hist)
        # once per assignment; only from a child office; only one's own assignment
        assert "已转办为 城关督〔2026〕1号" in text(
            await say(h, town, "/passdown 示督〔2026〕1号 城建办"))
        assert "没有上级督查室" in text(await say(h, admin, "/passdown 示督〔2026〕1号 城关镇"))
        assert "没有事项" in text(await say(h, town, "/passdown 示督〔2026〕9号 城建办"))
        assert "没有事项" in text(await say(h, town, "/passdown 东督〔2026〕1号 城建办"))
        assert "请这样写：/passdown" in text(await say(h, town, "/passdown 示督〔2026〕1号"))
        other = await say(h, admin, "/new 县发改局的事 | 县发改局 | 默认")
        assert "示督〔2026〕2号" in text(other)
        assert "不能转办" in text(await say(h, town, "/passdown 示督〔2026〕2号 城建办"))
        # acting in the county (switched), the township head is no admin there
        switch = await say(h, town, "/office")
        await tap(h, town, switch, "示例县委县政府督查室（演示数据）")
        assert "请先用 /office 切换" in text(await say(h, town, "/passdown 示督〔2026〕1号 城建办"))
