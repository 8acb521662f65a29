"""`/archive 编号` (the office): the matter's archive as a .zip — its history as .docx and
history.json, and every original file reported on it from the bot's file store (see
reports.archive). `duban archive 编号 FILE.zip` (bot.cli_archive) makes the same file."""

from __future__ import annotations

import asyncio
import io
from datetime import datetime

from telegram import InputFile, Update

from handlers.cards import Directory
from handlers.common import (
    args_text,
    line,
    require_person,
    require_shown,
    usage,
    with_dates,
)
from handlers.deps import Ctx, Deps
from handlers.downloads import file_store
from ledger import evidence as ev
from ledger import permissions as perm
from ledger.clock import local_today
from ledger.errors import NotFound
from ledger.model import (
    Event,
    Matter,
    parse_reference,
)
from ledger.usecases import reading
from presentation.attachments import label
from presentation.labels import CLASS_LABELS, MATTER_STATUS_LABELS, SOURCE_LABELS
from reports.archive import Archive, ArchiveContent, ArchiveFile, build_archive, zip_name
from storage import evidence as rows
from storage.uow import connection_of

UPLOAD_LIMIT = 50 * 1024 * 1024  # what a bot may send as a document


async def find_in_office(deps: Deps, office_id: int, reference: str) -> Matter:
    """A matter of the office by number (`duban archive`: no person asks)."""
    year, seq = parse_reference(reference, local_today(deps.clock).year)
    async with (deps.read or deps.uow)() as u:
        try:
            return await u.matters.find(office_id, year, seq)
        except NotFound:
            raise NotFound(f"找不到事项「{reference}」。") from None


async def archive_content(deps: Deps, m: Matter) -> ArchiveContent:
    assert m.id is not None
    async with (deps.read or deps.uow)() as u:
        events = await u.events.for_matter(m.id)
        reported = ev.evidence_files(events)
        known = await rows.by_keys(connection_of(u), [ev.file_key(a) for _, a in reported])
    names = await Directory.fetch(deps, m.office_id)
    unit_of_no = {e.after.get("no"): e.after.get("unit_id")
                  for e in events if e.kind == "assigned"}
    lines = [_line(deps, e, names, unit_of_no) for e in events]
    files: list[ArchiveFile] = []
    for e, a in reported:
        key = ev.file_key(a)
        row = known.get(key)
        files.append(ArchiveFile(
            reported_at=_time_of(deps, e.at), reporter=names.person(e.actor_id), kind=str(a["kind"]),
            label=label(a), file_key=key,
            original_name=a.get("file_name") or (row.file_name if row else None),
            status=row.status if row else "missing",
            sha256=row.sha256 if row else None, size=row.size if row else None,
            mime_type=(row.mime_type if row and row.mime_type else a.get("mime_type")),
            note=(row.note if row else "尚未下载")))
    history = {
        "matter": {"id": m.id, "number": m.number, "title": m.title, "body": m.body,
                   "status": m.status.value, "source": m.source.value,
                   "class": m.klass.value, "confidential": m.confidential,
                   "registered_at": m.registered_at.isoformat(),
                   "closed_at": m.closed_at.isoformat() if m.closed_at else None},
        "events": [{"id": e.id, "at": e.at.isoformat(), "kind": e.kind,
                    "actor": names.person(e.actor_id) if e.actor_id else None,
                    "actor_id": e.actor_id, "assignment_no": e.assignment_no,
                    "before": e.before, "after": e.after, "text": text}
                   for e, text in zip(events, lines, strict=True)],
    }
    facts = [("状态", MATTER_STATUS_LABELS.get(m.status, "")),
             ("来源", SOURCE_LABELS.get(m.source, "")), ("类别", CLASS_LABELS.get(m.klass, "")),
             ("登记", _time_of(deps, m.registered_at)), ("内容", m.body or "—")]
    return ArchiveContent(
        number=m.number, title=m.title,
        heading=deps.render("history_head.j2", m=m, count=len(events)), facts=facts,
        lines=lines, history=history, files=files, made_at=_time_of(deps, deps.clock.now()))


def _time_of(deps: Deps, moment: datetime) -> str:
    """12月3日 09:15 (Asia/Shanghai), as every reply writes it."""
    return str(deps.render.env.filters["cn_time"](moment))


def _line(deps: Deps, e: Event, names: Directory, unit_of_no: dict[object, object]) -> str:
    unit_id = unit_of_no.get(e.assignment_no) if e.assignment_no else None
    return deps.render(
        "history_line.j2", e=e, actor=names.person(e.actor_id) if e.actor_id else "",
        unit=names.unit(unit_id if isinstance(unit_id, int) else None) if e.assignment_no
        else "", names=names, after=with_dates(e.after), before=with_dates(e.before))


async def archive_zip(deps: Deps, m: Matter) -> Archive:
    content = await archive_content(deps, m)
    # zip, .docx and file reads: off the event loop
    return await asyncio.to_thread(build_archive, content, file_store(deps.config))


async def archive_command(update: Update, context: Ctx) -> None:
    deps = context.deps
    actor = await require_person(update, context)
    perm.require_office(actor)
    ref = args_text(update)
    if not ref:
        raise usage(deps, "archive")
    m = await reading.find_matter(deps.uow(), deps.clock, actor.id, ref)
    require_shown(deps, update, actor, m)  # a confidential matter's files: not in a group
    archive = await archive_zip(deps, m)
    data = archive.data
    msg = update.effective_message
    assert msg is not None
    if len(data) > UPLOAD_LIMIT:
        await msg.reply_text(line(deps, "archive_too_big", m=m, mb=len(data) // 2**20),
                             do_quote=False)
        return
    stored = sum(1 for f in archive.files if f.status == ev.STORED)
    await msg.reply_document(
        InputFile(io.BytesIO(data), filename=zip_name(m.number)),
        caption=line(deps, "archive_caption", m=m, events=archive.events, stored=stored,
                     missing=len(archive.files) - stored),
        do_quote=False)
