"""No reply lost: the real `duban run` process against the sandbox, killed or stopped while a
burst of progress replies is being handled, then restarted. Every reply ends in the ledger
exactly once (durable intake: bot.inbox, storage.inbox).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Config
from bot.demo_county import PEOPLE, seed_sample_county
from bot.runner import make_deps, prepare_database
from ledger.model import Event
from ledger.ports import GroupChat
from sandbox.limits import FloodLimits
from sandbox.server import SandboxConfig, SandboxServer
from storage.inbox import counts
from storage.tables import events, outbox
from tests.dbs import url_for

ROOT = Path(__file__).resolve().parent.parent
REPORTERS = ("town_handler", "dept_handler", "town_resp", "dept_resp")


@dataclass
class County:
    server: SandboxServer
    token: str
    root: str
    url: str
    engine: AsyncEngine
    people: dict[str, Any]
    group: Any
    directory: Path


@asynccontextmanager
async def county(tmp_path: Path) -> AsyncIterator[County]:
    server = SandboxServer(SandboxConfig(flood=FloodLimits(enabled=True)))
    root = await server.start()
    token = server.create_bot(username="duban_crash_bot", first_name="督办助手")
    engine: AsyncEngine | None = None
    try:
        people = {key: server.person(first_name=name, username=f"u_{key}")
                  for key, (name, _, _) in PEOPLE.items()}
        url = url_for(tmp_path / "duban.db")
        engine = await prepare_database(url)
        deps = make_deps(Config(token=token, db=url), engine)
        c = await seed_sample_county(deps.uow, deps.clock, {k: p.id for k, p in people.items()})
        group = server.group(title="示例县督查工作群",
                             members=[people["admin"], people["leader"]])
        async with deps.uow() as u:
            await u.chats.bind(GroupChat(chat_id=group.id, office_id=c.office_id, unit_id=None,
                                         title="示例县督查工作群", bound_by=c.ids["admin"],
                                         bound_at=deps.clock.now()))
            await u.events.append(Event(kind="group_bound", at=deps.clock.now(),
                                        actor_id=c.ids["admin"], office_id=c.office_id,
                                        after={"chat_id": group.id, "unit_id": None}))
            await u.commit()
        yield County(server, token, root, url, engine, people, group, tmp_path)
    finally:
        if engine is not None:
            await engine.dispose()
        await server.stop()


async def start_bot(c: County) -> asyncio.subprocess.Process:
    # The bot runs on the real clock: no quiet hours and no rest days, so that its notices
    # go out whatever the hour and day the suite runs at.
    config = c.directory / "duban.toml"
    config.write_text('[reminders]\nquiet_start = "00:00"\nquiet_end = "00:00"\n'
                      "workdays_only = false\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DUBAN_TOKEN": c.token,
           "DUBAN_API_URL": c.root, "DUBAN_DB": c.url, "DUBAN_CONFIG": str(config)}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", cwd=c.directory,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env=env)


async def progress_texts(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(events.c.after).where(
            events.c.kind == "progress"))).all()
    return [str(r[0]["text"]) for r in rows]


async def inbox_counts(engine: AsyncEngine) -> tuple[int, int]:
    async with engine.connect() as conn:
        return await counts(conn)


async def wait_for(probe: Any, timeout: float, what: str) -> Any:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        got = await probe()
        if got:
            return got
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def cards(c: County, proc: asyncio.subprocess.Process) -> dict[str, list[dict[str, Any]]]:
    """Two matters registered by the admin; each reporter's card for each."""
    admin = c.people["admin"]
    for words in ("老旧小区改造 | 城关镇,县发改局 | 默认", "背街小巷整治 | 城关镇,县发改局 | 默认"):
        await admin.send(f"/new {words}")

    async def found() -> dict[str, list[dict[str, Any]]] | None:
        if proc.returncode is not None:
            raise AssertionError("the bot exited: " + (await proc.stderr.read()).decode()[-2000:]
                                 if proc.stderr else "")
        out = {k: [m for m in c.people[k].inbox() if m.get("reply_markup")] for k in REPORTERS}
        return out if all(len(v) >= 2 for v in out.values()) else None
    return await wait_for(found, 60, "the matters' cards")  # type: ignore[no-any-return]


