"""Lists and big documents at scale: /list, /list 红灯 and /mine at 10k, 100k and 1M
matters (the handlers' own page functions, without Telegram), whether their counts are
right, the nightly light recount, the reminder planner's full read, the event loop's
worst stall meanwhile, peak RSS; and at 100k the Excel export and import.

    .venv/bin/python -m bench.scale [--quick]      # --quick: 10k and 100k

Targets (issue 15): each list ≤ 200 ms at 1M with correct counts, /mine ≤ 3 messages,
loop stall ≤ 100 ms, Excel export and import of 100k ≤ 30 s and ≤ 500 MB peak RSS.
The ledgers are bench.bulletins' synthetic ones; building them is not timed. The last line
printed is one JSON object (with the commit, the CPU count and the load average: the
figures mean little on a busy machine).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from bench.bulletins import AS_OF, people_world, synthetic_ledger
from bot.config import Config
from handlers.deps import Deps
from handlers.views import list_page, mine_page
from ledger.clock import FixedClock, local_today
from ledger.lights import LightPolicy, LightStamp, standing_of
from ledger.model import Light, MatterStatus
from ledger.ports import MatterQuery
from ledger.usecases import reading
from ledger.workcalendar import WorkCalendar
from presentation.render import Renderer
from reports.excel import export_ledger, import_ledger_file
from storage.db import make_engine, upgrade
from storage.uow import uow_factory

T = TypeVar("T")
OPEN = frozenset({MatterStatus.REGISTERED, MatterStatus.IN_PROGRESS,
                  MatterStatus.COMPLETION_REQUESTED})


def rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


class LoopLag:
    """The worst lateness of a 10 ms timer while work runs: how long chats would wait."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            t = loop.time()
            await asyncio.sleep(0.01)
            self.worst = max(self.worst, loop.time() - t - 0.01)

    def __enter__(self) -> LoopLag:
        self._task = asyncio.get_running_loop().create_task(self._watch())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()

    @property
    def ms(self) -> float:
        return round(self.worst * 1000, 1)


async def timed(work: Callable[[], Awaitable[T]], runs: int = 3) -> tuple[T, float]:
    """The result and the best of `runs` wall times (ms)."""
    best, out = float("inf"), None
    for _ in range(runs):
        t = time.perf_counter()
        out = await work()
        best = min(best, time.perf_counter() - t)
    assert out is not None
    return out, round(best * 1000, 1)


