"""How long the Excel ledger takes: export of N matters (with their whole history) to .xlsx,
and import of that file into a fresh database.

    .venv/bin/python -m bench.excel [--matters 100000] [--quick]

Target: under 30 s each for 100,000 matters, peak RSS ≤ 500 MB, nothing on the event loop
longer than 100 ms. `--quick`: 2,000 matters. The ledger is the synthetic one of
bench.bulletins; its build is not timed. Figures: `peak_rss_mb_after_seed`,
`…_after_export`, `…_after_import` (the process's peak so far: a phase raised it when it
grows), `export_loop_lag_max_ms` and `import_loop_lag_max_ms` (the worst event-loop stall
during the export and during the second import, which is the chat's path,
`import_ledger_file`). The last line printed is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
import time
from pathlib import Path

from bench.bulletins import AS_OF, people_world, synthetic_ledger
from bench.machine import emit
from bench.updates import LoopLag
from ledger.clock import FixedClock
from ledger.ports import MatterQuery
from ledger.reporting import import_ledger
from ledger.workcalendar import WorkCalendar
from reports.excel import export_ledger, import_ledger_file, read_ledger_rows
from storage.db import make_engine, upgrade
from storage.uow import uow_factory


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


async def run(n: int) -> dict[str, float | int]:
    cal = WorkCalendar()
    clock = FixedClock(AS_OF)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        ledger = await synthetic_ledger(Path(tmp) / "source.db", n)
        seed_s = time.perf_counter() - t
        rss_seed = peak_rss_mb()
        lag = LoopLag()
        xlsx = Path(tmp) / "台账.xlsx"
        engine = make_engine(str(ledger.path))
        try:
            t0 = time.perf_counter()
            lag.start()
            stats = await export_ledger(uow_factory(engine, read_only=True)(), clock, cal,
                                        ledger.office_id, xlsx)
            export_lag_ms = await lag.stop() * 1000
            export_s = time.perf_counter() - t0
        finally:
            await engine.dispose()
        size = xlsx.stat().st_size
        rss_export = peak_rss_mb()

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
            rss_import = peak_rss_mb()
            t2 = time.perf_counter()
            lag.start()
            again = await import_ledger_file(uow(), clock, cal, admin, xlsx)
            import_lag_ms = await lag.stop() * 1000
            reimport_s = time.perf_counter() - t2
        finally:
            await engine.dispose()
    assert stored == n == len(result.created), (stored, n, len(result.created))
    assert not again.created and len(again.skipped) == n
    return {"matters": n, "export_s": round(export_s, 2), "import_s": round(import_s, 2),
            "import_read_s": round(read_s, 2), "import_check_and_store_s": round(check_and_store_s, 2),
            "reimport_noop_s": round(reimport_s, 2), "events_exported": stats.events,
            "xlsx_mb": round(size / 2**20, 1), "seed_s": round(seed_s, 1),
            "peak_rss_mb_after_seed": rss_seed, "peak_rss_mb_after_export": rss_export,
            "peak_rss_mb_after_import": rss_import,
            "export_loop_lag_max_ms": round(export_lag_ms, 1),
            "import_loop_lag_max_ms": round(import_lag_ms, 1)}


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
