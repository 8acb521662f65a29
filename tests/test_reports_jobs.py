"""Scheduled bulletins: config parsing, the cron trigger's times, and a job posting an issue
to the named groups (and the leaders privately) through the sandbox Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from telegram.ext import ContextTypes

from bot.bulletin_jobs import delivery, post_bulletin, schedule_bulletins
from bot.config import Config, ConfigError
from bot.config_sections import (
    BulletinSpec,
    cron_trigger,
    parse_appraisal,
    parse_bulletins,
    parse_reports,
)
from handlers.delivery import TelegramSender
from handlers.deps import BotData, Ctx, Deps
from ledger.appraisal import AppraisalWeights
from ledger.bulletins import BulletinKind
from ledger.clock import LOCAL_TZ
from ledger.model import Role
from presentation.render import Renderer
from reminders.outbox import deliver_due
from sandbox.server import SandboxServer
from sandbox.testing import application_builder
from tests.conftest_sandbox import *  # noqa: F403
from tests.test_reports_helpers import CONFIDENTIAL_TITLE, Seed, reopen, seed_once

# ---- config


def test_parse_bulletins() -> None:
    specs = parse_bulletins([
        {"kind": "regular", "cron": "0 9 * * mon", "chats": [-100123, "-100456"]},
        {"kind": "项目建设督查专报", "cron": "30 8 1 * *", "chats": [-100123],
         "recipients": "各项目责任单位"},
        {"kind": "leaders", "cron": "0 17 * * fri", "leaders": True, "period": "current"},
        {"kind": "quarterly", "cron": "0 9 1 1,4,7,10 *", "chats": [1], "enabled": False},
    ])
    assert [(s.kind, s.chats, s.leaders, s.period) for s in specs] == [
        (BulletinKind.REGULAR, (-100123, -100456), False, "previous"),
        (BulletinKind.PROJECT, (-100123,), False, "previous"),
        (BulletinKind.LEADERS, (), True, "current")]
    assert specs[1].recipients == "各项目责任单位"
    assert parse_bulletins(None) == ()


@pytest.mark.parametrize(("raw", "message"), [
    ({"kind": "weekly", "cron": "0 9 * * mon", "chats": [1]}, "kind"),
    ({"kind": "regular", "cron": "every monday", "chats": [1]}, "cron"),
    ({"kind": "regular", "cron": "0 9 * * mon", "chats": "群"}, "chats"),
    ({"kind": "regular", "cron": "0 9 * * mon", "chats": ["x"]}, "chats"),
    ({"kind": "regular", "cron": "0 9 * * mon"}, "接收者"),
    ({"kind": "regular", "cron": "0 9 * * mon", "chats": [1], "when": 1}, "when"),
    ({"kind": "regular", "cron": "0 9 * * mon", "chats": [1], "period": "last"}, "period"),
])
def test_parse_bulletins_errors_name_the_key(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        parse_bulletins([raw])
    assert "bulletins[0]" in str(info.value)


def test_parse_appraisal() -> None:
    w = parse_appraisal({"on_time": 3, "overdue": -1.5, "overdue_cap_workdays": 10})
    assert (w.on_time, w.overdue, w.overdue_cap_workdays, w.base) == (3.0, -1.5, 10, 100.0)
    assert parse_appraisal(None) == AppraisalWeights()
    for bad in ({"bonus": 1}, {"urge": "多"}, {"overdue_cap_workdays": 1.5}, []):
        with pytest.raises(ConfigError, match="appraisal"):
            parse_appraisal(bad)


def test_parse_reports_from_a_whole_file() -> None:
    import tomllib

    raw = tomllib.loads("""
[office]
name = "某县督查室"

[[bulletins]]
kind = "regular"
cron = "0 9 * * mon"
chats = [-1001]

[[bulletins]]
kind = "project"
cron = "0 9 1 * *"
chats = [-1001, -1002]

