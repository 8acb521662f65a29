"""Progress reports through the real bot: `python -m bench.updates [--quick]`.

The whole bot (real handlers, real SQLite ledger of 100,000 matters, python-telegram-bot's
HTTP stack, long polling) on the local Bot API server, flood limits off (we measure the
bot, not Telegram's pacing). A handler on a phone replies to assignment cards with progress;
every reply is looked up, permission-checked, written to the ledger as an event, confirmed in
one line, and queued for the office's group (sent at the group's pace, not timed here).

Beside it, in the same run and on the same sandbox, a bare python-telegram-bot echo bot
answers the same number of messages (`bare_rate_msg_s`; `ratio` is against it), and so
does the same echo bot on the 督办 bot's HTTP transport, aiohttp
(`echo_aiohttp_rate_msg_s`, `ratio_same_transport`). Each bot gets the reports twice: all at once
(throughput: `rate_msg_s`, `bare_rate_msg_s`, `ratio`), then, 2 s later, a quarter as many at a
steady 100 a second (latency, update picked up → handlers finished: `p50_ms`, `p99_ms`). Under
the flood the 督办 bot works on up to 64 updates at once, so there its latency is mostly
waiting behind the others; it is printed too (`flood_p50_ms`, `flood_p99_ms`).

Also printed: the write transactions handling made per report (`tx_per_report` at the
steady rate, `flood_tx_per_report` under the flood, where reports share batches; the
inbox's store of each getUpdates batch is not counted), the event loop's worst stall
while the 督办 bot handled them (`loop_lag_max_ms`, `flood_loop_lag_max_ms`), and the
machine (`commit`, `cpus`, `load_avg`; bench.machine).

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

from bench.machine import emit
from bot.harness import CountingApplication, Harness, running_bot
from bot.http import AiohttpRequest
from bot.inbox import DurableUpdateProcessor
from bot.serve import freeze_startup_heap
from ledger.clock import LOCAL_TZ, OffsetClock
from ledger.deadlines import MatterClass
from ledger.model import Matter, Source
from ledger.ports import Notice

START = datetime(2026, 11, 23, 9, 30, tzinfo=LOCAL_TZ)
BATCH = 5_000
CARDS = 200
# The latency phase: replies arriving steadily at this rate (a busy county morning is a
# few a second; Telegram lets a bot send 30 a second in all).
PACED_RATE = 100.0
SETTLE_S = 2.0
LAG_TICK_S = 0.005


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


async def wait_processed(app: CountingApplication, target: int, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while app.processed < target:
        if loop.time() > end:
            raise TimeoutError(f"bot handled {app.processed} of {target} updates")
        app.idle.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(app.idle.wait(), 0.5)


async def seed_ledger(h: Harness, n: int) -> None:
    """n matters led by 城关镇 with the sample county's people, inserted in bulk."""
    now = h.clock.now()
    ids, town = h.ids, h.units["城关镇"]
    seq = 0
    while seq < n:
        batch: list[Matter] = []
        for _ in range(min(BATCH, n - seq)):
            seq += 1
            m = Matter.register(
                office_id=h.county.office_id, year=2026, seq=seq, prefix="示督",
                title=f"压测事项{seq}", body="", source=Source.COUNTY_DECISION,
                klass=MatterClass.NORMAL, confidential=False, tags=(), received_at=now,
                at=now, actor_id=ids["admin"], instruction_text=None,
                instruction_author=None, deadline=None)
            m.assign(at=now, actor_id=ids["admin"], unit_id=town, lead=True,
                     principal_id=ids["town_principal"], responsible_id=ids["town_resp"],
                     handler_id=ids["town_handler"], deadline=START.date() + timedelta(days=20))
            batch.append(m)
        async with h.deps.uow() as u:
            await u.matters.add_many(batch)
            await u.commit()


async def send_cards(h: Harness, count: int) -> list[Any]:
    """The bot sends `count` assignment cards to the handler, as after a real assignment."""
    async with h.deps.uow() as u:
        for matter_id in range(1, count + 1):
            await u.outbox.add(Notice(
                key=f"bench-card:{matter_id}", office_id=h.county.office_id,
                kind="assignment", due_at=h.clock.now(), person_id=h.ids["town_handler"],
                matter_id=matter_id, assignment_no=1))
        await u.commit()
    await h.deliver()
    cards = [r for r in h.server.sent_messages(h.people["town_handler"]) if r.buttons]
    assert len(cards) >= count, f"only {len(cards)} cards arrived"
    return cards[-count:]


