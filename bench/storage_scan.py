"""How long `open_assignments` takes over a county-sized ledger.

    .venv/bin/python -m bench.storage_scan [--matters 100000] [--db PATH]

Builds (or reuses) a SQLite file with N open matters, one assignment each, plus 10%
closed ones, every matter with a realistic snapshot; then times the reminder scan.
The last line printed is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from bench.machine import emit
from ledger.deadlines import MatterClass
from ledger.model import Matter, Source
from storage.db import make_engine, upgrade
from storage.matter_json import assignment_to_json, matter_to_json
from storage.tables import assignments, matters, offices, persons, units
from storage.uow import SqlUnitOfWork

T0 = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
BATCH = 5_000


def _template() -> Matter:
    m = Matter.register(
        office_id=1, year=2026, seq=1, prefix="督", title="城区老旧小区改造与雨污分流工程推进",
        body="按照县委常委会议定事项，完成城区老旧小区改造、雨污分流及配套道路建设。" * 3,
        source=Source.COUNTY_DECISION, klass=MatterClass.NORMAL, confidential=False,
        tags=("城建", "民生"), received_at=T0, at=T0, actor_id=1,
        instruction_text="请住建局牵头，按期完成。", instruction_author="县长",
        deadline=None)
    m.assign(at=T0, actor_id=1, unit_id=1, lead=True, principal_id=2, responsible_id=3,
             handler_id=4, deadline=date(2026, 4, 1))
    m.sign(at=T0, actor_id=3, no=1, committed=date(2026, 3, 30))
    m.report_progress(at=T0, actor_id=4, no=1, text="已完成施工图设计，正在招标。")
    return m


async def build(path: Path, n: int) -> None:
    await upgrade(str(path))
    engine = make_engine(str(path))
    async with engine.begin() as conn:
        if (await conn.execute(select(func.count()).select_from(matters))).scalar():
            await engine.dispose()
            return
        await conn.execute(insert(offices).values(id=1, name="某县督查室"))
        await conn.execute(insert(units).values(id=1, office_id=1, name="住建局"))
        for pid in (1, 2, 3, 4):
            await conn.execute(insert(persons).values(id=pid, office_id=1, name=f"p{pid}",
                                                      roles=["handler"]))
        tpl = _template()
        state = matter_to_json(tpl)
        a = tpl.assignments[0]
        total = n + n // 10
        for start in range(1, total + 1, BATCH):
            mrows: list[dict[str, Any]] = []
            arows: list[dict[str, Any]] = []
            for i in range(start, min(start + BATCH, total + 1)):
                closed = i > n
                s = dict(state, id=i, seq=i, number=f"督〔2026〕{i}号")
                aj = assignment_to_json(a)
                aj["status"] = "closed" if closed else "signed"
                s["assignments"] = [aj]
                s["closed_at"] = T0.isoformat() if closed else None
                mrows.append({
                    "id": i, "office_id": 1, "year": 2026, "seq": i, "number": s["number"],
                    "title": tpl.title, "status": "closed" if closed else "in_progress",
                    "confidential": i % 50 == 0, "klass": "normal",
                    "source": "county_decision", "registered_at": T0,
                    "closed_at": T0 if closed else None, "cancelled_at": None,
                    "paused": False, "version": tpl.version, "state": s})
                arows.append({
                    "matter_id": i, "no": 1, "office_id": 1, "klass": "normal",
                    "confidential": i % 50 == 0, "paused": False, "parent_no": None, "lead": True,
                    "unit_id": 1, "principal_id": 2, "responsible_id": 3, "handler_id": 4,
                    "status": aj["status"], "deadline": date(2026, 3, 2) + timedelta(i % 60),
                    "assigned_at": T0, "last_progress_at": T0 + timedelta(minutes=i % 1000),
                    "urge_limit": None, "urge_count": 0, "criticized": False})
            await conn.execute(insert(matters), mrows)
            await conn.execute(insert(assignments), arows)
    await engine.dispose()


async def measure(path: Path, rounds: int) -> dict[str, Any]:
    engine = make_engine(str(path))
    times = []
    rows = 0
    try:
        for _ in range(rounds):
            async with SqlUnitOfWork(engine, read_only=True) as uow:
                t = time.perf_counter()
                found = await uow.matters.open_assignments(1)
                times.append(time.perf_counter() - t)
                rows = len(found)
    finally:
        await engine.dispose()
    return {"bench": "storage_scan", "rows": rows, "rounds": rounds,
            "best_s": round(min(times), 4), "median_s": round(statistics.median(times), 4)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--matters", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--db", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "scan.db"
        t = time.perf_counter()
        await build(path, args.matters)
        built = time.perf_counter() - t
        result = await measure(path, args.rounds)
        result["db_mb"] = round(path.stat().st_size / 2**20, 1)
    result["build_s"] = round(built, 1)
    emit(result)


if __name__ == "__main__":
    asyncio.run(main())
