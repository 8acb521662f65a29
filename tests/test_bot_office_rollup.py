"""End to end (issue 16): a county matter passed down (转办) to a township office,
decomposed there to the township's people, progress from a township handler's phone seen
on the county's live card, urged at the county and heard by the township's admin, closed
at both levels (the township's 销号, then the county's final one); the error paths: the
county's 销号 before the township closed, a township admin acting on the county's ledger;
the county's bulletin section and the child offices' appraisal ranking."""

from __future__ import annotations

from pathlib import Path

from ledger.model import MatterStatus
from tests.bot_e2e import Msg, bot, buttons, find, forge, last, matter, say, tap, text
from tests.test_bot_offices import _township


def current(messages: list[Msg], message_id: int) -> Msg:
    """The message with this id as it reads now (edits applied)."""
    return next(m for m in messages if m["message_id"] == message_id)


def documents(messages: list[Msg], name: str) -> list[Msg]:
    return [m for m in messages if name in (m.get("document") or {}).get("file_name", "")]


async def test_passed_down_reported_urged_and_closed_at_both_levels(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        admin, town = h.people["admin"], h.people["town_principal"]
        handler, resp = h.people["town_handler"], h.people["town_resp"]
        await _township(h)  # 城关镇督查室: 赵镇长 its admin, 孙干事 its 城建办's people
        assert "示督〔2026〕1号" in text(await say(h, admin, "/new 全县防汛排查 | 城关镇 | 默认"))
        card_id = (await say(h, admin, "/show 示督〔2026〕1号"))["message_id"]
        assert "已转办" not in text(current(admin.inbox(), card_id))

        # 转办: the township's admin registers it in the township's ledger, to 城建办
        passed = await say(h, town, "/passdown 示督〔2026〕1号 城建办")
        assert "在本督查室立为 城关督〔2026〕1号" in text(passed)
        card = current(admin.inbox(), card_id)
        assert card.get("edit_date"), "the county's card redrew in place"
        assert "⤵️ 已转办「城关镇督查室」城关督〔2026〕1号：下级办理中" in text(card)

        # decomposed there: the township handler's own card, in the township's name
        town_card = find(handler.inbox(), "城关督〔2026〕1号")
        assert "【城关镇督查室】" in text(town_card) and "城建办" in text(town_card)
        # progress from the township handler's phone: a reply to the township's card
        await handler.reply(town_card, "已排查12处隐患，整改3处")
        await h.settle()
        card = current(admin.inbox(), card_id)
        assert "下级最新情况" in text(card) and "已排查12处隐患，整改3处" in text(card)
        assert "下级督查室报送进展" in text(find(h.office_group.messages(), "已排查12处隐患"))

        # 催办 from the county's card: the county unit's people and the township's admin
        answer = await tap(h, admin, card, "📣 催办")
        assert answer is not None and "催办" in (answer.text or "")
        told = find(town.inbox(), "上级督查室催办")
        assert "城关督〔2026〕1号" in text(told) and "示督〔2026〕1号" in text(told)
        assert "【城关镇督查室】" in text(told)  # about the township's own matter
        assert "📣 催办" in buttons(told)  # the township's admin urges its own people
        # one 催办通知单 on 赵镇长's phone (he gets it as the county unit's 第一责任人)
        assert len(documents(town.inbox(), "催办通知单")) == 1
        assert len(documents(resp.inbox(), "催办通知单")) == 1
        # /urge does the same
        await say(h, admin, "/urge 示督〔2026〕1号 请本周内整改完毕")
        assert "请本周内整改完毕" in text(find(town.inbox(), "第2次"))

        # the county unit asks to finish before the township closed: the county may not
        await tap(h, resp, find(resp.inbox(), "交办通知"), "✅ 申请办结")
        await resp.reply(last(resp), "镇里正在收尾")
        await h.settle()
        feed = find(h.office_group.messages(), "镇里正在收尾")
        refused = await tap(h, admin, feed, "✅ 销号")
        assert refused is not None and "下级尚未销号" in (refused.text or "")
        refused_cmd = await say(h, admin, "/close 示督〔2026〕1号")
        assert "下级尚未销号" in text(refused_cmd) and "/return" in text(refused_cmd)
        assert (await matter(h, 1)).status == MatterStatus.COMPLETION_REQUESTED

        # a township admin cannot act on the county's ledger
        for words in ("/close 示督〔2026〕1号", "/urge 示督〔2026〕1号",
                      "/return 示督〔2026〕1号 不行"):
            assert "找不到" in text(await say(h, town, words)), words
        for data in [b["callback_data"] for row in card["reply_markup"]["inline_keyboard"]
                     for b in row]:
            before = (await matter(h, 1)).version
            forged = await forge(h, town, last(town), data)
            assert forged is not None and (await matter(h, 1)).version == before, data

        # the township concludes: 城建办 asks, the township's admin closes
        town_card = current(handler.inbox(), town_card["message_id"])
        await tap(h, handler, town_card, "✅ 申请办结")
        await handler.reply(last(handler), "隐患全部整改完毕")
        await h.settle()
        assert "已销号" in text(await say(h, town, "/close 城关督〔2026〕1号 已核实"))
        card = current(admin.inbox(), card_id)
        assert "城关督〔2026〕1号：下级已销号" in text(card)
        # then the county's final 销号
        await tap(h, admin, find(h.office_group.messages(), "镇里正在收尾"), "✅ 销号")
        assert (await matter(h, 1)).status == MatterStatus.CLOSED
        hist = text(await say(h, admin, "/history 示督〔2026〕1号"))
        for step in ("转办下级督查室", "下级报送进展", "下级申请办结", "下级已销号", "销号"):
            assert step in hist, step


async def test_county_bulletin_and_appraisal_roll_the_townships_up(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        admin, town = h.people["admin"], h.people["town_principal"]
        await _township(h)
        await say(h, town, "/new 镇区道路修缮 | 城建办 | 默认")
        await say(h, admin, "/bulletin")
        texts = [text(m) for m in admin.inbox()[-4:]]
        section = next(t for t in texts if "下级督查室台账情况" in t)
        assert "城关镇督查室：在办 1 件，红灯 0、黄灯 0，超期 0 件；本期销号 0 件" in section
        rolled = text(await say(h, admin, "/list 下级"))
        assert "在办 1 件：红灯 0，黄灯 0，超期 0" in rolled  # the same counting
        # the township's own bulletin has no such section
        await say(h, town, "/bulletin")
        assert not any("下级督查室" in text(m) for m in town.inbox()[-4:])
        # the appraisal ranks the child offices, for the parent's admins only
        await say(h, admin, "/appraisal 下级")
        ranked = find(admin.inbox(), "下级督查室目标考评排名")
        assert "1. 城关镇督查室" in text(ranked)
        assert documents(admin.inbox(), "下级督查室考评.xlsx")
        assert "只有督查室" in text(await say(h, h.people["dept_handler"], "/appraisal 下级"))
        assert "还没有下级督查室" in text(await say(h, town, "/appraisal 下级"))
        assert "用法" in text(await say(h, admin, "/appraisal 下级 明年"))
