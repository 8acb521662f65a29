"""Bulletins end to end: build an issue from the ledger, render it as Telegram messages, a
chart and a .docx, and publish it (the number kept in the ledger).

    b = await build_bulletin(uow, clock, cal, office_id, BulletinKind.REGULAR)   # preview
    texts = render_bulletin_text(b)            # list of messages, each ≤ 4096
    png = bulletin_chart_png(b)
    doc = bulletin_document(b, cal)
    b, record, new = await publish(uow_factory, clock, cal, office_id, kind)  # numbered
"""

from __future__ import annotations

import asyncio
import functools
import re
from dataclasses import dataclass
from datetime import date, timedelta

from ledger.bulletins import (
    Bulletin,
    BulletinKind,
    Period,
    compute_bulletin,
    current_period,
    previous_period,
    rolls_up_children,
)
from ledger.clock import Clock, local_today
from ledger.errors import DomainError
from ledger.lights import LightPolicy
from ledger.ports import BulletinRecord, UnitOfWork, UnitOfWorkFactory
from ledger.reporting import load_snapshot, publish_bulletin
from ledger.workcalendar import WorkCalendar
from presentation.render import Renderer
from reports.chart import bulletin_chart_png
from reports.documents import bulletin_docx

__all__ = [
    "TELEGRAM_LIMIT",
    "BulletinFiles",
    "build_bulletin",
    "bulletin_chart_png",
    "bulletin_document",
    "publish",
    "render_bulletin_text",
    "render_files",
    "report_deadline",
    "split_text",
]

TELEGRAM_LIMIT = 4096
DETAIL_LIMIT = 30   # lines per list in a chat message; the .docx and the ledger have all
NUMERALS = [*"〇一二三四五六七八九十", "十一", "十二", "十三"]


async def build_bulletin(uow: UnitOfWork, clock: Clock, cal: WorkCalendar, office_id: int,
                         kind: BulletinKind, period: Period | None = None, *,
                         number: int | None = None, policy: LightPolicy | None = None,
                         ) -> Bulletin:
    """The issue of `kind` for `period` (default: the current period up to today), as of now.

    Its number is the one recorded for that period if it was published, else `number`,
    else the number the next issue would get, marked as a preview."""
    today = local_today(clock)
    period = period or current_period(kind, today)
    year = today.year
    policy = policy or LightPolicy()
    snap = await load_snapshot(uow, office_id, period.since, period.until, whole=False,
                               bulletin=(kind, period, year),
                               children=(cal, policy, today) if rolls_up_children(kind)
                               else None)
    preview = False
    if snap.record is not None:
        number, year = snap.record.number, snap.record.year
    elif number is None:
        assert snap.next_number is not None
        number, preview = snap.next_number, True
    # Seconds of counting at 100k matters: in a thread, so chats are answered meanwhile.
    return await asyncio.to_thread(functools.partial(
        compute_bulletin,
        kind=kind, matters=snap.matters, events=snap.events, units=snap.units, cal=cal,
        period=period, as_of=clock.now(), office_name=snap.office.name,
        doc_prefix=snap.office.doc_prefix, number=number, year=year, preview=preview,
        policy=policy, children=snap.children))


async def publish(uow: UnitOfWorkFactory, clock: Clock, cal: WorkCalendar, office_id: int,
                  kind: BulletinKind, period: Period | None = None, *,
                  actor_id: int | None = None, policy: LightPolicy | None = None,
                  ) -> tuple[Bulletin, BulletinRecord, bool]:
    """Number and record the issue for `period` (default: the last whole period), then build
    it. Running it again for the same period returns the same issue (and False)."""
    period = period or previous_period(kind, local_today(clock))
    record, new = await publish_bulletin(uow(), clock, office_id, kind, period, actor_id)
    b = await build_bulletin(uow(), clock, cal, office_id, kind, period,
                             number=record.number, policy=policy)
    return b, record, new


# ---------------------------------------------------------------- text


def _utf16_len(text: str) -> int:
    """Telegram counts UTF-16 code units (an emoji outside the BMP counts two)."""
    return len(text.encode("utf-16-le")) // 2


