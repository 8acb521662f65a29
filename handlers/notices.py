"""One place for a notice's text: every outbox notice (reminders, notices to people,
office feed lines) is rendered here for the delivery adapter (handlers.delivery).

The ledger's kinds are rendered by handlers.cards, the special systems' kinds
(ledger.usecases.records.NOTICE_KINDS: projects, enterprises, meetings, inspections) by
handlers.special; this module picks, so neither of those imports the other.
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup

from handlers import cards, special
from handlers.cards import Directory
from handlers.common import fit
from handlers.deps import Deps
from handlers.office_context import office_heading
from handlers.receipts import compose_receipt_notice, with_read_button
from ledger.errors import NotFound
from ledger.model import Matter, Person
from ledger.ports import Notice, UnitOfWork
from ledger.usecases import receipts
from ledger.usecases.records import NOTICE_KINDS as SPECIAL_NOTICE_KINDS

__all__ = ["RECEIPT_CARRIERS", "compose_notice"]

# Text notices whose payload's receipt_id puts a 「已阅」 button on them (the 催办通知单
# document carries its own: handlers.notice_docs).
RECEIPT_CARRIERS = frozenset({"meeting_invite", receipts.DOC_URGING})
_RECEIPT_NOTICES = frozenset({receipts.RECEIPT_REMIND, receipts.RECEIPT_ESCALATE})


async def compose_notice(deps: Deps, uow: UnitOfWork, notice: Notice, viewer: Person | None,
                         ) -> tuple[str, InlineKeyboardMarkup | None]:
    """Text and buttons for one outbox notice (any kind the use cases or reminders queue),
    headed by the office's name for a person bound in several (issue 16)."""
    if notice.kind in _RECEIPT_NOTICES:
        text, markup = await compose_receipt_notice(deps, uow, notice, viewer)
    else:
        text, markup = await _compose(deps, uow, notice, viewer)
        receipt_id = notice.payload.get("receipt_id")
        if notice.kind in RECEIPT_CARRIERS and isinstance(receipt_id, int):
            markup = with_read_button(deps, markup, receipt_id)
    heading = await office_heading(deps, viewer, uow)
    return (fit(heading + text) if heading else text), markup


async def _compose(deps: Deps, uow: UnitOfWork, notice: Notice, viewer: Person | None,
                   ) -> tuple[str, InlineKeyboardMarkup | None]:
    if notice.kind not in SPECIAL_NOTICE_KINDS:
        return await cards.compose_notice(deps, uow, notice, viewer)
    names = await Directory.load(uow, notice.office_id)
    m: Matter | None = None
    if notice.matter_id is not None:
        try:
            m = await uow.matters.get(notice.matter_id)
        except NotFound:
            m = None
    return await special.compose_special(deps, uow, notice, viewer, names, m)
