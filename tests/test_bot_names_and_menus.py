"""End to end (issue 13): an admin listed in DUBAN_ADMINS without a name is asked for it and
is shown by it; meetings have their own numbers; /project says why no check is planned;
every command a role may use is in its menu."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from bot.harness import Harness
from ledger.usecases.people import bootstrap_office
from tests.bot_e2e import bot, find, quick_matter, say, text


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
