"""The renderer: a template may take any value name, `name` and `template` included."""

from __future__ import annotations

import os
import time
from pathlib import Path

from ledger.deadlines import MatterClass
from ledger.model import AssignmentStatus, Light, MatterStatus, Person, ProjectKind, Role, Source
from ledger.usecases.records import MODES
from ledger.usecases.turnover import AmbiguousPerson
from presentation import labels
from presentation.render import Renderer


def test_a_value_called_name_does_not_collide_with_the_template() -> None:
    render = Renderer()
    for name in ("priority", "project", "figures", "enterprise", "visit", "inspect",
                 "propose", "meeting", "decisions", "commend", "criticize", "refer"):
        text = render("special.j2", k="usage", name=name, PROJECT={})
        assert f"/{name}" in text, name
    assert len(render("lines.j2", k="unknown_unit", unit="城" * 300)) < 60


def test_every_domain_value_has_its_chinese_label() -> None:
    # The ledger keeps the values; a new role, status or kind without a label here would
    # reach a user as a KeyError.
    for enum, table in ((Role, labels.ROLE_LABELS), (Source, labels.SOURCE_LABELS),
                        (ProjectKind, labels.PROJECT_LABELS), (MatterClass, labels.CLASS_LABELS),
                        (MatterStatus, labels.MATTER_STATUS_LABELS),
                        (AssignmentStatus, labels.ASSIGNMENT_STATUS_LABELS),
                        (Light, labels.LIGHT_LABELS)):
        assert set(table) == set(enum), enum
    assert set(labels.INSPECTION_MODE_LABELS) == MODES
    assert labels.roles_text([Role.HANDLER, Role.PRINCIPAL]) == "第一责任人、承办人"


def test_several_people_of_one_name_are_listed_with_their_roles() -> None:
    people = (Person(5, 1, "干事孙", roles=frozenset({Role.HANDLER}), unit_id=2),
              Person(8, 1, "干事孙", roles=frozenset(), unit_id=3, active=False))
    err = AmbiguousPerson("干事孙", people)
    text = Renderer()("ambiguous_person.j2", ref=err.reference, people=err.candidates)
    assert text == ("有2位「干事孙」：#5 干事孙（承办人）；#8 干事孙（无角色，已停用）。"
                    "请改写成 #编号，如 #5。")
    assert str(err).startswith("有2位「干事孙」：#5 干事孙；#8 干事孙（已停用）。")
def test_templates_are_compiled_once_unless_reloading_is_asked_for(tmp_path: Path) -> None:
    (tmp_path / "t.j2").write_text("一", encoding="utf-8")
    fixed, live = Renderer(tmp_path), Renderer(tmp_path, reload=True)
    assert fixed("t.j2") == live("t.j2") == "一"
    (tmp_path / "t.j2").write_text("二", encoding="utf-8")
    os.utime(tmp_path / "t.j2", (time.time() + 5, time.time() + 5))  # a newer file
    assert fixed("t.j2") == "一"  # the file is not looked at again
    assert live("t.j2") == "二"
