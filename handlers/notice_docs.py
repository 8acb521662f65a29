"""The formal notices as documents (《交办通知单》, 《催办通知单》): built from the ledger
when the outbox sends them (reports.notices; the .docx in a thread), with their caption
and, on a 催办通知单, the 「已阅」 button."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import InlineKeyboardMarkup

from handlers.deps import Deps
from handlers.receipts import read_markup, say
from ledger.errors import InvalidInput, NotFound
from ledger.ports import Notice
from ledger.usecases import receipts as uc
from reminders.outbox import Stale
from reports.notices import assignment_notice, urging_notice

__all__ = ["DOCUMENT_KINDS", "NoticeDocument", "compose_document"]

DOCUMENT_KINDS = frozenset({uc.DOC_ASSIGNMENT, uc.DOC_URGING})


@dataclass(frozen=True)
class NoticeDocument:
    filename: str
    data: bytes
    caption: str
    markup: InlineKeyboardMarkup | None


async def compose_document(deps: Deps, notice: Notice) -> NoticeDocument:
    """The .docx as the ledger has it now; Stale when its matter or assignment is gone."""
    if notice.matter_id is None or notice.assignment_no is None:
        raise Stale("no matter")
    uow = deps.read or deps.uow
    try:
        async with uow() as u:
            m = await u.matters.get(notice.matter_id)
            m.assignment(notice.assignment_no)
        if notice.kind == uc.DOC_ASSIGNMENT:
            name, data = await assignment_notice(uow(), deps.clock, notice.matter_id,
                                                 notice.assignment_no)
        else:
            name, data = await urging_notice(uow(), deps.clock, deps.cal, notice.matter_id,
                                             notice.assignment_no)
    except (NotFound, InvalidInput, ValueError) as e:  # gone, or never urged
        raise Stale(f"document: {e}") from e
    markup = None
    receipt_id = notice.payload.get("receipt_id")
    if notice.kind == uc.DOC_URGING and isinstance(receipt_id, int):
        markup = read_markup(deps, receipt_id)
    return NoticeDocument(name, data, say(deps, notice.kind, m=m), markup)
