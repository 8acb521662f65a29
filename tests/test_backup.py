"""`duban backup` / `duban restore`: the whole ledger out to one file and back, on either
engine (DUBAN_TEST_DB), and from SQLite to PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.cli import main
from bot.cli_reports import cli_export
from bot.config import Config
from ledger.clock import FixedClock
from ledger.model import Role
from ledger.ports import GroupChat
from ledger.usecases.ledger_mgmt import RegisterMatter, register_matter
from storage.backup import BackupError, TargetNotEmpty, dump, read_manifest, restore
from storage.db import head_revision, make_engine, upgrade
from storage.tables import matters, metadata
from storage.uow import uow_factory
from tests import dbs
from tests.dbs import url_for
from tests.test_reports_helpers import Seed, reopen, seed_once


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seed:
    return seed_once(tmp_path_factory.mktemp("seed"))


@pytest.fixture
async def seed(seeded: Seed, tmp_path: Path) -> Seed:
    s = reopen(seeded, tmp_path)
    yield s  # type: ignore[misc]
    await s.engine.dispose()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for var in ("DUBAN_CONFIG", "DUBAN_DB", "DUBAN_ADMINS", "DUBAN_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


async def _rows(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in key order: what a restore must give back."""
    out = {}
    async with engine.connect() as conn:
        for t in metadata.sorted_tables:
            key = list(t.primary_key.columns) or list(t.columns)
            out[t.name] = [tuple(r) for r in await conn.execute(select(t).order_by(*key))]
    return out