def _hard_split(line: str, limit: int) -> list[str]:
    out: list[str] = []
    cur = ""
    for ch in line:
        if _utf16_len(cur + ch) > limit:
            out.append(cur)
            cur = ""
        cur += ch
    if cur:
        out.append(cur)
    return out


def split_text(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Messages of at most `limit` UTF-16 units, cut only at line ends (a line longer than
    `limit` alone is cut inside). Prefers to cut at a blank line (a section break) when one
    is in the second half of a message. No message starts or ends with blank lines."""
    lines: list[str] = []
    for line in text.split("\n"):
        lines.extend(_hard_split(line, limit) if _utf16_len(line) > limit else [line])
    chunks: list[str] = []
    cur: list[str] = []
    size = 0
    for line in lines:
        add = _utf16_len(line) + (1 if cur else 0)
        if cur and size + add > limit:
            cut = len(cur)
            blanks = [i for i, x in enumerate(cur) if not x.strip()]
            if blanks and blanks[-1] >= len(cur) // 2:
                cut = blanks[-1]
            chunks.append("\n".join(cur[:cut]))
            cur = cur[cut:]
            while cur and not cur[0].strip():
                cur.pop(0)
            size = _utf16_len("\n".join(cur)) if cur else 0
            add = _utf16_len(line) + (1 if cur else 0)
        if not cur and not line.strip():
            continue
        cur.append(line)
        size += add
    if cur:
        chunks.append("\n".join(cur))
    return [c.strip("\n") for c in chunks if c.strip()]


_renderer: Renderer | None = None


def render_bulletin_text(b: Bulletin, renderer: Renderer | None = None, *,
                         limit: int = TELEGRAM_LIMIT, detail_limit: int = DETAIL_LIMIT,
                         ) -> list[str]:
    """The issue as chat messages (templates/bulletin_text.j2), each ≤ `limit`."""
    global _renderer
    if renderer is None:
        _renderer = _renderer or Renderer()
        renderer = _renderer
    text = renderer("bulletin_text.j2", b=b, limit=detail_limit, NUM=NUMERALS)
    text = re.sub(r"\n{3,}", "\n\n", re.sub(r"[ \t]+\n", "\n", text))
    return split_text(text, limit)


# ---------------------------------------------------------------- the document


def report_deadline(cal: WorkCalendar, issued_on: date, workdays: int = 5) -> date:
    """When criticized and overdue units must report back: `workdays` working days on
    (calendar days ×7/5 when the year's holidays are not known yet)."""
    try:
        return cal.add_workdays(issued_on, workdays)
    except DomainError:
        return issued_on + timedelta(days=(workdays * 7 + 4) // 5)


def bulletin_document(b: Bulletin, cal: WorkCalendar, *, recipients: str = "各乡镇，县直各部门",
                      report_workdays: int = 5, chart_png: bytes | None = None) -> bytes:
    """The issue as a .docx (GB/T 9704), with the report-back deadline filled in and the
    chart (`chart_png`) embedded."""
    return bulletin_docx(b, recipients=recipients,
                         deadline=report_deadline(cal, b.issued_on, report_workdays),
                         chart_png=chart_png)


@dataclass(frozen=True)
class BulletinFiles:
    texts: list[str]
    chart_png: bytes
    docx: bytes
    docx_name: str


def bulletin_files(b: Bulletin, cal: WorkCalendar, *, recipients: str = "各乡镇，县直各部门",
                   ) -> BulletinFiles:
    """Everything posted for one issue."""
    name = f"{b.info.label.strip('《》')}{b.issue}.docx"
    png = bulletin_chart_png(b)
    return BulletinFiles(render_bulletin_text(b), png,
                         bulletin_document(b, cal, recipients=recipients, chart_png=png), name)


async def render_files(b: Bulletin, cal: WorkCalendar, *, recipients: str = "各乡镇，县直各部门",
                       ) -> BulletinFiles:
    """`bulletin_files` in a thread: the chart and the .docx take a second or more, and the
    event loop answers every chat meanwhile."""
    return await asyncio.to_thread(functools.partial(bulletin_files, b, cal,
                                                     recipients=recipients))
