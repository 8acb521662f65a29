"""End to end (issue 16): each office's scheduled bulletin, through the sandbox. The county
and a township office each get their own issue — numbered by their own prefix, counting
their own ledger — in their own bound groups, with 「已阅」 on the .docx; nothing crosses,
not even when the township's spec lists a county group. An `[offices."PREFIX"]` naming no
office stops the start with one line naming it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.app import configure_offices
from bot.bulletin_jobs import schedule_office_bulletins
from bot.config import ConfigError
from bot.harness import running_bot
from bot.reminder_jobs import service_for
from handlers.delivery import TelegramSender
from handlers.public import sync_channel
from ledger.bulletins import BulletinKind
from settings import BulletinSpec, Config, OfficeSettings, ReminderPolicy
from tests.bot_e2e import say, text
from tests.test_bot_offices import _township

CRON = "0 9 * * mon"


def _texts(group: Any) -> list[str]:
    return [m.get("text") or m.get("caption") or "" for m in group.messages()]


def _docs(group: Any) -> list[Any]:
    return [m for m in group.messages() if m.get("document")]


async def test_two_offices_each_get_their_own_bulletin_in_their_own_groups(
        tmp_path: Path) -> None:
    county_spec = BulletinSpec(BulletinKind.REGULAR, CRON, groups=True, period="current")
    cfg = Config(bulletins=(county_spec,))
    async with running_bot(tmp_path, config=cfg) as h:
        admin, town = h.people["admin"], h.people["town_principal"]
        await _township(h)
        # each office's own work group, bound by its own admin (the township's to its unit
        # 城建办, whose principal reads the bulletin: 「已阅」)
        town_group = h.server.group(title="城建办工作群",
                                    members=[town, h.people["town_handler"]])
        assert "「城建办」工作群" in text(await say(h, town, "/bindgroup 城建办",
                                                  chat=town_group))
        # a matter in each ledger
        assert "示督〔2026〕1号" in text(await say(h, admin, "/new 全县防汛排查 | 城关镇 | 默认"))
        assert "城关督〔2026〕1号" in text(await say(h, town, "/new 镇区道路修缮 | 城建办 | 默认"))
        # the township's table, read as at start: its own issue to its groups; the county
        # group it lists by mistake is refused (a group belongs to one office)
        town_spec = BulletinSpec(BulletinKind.REGULAR, CRON, chats=(h.office_group.id,),
                                 groups=True, period="current")
        cfg2 = replace(h.deps.config, offices=(OfficeSettings(
            "城关督", reminders=ReminderPolicy(before_workdays=(2,)), bulletins=(town_spec,)),))
        offices = await configure_offices(h.app, cfg2)
        assert h.app.bot_data.deps.office_policies == {
            offices[1].id: ReminderPolicy(before_workdays=(2,))}
        jobs = schedule_office_bulletins(h.app, cfg2, offices)
        assert [j.name for j in jobs] == [f"bulletin-regular-o{offices[0].id}-0",
                                          f"bulletin-regular-o{offices[1].id}-0"]
        for job in jobs:
            await job.run(h.app)      # what the scheduler does on Monday 09:00
        await h.settle()

        county_texts, town_texts = _texts(h.office_group), _texts(town_group)
        county_issue = [t for t in county_texts if t.startswith("📋 《督察》")]
        town_issue = [t for t in town_texts if t.startswith("📋 《督察》")]
        assert county_issue and town_issue, (county_texts, town_texts)
        assert "示督察〔2026〕1号" in county_issue[0]
        assert "城关督察〔2026〕1号" in town_issue[0]   # its own prefix, its own first issue
        # the township's issue counts its own ledger only
        assert "镇区道路修缮" in "\n".join(town_issue)
        assert "全县防汛排查" not in "\n".join(town_texts)
        # nothing crosses: no township issue in the county group, no county issue in the
        # township's
        assert not any("城关督察〔" in t for t in county_texts)
        assert not any("示督察〔" in t for t in town_texts)
        # each .docx carries its own 「已阅」 receipt
        for group, number in ((h.office_group, "示督察〔2026〕1号"),
                              (town_group, "城关督察〔2026〕1号")):
            docs = _docs(group)
            assert len(docs) == 1 and number in docs[0]["caption"]
            labels = [b["text"] for row in docs[0]["reply_markup"]["inline_keyboard"]
                      for b in row]
            assert any("已阅" in label for label in labels), labels

        # the jobs again (a restart): nothing is posted twice
        before = len(h.office_group.messages()), len(town_group.messages())
        for job in jobs:
            await job.run(h.app)
        await h.settle()
        assert (len(h.office_group.messages()), len(town_group.messages())) == before


async def test_an_unknown_office_prefix_stops_the_start(tmp_path: Path) -> None:
    cfg = Config(offices=(OfficeSettings("北关督", bulletins=(
        BulletinSpec(BulletinKind.REGULAR, CRON, groups=True),)),))
    with pytest.raises(ConfigError) as e:
        async with running_bot(tmp_path, config=cfg):
            pass
    assert "北关督" in str(e.value) and "示督" in str(e.value)
    assert "duban office add" in str(e.value)


async def test_each_office_posts_to_its_own_public_channel_only(tmp_path: Path) -> None:
    async with running_bot(tmp_path, config=Config(public_channel_id="@county_gs")) as h:
        county_channel = h.server.channel("示例县督查事项公示", username="county_gs")
        town_channel = h.server.channel("城关镇督查事项公示", username="town_gs")
        admin, town = h.people["admin"], h.people["town_principal"]
        await _township(h)
        await say(h, admin, "/new 全县防汛排查 | 城关镇 | 默认")
        await say(h, town, "/new 镇区道路修缮 | 城建办 | 默认")
        # [public] channel_id is the county's (the top office): a township without its own
        # channel has nothing posted anywhere
        await sync_channel(h.deps, h.app.bot_data.channel)
        await h.settle()
        posts = [text(p) for p in county_channel.messages()]
        assert len(posts) == 1 and "全县防汛排查" in posts[0]
        assert town_channel.messages() == []
        # the township's own channel (its [offices."城关督".public], as after a restart)
        cfg2 = replace(h.deps.config, offices=(OfficeSettings(
            "城关督", public_channel_id="@town_gs"),))
        h.app.bot_data.deps = h.deps = replace(h.app.bot_data.deps, config=cfg2)
        service = service_for(h.app)
        assert service is not None and isinstance(service.sender, TelegramSender)
        service.sender.deps = h.deps
        await sync_channel(h.deps, h.app.bot_data.channel)
        await h.settle()
        town_posts = [text(p) for p in town_channel.messages()]
        assert len(town_posts) == 1 and "镇区道路修缮" in town_posts[0]
        assert "城关督〔2026〕1号" in town_posts[0]
        assert len(county_channel.messages()) == 1   # still only the county's own
