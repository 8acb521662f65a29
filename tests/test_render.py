"""The renderer: a template may take any value name, `name` and `template` included."""

from __future__ import annotations

from presentation.render import Renderer


def test_a_value_called_name_does_not_collide_with_the_template() -> None:
    render = Renderer()
    for name in ("priority", "project", "figures", "enterprise", "visit", "inspect",
                 "propose", "meeting", "decisions", "commend", "criticize", "refer"):
        text = render("special.j2", k="usage", name=name, PROJECT={})
        assert f"/{name}" in text, name
    assert len(render("lines.j2", k="unknown_unit", unit="城" * 300)) < 60
