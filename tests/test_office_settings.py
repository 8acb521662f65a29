"""Per-office settings (issue 16): `[offices."PREFIX"]` parsed (each key at its boundary),
looked up for an office (settings.offices), the planner planning each office's rows with
its own policy, an office's bulletin chats (ledger.offices.bulletin_chats), and the start
and `duban doctor` refusing a prefix no stored office has (real SQLite)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, time, timedelta
from pathlib import Path

import pytest

from bot.config import ConfigError, ReminderPolicy, load_config
from bot.doctor import check_offices as doctor_offices
from bot.preflight import StartupProblem, check_start, offices_line, stored_offices
from ledger.bulletins import BulletinKind
from ledger.clock import SystemClock
from ledger.model import Office
from ledger.offices import bulletin_chats
from ledger.usecases.offices import add_office
from reminders import kinds
from reminders.planner import OfficePlanners, Planner, planner_for
from settings import Config, OfficeSettings
from settings.offices import (
    any_channel,
    check_offices,
    office_bulletins,
    office_policies,
    public_channel,
    reminder_policy,
    web_title,
)
from storage.db import make_engine, upgrade
from storage.uow import uow_factory
from tests.dbs import url_for
from tests.reminders_sim import CAL, Sim, local, row

COUNTY = Office(1, "县委县政府督查室", "县督")
TOWN = Office(2, "城关镇督查室", "城关督", parent_id=1)
OTHER = Office(3, "南关镇督查室", "南关督", parent_id=1)
OFFICES = [COUNTY, TOWN, OTHER]


def _load(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "duban.toml"
    path.write_text(text, encoding="utf-8")
    return load_config({}, path)


# ---------------------------------------------------------------- parsing


def test_office_table_overrides_only_what_it_names(tmp_path: Path) -> None:
    config = _load(tmp_path, """
[reminders]
before_workdays = [3, 1]
quiet_start = "20:00"
auto_urge_after_workdays = 3

[offices."城关督".reminders]
before_workdays = [2]
quiet_start = "21:30"
auto_urge_after_workdays = 5

[offices."城关督".public]
channel_id = "@chengguan_gs"
web_title = "城关镇督查事项公示"

[[offices."城关督".bulletins]]
kind = "regular"
cron = "0 9 * * mon"
groups = true