async def _export(url: str, path: Path, seed: Seed) -> list[list[list[Any]]]:
    assert await cli_export(Config(db=url), path, clock=FixedClock(seed.clock.now())) == 0
    wb = openpyxl.load_workbook(path)
    return [[list(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets]


async def _round_trip(seed: Seed, source_url: str, target_url: str, tmp: Path) -> None:
    source = make_engine(source_url)
    try:
        # Telegram's ids go beyond 32 bits (supergroups: -100…).
        async with uow_factory(source)() as u:
            await u.chats.bind(GroupChat(chat_id=-1001234567890, office_id=seed.office_id,
                                         unit_id=None, title="督查工作群", bound_by=seed.admin,
                                         bound_at=seed.clock.now()))
            await u.people.add_person(seed.office_id, "新同志", frozenset({Role.HANDLER}),
                                      telegram_id=7_123_456_789)
            await u.commit()
        before = await _rows(source)
        info = await dump(source, tmp / "ledger.duban")
    finally:
        await source.dispose()
    assert info.revision == head_revision()
    assert info.counts["matters"] == len(before["matters"]) == 7
    assert info.counts["events"] == len(before["events"]) > 7

    restored_info = await restore(target_url, tmp / "ledger.duban")
    assert restored_info.counts == info.counts
    original = await _export(source_url, tmp / "before.xlsx", seed)
    copy = await _export(target_url, tmp / "after.xlsx", seed)
    assert copy == original and len(original[0]) > 7

    target = make_engine(target_url)
    try:
        assert await _rows(target) == before
        # The bot can write at once: new ids follow the restored ones.
        m = await register_matter(uow_factory(target)(), seed.clock, seed.cal, seed.admin,
                                  RegisterMatter(title="恢复后新登记的事项"))
        assert m.id == max(r[0] for r in before["matters"]) + 1
        async with uow_factory(target)() as u:
            events = await u.events.for_matter(m.id)
        assert events and min(e.id or 0 for e in events) > max(r[0] for r in before["events"])
    finally:
        await target.dispose()


async def test_backup_then_restore_gives_back_every_row_and_the_same_xlsx(
        seed: Seed, tmp_path: Path) -> None:
    await _round_trip(seed, url_for(seed.path), url_for(tmp_path / "restored.db"), tmp_path)


@pytest.mark.skipif(not dbs.ON_PG, reason="SQLite → PostgreSQL needs DUBAN_TEST_DB")
async def test_sqlite_ledger_moves_to_postgresql(tmp_path: Path) -> None:
    from tests.test_reports_helpers import seed_ledger

    sqlite_file = tmp_path / "sqlite" / "duban.db"
    sqlite_file.parent.mkdir()
    # An SQLite ledger, whatever engine the suite runs on.
    await upgrade(str(sqlite_file))
    monkey = pytest.MonkeyPatch()
    monkey.setattr(dbs, "url_for", lambda path, migrated=False: str(path))
    monkey.setattr("tests.test_reports_helpers.url_for", lambda path, migrated=False: str(path))
    try:
        s = await seed_ledger(sqlite_file)
    finally:
        monkey.undo()
    await s.engine.dispose()
    await _round_trip(s, str(sqlite_file), url_for(tmp_path / "pg"), tmp_path)


async def test_a_backup_taken_while_the_bot_writes_is_consistent(
        seed: Seed, tmp_path: Path) -> None:
    stop = asyncio.Event()
    uow = seed.uow

    async def writer() -> int:
        n = 0
        while not stop.is_set():
            async with uow() as u:
                await u.people.add_unit(seed.office_id, f"并发单位{n}")
                await u.commit()
            n += 1
            await asyncio.sleep(0)
        return n

    task = asyncio.create_task(writer())
    await asyncio.sleep(0.05)
    info = await dump(seed.engine, tmp_path / "live.duban")
    stop.set()
    written = await task
    assert written > 0
    with zipfile.ZipFile(tmp_path / "live.duban") as zf:
        units = [json.loads(line) for line in zf.read("tables/units.jsonl").splitlines()]
    assert len(units) == info.counts["units"]
    # One moment: the ids are 1..n without a gap a half-seen write would leave.
    assert [u[0] for u in units] == list(range(1, len(units) + 1))


async def test_a_database_with_data_is_refused_and_left_untouched(
        seed: Seed, tmp_path: Path, env: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    await dump(seed.engine, env / "b.duban")
    target_url = url_for(tmp_path / "busy.db", migrated=True)
    await upgrade(target_url)
    busy = make_engine(target_url)
    try:
        uow = uow_factory(busy)
        async with uow() as u:
            await u.people.add_office("另一个督查室")
            await u.commit()
        with pytest.raises(TargetNotEmpty):
            await restore(target_url, env / "b.duban")

        monkeypatch.setenv("DUBAN_DB", target_url)
        code = await asyncio.to_thread(main, ["restore", "b.duban"])
        assert code != 0
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "--force" in err and "未做任何改动" in err
        async with uow() as u:
            assert [o.name for o in await u.people.offices()] == ["另一个督查室"]

        await busy.dispose()
        assert await asyncio.to_thread(main, ["restore", "--force", "b.duban"]) == 0
        out = capsys.readouterr().out
        assert "已恢复" in out and "matters 7" in out
        async with uow() as u:
            assert [o.name for o in await u.people.offices()] == ["县委县政府督查室"]
    finally:
        await busy.dispose()


def test_cli_backup_and_restore_report_counts(
        seeded: Seed, env: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DUBAN_DB", dbs.copy_db(seeded.path, env / "live.db"))
    assert main(["backup", "nightly.duban"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("已备份到 nightly.duban") and "matters 7" in out
    assert head_revision() in out

    monkeypatch.setenv("DUBAN_DB", url_for(env / "new" / "restored.db"))
    assert main(["restore", "nightly.duban"]) == 0
    out = capsys.readouterr().out
    assert "已恢复到" in out and "matters 7" in out and "events" in out
    assert "***" not in out or "@" in out  # a password is never shown


@pytest.mark.parametrize("content", [b"not a backup at all", b"PK\x03\x04garbage"])
def test_garbage_is_refused_in_one_chinese_line(
        env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        content: bytes) -> None:
    (env / "x.duban").write_bytes(content)
    target = env / "t.db"
    monkeypatch.setenv("DUBAN_DB", url_for(target))
    assert main(["restore", "x.duban"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [err] and "不是督办备份文件" in err
    assert not dbs.exists(target) or dbs.ON_PG


async def test_a_newer_or_other_version_backup_is_refused(seed: Seed, env: Path) -> None:
    await dump(seed.engine, env / "b.duban")
    manifest = read_manifest(env / "b.duban")

    def rewrite(name: str, **changes: Any) -> Path:
        out = env / name
        with zipfile.ZipFile(env / "b.duban") as src, zipfile.ZipFile(out, "w") as dst:
            for item in src.namelist():
                data = src.read(item)
                if item == "manifest.json":
                    data = json.dumps({**manifest, **changes}).encode()
                dst.writestr(item, data)
        return out

    with pytest.raises(BackupError, match="第 2 版"):
        await restore(url_for(env / "a.db"), rewrite("v2.duban", format_version=2))
    with pytest.raises(BackupError, match=r"更新版本的程序.*ffff9999"):
        await restore(url_for(env / "b.db"), rewrite("new.duban", revision="ffff9999"))
    count = select(func.count()).select_from(matters)
    async with seed.engine.connect() as conn:
        assert (await conn.execute(count)).scalar() == 7


# ---- nightly backups ([backup]) ----

def test_backup_section_is_read_and_checked(tmp_path: Path) -> None:
    from bot.config import ConfigError, load_config

    cfg = tmp_path / "duban.toml"
    cfg.write_text('[backup]\ndir = "bk"\ntime = "02:30"\nkeep = 3\n', encoding="utf-8")
    spec = load_config({}, cfg).backup
    assert spec is not None and (spec.dir, spec.at.hour, spec.at.minute, spec.keep) == (
        tmp_path / "bk", 2, 30, 3)
    assert load_config({}, None).backup is None
    for bad, word in (('keep = 0\ndir = "x"', "keep"), ('time = "3点"\ndir = "x"', "time"),
                      ('keep = 3', "dir"), ('dir = "x"\nevery = 1', "every")):
        cfg.write_text(f"[backup]\n{bad}\n", encoding="utf-8")
        with pytest.raises(ConfigError, match=f"backup.{word}"):
            load_config({}, cfg)


async def test_nightly_backups_keep_the_newest(seed: Seed, tmp_path: Path) -> None:
    from bot.backup_job import BackupSchedule, nightly_backup

    spec = BackupSchedule(dir=tmp_path / "nightly", keep=2)
    (tmp_path / "nightly").mkdir()
    (tmp_path / "nightly" / "notes.txt").write_text("not ours")
    written = []
    for day in range(3):
        now = seed.clock.now() + timedelta(days=day)
        written.append(await nightly_backup(url_for(seed.path), spec, now))
    left = sorted(p.name for p in (tmp_path / "nightly").iterdir())
    assert left == sorted([written[1].name, written[2].name, "notes.txt"])
    assert "offices" in {t["name"] for t in read_manifest(written[2])["tables"]}


async def test_only_the_scheduler_lock_holder_writes_the_nightly_backup(
        tmp_path: Path) -> None:
    from bot import reminder_jobs
    from bot.backup_job import JOB_NAME, BackupSchedule
    from bot.harness import running_bot
    from tests.bot_e2e import START

    spec = BackupSchedule(dir=tmp_path / "nightly")
    async with running_bot(tmp_path, clock=FixedClock(START), config=Config(backup=spec),
                           db_url=url_for(tmp_path / "duban.db", migrated=True)) as h:
        jq = h.app.job_queue
        assert jq is not None
        (job,) = jq.get_jobs_by_name(JOB_NAME)
        for _ in range(100):
            if reminder_jobs.service_for(h.app) is not None:
                break
            await asyncio.sleep(0.02)
        context = h.app.context_types.context.from_job(job, h.app)
        await job.callback(context)
        assert len(list(spec.dir.glob("duban-backup-*.zip"))) == 1
        # Not the holder (another instance runs the scheduler): no file.
        await reminder_jobs.stop(h.app)
        h.clock.set(START + timedelta(days=1))
        await job.callback(context)
        assert len(list(spec.dir.glob("duban-backup-*.zip"))) == 1


def _rewrite(src: Path, out: Path, manifest: dict[str, Any] | None = None,
             members: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w") as zout:
        for item in zin.namelist():
            data = zin.read(item)
            if item == "manifest.json" and manifest is not None:
                data = json.dumps(manifest).encode()
            if members and item in members:
                data = members[item]
            zout.writestr(item, data)
    return out


async def test_a_damaged_backup_leaves_even_a_forced_target_as_it_was(
        seed: Seed, tmp_path: Path) -> None:
    await dump(seed.engine, tmp_path / "b.duban")
    with zipfile.ZipFile(tmp_path / "b.duban") as zf:
        events = zf.read("tables/events.jsonl")
    broken = _rewrite(tmp_path / "b.duban", tmp_path / "broken.duban",
                      members={"tables/events.jsonl": events[: len(events) // 2]})
    before = await _rows(seed.engine)
    await seed.engine.dispose()
    with pytest.raises(BackupError, match="events 的数据已损坏"):
        await restore(url_for(seed.path), broken, force=True)
    engine = make_engine(url_for(seed.path))
    try:
        assert await _rows(engine) == before
    finally:
        await engine.dispose()


async def test_a_backup_of_an_older_schema_is_restored_and_upgraded(
        seed: Seed, tmp_path: Path) -> None:
    # 0004 only added an index; 0008 added the 已阅 receipts tables; 0010 the stored light;
    # 0012 offices.parent_id; 0013 persons.name_pending (before it, an admin without a
    # name was stored as 「管理员<id>」): those rows, less what came later, make a backup taken at 0003.
    newer = {"receipts", "receipt_readers"}
    await dump(seed.engine, tmp_path / "b.duban")
    manifest = read_manifest(tmp_path / "b.duban")

    def without(spec: dict[str, Any], column: str) -> tuple[dict[str, Any], int]:
        at = spec["columns"].index(column)
        return {**spec, "columns": [c for i, c in enumerate(spec["columns"]) if i != at],
                "kinds": [k for i, k in enumerate(spec["kinds"]) if i != at]}, at

    with zipfile.ZipFile(tmp_path / "b.duban") as zf:
        people = [json.loads(x) for x in zf.read("tables/persons.jsonl").decode().splitlines()]
        matters = [json.loads(x) for x in zf.read("tables/matters.jsonl").splitlines() if x]
        offices = [json.loads(x) for x in zf.read("tables/offices.jsonl").splitlines() if x]
    tables = []
    for spec in manifest["tables"]:
        if spec["name"] in newer:
            continue
        if spec["name"] == "persons":
            name, tg = spec["columns"].index("name"), spec["columns"].index("telegram_id")
            spec, at = without(spec, "name_pending")
            for row in people:
                if row.pop(at):
                    row[name] = f"管理员{row[tg]}"
        elif spec["name"] == "matters":
            spec, lat = without(spec, "light")
            matters = [r[:lat] + r[lat + 1:] for r in matters]
        elif spec["name"] == "offices":
            spec, pat = without(spec, "parent_id")
            offices = [r[:pat] + r[pat + 1:] for r in offices]
        tables.append(spec)
    old = _rewrite(tmp_path / "b.duban", tmp_path / "old.duban",
                   {**manifest, "revision": "0003", "tables": tables},
                   members={"tables/persons.jsonl": "".join(
                                json.dumps(r, ensure_ascii=False) + "\n" for r in people).encode(),
                            "tables/matters.jsonl": "".join(
                                json.dumps(r) + "\n" for r in matters).encode(),
                            "tables/offices.jsonl": "".join(
                                json.dumps(r, ensure_ascii=False) + "\n"
                                for r in offices).encode()})
    target = url_for(tmp_path / "restored.db")
    info = await restore(target, old)
    assert info.revision == "0003" and info.counts["matters"] == 7
    engine = make_engine(target)
    try:
        from storage.db import check_schema
        await check_schema(engine)   # at head now

        def unlit_rows(found: dict[str, list[tuple[Any, ...]]]) -> dict[str, Any]:
            # the upgrade leaves every light green; the bot recounts them when it starts
            return {**found, "matters": [r[:-1] for r in found["matters"]]}
        restored, seeded = await _rows(engine), await _rows(seed.engine)
        assert all(restored.pop(name) == [] for name in newer)
        assert unlit_rows(restored) == unlit_rows(
            {k: v for k, v in seeded.items() if k not in newer})
        assert {r[-1] for r in restored["matters"]} == {"green"}
    finally:
        await engine.dispose()
