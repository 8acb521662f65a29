"""The lower layers load with the upper ones absent (docs/architecture.md): imports done at
run time count too, which a static import check cannot see. `lint-imports` (make lint)
checks the whole graph."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _imports_without(blocked: list[str], modules: list[str]) -> subprocess.CompletedProcess[str]:
    code = ("import sys\n"
            + "".join(f"sys.modules[{b!r}] = None\n" for b in blocked)
            + "".join(f"import {m}\n" for m in modules))
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize(("blocked", "modules"), [
    # Reminders plan and dispatch through the NoticeSender port; reports only render.
    (["telegram", "bot", "handlers"],
     ["reminders.scheduler", "reminders.outbox", "reminders.planner", "reminders.queries",
      "reports.bulletin", "reports.excel", "reports.notices", "reports.appraisal",
      "presentation.render", "settings", "public.web"]),
    # The domain: no project package above it, no telegram/sqlalchemy/jinja2.
    (["telegram", "sqlalchemy", "jinja2", "storage", "bot", "handlers", "reminders"],
     ["ledger.usecases.ledger_mgmt", "ledger.usecases.closing", "ledger.usecases.special",
      "ledger.usecases.meetings", "ledger.bulletins", "ledger.reporting"]),
    # The fake Telegram knows nothing of supervision.
    (["ledger", "storage", "bot", "handlers", "reminders", "reports"],
     ["sandbox.server", "sandbox.people", "sandbox.testing"]),
])
def test_a_layer_loads_without_those_above_it(blocked: list[str], modules: list[str]) -> None:
    done = _imports_without(blocked, modules)
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_check_itself_fails_when_a_layer_needs_what_is_blocked() -> None:
    done = _imports_without(["telegram"], ["handlers.delivery"])
    assert done.returncode != 0 and "telegram" in done.stderr