async def paced(send: Callable[[int], Awaitable[Any]], n: int, rate: float) -> None:
    """Send n messages at a steady `rate` a second (people on phones, not a flood)."""
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    for i in range(n):
        delay = t0 + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        await send(i)


class LoopLag:
    """The event loop's worst stall while it runs: a task asks to wake every LAG_TICK_S and
    records how late it woke (what every chat waits when a handler blocks the loop)."""

    def __init__(self) -> None:
        self.max_s = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            t = loop.time()
            await asyncio.sleep(LAG_TICK_S)
            self.max_s = max(self.max_s, loop.time() - t - LAG_TICK_S)

    def start(self) -> None:
        self.max_s = 0.0
        self._task = asyncio.create_task(self._watch())

    async def stop(self) -> float:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        return self.max_s


async def measure(app: CountingApplication, send: Callable[[int], Awaitable[Any]],
                  reports: int, paced_reports: int,
                  writes: Callable[[], int] = lambda: 0) -> dict[str, float]:
    """Throughput: `reports` sent at once, until all are handled. Latency (update picked up
    → handlers finished): under that flood, where it is mostly waiting behind the others,
    and with `paced_reports` sent at PACED_RATE a second. `writes`: the write transactions
    made so far by handling (for the transactions per report of each phase)."""
    lag = LoopLag()
    lag.start()
    before, target = len(app.durations), app.processed + reports
    w0 = writes()
    t0 = time.perf_counter()
    for i in range(reports):
        await send(i)
    await wait_processed(app, target, max(120.0, reports * 0.2))
    elapsed = time.perf_counter() - t0
    flood = app.durations[before:]
    flood_tx = (writes() - w0) / reports
    flood_lag = await lag.stop()
    # Steady state, not the flood's aftermath (its feed lines and re-planning).
    await asyncio.sleep(SETTLE_S)
    lag.start()
    before, target = len(app.durations), app.processed + paced_reports
    w0 = writes()
    await paced(lambda i: send(reports + i), paced_reports, PACED_RATE)
    await wait_processed(app, target, max(120.0, paced_reports * 0.2))
    steady = app.durations[before:]
    steady_tx = (writes() - w0) / paced_reports
    steady_lag = await lag.stop()
    return {"rate": reports / elapsed, "seconds": elapsed,
            "p50": percentile(steady, 50) * 1000, "p99": percentile(steady, 99) * 1000,
            "flood_p50": percentile(flood, 50) * 1000, "flood_p99": percentile(flood, 99) * 1000,
            "tx": steady_tx, "flood_tx": flood_tx, "lag": steady_lag * 1000,
            "flood_lag": flood_lag * 1000}


async def measure_duban(h: Harness, reports: int, paced_reports: int,
                        cards: list[Any]) -> dict[str, float]:
    app = h.app
    assert isinstance(app, CountingApplication)
    person = h.people["town_handler"]
    await h.settle(timeout=120)

    async def send(i: int) -> None:
        await person.reply(cards[i % len(cards)], f"第{i}次进展：完成入户摸底{i % 97}户")

    # The write transactions of handling: recorded reports (with their confirmations'
    # refs and done marks), messages remembered apart, done marks of updates that changed
    # nothing. The inbox's store of each getUpdates batch is counted apart (`stores`).
    proc = app.update_processor
    durable = proc.intake if isinstance(proc, DurableUpdateProcessor) else None
    intake = h.deps.intake

    def writes() -> int:
        done = durable._done.batches if durable is not None else 0
        return intake.reports.batches + intake.remembers.batches + done

    # Until every report is handled and confirmed. The office-group feed lines they queue
    # go out through the outbox at the group's flood limit (20 a minute): not timed here.
    result = await measure(app, send, reports, paced_reports, writes)
    print(f"batched: {intake.reports.items} reports in {intake.reports.batches} "
          f"transactions, {intake.remembers.items} sent messages remembered in "
          f"{intake.remembers.batches}")
    confirmations = [r for r in h.server.sent_messages(person)
                     if (r.text or "").startswith("已记入台账")]
    total = reports + paced_reports
    assert len(confirmations) >= total, f"{len(confirmations)} of {total} confirmed"
    return result


