"""The reminder planner's work per timer pass: `python -m bench.planner [--quick]`.

An idle county (no one changes anything) of N open matters — 10,000 and 100,000 (--quick:
10,000) — with deadlines from 5 working days overdue to 30 ahead and 3% urgent
(bench.reminders' spread), on a real SQLite file. The scheduler's planning pass runs as
its timer would, once a minute through a working-day afternoon hour (14:01–14:59 local,
59 passes after the first sweep at 14:00), then once at the next morning's send moment.

Per size: `idle_pass_ms` (median) and `idle_pass_max_ms`, `idle_rows` (assignments read by
a pass, median: none, nothing changes), `idle_sweeps` (passes among them that read
everything: none expected within the hour), `sweep_s` (a full sweep of every open assignment, in
pages, planned in a thread), `loop_lag_max_ms` (the event loop's worst stall over the idle
passes) and `sweep_loop_lag_max_ms` (over the morning sweep). The last line printed is one
JSON object, with the machine (bench.machine).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.machine import emit
from bench.reminders import add_matters, local, open_db, realistic_specs, seed_people
from bench.updates import LoopLag
from bot.config import ReminderPolicy
from bot.serve import freeze_startup_heap
from ledger.clock import FixedClock
from ledger.ports import Notice
from ledger.workcalendar import WorkCalendar
from reminders.scheduler import ReminderService, Settings

AFTERNOON = local(2026, 11, 10, 14, 0)    # Tuesday
MORNING = local(2026, 11, 11, 9, 0)       # Wednesday's send moment
PASSES = 59


class NoSender:
    async def send(self, notice: Notice) -> None:
        return None


async def one_size(n: int, workdir: Path) -> dict[str, Any]:
    cal = WorkCalendar()
    engine, uow = await open_db(workdir / f"planner-{n}.db")
    try:
        t = time.perf_counter()
        county = await seed_people(uow, 3_000)
        await add_matters(uow, county, realistic_specs(county, n, AFTERNOON, cal,
                                                       random.Random(15)))
        seed_s = time.perf_counter() - t
        clock = FixedClock(AFTERNOON)
        service = ReminderService(uow, clock, cal, ReminderPolicy(), NoSender(),
                                  Settings(limits=None))
        first = await service.plan_pass()
        freeze_startup_heap()  # as `duban run` does once it has started
        seconds: list[float] = []
        rows: list[int] = []
        sweeps = 0
        assert first.full
        lag = LoopLag()
        lag.start()
        for k in range(1, PASSES + 1):
            clock.set(AFTERNOON + timedelta(minutes=k))
            s = await service.plan_pass()
            seconds.append(s.seconds)
            rows.append(s.rows)
            sweeps += int(s.full)
        idle_lag = await lag.stop()
        clock.set(MORNING)
        lag.start()
        t = time.perf_counter()
        morning = await service.plan_pass()
        sweep_s = time.perf_counter() - t
        sweep_lag = await lag.stop()
        print(f"{n} matters: idle pass {statistics.median(seconds) * 1000:.1f} ms "
              f"(max {max(seconds) * 1000:.1f}), {statistics.median(rows):.0f} rows; "
              f"morning sweep {sweep_s:.2f} s over {morning.rows} rows")
        return {"matters": n, "open_assignments": first.rows,
                "idle_pass_ms": round(statistics.median(seconds) * 1000, 2),
                "idle_pass_max_ms": round(max(seconds) * 1000, 2),
                "idle_rows": statistics.median(rows), "idle_sweeps": sweeps,
                "sweep_s": round(sweep_s, 2), "sweep_rows": morning.rows,
                "sweep_queued": morning.queued,
                "loop_lag_max_ms": round(idle_lag * 1000, 1),
                "sweep_loop_lag_max_ms": round(sweep_lag * 1000, 1),
                "seed_s": round(seed_s, 1)}
    finally:
        await engine.dispose()


async def run(sizes: list[int]) -> dict[str, Any]:
    out: dict[str, Any] = {"passes": PASSES}
    with tempfile.TemporaryDirectory(prefix="bench-planner-") as tmp:
        for n in sizes:
            r = await one_size(n, Path(tmp))
            out[f"{n // 1000}k"] = r
    return out


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.planner",
                                description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="10,000 matters only")
    p.add_argument("--matters", type=int, nargs="*", default=None)
    a = p.parse_args()
    sizes = a.matters or ([10_000] if a.quick else [10_000, 100_000])
    emit(asyncio.run(run(sizes)))


if __name__ == "__main__":
    main()