async def burst(c: County, got: dict[str, list[dict[str, Any]]], rounds: int) -> list[str]:
    sent = []
    for i in range(rounds):
        for key in REPORTERS:
            for k, card in enumerate(got[key][:2]):
                words = f"{key}第{i}次进展{k}"
                await c.people[key].reply(card, words)
                sent.append(words)
    return sent


async def stop(proc: asyncio.subprocess.Process, bound: float = 15.0) -> tuple[int, float, str]:
    loop = asyncio.get_running_loop()
    started = loop.time()
    proc.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(proc.communicate(), bound + 5)
    return int(proc.returncode or 0), loop.time() - started, err.decode()


async def all_recorded(c: County, sent: list[str], timeout: float) -> None:
    async def done() -> bool:
        texts = await progress_texts(c.engine)
        stored, handled = await inbox_counts(c.engine)
        return len(texts) >= len(sent) and stored == handled
    await wait_for(done, timeout, "every reply recorded")


async def test_sigkill_mid_handling_then_restart_records_every_reply_once(
        tmp_path: Path) -> None:
    async with county(tmp_path) as c:
        proc = await start_bot(c)
        got = await cards(c, proc)
        sent = await burst(c, got, rounds=8)   # 4 people × 2 cards × 8 = 64 replies

        async def in_flight() -> bool:  # some replies recorded, many stored and not done
            stored, handled = await inbox_counts(c.engine)
            if stored - handled < 5 or stored < 20:
                return False
            return len(await progress_texts(c.engine)) >= 4
        await wait_for(in_flight, 30, "updates stored and in flight")
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        assert proc.returncode == -signal.SIGKILL
        # The kill landed mid-handling: updates stored (so confirmed to Telegram) but not done.
        stored, handled = await inbox_counts(c.engine)
        recorded = len(await progress_texts(c.engine))
        assert stored - handled > 0, (stored, handled)
        assert 0 < recorded < len(sent), recorded
        print(f"\nat the kill: {stored} stored, {handled} done, {recorded} of {len(sent)} "
              "recorded")

        proc = await start_bot(c)
        await all_recorded(c, sent, timeout=90)
        code, _took, err = await stop(proc)
        assert code == 0, err[-3000:]
        texts = Counter(await progress_texts(c.engine))
        assert set(texts) == set(sent)
        assert all(n == 1 for n in texts.values()), [t for t, n in texts.items() if n > 1]
        assert "Traceback" not in err, err[-3000:]


async def test_sigterm_with_a_paced_backlog_exits_0_in_time_and_loses_nothing(
        tmp_path: Path) -> None:
    async with county(tmp_path) as c:
        proc = await start_bot(c)
        got = await cards(c, proc)
        sent = await burst(c, got, rounds=6)   # 48 replies; the office group's feed is paced

        async def busy() -> bool:
            stored, handled = await inbox_counts(c.engine)
            return stored >= len(sent) // 2 and stored - handled >= 5
        await wait_for(busy, 30, "a backlog")
        code, took, err = await stop(proc)
        assert code == 0, err[-3000:]
        assert took < 15.0, took
        assert "Traceback" not in err, err[-3000:]
        stored, handled = await inbox_counts(c.engine)
        async with c.engine.connect() as conn:
            pending = len((await conn.execute(select(outbox.c.id).where(
                outbox.c.status == "pending", outbox.c.kind == "office_progress"))).all())
        print(f"\nSIGTERM: exit {code} after {took:.1f} s; {stored - handled} updates left "
              f"in the inbox, {pending} notices pending")

        proc = await start_bot(c)
        await all_recorded(c, sent, timeout=90)

        async def delivered() -> bool:
            async with c.engine.connect() as conn:
                left = (await conn.execute(select(outbox.c.id).where(
                    outbox.c.status == "pending", outbox.c.kind == "office_progress"))).all()
            return not left
        await wait_for(delivered, 90, "the outbox drained")
        code, _, err = await stop(proc)
        assert code == 0, err[-3000:]
        texts = Counter(await progress_texts(c.engine))
        assert set(texts) == set(sent)
        assert all(n == 1 for n in texts.values())
        feed = "\n".join(str(m.get("text") or "") for m in c.group.messages())
        missing = [w for w in sent if w not in feed]
        assert not missing, missing[:5]
