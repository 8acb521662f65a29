"""jinja2 for every text users read. Templates live in templates/ at the repo root."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2

from ledger.clock import to_local
from ledger.errors import shown
from ledger.model import (
    ASSIGNMENT_STATUS_LABELS,
    CLASS_LABELS,
    EVENT_LABELS,
    LIGHT_LABELS,
    MATTER_STATUS_LABELS,
    ROLE_LABELS,
    SOURCE_LABELS,
)

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def _fmt_date(value: date | None) -> str:
    return f"{value.year}年{value.month}月{value.day}日" if value else "—"


def _fmt_short(value: date | None) -> str:
    return f"{value.month}月{value.day}日" if value else "—"


def _fmt_time(value: datetime | None) -> str:
    if value is None:
        return "—"
    local = to_local(value)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


class Renderer:
    def __init__(self, directory: Path = TEMPLATES, *, reload: bool = False) -> None:
        """`reload`: look at the template files again on every render (for editing them
        while the bot runs). Off, each template is compiled once (the hot path renders
        several per message)."""
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(directory),
            auto_reload=reload,
            cache_size=-1,  # every template stays compiled (there are a few hundred)
            autoescape=False,  # plain text messages; Telegram parse_mode is not used
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self.env.filters.update(
            cn_date=_fmt_date, cn_short=_fmt_short, cn_time=_fmt_time, clip=shown,
        )
        self.env.globals.update(
            STATUS=MATTER_STATUS_LABELS, ASTATUS=ASSIGNMENT_STATUS_LABELS,
            CLASS=CLASS_LABELS, SOURCE=SOURCE_LABELS, LIGHT=LIGHT_LABELS, ROLE=ROLE_LABELS,
            EVENT=EVENT_LABELS,
            REMINDER={"reminder_before": "到期前提醒", "reminder_due": "今日到期",
                      "reminder_overdue": "超期提醒", "reminder_urgent": "急件提醒",
                      "reminder_stagnant": "请报进展"},
        )

    def __call__(self, template: str, /, **values: Any) -> str:
        # Positional-only: a template may take a value called `name` (or `template`).
        return self.env.get_template(template).render(**values).strip()
