"""How long the Excel ledger takes: export of N matters (with their whole history) to .xlsx,
and import of that file into a fresh database.

    .venv/bin/python -m bench.excel [--matters 100000] [--quick]

Target: under 30 s each for 100,000 matters. `--quick`: 2,000 matters. The ledger is the
synthetic one of bench.bulletins; its build is not timed. The last line printed is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from bench.bulletins import AS_OF, people_world, synthetic_ledger
from bench.machine import emit
from ledger.clock import FixedClock
from ledger.ports import MatterQuery
from ledger.reporting import import_ledger
from ledger.workcalendar import WorkCalendar
from reports.excel import export_ledger, import_ledger_file, read_ledger_rows
from storage.db import make_engine, upgrade
from storage.uow import uow_factory


async def run(n: int) -> dict[str, float | int]:
    cal = WorkCalendar()
    clock = FixedClock(AS_OF)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        ledger = await synthetic_ledger(Path(tmp) / "source.db", n)
        seed_s = time.perf_counter() - t
        xlsx = Path(tmp) / "台账.xlsx"
        engine = make_engine(str(ledger.path))
        try:
            t0 = time.perf_counter()
            stats = await export_ledger(uow_factory(engine, read_only=True)(), clock, cal,
                                        ledger.office_id, xlsx)
            export_s = time.perf_counter() - t0
        finally:
            await engine.dispose()
        size = xlsx.stat().st_size

        fresh = Path(tmp) / "fresh.db"
        await upgrade(str(fresh))
        engine = make_engine(str(fresh))
        try:
            uow = uow_factory(engine)
            _, admin, _, _ = await people_world(uow, clock)
            t1 = time.perf_counter()
            rows, errors = read_ledger_rows(xlsx)      # = import_ledger_file, in two timed steps
            read_s = time.perf_counter() - t1
            t_add = time.perf_counter()
            result = await import_ledger(uow(), clock, cal, admin, rows, errors, xlsx.name)
            import_s = time.perf_counter() - t1
            check_and_store_s = time.perf_counter() - t_add
            async with uow() as u:
                stored = await u.matters.count(MatterQuery(office_id=1))
            t2 = time.perf_counter()
            again = await import_ledger_file(uow(), clock, cal, admin, xlsx)
            reimport_s = time.perf_counter() - t2
        finally:
            await engine.dispose()
    assert stored == n == len(result.created), (stored, n, len(result.created))
    assert not again.created and len(again.skipped) == n
    return {"matters": n, "export_s": round(export_s, 2), "import_s": round(import_s, 2),
            "import_read_s": round(read_s, 2), "import_check_and_store_s": round(check_and_store_s, 2),
            "reimport_noop_s": round(reimport_s, 2), "events_exported": stats.events,
            "xlsx_mb": round(size / 2**20, 1), "seed_s": round(seed_s, 1)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--matters", type=int, default=100_000)
    p.add_argument("--quick", action="store_true", help="2,000 matters")
    args = p.parse_args()
    result = asyncio.run(run(2_000 if args.quick else args.matters))
    print(f"{result['matters']} 件事项：导出 {result['export_s']} 秒，导入 {result['import_s']} 秒")
    emit(result)


if __name__ == "__main__":
    main()
