"""End to end (issue 13): an admin listed in DUBAN_ADMINS without a name is asked for it and
is shown by it; meetings have their own numbers; /project says why no check is planned;
every command a role may use is in its menu."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from telegram import BotCommandScopeAllPrivateChats as BotCommandScopePrivateChats
from telegram import BotCommandScopeChat

from bot.harness import Harness
from ledger.model import Role
from ledger.usecases.people import bootstrap_office
from tests.bot_e2e import bot, find, quick_matter, say, text
from tests.test_bot_every_command import registered


async def _unnamed_admin(h: Harness) -> Any:
    """A second office admin, as `duban run` adds one from DUBAN_ADMINS=<id>."""
    boss = h.server.person(first_name="Boss", username="u_boss")
    deps = h.app.bot_data.deps
    h.app.bot_data.deps = replace(deps, config=replace(deps.config, admins=(boss.id,)))
    await bootstrap_office(h.deps.uow(), h.clock, "县委县政府督查室", [boss.id])
    return boss


async def test_an_admin_without_a_name_is_asked_once_and_then_shown_by_it(
        tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        boss = await _unnamed_admin(h)
        m = await quick_matter(h)
        asked = await say(h, boss, "/start")
        assert "请回复您的姓名" in text(asked)
        assert str(boss.id) not in text(asked) and "管理员" + str(boss.id) not in text(asked)
        # what cannot be a name is refused, and asked again
        assert "请直接回复您的姓名" in text(await say(h, boss, " /李明"))
        assert "姓名太长" in text(await say(h, boss, "长" * 60))
        named = await say(h, boss, "李明")
        assert "谢谢，李明" in text(named)
        assert "李明，您好" in text(await say(h, boss, "/start"))
        # the next text is an ordinary message again, not a name
        assert "李明" not in text(await say(h, boss, "王五"))
        # history and the unit's notice show the name
        seen = len(h.people["town_resp"].inbox())
        await say(h, boss, f"/urge {m.seq} 请加快进度")
        history = text(await say(h, h.people["admin"], f"/history {m.seq}"))
        assert "李明" in history and "催办" in history, history
        assert "管理员" not in history
        got = [text(x) for x in h.people["town_resp"].inbox()[seen:]]
        assert got and not any(str(boss.id) in t for t in got), got
        async with h.deps.uow() as uow:
            since = await uow.events.since(h.county.office_id, h.clock.now().replace(year=2000))
        assert [e.after for e in since if e.kind == "person_named"] == [{"name": "李明"}]


async def test_an_admin_named_in_duban_admins_is_not_asked(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        boss = h.server.person(first_name="Boss", username="u_boss")
        deps = h.app.bot_data.deps
        h.app.bot_data.deps = replace(deps, config=replace(
            deps.config, admins=(boss.id,), admin_names=((boss.id, "赵强"),)))
        await bootstrap_office(h.deps.uow(), h.clock, "县委县政府督查室", [boss.id], "督",
                               {boss.id: "赵强"})
        assert "赵强，您好" in text(await say(h, boss, "/start"))
        assert "请回复您的姓名" not in text(find(boss.inbox(), "您好"))


async def test_meetings_have_their_own_numbers(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        admin = h.people["admin"]
        # other records first: an enterprise and an inspection
        await say(h, admin, "/enterprise 示例科技公司 | 县发改局")
        await say(h, admin, "/inspect 县住建局 明查 工地未设公示牌")
        first = await say(h, admin, "/meeting 研究工业园区用地问题 | 12月1日 15:00 | 县发改局")
        assert "联席会议 #1：研究工业园区用地问题" in text(first)
        second = await say(h, admin, "/meeting 研究老旧小区改造 | 12月2日 15:00 | 县住建局")
        assert "联席会议 #2：研究老旧小区改造" in text(second)
        listing = text(await say(h, admin, "/meetings"))
        assert "#1 " in listing and "#2 " in listing and "#3" not in listing
        assert "研究工业园区用地问题" in text(await say(h, admin, "/meeting 1"))
        decided = await say(h, admin, "/decisions #2\n完成改造方案 | 县住建局 | 12月20日")
        assert "联席会议 #2：研究老旧小区改造" in text(decided)
        assert "2026年12月20日" in text(decided) and "2026-12-20" not in text(decided)
        assert "找不到联席会议 #9" in text(await say(h, admin, "/meeting 9"))
        assert "找不到联席会议 #9" in text(await say(h, admin, "/decisions 9\n一条 | 县住建局"))


async def test_project_refusal_says_why_no_monthly_check(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        admin = h.people["admin"]
        # Monday 23 November: the next monthly check is Tuesday 1 December
        early = await quick_matter(h, "清理河道垃圾 | 城关镇 | 11月27日")
        reply = text(await say(h, admin, f"/project {early.seq}"))
        assert "已列入专项督查" in reply
        assert "时限（2026年11月27日）早于下次月度检查（2026年12月1日）" in reply, reply
        assert "尚未交办或时限已到" not in reply
        later = await quick_matter(h, "老旧小区改造 | 城关镇 | 默认")
        reply = text(await say(h, admin, f"/project {later.seq}"))
        assert "存在问题）：12月1日。" in reply, reply
        # after its deadline
        h.clock.set(h.clock.now().replace(day=30))  # type: ignore[attr-defined]
        await say(h, admin, f"/project {early.seq} 取消")
        reply = text(await say(h, admin, f"/project {early.seq}"))
        assert "时限（2026年11月27日）已过，不再安排月度检查" in reply, reply


# Who may use what (the policy, stated as a table): each role's private menu must offer
# exactly these. A command registered later and offered to nobody fails the last check.
MAY_USE = {
    "office": {"new", "list", "show", "close", "return", "urge", "pause", "resume", "bulletin",
               "export", "import", "appraisal", "holidays", "history", "archive", "unread", "deadline",
               "mine",
               "priority", "project", "meeting", "meetings", "decisions", "enterprise",
               "enterprises", "visit", "inspect", "inspections", "commend", "criticize",
               "refer", "invite", "revoke", "handover", "units", "addunit", "bindgroup",
               "offices", "office", "passdown", "help", "cancel"},
    "unit": {"mine", "list", "show", "history", "deadline", "figures", "enterprises", "office",
             "help", "cancel"},
    "leader": {"list", "show", "history", "mine", "deadline", "enterprises", "enterprise",
               "office", "help", "cancel"},
    "liaison": {"list", "show", "history", "inspect", "propose", "inspections", "visit",
                "enterprises", "enterprise", "mine", "office", "help", "cancel"},
}
EVERYONE = {"start", "mine", "help", "cancel"}  # before binding, and in every chat


async def test_each_role_menu_lists_every_command_it_may_use(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        liaison = h.server.person(first_name="林联络员", username="u_liaison")
        async with h.deps.uow() as uow:
            await uow.people.add_person(h.county.office_id, "林联络员",
                                        frozenset({Role.LIAISON}), telegram_id=liaison.id)
            await uow.commit()
        who = {"office": h.people["admin"], "unit": h.people["town_handler"],
               "leader": h.people["leader"], "liaison": liaison}
        for menu, person in who.items():
            await say(h, person, "/start")
            got = await h.app.bot.get_my_commands(scope=BotCommandScopeChat(person.id))
            assert {c.command for c in got} == MAY_USE[menu], menu
            assert all(c.description for c in got)
        default = await h.app.bot.get_my_commands(scope=BotCommandScopePrivateChats())
        assert {c.command for c in default} == EVERYONE
        commands, _ = registered(h)
        offered = set().union(*MAY_USE.values()) | EVERYONE
        assert set(commands) - offered == set(), "registered but in no role's menu"
        assert {"refer", "meetings", "figures"} <= offered
