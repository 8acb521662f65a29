"""`duban web`: a read-only page listing the public matters (公示, §2.7) with search and
filters by unit and status, readable on a phone. It shows only what the policy says to
post: number, title, units, responsible person, handler, deadline, status, close date.
Confidential matters never appear (ledger.publicview)."""

from __future__ import annotations

from pathlib import Path

import jinja2
from aiohttp import web

from ledger.clock import Clock, cn_date, local_today
from ledger.model import MatterStatus
from ledger.offices import top_office
from ledger.ports import UnitOfWorkFactory
from ledger.publicview import PUBLIC_STATUSES, PublicFilter, public_rows
from presentation.labels import MATTER_STATUS_LABELS

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "web"
UOW_KEY = web.AppKey("uow", object)
_STATUS_ORDER = (MatterStatus.IN_PROGRESS, MatterStatus.COMPLETION_REQUESTED,
                 MatterStatus.CLOSED)


def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                             autoescape=jinja2.select_autoescape(["html", "j2"]),
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True)
    env.filters["cn_date"] = lambda d: cn_date(d) if d is not None else "—"
    env.globals["STATUS"] = MATTER_STATUS_LABELS
    return env


def make_app(uow: UnitOfWorkFactory, clock: Clock, title: str = "督查事项公示",
             office_id: int | None = None) -> web.Application:
    env = _env()
    page = env.get_template("public.html.j2")
    unavailable = env.get_template("unavailable.html.j2")

    async def index(request: web.Request) -> web.Response:
        q = request.query.get("q", "").strip()[:50]
        unit_raw = request.query.get("unit", "")
        status_raw = request.query.get("status", "")
        unit_id = int(unit_raw) if unit_raw.isdigit() else None
        status = next((s for s in PUBLIC_STATUSES if s.value == status_raw), None)
        oid = office_id
        if oid is None:
            async with uow() as u:
                offices = await u.people.offices()
            if not offices:
                return web.Response(text=unavailable.render(title=title), status=503,
                                    content_type="text/html", charset="utf-8")
            top = top_office(offices)  # the only office, or the top one (issue 16)
            assert top is not None
            oid = top.id
        rows, units = await public_rows(uow(), oid, PublicFilter(q, unit_id, status))
        html = page.render(title=title, rows=rows, units=units, q=q, unit_id=unit_id,
                           status=status.value if status else "",
                           statuses=[(s.value, MATTER_STATUS_LABELS[s]) for s in _STATUS_ORDER],
                           today=local_today(clock))
        return web.Response(text=html, content_type="text/html", charset="utf-8",
                            headers={"Cache-Control": "no-store",
                                     "X-Content-Type-Options": "nosniff",
                                     "Referrer-Policy": "no-referrer"})

    async def health(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app[UOW_KEY] = uow
    app.router.add_get("/", index)
    app.router.add_get("/healthz", health)
    return app


async def serve(uow: UnitOfWorkFactory, clock: Clock, host: str, port: int, title: str,
                ) -> web.AppRunner:
    """Start the page in the running loop (e.g. beside the bot); returns the runner to stop."""
    runner = web.AppRunner(make_app(uow, clock, title))
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
