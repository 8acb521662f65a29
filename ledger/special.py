"""Compatibility: special supervision and the office's other systems now live in
ledger/usecases/ (special, liaisons, meetings, records). This module re-exports them so
callers outside the ledger keep working; new code imports the module."""

from __future__ import annotations

from ledger.usecases.liaisons import (  # noqa: F401
    inspections,
    propose_matter,
    record_inspection,
)
from ledger.usecases.meetings import (  # noqa: F401
    Decision,
    get_meeting,
    meetings,
    record_decisions,
    schedule_meeting,
)
from ledger.usecases.records import (  # noqa: F401
    ANNOUNCED,
    CHECK_MONTHS,
    ENTERPRISE,
    INSPECTION,
    MEETING,
    MODE_LABELS,
    NOTICE_KINDS,
    UNANNOUNCED,
    VISIT,
    ItemToRegister,
    item_to_register,
    link_item,
)
from ledger.usecases.special import (  # noqa: F401
    EnterpriseStory,
    Figures,
    add_enterprise,
    enterprise_story,
    enterprises,
    find_enterprise,
    latest_by_matter,
    parse_figures,
    plan_recurring,
    project_figures,
    record_visit,
    report_figures,
    set_priority,
    set_project,
)
