"""Compatibility: the use cases now live in ledger/usecases/, one module per system of the
policy (people, ledger_mgmt, deadlines, closing, accountability, reading). This module
re-exports them so callers outside the ledger keep working; new code imports the module."""

from __future__ import annotations

from ledger.usecases.accountability import (  # noqa: F401
    CRITICISM_FLAG_REASON,
    auto_urge,
    commend,
    criticize,
    flag_for_criticism,
    pause_reminders,
    refer,
    reminders_paused,
    resume_reminders,
    urge,
)
from ledger.usecases.closing import (  # noqa: F401
    ProgressOutcome,
    ProgressReport,
    close_matter,
    report_progress,
    report_progress_many,
    request_completion,
    return_matter,
)
from ledger.usecases.deadlines import (  # noqa: F401
    confirm_extension,
    decide_extension,
    request_extension,
    sign,
)
from ledger.usecases.ledger_mgmt import (  # noqa: F401
    AssignSpec,
    RegisterMatter,
    assign,
    cancel_matter,
    decompose,
    register_matter,
)
from ledger.usecases.people import (  # noqa: F401
    INVITE_TTL,
    accept_invite,
    add_unit,
    bind_group,
    bootstrap_office,
    create_invite,
    mark_reachable,
    mark_unreachable,
)
from ledger.usecases.reading import (  # noqa: F401
    ListFilter,
    find_matter,
    get_matter,
    history,
    list_matters,
    my_assignments,
)