[offices."南关督".public]
channel_id = -1001234
""")
    town, other = config.offices
    assert town.prefix == "城关督" and town.reminders is not None
    assert town.reminders.before_workdays == (2,)
    assert town.reminders.quiet_start == time(21, 30)
    assert town.reminders.auto_urge_after_workdays == 5
    # what it leaves out is the deployment's, [calendar] and [receipts] included
    assert town.reminders.quiet_end == config.reminders.quiet_end
    assert town.reminders.holidays_warn_from == config.reminders.holidays_warn_from == (11, 1)
    assert town.reminders.receipts == config.reminders.receipts
    assert town.public_channel_id == "@chengguan_gs" and town.web_title == "城关镇督查事项公示"
    assert [(b.kind, b.groups, b.chats) for b in town.bulletins] == [
        (BulletinKind.REGULAR, True, ())]
    assert other.reminders is None and other.bulletins == ()
    assert other.public_channel_id == -1001234
    assert config.bulletins == ()   # an office's bulletins are not the deployment's


@pytest.mark.parametrize(("text", "says"), [
    ('[offices."城关督"]\nreminder = {}', 'offices."城关督".reminder 不认识'),
    ('[offices."城关督".reminders]\nlead = 2', 'offices."城关督".reminders.lead 不认识'),
    ('[offices."城关督".public]\nweb_port = 1', 'offices."城关督".public.web_port 不认识'),
    ('[offices."城关3"]\npublic = {channel_id = "@x"}', "不能含数字"),
    ('[offices."城关督"]\nreminders = 3', "应为一节"),
    ('offices = 3', "应写成"),
    ('[offices."城关督".reminders]\nbefore_workdays = 2', "整数列表"),
    ('[offices."城关督".reminders]\nquiet_start = "九点"', "应为时刻"),
    ('[offices."城关督".reminders]\non_due_day = "yes"', "true 或 false"),
    ('[offices."城关督".public]\nchannel_id = "chengguan"', "频道 id"),
    ('[[offices."城关督".bulletins]]\nkind = "regular"\ncron = "0 9 * * mon"', "接收者"),
    ('[[offices."城关督".bulletins]]\nkind = "weekly"\ncron = "0 9 * * mon"\ngroups = true',
     'offices."城关督".bulletins[0].kind'),
])
def test_office_table_errors_name_the_key(tmp_path: Path, text: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says.replace(".", r"\.").replace("[", r"\[")):
        _load(tmp_path, text)


@pytest.mark.parametrize(("key", "low", "high"), [
    ("before_workdays", 1, 60), ("stagnant_workdays", 0, 60),
    ("auto_urge_after_workdays", 0, 60), ("urge_limit_workdays", 1, 60),
    ("urgent_every_hours", 0, 24),
])
def test_reminder_numbers_at_their_boundaries(tmp_path: Path, key: str, low: int,
                                              high: int) -> None:
    def value(n: int) -> str:
        return f"[{n}]" if key == "before_workdays" else str(n)

    for where in ("[reminders]", '[offices."城关督".reminders]'):
        for ok in (low, high):
            _load(tmp_path, f"{where}\n{key} = {value(ok)}\n")
        for bad in (low - 1, high + 1):
            with pytest.raises(ConfigError, match=f"{key} 应在 {low} 到 {high} 之间"):
                _load(tmp_path, f"{where}\n{key} = {value(bad)}\n")


# ---------------------------------------------------------------- looking up


def _config(**kw: object) -> Config:
    town = OfficeSettings("城关督", reminders=ReminderPolicy(before_workdays=(2,)),
                          public_channel_id="@town", web_title="城关镇公示")
    return replace(Config(public_channel_id="@county", offices=(town,)), **kw)  # type: ignore[arg-type]


def test_lookup_per_office() -> None:
    config = _config()
    assert reminder_policy(config, TOWN).before_workdays == (2,)
    assert reminder_policy(config, COUNTY) is config.reminders
    assert reminder_policy(config, OTHER) is config.reminders
    assert office_policies(config, OFFICES) == {2: ReminderPolicy(before_workdays=(2,))}
    # [public] channel_id is the top office's; a township has its own or none
    assert public_channel(config, OFFICES, COUNTY.id) == "@county"
    assert public_channel(config, OFFICES, TOWN.id) == "@town"
    assert public_channel(config, OFFICES, OTHER.id) is None
    assert public_channel(config, OFFICES, 99) is None
    assert web_title(config, OFFICES, TOWN.id) == "城关镇公示"
    assert web_title(config, OFFICES, OTHER.id) == "南关镇督查室督查事项公示"
    assert web_title(config, OFFICES, COUNTY.id) == "督查事项公示"
    assert any_channel(config) and any_channel(replace(config, public_channel_id=None))
    assert not any_channel(Config())


def test_bulletins_by_office() -> None:
    from settings import BulletinSpec

    county_spec = BulletinSpec(BulletinKind.REGULAR, "0 9 * * mon", chats=(-1,))
    town_spec = BulletinSpec(BulletinKind.REGULAR, "0 10 * * mon", groups=True)
    config = replace(Config(bulletins=(county_spec,)),
                     offices=(OfficeSettings("城关督", bulletins=(town_spec,)),))
    assert office_bulletins(config, OFFICES) == [(1, county_spec), (2, town_spec)]
    # the top office is the one without a parent, whatever its id
    reordered = [replace(TOWN, id=1), replace(COUNTY, id=2)]
    assert office_bulletins(config, reordered) == [(2, county_spec), (1, town_spec)]
    assert office_bulletins(config, []) == []


def test_unknown_prefix_is_refused_naming_the_known() -> None:
    config = replace(Config(), offices=(OfficeSettings("北关督"),))
    with pytest.raises(ConfigError) as e:
        check_offices(config, OFFICES)
    assert "北关督" in str(e.value) and "城关督（城关镇督查室）" in str(e.value)
    assert "duban office add" in str(e.value)
    check_offices(replace(config, offices=(OfficeSettings("南关督"),)), OFFICES)
    # before the first start, the office [office] creates is the only one
    check_offices(replace(config, offices=(OfficeSettings("督"),)), [])
    with pytest.raises(ConfigError, match="北关督"):
        check_offices(config, [])


def test_bulletin_chats_never_cross_an_office() -> None:
    bound = {-10: 1, -20: 2, -21: 2}   # -30 is bound nowhere
    assert bulletin_chats([-10, -20, -30], bound, 2, False) == ([-20, -30], [-10])
    assert bulletin_chats([], bound, 2, True) == ([-21, -20], [])
    assert bulletin_chats([-20], bound, 2, True) == ([-20, -21], [])
    assert bulletin_chats([-10], bound, 1, True) == ([-10], [])


# ---------------------------------------------------------------- the planner


def test_each_office_reminded_by_its_own_lead_times_and_thresholds() -> None:
    town = ReminderPolicy(before_workdays=(2,), auto_urge_after_workdays=5,
                          stagnant_workdays=0)
    county = ReminderPolicy(stagnant_workdays=0)
    planner = planner_for(CAL, county, {2: town})
    assert isinstance(planner, OfficePlanners)
    assert type(planner_for(CAL, county, {})) is Planner
    # Both due Fri 2026-12-11, assigned Mon 2026-11-30.
    rows = [row(1, deadline=date(2026, 12, 11), assigned_at=local(2026, 11, 30, 10)),
            row(2, deadline=date(2026, 12, 11), assigned_at=local(2026, 11, 30, 10),
                office_id=2)]
    s = Sim(planner, {(r.matter_id, r.no): r for r in rows})
    s.run(local(2026, 11, 30, 10), local(2026, 12, 21, 12))
    before = {(x.notice.matter_id, x.local[:5]) for x in s.sent
              if x.notice.kind == kinds.BEFORE}
    # county: 3 and 1 working days before (Tue 8th, Thu 10th); township: 2 (Wed 9th)
    assert before == {(1, "12-08"), (1, "12-10"), (2, "12-09")}
    urged = {(m, to.date()) for to, kind, m, _ in s.escalations if kind == "urge"}
    # overdue from Mon 14th: county urges after 3 working days, township after 5
    assert urged == {(1, local(2026, 12, 16).date()), (2, local(2026, 12, 18).date())}


def test_quiet_hours_and_sending_time_per_office() -> None:
    town = ReminderPolicy(send_at=time(10, 0), quiet_start=time(18, 0), quiet_end=time(9, 30))
    planner = planner_for(CAL, ReminderPolicy(), {2: town})
    evening = local(2026, 12, 8, 19)   # Tue 19:00: the county's window, the township's quiet
    assert planner.release_at(evening, evening, 1) == evening
    assert planner.release_at(evening, evening, 2) == local(2026, 12, 9, 10)
    assert planner.release_at(evening, evening) == evening   # no office: the deployment's
    morning = local(2026, 12, 9, 9, 15)  # the county sends, the township is still quiet
    assert planner.escalating_policies(morning) == frozenset({-1})
    assert planner.escalating_policies(local(2026, 12, 9, 10)) == frozenset({-1, 2})
    days = planner.upcoming([row(3, deadline=date(2026, 12, 11), assigned_at=local(2026, 11, 30),
                                 office_id=2)], morning, morning + timedelta(days=3))
    # 1 working day before (Thu) and on the day (Fri), at the township's 10:00
    assert {n.due_at for n in days} == {local(2026, 12, 10, 10), local(2026, 12, 11, 10)}


# ---------------------------------------------------------------- at start, on real SQLite


async def _two_offices(tmp_path: Path) -> str:
    url = url_for(tmp_path / "ledger.db")
    await upgrade(url)
    engine = make_engine(url)
    try:
        uow = uow_factory(engine)
        await add_office(uow(), SystemClock(), "县督查室", "县督", None, [(11, "王主任")])
        await add_office(uow(), SystemClock(), "城关镇督查室", "城关督", "县督查室", [(22, None)])
    finally:
        await engine.dispose()
    return url


async def test_start_and_doctor_check_prefixes_against_the_stored_offices(
        tmp_path: Path) -> None:
    url = await _two_offices(tmp_path)
    assert [o.doc_prefix for o in await stored_offices(url) or []] == ["县督", "城关督"]
    good = replace(Config(db=url), offices=(OfficeSettings(
        "城关督", reminders=ReminderPolicy(before_workdays=(2,))),))
    assert offices_line(good, await stored_offices(url) or []) is None
    await check_start(good, api=False)
    ok = await doctor_offices(good)
    assert ok.status == "ok" and "城关督（提醒）" in ok.detail
    bad = replace(good, offices=(OfficeSettings("南关督"),))
    with pytest.raises(StartupProblem) as e:
        await check_start(bad, api=False)
    assert "南关督" in e.value.line and "城关督（城关镇督查室）" in e.value.line
    failed = await doctor_offices(bad)
    assert failed.status == "fail" and "南关督" in failed.detail
    assert (await doctor_offices(Config(db=url))).status == "ok"


def test_automatic_urging_uses_each_office_s_thresholds() -> None:
    from typing import Any

    from reminders.planner import Escalation, EscalationKind
    from reminders.scheduler import ReminderService

    county = ReminderPolicy()
    town = ReminderPolicy(auto_urge_after_workdays=5, urge_limit_workdays=4)
    none: Any = None
    service = ReminderService(none, SystemClock(), CAL, county, none,
                              office_policies={2: town})
    assert isinstance(service.planner, OfficePlanners)
    groups = service._urges_by_policy([
        Escalation(EscalationKind.URGE, 10, 1, 1, 3),
        Escalation(EscalationKind.URGE, 20, 1, 2, 5),
        Escalation(EscalationKind.FLAG, 30, 1, 2, 9),
        Escalation(EscalationKind.URGE, 40, 2, 3, 3)])
    assert groups == [(county, [(10, 1), (40, 2)]), (town, [(20, 1)])]
    plain = ReminderService(none, SystemClock(), CAL, county, none)
    assert type(plain.planner) is Planner
