"""jinja2 for every text users read. Templates live in templates/ at the repo root."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2

from ledger.clock import cn_date, to_local
from ledger.errors import shown
from presentation import attachments
from presentation.labels import (
    ASSIGNMENT_STATUS_LABELS,
    CLASS_LABELS,
    EVENT_LABELS,
    INSPECTION_MODE_LABELS,
    LIGHT_LABELS,
    MATTER_STATUS_LABELS,
    PASSED_DOWN_LABELS,
    PROJECT_LABELS,
    REMINDER_LABELS,
    ROLE_LABELS,
    SOURCE_LABELS,
    roles_text,
)

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def _fmt_date(value: date | str | None) -> str:
    # Dates kept in records and payloads as ISO strings are written the same way.
    if isinstance(value, str):
        try:
            return cn_date(date.fromisoformat(value[:10]))
        except ValueError:
            return value or "—"
    return cn_date(value) if value else "—"


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
            roles=roles_text, att_label=attachments.label, att_summary=attachments.summary,
        )
        self.env.globals.update(
            STATUS=MATTER_STATUS_LABELS, ASTATUS=ASSIGNMENT_STATUS_LABELS,
            CLASS=CLASS_LABELS, SOURCE=SOURCE_LABELS, LIGHT=LIGHT_LABELS, ROLE=ROLE_LABELS,
            EVENT=EVENT_LABELS, REMINDER=REMINDER_LABELS, MODE=INSPECTION_MODE_LABELS,
            PROJECT=PROJECT_LABELS, DOWN=PASSED_DOWN_LABELS,
        )

    def __call__(self, template: str, /, **values: Any) -> str:
        # Positional-only: a template may take a value called `name` (or `template`).
        return self.env.get_template(template).render(**values).strip()
