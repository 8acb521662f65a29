"""End to end: responsible persons and handlers on their phones."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from ledger.model import AssignmentStatus, ExtensionState
from ledger.usecases.closing import report_progress
from sandbox.media import tiny_png
from tests.bot_e2e import (
    bot,
    buttons,
    find,
    forge,
    last,
    matter,
    quick_matter,
    reply,
    say,
    tap,
    text,
)


async def test_sign_with_a_typed_date(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        m = await quick_matter(h)
        handler = h.people["town_handler"]
        card = find(handler.inbox(), "交办通知")
        await tap(h, handler, card, "✍️ 签收")
        prompt = last(handler)
        assert "承诺办结时限" in text(prompt) and "2026年12月7日" in text(prompt)
        await reply(h, handler, prompt, "下下下周八")
        assert "看不懂这个日期" in text(last(handler))
        await reply(h, handler, prompt, "12月30日")
        assert "不能晚于交办时限" in text(last(handler))
        await reply(h, handler, prompt, "12月4日")
        assert "已签收" in text(last(handler)) and "2026年12月4日" in text(last(handler))
        lead = (await matter(h, m.id or 0)).lead
        assert lead is not None and lead.status == AssignmentStatus.SIGNED
        assert lead.committed_deadline == date(2026, 12, 4)
        # the card, shown again, has no 签收 any more
        card = await say(h, handler, "/show 1")
        assert "✍️ 签收" not in buttons(card) and "承诺时限 2026年12月4日" in text(card)
        # the assignment card lost its 签收 button; an old copy of it is answered
        notice = find(handler.inbox(), "承诺时限 2026年12月4日")
        assert "【牵头】城关镇　办理中" in text(notice)
        assert "✍️ 签收" not in buttons(notice) and "📝 报送进展" in buttons(notice)
        answer = await forge(h, handler, notice, f"m:sign:{m.id}:1")
        assert answer is not None and "已签收" in str(answer.text)


async def test_replies_with_text_photo_and_document_are_progress(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        m = await quick_matter(h)
        handler, group = h.people["town_handler"], h.office_group
        card = find(handler.inbox(), "交办通知")
        await reply(h, handler, card, "已完成入户摸排")
        assert text(last(handler)) == f"已记入台账：{m.number} 进展"
        await handler.send_photo(tiny_png(), caption="施工现场", reply_to=card)
        await h.settle()
        assert text(last(handler)) == f"已记入台账：{m.number} 进展（含1张照片）"
        await handler.send_document(b"%PDF-1.4", filename="方案.pdf", reply_to=last(handler))
        await h.settle()
        assert text(last(handler)) == f"已记入台账：{m.number} 进展（含1个文件）"
        async with h.deps.uow() as uow:
            events = [e for e in await uow.events.for_matter(m.id or 0) if e.kind == "progress"]
        assert [e.after["text"] for e in events] == ["已完成入户摸排", "施工现场", ""]
        assert events[1].after["attachments"][0]["kind"] == "photo"
        assert events[2].after["attachments"][0]["file_name"] == "方案.pdf"
        feed = [text(x) for x in group.messages() if "报送进展" in text(x)]
        assert len(feed) == 3 and "孙干事报送进展：已完成入户摸排" in feed[0]
        assert "（含1张照片）" in feed[1]
        # the office opens the evidence from the feed line
        line = find(group.messages(), "（含1张照片）")
        assert buttons(line) == ["🔎 查看", "📎 附件"]
        await tap(h, h.people["admin"], line, "📎 附件")
        sent = group.messages()[-2:]
        assert sent[0].get("document") and "方案.pdf" in str(sent[0]["document"])
        assert sent[1].get("photo") and "施工现场" in text(sent[1])
        # the 报送进展 button prompts, and the answer to the prompt is recorded too
        await tap(h, handler, card, "📝 报送进展")
        prompt = last(handler)
        assert "请直接回复本消息，发送文字、照片、文件、语音、视频或位置" in text(prompt)
        await reply(h, handler, prompt, "第二批材料已到")
        assert "已记入台账" in text(last(handler))
        lead = (await matter(h, m.id or 0)).lead
        assert lead is not None and lead.progress_count == 4
        assert lead.last_progress_text == "第二批材料已到"
        # a plain message that is no reply gets a hint and records nothing
        hint = await say(h, handler, "随便说一句")
        assert "请直接回复事项卡片" in text(hint)


async def test_someone_elses_matter_is_refused(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        m = await quick_matter(h, "城关镇专项 | 城关镇 | 默认")
        await report_progress(h.deps.uow(), h.deps.clock, h.ids["town_handler"],
                              m.id or 0, None, "进场了")
        await h.settle()
        feed = find(h.office_group.messages(), "进场了")
        await h.people["leader"].reply(feed, "我来替他报一下")
        await h.settle()
        assert "不是您负责的" in text(h.office_group.messages()[-1])
        lead = (await matter(h, m.id or 0)).lead
        assert lead is not None and lead.progress_count == 1
        # the county development bureau's handler cannot see or act on the town's matter
        outsider = h.people["dept_handler"]
        refused = await say(h, outsider, "/show 1")
        assert "无权查看" in text(refused)


async def test_extension_confirmed_by_principal_and_approved(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        m = await quick_matter(h)
        handler = h.people["town_handler"]
        await tap(h, handler, find(handler.inbox(), "交办通知"), "⏳ 申请延期")
        prompt = last(handler)
        assert "新时限 理由" in text(prompt)
        await reply(h, handler, prompt, "12月20日")
        assert "请回复「新时限 理由」" in text(last(handler))
        await reply(h, handler, prompt, "12月20日 拆迁协商未完成")
        assert "待本单位第一责任人确认" in text(last(handler))
        principal = h.people["town_principal"]
        ask = find(principal.inbox(), "延期申请待您确认")
        assert "拆迁协商未完成" in text(ask) and "👌 确认延期" in buttons(ask)
        await tap(h, principal, ask, "👌 确认延期")
        lead = (await matter(h, m.id or 0)).lead
        assert lead is not None and lead.extension is not None
        assert lead.extension.state == ExtensionState.AWAITING_OFFICE
        feed = find(h.office_group.messages(), "申请延期至")
        assert buttons(feed) == ["👍 同意延期", "👎 不同意延期", "🔎 查看"]
        await tap(h, h.people["admin"], feed, "👍 同意延期")
        lead = (await matter(h, m.id or 0)).lead
        assert lead is not None and lead.effective_deadline == date(2026, 12, 20)
        assert "延期已同意" in text(last(handler))
        card = await say(h, h.people["town_resp"], "/show 1")
        assert "时限 2026年12月20日" in text(card)


async def test_extension_rejected_with_a_reason(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        m = await quick_matter(h, "城关镇专项 | 城关镇 | 默认")
        principal = h.people["town_principal"]
        await tap(h, principal, find(principal.inbox(), "交办通知"), "⏳ 申请延期")
        await reply(h, principal, last(principal), "12月18日，资金未到位")
        assert "已报督查室审批" in text(last(principal))
        feed = find(h.office_group.messages(), "申请延期至")
        admin = h.people["admin"]
        await tap(h, admin, feed, "👎 不同意延期")
        prompt = h.office_group.messages()[-1]
        assert "请回复理由" in text(prompt)
        await admin.reply(prompt, "资金已拨付，按期完成")
        await h.settle()
        lead = (await matter(h, m.id or 0)).lead
        assert lead is not None and lead.extension is None
        assert lead.effective_deadline == date(2026, 12, 7)
        assert "资金已拨付" in text(find(principal.inbox(), "延期未获同意"))