[appraisal]
urge = -3
""")
    cfg = parse_reports(raw)
    assert [s.kind for s in cfg.bulletins] == [BulletinKind.REGULAR, BulletinKind.PROJECT]
    assert cfg.appraisal.urge == -3.0
    assert parse_reports({}).bulletins == ()


def test_cron_fires_at_shanghai_times() -> None:
    sunday_noon = datetime(2026, 11, 22, 12, 0, tzinfo=LOCAL_TZ)
    weekly = cron_trigger("0 9 * * mon").get_next_fire_time(None, sunday_noon)
    assert weekly == datetime(2026, 11, 23, 9, 0, tzinfo=LOCAL_TZ)
    monthly = cron_trigger("30 8 1 * *").get_next_fire_time(None, sunday_noon)
    assert monthly == datetime(2026, 12, 1, 8, 30, tzinfo=LOCAL_TZ)
    assert monthly.utcoffset().total_seconds() == 8 * 3600


# ---- the job, through the sandbox


async def _deliver(app: Any, deps: Deps) -> None:
    """What the outbox dispatcher does once the job has queued the issue."""
    while (await deliver_due(deps.uow, deps.clock, TelegramSender(app.bot, deps))).touched:
        pass


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seed:
    return seed_once(tmp_path_factory.mktemp("seed"))


@pytest.fixture
async def s(seeded: Seed, tmp_path: Path) -> AsyncIterator[Seed]:
    seed = reopen(seeded, tmp_path)
    yield seed
    await seed.engine.dispose()


async def test_scheduled_bulletin_reaches_its_groups_once(
        s: Seed, sandbox: SandboxServer, bot_token: str) -> None:
    leader = sandbox.person("李县长")
    office_group = sandbox.group("督查工作群")
    units_group = sandbox.group("承办单位工作群")
    other = sandbox.group("无关的群")
    async with s.uow() as u:
        await u.people.add_person(s.office_id, "李县长", frozenset({Role.LEADER}),
                                  telegram_id=leader.id)
        await u.commit()
    app: Any = (application_builder(sandbox, bot_token)
                .context_types(ContextTypes(context=Ctx, bot_data=BotData)).build())
    app.bot_data.deps = Deps(uow=s.uow, clock=s.clock, cal=s.cal, config=Config(),
                             render=Renderer())
    specs = parse_bulletins([
        {"kind": "regular", "cron": "0 9 * * mon", "chats": [office_group.id, units_group.id]},
        {"kind": "leaders", "cron": "0 17 * * fri", "leaders": True},
    ])
    await app.initialize()
    try:
        jobs = schedule_bulletins(app, specs)
        assert [j.name for j in jobs] == ["bulletin-regular-0", "bulletin-leaders-1"]
        await app.start()           # the real JobQueue computes when each will run
        weekly, friday = (j.next_t.astimezone(LOCAL_TZ) for j in jobs if j.next_t)
        await app.stop()
        assert (weekly.weekday(), weekly.hour, weekly.minute) == (0, 9, 0)
        assert (friday.weekday(), friday.hour, friday.minute) == (4, 17, 0)
        await jobs[0].run(app)      # what the scheduler does at Monday 09:00
        await jobs[1].run(app)
        await _deliver(app, app.bot_data.deps)
        for group in (office_group, units_group):
            sent = sandbox.sent_messages(group)
            texts = [m.text for m in sent if m.text]
            assert texts[0].startswith("📋 《督察》2026年第1期\n督察〔2026〕1号")
            assert "统计期间：2026年11月16日至11月22日" in texts[0]
            assert all(CONFIDENTIAL_TITLE not in t for t in texts)
            assert [bool(m.photo) for m in sent][-2:] == [True, False]
            assert sent[-1].document is not None
            assert sent[-1].document["file_name"] == "督察2026年第1期.docx"
        private = [m.text for m in sandbox.sent_messages(leader) if m.text]
        assert private[0].startswith("📋 督查专报2026年第1期")
        assert sandbox.sent_messages(other) == []

        # The job again (a restart, a second process): nothing is posted twice.
        before = len(sandbox.calls_to("sendMessage"))
        await jobs[0].run(app)
        await _deliver(app, app.bot_data.deps)
        assert len(sandbox.calls_to("sendMessage")) == before
    finally:
        await app.shutdown()


async def test_a_failing_chat_does_not_stop_the_others(
        s: Seed, sandbox: SandboxServer, bot_token: str) -> None:
    group = sandbox.group("督查工作群")
    app: Any = application_builder(sandbox, bot_token).build()
    deps = Deps(uow=s.uow, clock=s.clock, cal=s.cal, config=Config(), render=Renderer())
    spec = BulletinSpec(BulletinKind.REGULAR, "0 9 * * mon", chats=(-424242, group.id))
    await app.initialize()
    try:
        posted = await post_bulletin(deps, spec)
        await _deliver(app, deps)
        sent = await delivery(deps, posted)
        assert posted.new and sent.sent == [group.id] and list(sent.failed) == [-424242]
        again = await post_bulletin(deps, spec)
        await _deliver(app, deps)
        sent = await delivery(deps, again)
        assert not again.new and again.skipped == [group.id] and list(sent.failed) == [-424242]
    finally:
        await app.shutdown()
