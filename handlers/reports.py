"""/bulletin (preview an issue with its chart and .docx) and /export (the Excel ledger)."""

from __future__ import annotations

import asyncio
import io

from telegram import InputFile, Update

from bot.context import Ctx
from handlers.common import args_text, line, require_person
from ledger import permissions as perm
from ledger.bulletins import BulletinKind
from reports.bulletin import build_bulletin, bulletin_files
from reports.excel import ExportFilter, export_ledger

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
    buf = io.BytesIO()
    stats = await export_ledger(deps.uow(), deps.clock, deps.cal, actor.office_id, buf,
                                ExportFilter(), actor_id=actor.id)
    msg = update.effective_message
    assert msg is not None
    await msg.reply_document(InputFile(io.BytesIO(buf.getvalue()), filename="督查台账.xlsx"),
                             caption=line(deps, "exported", n=stats.matters, events=stats.events),
                             do_quote=False)