async def measure_echo(h: Harness, reports: int, paced_reports: int,
                       aiohttp: bool = False) -> dict[str, float]:
    """A bare echo bot on the same sandbox, same person, same number of messages. With
    `aiohttp`: on the 督办 bot's transport (bot.http) instead of PTB's default httpx."""
    token = h.server.create_bot(username="bare_echo_bot", first_name="回声")

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.text is not None
        await update.message.reply_text(update.message.text)

    builder: Any = (ApplicationBuilder().application_class(CountingApplication).token(token)
                    .base_url(f"{h.root}/bot").base_file_url(f"{h.root}/file/bot"))
    if aiohttp:
        builder = (builder.request(AiohttpRequest(connections=16))
                   .get_updates_request(AiohttpRequest(connections=1, read_timeout=40.0)))
    app = builder.build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    await app.initialize()
    await app.start()
    await app.updater.start_polling(poll_interval=0.0, timeout=10)
    person = h.people["dept_handler"]

    async def send(i: int) -> None:
        await person.send(f"第{i}次进展：完成入户摸底{i % 97}户", bot=token)

    try:
        return await measure(app, send, reports, paced_reports)
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


def report(name: str, r: dict[str, float]) -> None:
    print(f"{name}: {r['rate']:.0f} msg/s flooded (p50 {r['flood_p50']:.1f} ms, "
          f"p99 {r['flood_p99']:.1f} ms); at {PACED_RATE:.0f} msg/s p50 {r['p50']:.2f} ms, "
          f"p99 {r['p99']:.2f} ms")


async def run(matters: int, reports: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-updates-") as tmp:
        # Neither bot paces its sends (the sandbox's flood limits are off too): the
        # comparison is the cost of handling a report against the cost of an echo.
        async with running_bot(Path(tmp), clock=OffsetClock.starting_at(START), rate_limited=False) as h:
            t0 = time.perf_counter()
            await seed_ledger(h, matters)
            seed_s = time.perf_counter() - t0
            print(f"ledger: {matters} matters seeded in {seed_s:.1f} s")
            cards = await send_cards(h, min(CARDS, matters))
            freeze_startup_heap()  # as `duban run` does once it has started
            # Echo first: the duban run then cannot be helped by a warmed-up echo path.
            paced_reports = max(100, reports // 4)
            bare = await measure_echo(h, reports, paced_reports)
            report("bare echo bot", bare)
            same = await measure_echo(h, reports, paced_reports, aiohttp=True)
            report("echo, aiohttp", same)
            duban = await measure_duban(h, reports, paced_reports, cards)
            report("督办 bot     ", duban)
    return {
        "matters": matters, "reports": reports,
        "rate_msg_s": round(duban["rate"], 1), "bare_rate_msg_s": round(bare["rate"], 1),
        "ratio": round(duban["rate"] / bare["rate"], 3),
        "p50_ms": round(duban["p50"], 2), "p99_ms": round(duban["p99"], 2),
        "paced_rate_msg_s": PACED_RATE,
        "flood_p50_ms": round(duban["flood_p50"], 2),
        "flood_p99_ms": round(duban["flood_p99"], 2),
        "bare_p50_ms": round(bare["p50"], 2), "bare_p99_ms": round(bare["p99"], 2),
        "bare_flood_p99_ms": round(bare["flood_p99"], 2),
        # The same echo bot on the 督办 bot's transport (aiohttp), for transparency: part
        # of the 督办 bot's speed is its HTTP client, not its handling.
        "echo_aiohttp_rate_msg_s": round(same["rate"], 1),
        "ratio_same_transport": round(duban["rate"] / same["rate"], 3),
        "seed_s": round(seed_s, 1),
        # Write transactions of handling per report, at the steady rate (each report its
        # own) and under the flood (reports share batches).
        "tx_per_report": round(duban["tx"], 3),
        "flood_tx_per_report": round(duban["flood_tx"], 3),
        # The event loop's worst stall while the 督办 bot handled the steady reports, and
        # under the flood.
        "loop_lag_max_ms": round(duban["lag"], 1),
        "flood_loop_lag_max_ms": round(duban["flood_lag"], 1),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="2,000 matters, 300 reports")
    p.add_argument("--matters", type=int, default=None)
    p.add_argument("--reports", type=int, default=None)
    a = p.parse_args()
    matters = a.matters or (2_000 if a.quick else 100_000)
    reports = a.reports or (300 if a.quick else 2_000)
    emit(asyncio.run(run(matters, reports)))


if __name__ == "__main__":
    main()
