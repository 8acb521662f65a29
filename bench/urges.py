"""Automatic 催办 of many overdue assignments: `python -m bench.urges [--quick]`.

N matters (100,000; --quick 10,000), each with one assignment overdue by 8 working days and
never urged, on a real SQLite file. At 09:00 of a working day the reminder scheduler sweeps
them (`ReminderService.plan_pass`): it plans the day's reminders and escalates every one of
them (an `urged` event per assignment, notices to its principal and responsible person),
in batches (`ledger.usecases.accountability.ESCALATION_BATCH` to a transaction).

Figures: `urge_s` (the escalations alone), `pass_s` (the whole sweep: read, plan, escalate,
re-plan, queue), `urged` (events counted afterwards: must equal N), `loop_lag_max_ms` (the
event loop's worst stall during the sweep), `seed_s`. The last line printed is one JSON
object, with the machine (bench.machine).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.machine import emit
from bench.reminders import Spec, add_matters, local, open_db, seed_people
from bench.updates import LoopLag
from bot.config import ReminderPolicy
from bot.serve import freeze_startup_heap
from ledger.clock import FixedClock
from ledger.ports import Notice
from ledger.workcalendar import WorkCalendar
from reminders.planner import Escalation
from reminders.scheduler import ReminderService, Settings
from storage.tables import events

NOW = local(2026, 11, 10, 9, 0)          # Tuesday 09:00: the day's escalations open
DEADLINE = date(2026, 10, 29)            # 8 working days before


class NoSender:
    async def send(self, notice: Notice) -> None:  # the sweep only plans
        return None


async def run(n: int, workdir: Path) -> dict[str, Any]:
    cal = WorkCalendar()
    engine, uow = await open_db(workdir / "urges.db")
    try:
        t = time.perf_counter()
        county = await seed_people(uow, 3_000)
        p = county.persons
        assigned = local(2026, 10, 12, 10)
        specs = [Spec(assigned, DEADLINE, p[i % len(p)], p[(i + 1) % len(p)],
                      p[(i + 2) % len(p)]) for i in range(n)]
        await add_matters(uow, county, specs)
        seed_s = time.perf_counter() - t
        print(f"{n} overdue assignments seeded in {seed_s:.1f} s")
        service = ReminderService(uow, FixedClock(NOW), cal, ReminderPolicy(), NoSender(),
                                  Settings(limits=None))
        escalating = service._escalate
        spent: list[float] = []

        async def timed(found: Sequence[Escalation]) -> int:
            t0 = time.perf_counter()
            try:
                return await escalating(found)
            finally:
                spent.append(time.perf_counter() - t0)
        service._escalate = timed  # type: ignore[method-assign,assignment]
        freeze_startup_heap()  # as `duban run` does once it has started
        lag = LoopLag()
        lag.start()
        t = time.perf_counter()
        stats = await service.plan_pass(full=True)
        pass_s = time.perf_counter() - t
        lag_ms = await lag.stop() * 1000
        async with engine.connect() as conn:
            urged = int((await conn.execute(select(func.count()).select_from(events).where(
                events.c.kind == "urged"))).scalar() or 0)
        return {"assignments": n, "urge_s": round(sum(spent), 2), "pass_s": round(pass_s, 2),
                "urged": urged, "escalations": stats.escalations, "queued": stats.queued,
                "loop_lag_max_ms": round(lag_ms, 1), "seed_s": round(seed_s, 1),
                "target_urge_s<=60": n < 100_000 or sum(spent) <= 60}
    finally:
        await engine.dispose()


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.urges",
                                description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="10,000 assignments")
    p.add_argument("--assignments", type=int, default=None)
    a = p.parse_args()
    n = a.assignments or (10_000 if a.quick else 100_000)
    with tempfile.TemporaryDirectory(prefix="bench-urges-") as tmp:
        result = asyncio.run(run(n, Path(tmp)))
    print(f"{result['urged']} 件自动催办：{result['urge_s']} 秒（整轮 {result['pass_s']} 秒）")
    emit(result)


if __name__ == "__main__":
    main()