async def one_size(n: int, tmp: Path, excel: bool) -> dict[str, Any]:
    cal, clock, policy = WorkCalendar(), FixedClock(AS_OF), LightPolicy()
    ledger = await synthetic_ledger(tmp / f"scale{n}.db", n)
    # As the bot does once started (bot/app.py): what is alive now stays, and the cyclic
    # GC's full collections (which hold the GIL, stalling the loop) need not walk it again.
    gc.collect()
    gc.freeze()
    engine = make_engine(str(ledger.path))
    out: dict[str, Any] = {"matters": n}
    try:
        stamp = LightStamp(cal, clock, policy)
        uow = uow_factory(engine, lights=stamp)
        read = uow_factory(engine, read_only=True, lights=stamp)
        deps = Deps(uow=uow, read=read,
                    clock=clock, cal=cal, config=Config(), render=Renderer(),
                    light_policy=policy)
        with LoopLag() as lag:
            t = time.perf_counter()
            await reading.recount_lights(uow)   # the seed's lights, on the bench's clock
            out["recount_s"] = round(time.perf_counter() - t, 2)
            out["recount_loop_lag_max_ms"] = lag.ms
        async with uow() as u:
            admin = await u.people.get_person(ledger.admin)
            rows = await u.matters.open_assignments(ledger.office_id)
            # the busiest handler, for /mine
            busiest = Counter(r.handler_id for r in rows).most_common(1)
            handler = await u.people.get_person(busiest[0][0]) if busiest else admin
        # The counts' truth, recounted here from the flat rows, not read from the column.
        today = local_today(clock)
        worst: dict[int, Light] = {}
        order = {Light.GREEN: 0, Light.YELLOW: 1, Light.RED: 2}
        for r in rows:
            s = standing_of(True, r.deadline, r.last_progress_at or r.assigned_at, cal, today,
                            policy)
            light = {"overdue": Light.RED, "due_soon": Light.YELLOW,
                     "stagnant": Light.YELLOW}.get(s.value, Light.GREEN)
            if order[light] > order[worst.get(r.matter_id, Light.GREEN)]:
                worst[r.matter_id] = light
        truth = Counter(worst.values())
        async with uow() as u:
            open_total = await u.matters.count(MatterQuery(
                office_id=ledger.office_id, statuses=OPEN))
        with LoopLag() as lag:
            (text_all, _), out["list_ms"] = await timed(
                lambda: list_page(deps, admin, "a", "在办", 0, False))
            (text_red, _), out["list_red_ms"] = await timed(
                lambda: list_page(deps, admin, "r", "红灯", 0, False))
            (_, _), out["list_red_last_page_ms"] = await timed(
                lambda: list_page(deps, admin, "r", "红灯", 10**6, False))
            (_, _), out["list_yellow_ms"] = await timed(
                lambda: list_page(deps, admin, "y", "黄灯", 0, False))
            (_, _, _, work), out["mine_ms"] = await timed(
                lambda: mine_page(deps, handler, 0, False))
            out["lists_loop_lag_max_ms"] = lag.ms
        out["mine_messages"] = 1  # mine_page is the one message /mine sends
        out["mine_work"] = work.total
        out["red"] = truth[Light.RED]
        out["list_count_ok"] = f"共 {open_total} 件" in text_all
        out["red_count_ok"] = f"共 {truth[Light.RED]} 件" in text_red
        with LoopLag() as lag:
            t = time.perf_counter()
            async with read() as u:   # what a full planner pass reads (i15-hotpath)
                await u.matters.open_assignments()
            out["planner_scan_ms"] = round((time.perf_counter() - t) * 1000, 1)
            out["planner_scan_loop_lag_max_ms"] = lag.ms
        if excel:
            xlsx = tmp / f"scale{n}.xlsx"
            with LoopLag() as lag:
                t = time.perf_counter()
                await export_ledger(read(), clock, cal, ledger.office_id, xlsx)
                out["export_s"] = round(time.perf_counter() - t, 2)
                out["export_loop_lag_max_ms"] = lag.ms
            out["rss_after_export_mb"] = rss_mb()
            fresh = tmp / f"fresh{n}.db"
            await upgrade(str(fresh))
            engine2 = make_engine(str(fresh))
            try:
                uow2 = uow_factory(engine2, lights=stamp)
                _, admin2, _, _ = await people_world(uow2, clock)
                with LoopLag() as lag:
                    t = time.perf_counter()
                    result = await import_ledger_file(uow2(), clock, cal, admin2, xlsx)
                    out["import_s"] = round(time.perf_counter() - t, 2)
                    out["import_loop_lag_max_ms"] = lag.ms
                out["import_ok"] = len(result.created) == n
            finally:
                await engine2.dispose()
            out["rss_after_import_mb"] = rss_mb()
    finally:
        await engine.dispose()
    out["peak_rss_mb"] = rss_mb()
    return out


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


async def run(sizes: list[int], excel_at: int) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            r = await one_size(n, Path(tmp), excel=n == excel_at)
            print(json.dumps(r, ensure_ascii=False), flush=True)
            assert r["list_count_ok"] and r["red_count_ok"], r
            key = f"{n // 1000}k" if n < 1_000_000 else f"{n // 1_000_000}M"
            figures.update({f"{k}_{key}": v for k, v in r.items() if k != "matters"})
    return figures


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--quick", action="store_true", help="10k and 100k matters")
    p.add_argument("--sizes", type=int, nargs="*", help="other sizes (the last gets Excel)")
    args = p.parse_args()
    sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
    sizes = args.sizes or sizes
    figures = asyncio.run(run(sizes, excel_at=100_000 if not args.sizes else sizes[-1]))
    figures.update({"commit": _commit(), "cpus": os.cpu_count(),
                    "load_avg": [round(x, 2) for x in os.getloadavg()]})
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
