"""Notice kinds the reminders queue. `handlers.notices.compose_notice` renders each from its
payload (see docs/reminders.md for the payload of every kind)."""

from __future__ import annotations

from ledger import evidence
from ledger.ports import CARD_EDIT_KIND, CHANNEL_POST_KIND

BEFORE = "reminder_before"        # n working days before the deadline
DUE = "reminder_due"              # on the deadline day
OVERDUE = "reminder_overdue"      # every (working) day while overdue; principal added
URGENT = "reminder_urgent"        # 急件: hourly in the sending window until closed
STAGNANT = "reminder_stagnant"    # no progress for N working days: asks for an update
OFFICE_SLA = "office_sla"         # the office's own time limit (§2.2) is due or missed
OFFICE_CRITICISM_FLAG = "office_criticism_flag"  # urging limit passed: flagged for 通报批评
OFFICE_CALENDAR = "office_calendar_missing"      # a year's holidays are not entered yet

# Computed from the ledger by the planner; checked again against the ledger at send time.
REMINDER_KINDS = frozenset({BEFORE, DUE, OVERDUE, URGENT, STAGNANT})
PLANNED_KINDS = REMINDER_KINDS | {OFFICE_SLA}

# Key prefixes: one per planned series family.
REMINDER_PREFIX = "rem:"
SLA_PREFIX = "sla:"

CRITICISM_REASON = "催办限期内未落实"

# A file reported as evidence, fetched into the file store (handlers.downloads); payload:
# file_key, file_id, matter_id. Nobody is messaged.
DOWNLOAD = evidence.DOWNLOAD_KIND
# Formal notices as documents and 已阅 receipts (ledger.usecases.receipts): the .docx is
# built when sent; a receipt's reminder and escalation are checked against it at send time.
DOC_ASSIGNMENT = "doc_assignment"      # 交办通知单 beside the assignment card
DOC_URGING = "doc_urging"              # 催办通知单, with 「已阅」
RECEIPT_REMIND = "receipt_remind"      # still unread after remind_after_hours
RECEIPT_ESCALATE = "receipt_escalate"  # still unread after the second interval: principal
# ---- what the bot sends on its own besides notices (handlers.delivery renders each)
CARD_EDIT = CARD_EDIT_KIND        # redraw one live card in place (payload: message_id)
CHANNEL_POST = CHANNEL_POST_KIND  # the public channel's post of one matter (公示)
BULLETIN = "bulletin"             # one published issue to one chat (payload: bulletin_id)

# Not held back by quiet hours: a download messages nobody, an edit rings no phone, a
# channel post and a scheduled bulletin go out when they were meant to.
IMMEDIATE_KINDS = frozenset({DOWNLOAD, CARD_EDIT, CHANNEL_POST, BULLETIN})
