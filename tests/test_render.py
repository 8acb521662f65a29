"""The renderer: a template may take any value name, `name` and `template` included."""

from __future__ import annotations

import os
import time
from pathlib import Path

from presentation.render import Renderer


def test_a_value_called_name_does_not_collide_with_the_template() -> None:
    render = Renderer()
    for name in ("priority", "project", "figures", "enterprise", "visit", "inspect",
                 "propose", "meeting", "decisions", "commend", "criticize", "refer"):
        text = render("special.j2", k="usage", name=name, PROJECT={})
        assert f"/{name}" in text, name
    assert len(render("lines.j2", k="unknown_unit", unit="城" * 300)) < 60


def test_templates_are_compiled_once_unless_reloading_is_asked_for(tmp_path: Path) -> None:
    (tmp_path / "t.j2").write_text("一", encoding="utf-8")
    fixed, live = Renderer(tmp_path), Renderer(tmp_path, reload=True)
    assert fixed("t.j2") == live("t.j2") == "一"
    (tmp_path / "t.j2").write_text("二", encoding="utf-8")
    os.utime(tmp_path / "t.j2", (time.time() + 5, time.time() + 5))  # a newer file
    assert fixed("t.j2") == "一"  # the file is not looked at again
    assert live("t.j2") == "二"
