"""/bulletin (preview an issue with its chart and .docx), /export and /import (the Excel
ledger) and /appraisal (the year-end scores with their .xlsx)."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Callable, Sequence
from typing import Any

from telegram import Document, InputFile, Message, Update

from handlers.common import args_text, line, require_person, today
from handlers.deps import Ctx, Deps
from handlers.offices import CHILDREN_WORD
from handlers.progress import ChatProgress
from ledger import permissions as perm
from ledger.appraisal import FACTORS, Appraisal, Factor, OfficeScore
from ledger.bulletins import BulletinKind
from ledger.reporting import ImportRejected, ImportRow, RowError, import_ledger
from reports.appraisal import (
    build_appraisal,
    build_children_appraisal,
    write_appraisal,
    write_children_appraisal,
)
from reports.bulletin import build_bulletin, bulletin_files, split_text
from reports.excel import ExportFilter, export_ledger, read_ledger_rows

KINDS = {"督察": BulletinKind.REGULAR, "regular": BulletinKind.REGULAR,
         "专报": BulletinKind.PROJECT, "项目": BulletinKind.PROJECT,
         "project": BulletinKind.PROJECT, "季度": BulletinKind.QUARTERLY,
         "quarterly": BulletinKind.QUARTERLY, "领导": BulletinKind.LEADERS,
         "leaders": BulletinKind.LEADERS}


async def bulletin_command(update: Update, context: Ctx) -> None:
    """/bulletin [督察|专报|季度|领导]: this period's issue so far, as it would be posted."""
    deps = context.deps
    actor = await require_person(update, context)
    perm.require_office(actor)
    word = args_text(update).strip() or "督察"
    kind = KINDS.get(word)
    msg = update.effective_message
    assert msg is not None
    if kind is None:
        await msg.reply_text(line(deps, "bulletin_usage"), do_quote=False)
        return
    b = await build_bulletin(deps.uow(), deps.clock, deps.cal, actor.office_id, kind)
    # Chart and .docx are CPU work: keep the event loop free for other chats.
    files = await asyncio.to_thread(bulletin_files, b, deps.cal)
    for text in files.texts:
        await msg.reply_text(text, do_quote=False)
    await msg.reply_photo(files.chart_png, caption=line(deps, "bulletin_chart"), do_quote=False)
    await msg.reply_document(InputFile(io.BytesIO(files.docx), filename=files.docx_name),
                             do_quote=False)


async def export_command(update: Update, context: Ctx) -> None:
    """/export: the office's whole ledger as .xlsx (with the history sheet)."""
    deps = context.deps
    actor = await require_person(update, context)
    perm.require_office(actor)
    msg = update.effective_message
    assert msg is not None
    buf = io.BytesIO()
    progress = ChatProgress(msg, deps, "导出")
    stats = await export_ledger(deps.uow(), deps.clock, deps.cal, actor.office_id, buf,
                                ExportFilter(), actor_id=actor.id, progress=progress)
    await progress.finish()
    await msg.reply_document(InputFile(io.BytesIO(buf.getvalue()), filename="督查台账.xlsx"),
                             caption=line(deps, "exported", n=stats.matters, events=stats.events),
                             do_quote=False)


# ---------------------------------------------------------------- /import

IMPORT_MAX_BYTES = 20 * 2**20     # what the Bot API lets a bot download
IMPORT_CHUNKS_MAX = 3             # a longer error report goes as a .txt file
IMPORT_SHOWN = 30                 # errors quoted in the chat when the report is a file
IMPORT_SAY_WORKING = 2**20        # from this size on, say that the check is under way
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _text(deps: Deps, key: str, **values: Any) -> str:
    return deps.render("office_reports.j2", k=key, **values)


def _import_document(msg: Message) -> Document | None:
    """The document sent with the /import caption, or the one /import replies to."""
    if msg.document is not None:
        return msg.document
    replied = msg.reply_to_message
    return replied.document if replied is not None else None


def _read_upload(data: bytes, tick: Callable[[int], None] | None = None,
                 ) -> tuple[list[ImportRow], list[RowError]]:
    rows, errors = read_ledger_rows(io.BytesIO(data), progress=tick)
    if not rows and not errors:
        raise ImportRejected([RowError(0, "文件里没有事项。")])
    return rows, errors


