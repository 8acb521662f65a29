"""The public page in headless Chromium, at a phone's width: `python -m bot.screenshot
docs/public_page.png`. Seeds the sample county (示例县, demo data) in a temporary ledger,
serves the page on a free local port and has Chromium take the screenshot.

Chromium comes from Debian's `chromium` package (`apt-get install -y chromium`)."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from bot.demo_county import seed_sample_county
from bot.runner import prepare_database
from ledger.clock import FixedClock
from ledger.ports import UnitOfWorkFactory
from ledger.usecases.closing import close_matter, request_completion
from ledger.usecases.ledger_mgmt import AssignSpec, RegisterMatter, assign, register_matter
from ledger.usecases.special import set_priority
from ledger.workcalendar import WorkCalendar
from public.web import make_app
from storage.uow import uow_factory

# Monday 2026-11-23, 09:00 in Shanghai, as in the demo.
START = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
PHONE = (412, 1240)
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


async def seed_sample(uow: UnitOfWorkFactory, clock: FixedClock, cal: WorkCalendar) -> None:
    """A few matters: in progress, flagged, awaiting review, closed, and one confidential
    (which must not show)."""
    county = await seed_sample_county(uow, clock, {})
    ids, units = county.ids, county.units
    teams = {
        "城关镇": AssignSpec(units["城关镇"], ids["town_principal"], ids["town_resp"],
                          ids["town_handler"]),
        "县发改局": AssignSpec(units["县发改局"], ids["dept_principal"], ids["dept_resp"],
                           ids["dept_handler"]),
        "县住建局": AssignSpec(units["县住建局"], ids["build_principal"], ids["build_resp"],
                           ids["build_handler"]),
    }
    admin = ids["admin"]

    async def new(title: str, unit_names: list[str], confidential: bool = False) -> int:
        m = await register_matter(uow(), clock, cal, admin,
                                  RegisterMatter(title=title, confidential=confidential))
        assert m.id is not None
        specs = [AssignSpec(**{**teams[n].__dict__, "lead": i == 0})
                 for i, n in enumerate(unit_names)]
        await assign(uow(), clock, cal, admin, m.id, specs)
        return m.id

    closed = await new("城关镇老旧小区外立面改造", ["城关镇", "县住建局"])
    await new("工业园区标准厂房二期建设", ["县发改局", "城关镇"])
    flagged = await new("宏达机械用电增容审批", ["县发改局"])
    await set_priority(uow(), clock, admin, flagged, True, "法人诉求优先满足")
    review = await new("城区主干道路灯维修", ["县住建局"])
    await new("信访积案化解（机密）", ["城关镇"], confidential=True)
    for mid, resp in ((closed, ids["town_resp"]), (review, ids["build_resp"])):
        await request_completion(uow(), clock, resp, mid, None, "已完成")
    await close_matter(uow(), clock, admin, closed, "审核通过")


async def take(output: Path, chromium: str) -> int:
    """Screenshot of the seeded page into `output` (an absolute path); 0 when written."""
    if not output.is_absolute():
        raise ValueError("take() needs an absolute output path")
    clock = FixedClock(START)
    cal = WorkCalendar.from_toml(None)
    with tempfile.TemporaryDirectory() as tmp:
        engine = await prepare_database(f"sqlite+aiosqlite:///{Path(tmp) / 'page.db'}")
        runner: web.AppRunner | None = None
        try:
            uow = uow_factory(engine)
            await seed_sample(uow, clock, cal)
            runner = web.AppRunner(make_app(uow, clock, "示例县督查事项公示（演示数据）"))
            await runner.setup()
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))  # a free port
            port = int(sock.getsockname()[1])
            await web.SockSite(runner, sock).start()
            await asyncio.to_thread(output.parent.mkdir, parents=True, exist_ok=True)
            proc = await asyncio.create_subprocess_exec(
                chromium, "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--hide-scrollbars",
                f"--user-data-dir={Path(tmp) / 'profile'}",
                f"--window-size={PHONE[0]},{PHONE[1]}",
                f"--screenshot={output}", f"http://127.0.0.1:{port}/",
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            _, err = await asyncio.wait_for(proc.communicate(), timeout=90)
            if proc.returncode != 0 or not await asyncio.to_thread(output.is_file):
                print(err.decode(errors="replace")[-2000:], file=sys.stderr)
                return 1
        finally:
            if runner is not None:
                await runner.cleanup()
            await engine.dispose()
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("output", type=Path, nargs="?", default=Path("docs/public_page.png"))
    args = p.parse_args(argv)
    chromium = find_chromium()
    if chromium is None:
        print("chromium not found: apt-get install -y chromium", file=sys.stderr)
        return 2
    code = asyncio.run(take(args.output.absolute(), chromium))
    if code == 0:
        print(f"wrote {args.output}")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
