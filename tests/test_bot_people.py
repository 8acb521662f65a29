"""End to end: people come and go with the ledger intact (/revoke, /handover, re-invite)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bot.harness import Harness
from ledger.model import Role
from tests.bot_e2e import bot, find, last, matter, quick_matter, reply, say, text


async def _invite(h: Harness, words: str) -> str:
    answer = await say(h, h.people["admin"], f"/invite {words}")
    link = re.search(r"\?start=([\w-]+)", text(answer))
    assert link is not None, text(answer)
    return link[1]


async def _events(h: Harness, person_id: int) -> list[str]:
    async with h.deps.uow() as uow:
        since = await uow.events.since(h.county.office_id, h.clock.now().replace(year=2000))
    return [e.kind for e in since if e.person_id == person_id]


async def test_revoke_refuses_the_person_and_lists_their_open_work(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        admin, handler = h.people["admin"], h.people["town_handler"]
        m = await quick_matter(h, "老旧小区改造 | 城关镇 | 默认")
        card = find(handler.inbox(), "交办通知")
        answer = await say(h, admin, "/revoke 孙干事 调离")
        assert "已停用「孙干事」的账号（调离）" in text(answer)
        assert m.number in text(answer) and "承办人" in text(answer)
        assert "/handover 孙干事 新姓名" in text(answer)
        assert "账号已由督查室停用（调离）" in text(last(handler))
        assert "person_revoked" in await _events(h, h.ids["town_handler"])
        # refused from then on: commands, replies to the card, buttons
        for words in ("/mine", "/list", "/show 1"):
            assert "账号已停用" in text(await say(h, handler, words)), words
        await reply(h, handler, card, "已完成3栋楼外立面改造")
        assert "账号已停用" in text(last(handler))
        assert (await matter(h, m.id or 0)).lead.progress_count == 0  # type: ignore[union-attr]
        # the history still names them; their card shows the binding ended
        shown = await say(h, admin, f"/show {m.id and m.seq}")
        assert "孙干事（已停用）" in text(shown)
        # what cannot be revoked, and who may not
        assert "已经停用" in text(await say(h, admin, "/revoke 孙干事"))
        assert "不能停用自己" in text(await say(h, admin, "/revoke 王主任"))
        assert "找不到人员「张三」" in text(await say(h, admin, "/revoke 张三"))
        assert "请这样写：/revoke" in text(await say(h, admin, "/revoke"))
        assert "只有督查室" in text(await say(h, h.people["town_resp"], "/revoke 钱副镇长"))
        assert "还没有绑定" in text(await say(h, h.people["stranger"], "/revoke 钱副镇长"))


async def test_revoked_post_is_invited_again_and_handed_over(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        admin, old = h.people["admin"], h.people["town_handler"]
        m = await quick_matter(h, "老旧小区改造 | 城关镇 | 默认")
        await say(h, admin, "/revoke 孙干事 调离")
        # the same post can be invited again, and the old phone can bind to a new post
        token = await _invite(h, "李干事 城关镇 承办人")
        newcomer = h.server.person(first_name="李干事", username="u_li")
        assert "绑定成功" in text(await say(h, newcomer, f"/start {token}"))
        token = await _invite(h, "孙干事 县发改局 承办人")
        assert "绑定成功" in text(await say(h, old, f"/start {token}"))
        assert "县发改局" in text(last(old))
        # the revoked person's open work moves to the successor
        answer = await say(h, admin, "/handover 孙干事 李干事")
        assert "已将「孙干事」的工作交接给「李干事」" in text(answer)
        assert m.number in text(answer)
        after = await matter(h, m.id or 0)
        assert after.lead is not None
        async with h.deps.uow() as uow:
            li = await uow.people.by_telegram(newcomer.id)
        assert li is not None and after.lead.handler_id == li.id
        assert "工作交接给您" in text(find(newcomer.inbox(), "工作交接给您"))
        card = find(newcomer.inbox(), "交办通知")
        assert "人员交接" in text(card)
        await reply(h, newcomer, card, "已接手，本周完成入户调查")
        assert "已记入台账" in text(last(newcomer))
        await h.settle()  # the card follows the progress, and still says it was handed over
        redrawn = next(x for x in newcomer.inbox() if x["message_id"] == card["message_id"])
        assert redrawn.get("edit_date") and "已接手，本周完成入户调查" in text(redrawn)
        assert "人员交接" in text(redrawn)
        history = await say(h, admin, f"/history {m.seq}")
        assert "人员交接" in text(history) and "孙干事（已停用） → 李干事" in text(history)


async def test_handover_moves_open_work_and_roles_and_tells_both(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        admin, old = h.people["admin"], h.people["town_resp"]
        first = await quick_matter(h, "老旧小区改造 | 城关镇 | 默认")
        second = await quick_matter(h, "背街小巷整治 | 县住建局,城关镇 | 默认")
        token = await _invite(h, "郑副镇长 城关镇 承办人")
        successor: Any = h.server.person(first_name="郑副镇长", username="u_zheng")
        await say(h, successor, f"/start {token}")
        # what is refused, with the reason
        assert "请这样写：/handover" in text(await say(h, admin, "/handover 钱副镇长"))
        assert "同一个人" in text(await say(h, admin, "/handover 钱副镇长 钱副镇长"))
        assert "不在同一单位" in text(await say(h, admin, "/handover 钱副镇长 吴科长"))
        assert "找不到人员「无名氏」" in text(await say(h, admin, "/handover 钱副镇长 无名氏"))
        assert "只有督查室" in text(await say(h, old, "/handover 钱副镇长 郑副镇长"))
        answer = await say(h, admin, "/handover 钱副镇长 郑副镇长")
        assert "交接 2 项在办分工" in text(answer) and "授予角色：责任人" in text(answer)
        assert first.number in text(answer) and second.number in text(answer)
        assert "账号已随之停用" in text(answer)
        assert "已交接给 郑副镇长" in text(find(old.inbox(), "交接"))
        assert "工作交接给您" in text(find(successor.inbox(), "交接给您"))
        async with h.deps.uow() as uow:
            new = await uow.people.by_telegram(successor.id)
            gone = await uow.people.get_person(h.ids["town_resp"])
        assert new is not None and new.roles == {Role.HANDLER, Role.RESPONSIBLE}
        assert not gone.active
        for mid in (first.id, second.id):
            moved = await matter(h, mid or 0)
            town = next(a for a in moved.assignments if a.unit_id == h.units["城关镇"])
            assert town.responsible_id == new.id
        async with h.deps.uow() as uow:
            events = await uow.events.for_matter(first.id or 0)
        moves = [e for e in events if e.kind == "handed_over"]
        assert len(moves) == 1 and moves[0].before["responsible_id"] == h.ids["town_resp"]
        assert "账号已停用" in text(await say(h, old, "/mine"))
        mine = await say(h, successor, "/mine")
        assert first.number in text(mine) and second.number in text(mine)


async def test_nothing_more_reaches_a_revoked_person(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        admin, resp = h.people["admin"], h.people["town_resp"]
        m = await quick_matter(h, "老旧小区改造 | 城关镇 | 默认")
        await say(h, admin, "/revoke 钱副镇长 退休")
        seen = len(resp.inbox())
        await say(h, admin, f"/urge {m.seq} 请加快")
        assert find(h.people["town_principal"].inbox(), "催办")
        assert len(resp.inbox()) == seen  # the urging notice to them is dropped
        news = "\n".join(text(x) for x in h.office_group.messages())
        assert "收不到机器人消息" not in news  # dropped quietly, not "unreachable"