async def import_command(update: Update, context: Ctx) -> None:
    """/import as the caption of an .xlsx (or in reply to one): check every row and import
    all of them, or none and a report of every bad row."""
    deps = context.deps
    actor = await require_person(update, context)
    perm.require_office(actor)
    msg = update.effective_message
    assert msg is not None
    doc = _import_document(msg)
    if doc is None:
        await msg.reply_text(_text(deps, "import_usage"), do_quote=False)
        return
    name = doc.file_name or "台账.xlsx"
    if not name.lower().endswith(".xlsx") and doc.mime_type != XLSX_MIME:
        await msg.reply_text(_text(deps, "import_not_xlsx", file=name), do_quote=False)
        return
    if doc.file_size is not None and doc.file_size > IMPORT_MAX_BYTES:
        await msg.reply_text(_text(deps, "import_too_large", mb=f"{doc.file_size / 2**20:.1f}",
                                   limit=IMPORT_MAX_BYTES // 2**20), do_quote=False)
        return
    if doc.file_size is not None and doc.file_size >= IMPORT_SAY_WORKING:
        await msg.reply_text(_text(deps, "import_working", file=name), do_quote=False)
    file = await context.bot.get_file(doc.file_id)
    data = bytes(await file.download_as_bytearray())
    if len(data) > IMPORT_MAX_BYTES:
        await msg.reply_text(_text(deps, "import_too_large", mb=f"{len(data) / 2**20:.1f}",
                                   limit=IMPORT_MAX_BYTES // 2**20), do_quote=False)
        return
    progress = ChatProgress(msg, deps, "导入")
    loop = asyncio.get_running_loop()
    pending: set[asyncio.Future[None]] = set()

    def tick(n: int) -> None:  # from the reading thread: the edit is the loop's to make
        def edit() -> None:
            task = asyncio.ensure_future(progress(n))
            pending.add(task)
            task.add_done_callback(pending.discard)
        loop.call_soon_threadsafe(edit)

    try:
        # Unzipping and parsing the sheet is CPU work: keep the event loop free.
        rows, errors = await asyncio.to_thread(_read_upload, data, tick)
        if pending:
            await asyncio.gather(*pending)
        await progress(len(rows), len(rows) + len(errors))
        result = await import_ledger(deps.uow(), deps.clock, deps.cal, actor.id, rows, errors,
                                     name)
    except ImportRejected as e:
        await progress.finish()
        await _send_import_errors(msg, deps, name, e.errors)
        return
    await progress.finish()
    await msg.reply_text(_text(deps, "import_done", r=result), do_quote=False)


async def _send_import_errors(msg: Message, deps: Deps, name: str,
                              errors: tuple[RowError, ...]) -> None:
    # Row 0 is the file as a whole (not a zip, no rows …): no 第0行 in front.
    lines = [e.message if e.row == 0 else str(e) for e in errors]
    chunks = split_text(_text(deps, "import_rejected", file=name, errors=lines))
    if len(chunks) <= IMPORT_CHUNKS_MAX:
        for chunk in chunks:
            await msg.reply_text(chunk, do_quote=False)
        return
    await msg.reply_text(split_text(_text(deps, "import_rejected_short", file=name, errors=lines,
                                          shown=lines[:IMPORT_SHOWN]))[0], do_quote=False)
    report = _text(deps, "import_report_file", file=name, errors=lines) + "\n"
    stem = re.sub(r"\.xlsx$", "", name, flags=re.IGNORECASE)
    # utf-8-sig: Notepad and WPS on older Windows then read the Chinese right.
    await msg.reply_document(InputFile(io.BytesIO(report.encode("utf-8-sig")),
                                       filename=f"{stem}-导入问题清单.txt"),
                             caption=_text(deps, "import_report_caption", n=len(lines)),
                             do_quote=False)


# ---------------------------------------------------------------- /appraisal

_YEAR_RE = re.compile(r"^(\d{4})\s*年?(度)?$")


def _appraisal_xlsx(a: Appraisal) -> bytes:
    buf = io.BytesIO()
    write_appraisal(a, buf)
    return buf.getvalue()


def _weights_line(a: Appraisal) -> list[str]:
    w = a.weights
    out = [f"基础分{w.base:g}"]
    for f in Factor:
        extra = f"（每项分工每年至多{w.overdue_cap_workdays}个）" if f is Factor.OVERDUE else ""
        out.append(f"{FACTORS[f][0]}{w.describe(f)}{extra}")
    return out


async def appraisal_command(update: Update, context: Ctx) -> None:
    """/appraisal [年份]: every unit's year-end score, ranked, and the .xlsx behind it."""
    deps = context.deps
    actor = await require_person(update, context)
    perm.require_office(actor)
    msg = update.effective_message
    assert msg is not None
    this_year = today(deps).year
    word = args_text(update).strip()
    children = word.startswith(CHILDREN_WORD)
    if children:  # /appraisal 下级 [年份]: the child offices ranked (issue 16)
        word = word[len(CHILDREN_WORD):].strip()
    year = this_year
    if word:
        m = _YEAR_RE.match(word)
        year = int(m[1]) if m else 0
        if not 2000 <= year <= this_year:
            await msg.reply_text(_text(deps, "appraisal_usage", year=this_year), do_quote=False)
            return
    if children:
        await _children_appraisal(context, msg, actor.id, year)
        return
    a = await build_appraisal(deps.uow(), deps.clock, deps.cal, actor.office_id, year,
                              deps.config.appraisal, actor_id=actor.id)
    rows = [{"rank": s.rank, "unit": s.unit, "score": f"{s.score:g}"} for s in a.scores]
    for chunk in split_text(_text(deps, "appraisal", a=a, rows=rows,
                                  weights=_weights_line(a))):
        await msg.reply_text(chunk, do_quote=False)
    data = await asyncio.to_thread(_appraisal_xlsx, a)
    await msg.reply_document(InputFile(io.BytesIO(data), filename=f"{year}年度考评.xlsx"),
                             caption=_text(deps, "appraisal_caption", a=a), do_quote=False)


def _children_xlsx(year: int, ranked: Sequence[OfficeScore]) -> bytes:
    buf = io.BytesIO()
    write_children_appraisal(year, ranked, buf)
    return buf.getvalue()


async def _children_appraisal(context: Ctx, msg: Message, actor_id: int, year: int) -> None:
    deps = context.deps
    office, ranked = await build_children_appraisal(deps.uow, deps.clock, deps.cal, actor_id,
                                                    year, deps.config.appraisal)
    rows = [{"rank": s.rank, "office": s.office, "score": f"{s.score:g}",
             "units": len(s.taking_part),
             "best": s.appraisal.scores[0].unit if s.taking_part else ""} for s in ranked]
    for chunk in split_text(_text(deps, "appraisal_children", year=year, office=office,
                                  rows=rows)):
        await msg.reply_text(chunk, do_quote=False)
    if not ranked:
        return
    data = await asyncio.to_thread(_children_xlsx, year, ranked)
    await msg.reply_document(InputFile(io.BytesIO(data), filename=f"{year}年度下级督查室考评.xlsx"),
                             caption=_text(deps, "appraisal_children_caption", year=year,
                                           n=len(ranked)), do_quote=False)
