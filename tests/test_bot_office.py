"""End to end: the office registers, lists, reviews and urges, through the real bot."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from ledger.model import AssignmentStatus, MatterStatus
from ledger.usecases.closing import report_progress, request_completion
from ledger.usecases.ledger_mgmt import AssignSpec, RegisterMatter, assign, register_matter
from tests.bot_e2e import (
    bot,
    buttons,
    count_matters,
    find,
    last,
    latest,
    matter,
    quick_matter,
    say,
    tap,
    text,
)


async def test_guided_new_flow_registers_and_assigns(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        admin = h.people["admin"]
        assert "第1步" in text(await say(h, admin, "/new"))
        step = await say(h, admin, "老旧小区改造\n涉及3个小区，年底前完工")
        assert "第2步" in text(step) and "县委县政府决策" in buttons(step)
        await tap(h, admin, step, "县委县政府决策")
        step = last(admin)
        assert "第3步" in text(step)
        await tap(h, admin, step, "一般")
        step = last(admin)
        assert "第4步" in text(step) and "城关镇" in buttons(step)
        await tap(h, admin, step, "城关镇")
        await tap(h, admin, last(admin), "县发改局")
        step = last(admin)
        assert "①城关镇" in buttons(step) and "✓县发改局" in buttons(step)
        await tap(h, admin, step, "选好了")
        step = last(admin)
        assert "第5步" in text(step) and "默认时限" in buttons(step)
        wrong = await say(h, admin, "下下下周八")
        assert "看不懂这个日期" in text(wrong) and "默认时限" in buttons(wrong)
        assert await count_matters(h) == 0
        step = await say(h, admin, "12月20日")
        assert "第6步" in text(step)
        await tap(h, admin, step, "不涉密")
        step = last(admin)
        assert "请确认立项交办" in text(step) and "牵头：城关镇" in text(step)
        assert "2026年12月20日" in text(step) and "孙干事" in text(step)
        await tap(h, admin, step, "✅ 确认")
        card = last(admin)
        assert "已立项并交办：示督〔2026〕1号" in text(card)
        m = await latest(h)
        assert m.title == "老旧小区改造" and m.body == "涉及3个小区，年底前完工"
        assert [(a.unit_id, a.lead) for a in m.assignments] == [
            (h.units["城关镇"], True), (h.units["县发改局"], False)]
        assert all(a.deadline == date(2026, 12, 20) for a in m.assignments)
        # the assignment card arrives privately, with the buttons its reader may press
        for key in ("town_principal", "town_resp", "town_handler", "dept_handler"):
            notice = find(h.people[key].inbox(), "交办通知")
            assert "老旧小区改造" in text(notice)
            assert "✍️ 签收" in buttons(notice) and "📝 报送进展" in buttons(notice)
        assert "✅ 申请办结" not in buttons(find(h.people["town_handler"].inbox(), "交办通知"))
        assert "✅ 申请办结" in buttons(find(h.people["town_resp"].inbox(), "交办通知"))
        assert h.people["leader"].inbox() == []


async def test_quick_new_and_its_mistakes(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        admin = h.people["admin"]
        bad = await say(h, admin, "/new 防汛排查 | 城关镇 | 明年二月三十")
        assert "看不懂这个日期" in text(bad) or "没有这个日期" in text(bad)
        bad = await say(h, admin, "/new 防汛排查 | 城关镇 | 11月1日")
        assert "日期已过" in text(bad)
        bad = await say(h, admin, "/new 防汛排查 | 城南镇 | 默认")
        assert "没有「城南镇」这个单位" in text(bad)
        bad = await say(h, admin, "/new 防汛排查 | 城关镇 | 默认 | 加急")
        assert "看不懂「加急」" in text(bad) and "/new 标题 | 牵头单位" in text(bad)
        bad = await say(h, admin, "/new 防汛排查")
        assert "/new 标题 | 牵头单位" in text(bad)
        bad = await say(h, admin, "/new 防汛排查 | 城关镇 | 2027-01-30 | 重大疑难")
        assert "不得超过20个工作日" in text(bad)
        assert await count_matters(h) == 0
        ok = await say(h, admin, "/new 防汛隐患排查 | 城关镇 | 默认 | 急件")
        assert "已立项并交办" in text(ok)
        m = await latest(h)
        assert m.lead is not None and m.lead.deadline == date(2026, 11, 23)
        # not the office: refused, nothing registered
        refused = await say(h, h.people["town_resp"], "/new 私自立项 | 城关镇 | 默认")
        assert "只有督查室" in text(refused)
        assert await count_matters(h) == 1


async def test_new_names_the_missing_role(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        admin = h.people["admin"]
        assert "已添加单位" in text(await say(h, admin, "/addunit 县交通局"))
        bad = await say(h, admin, "/new 道路修缮 | 县交通局 | 默认")
        assert "「县交通局」还缺：第一责任人、责任人、承办人" in text(bad)
        assert await count_matters(h) == 0
        units = await say(h, admin, "/units")
        assert "县交通局（0人）" in text(units) and "城关镇（3人）" in text(units)


async def test_completion_closed_from_the_office_feed(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        m = await quick_matter(h)
        resp = h.people["town_resp"]
        card = find(resp.inbox(), "交办通知")
        await tap(h, resp, card, "✅ 申请办结")
        prompt = last(resp)
        assert "申请办结" in text(prompt) and "回复" in text(prompt)
        await resp.reply(prompt, "三个小区已全部完工，验收合格")
        await h.settle()
        assert "已申请办结" in text(last(resp))
        feed = find(h.office_group.messages(), "申请办结")
        assert "三个小区已全部完工" in text(feed)
        assert buttons(feed) == ["✅ 销号", "↩️ 退回", "🔎 查看"]
        answer = await tap(h, h.people["leader"], feed, "✅ 销号")
        assert answer is not None and answer.show_alert and "只有督查室" in str(answer.text)
        assert (await matter(h, m.id or 0)).status == MatterStatus.COMPLETION_REQUESTED
        await tap(h, h.people["admin"], feed, "✅ 销号")
        assert (await matter(h, m.id or 0)).status == MatterStatus.CLOSED
        assert "已销号" in text(h.office_group.messages()[-1])
        assert buttons(find(h.office_group.messages(), "三个小区已全部完工")) == ["🔎 查看"]
        assert "已销号" in text(last(h.people["town_principal"]))


async def test_return_with_a_reason(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        m = await quick_matter(h)
        await request_completion(h.deps.uow(), h.deps.clock, h.ids["town_resp"], m.id or 0,
                                 None, "完工了")
        await h.settle()
        feed = find(h.office_group.messages(), "申请办结")
        admin = h.people["admin"]
        await tap(h, admin, feed, "↩️ 退回")
        prompt = h.office_group.messages()[-1]
        assert "请回复退回理由" in text(prompt)
        await admin.reply(prompt, "缺少现场照片")
        await h.settle()
        assert "已退回" in text(h.office_group.messages()[-1])
        back = await matter(h, m.id or 0)
        assert back.status == MatterStatus.IN_PROGRESS
        assert back.lead is not None and back.lead.status == AssignmentStatus.ASSIGNED
        notice = last(h.people["town_handler"])
        assert "被退回" in text(notice) and "缺少现场照片" in text(notice)
        # from a card in private, while an abandoned /new waits for a title
        await request_completion(h.deps.uow(), h.deps.clock, h.ids["town_resp"], m.id or 0,
                                 None, "补了照片")
        await say(h, admin, "/new")
        card = await say(h, admin, "/show 1")
        await tap(h, admin, card, "↩️ 退回")
        await admin.reply(last(admin), "照片不清楚")
        await h.settle()
        assert "已退回" in text(last(admin))
        assert "↩️ 退回" not in buttons(find(admin.inbox(), "【牵头】城关镇"))
        assert text(await say(h, admin, "/cancel")) == "已取消。"
        # and through the command
        await request_completion(h.deps.uow(), h.deps.clock, h.ids["town_resp"], m.id or 0,
                                 None, "重拍了照片")
        assert "已退回" in text(await say(h, admin, "/return 1 照片仍不清楚"))
        assert "请这样写：/return 编号 理由" in text(await say(h, admin, "/return 1"))


async def test_confidential_matter_stays_out_of_groups(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        admin, group = h.people["admin"], h.office_group
        await quick_matter(h, "公开事项 | 城关镇 | 默认")
        secret = await quick_matter(h, "机密事项甲 | 城关镇 | 默认 | 机密")
        assert secret.confidential
        shown = await say(h, admin, "/show 2", chat=group)
        assert "机密事项，不在群里显示" in text(shown) and "机密事项甲" not in text(shown)
        listed = await say(h, admin, "/list", chat=group)
        assert "公开事项" in text(listed) and "机密事项甲" not in text(listed)
        assert "共 1 件" in text(listed)
        mine = await say(h, admin, "/list")
        assert "机密事项甲" in text(mine) and "共 2 件" in text(mine)
        # a report on it reaches the office privately, never the group
        before = len(group.messages())
        await report_progress(h.deps.uow(), h.deps.clock, h.ids["town_handler"],
                              secret.id or 0, None, "机密进展")
        await h.settle()
        assert len(group.messages()) == before
        assert "机密进展" in text(last(admin))
        shown = await say(h, admin, "/show 2")
        assert "机密事项甲" in text(shown) and text(shown).startswith("🔒")


async def test_list_pages_and_filters(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        admin = h.people["admin"]
        for i in range(12):
            unit = "城关镇" if i % 2 else "县发改局"
            await register_matter(h.deps.uow(), h.deps.clock, h.deps.cal, h.ids["admin"],
                                  RegisterMatter(title=f"事项{i + 1}"))
            m = await latest(h)
            team = ("town" if unit == "城关镇" else "dept")
            await assign(h.deps.uow(), h.deps.clock, h.deps.cal, h.ids["admin"], m.id or 0,
                         [AssignSpec(h.units[unit], h.ids[f"{team}_principal"],
                                         h.ids[f"{team}_resp"], h.ids[f"{team}_handler"],
                                         lead=True)])
        await h.settle()
        page = await say(h, admin, "/list")
        assert "共 12 件" in text(page) and "第 1/2 页" in text(page)
        assert "下一页 ▶" in buttons(page) and "◀ 上一页" not in buttons(page)
        await tap(h, admin, page, "下一页 ▶")
        turned = last(admin)
        assert turned["message_id"] == page["message_id"] and "第 2/2 页" in text(turned)
        assert buttons(turned)[-1] == "◀ 上一页"
        town = await say(h, admin, "/list 城关镇")
        assert "共 6 件" in text(town)
        assert "共 0 件" in text(await say(h, admin, "/list 待审核"))
        assert "看不懂「城南镇」" in text(await say(h, admin, "/list 城南镇"))
        # a unit's handler sees its own unit's matters only
        mine = await say(h, h.people["town_handler"], "/list")
        assert "共 6 件" in text(mine)
        mine = await say(h, h.people["town_handler"], "/mine")
        assert "在办事项（6件" in text(mine)
        # a number button opens the card
        await tap(h, admin, town, "1")
        assert "【牵头】城关镇" in text(last(admin))


async def test_urge_history_and_deadline(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        admin = h.people["admin"]
        await quick_matter(h, "营商环境整改 | 县发改局 | 默认")
        done = await say(h, admin, "/urge 1 下周五 请加快进度")
        assert "已催办" in text(done)
        notice = find(h.people["dept_principal"].inbox(), "催办通知")
        assert "2026年12月4日" in text(notice) and "请加快进度" in text(notice)
        hist = await say(h, admin, "/history 1")
        assert "立项" in text(hist) and "催办〔县发改局〕（第1次）" in text(hist)
        card = await say(h, admin, "/show 1")
        assert "已催办1次" in text(card)
        await tap(h, admin, card, "📣 催办")
        assert "已催办2次" in text(find(admin.inbox(), "营商环境整改"))  # the card, redrawn
        card = find(admin.inbox(), "已催办2次")
        await tap(h, admin, card, "🕘 历史")
        assert "共 4 条记录" in text(last(admin))
        assert "2026年12月7日" in text(await say(h, admin, "/deadline 10"))
        assert "还有 10 个工作日" in text(await say(h, admin, "/deadline 12月7日"))
        assert "请这样写" in text(await say(h, admin, "/deadline"))
