"""Notice kinds the reminders queue. `handlers.notices.compose_notice` renders each from its
payload (see docs/reminders.md for the payload of every kind)."""

from __future__ import annotations

from ledger import evidence

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
# file_key, file_id, matter_id. Not held back in quiet hours: nobody is messaged.
DOWNLOAD = evidence.DOWNLOAD_KIND
SILENT_KINDS = frozenset({DOWNLOAD})
