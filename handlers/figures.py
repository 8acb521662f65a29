"""A project's monthly figures told in a reply (专项督查), and the special systems' lines:
shared by handlers.replies and handlers.special (so neither imports the other)."""

from __future__ import annotations

from typing import Any

from handlers.deps import Deps
from ledger.model import Matter, Person
from ledger.usecases import reading
from ledger.usecases import special as sp
from presentation.labels import PROJECT_LABELS

__all__ = ["maybe_figures", "say"]


def say(deps: Deps, key: str, /, **values: Any) -> str:
    return deps.render("special.j2", k=key, PROJECT=PROJECT_LABELS, **values)


async def maybe_figures(deps: Deps, actor: Person, matter_id: int, no: int | None,
                        text: str) -> tuple[Matter, sp.Figures] | None:
    """A reply about a project that carries a percentage is its monthly figures."""
    figs = sp.parse_figures(text) if "%" in text or "％" in text else None
    if figs is None:
        return None
    _, m = await reading.get_matter(deps.uow(), actor.id, matter_id)
    if m.project is None:
        return None
    m = await sp.report_figures(deps.uow(), deps.clock, actor.id, matter_id, no, figs)
    deps.kick()
    return m, figs
