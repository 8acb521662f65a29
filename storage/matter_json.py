"""The JSON format of a matter's snapshot: the projection storage keeps next to the events
(`matters.state`). The domain (ledger.model) does not know it; it round-trips here."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ledger.deadlines import MatterClass
from ledger.model import (
    Assignment,
    AssignmentStatus,
    Extension,
    ExtensionState,
    Matter,
    PassedDown,
    ProjectKind,
    Source,
)


def _d(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value else None


def _ext_json(x: Extension | None) -> dict[str, Any] | None:
    if x is None:
        return None
    return {"requested_at": x.requested_at.isoformat(), "requested_by": x.requested_by,
            "reason": x.reason, "new_deadline": x.new_deadline.isoformat(),
            "state": x.state.value, "confirmed_by": x.confirmed_by,
            "counted_from": _iso(x.counted_from), "counted_workdays": x.counted_workdays}


def _ext_from(d: dict[str, Any] | None) -> Extension | None:
    if d is None:
        return None
    return Extension(requested_at=datetime.fromisoformat(d["requested_at"]),
                     requested_by=d["requested_by"], reason=d["reason"],
                     new_deadline=date.fromisoformat(d["new_deadline"]),
                     state=ExtensionState(d["state"]), confirmed_by=d["confirmed_by"],
                     counted_from=_d(d.get("counted_from")),
                     counted_workdays=d.get("counted_workdays"))


def _down_json(x: PassedDown | None) -> dict[str, Any] | None:
    if x is None:
        return None
    return {"office_id": x.office_id, "office": x.office, "matter_id": x.matter_id,
            "number": x.number, "state": x.state, "last_at": _iso(x.last_at),
            "last_text": x.last_text}


def _down_from(d: dict[str, Any] | None) -> PassedDown | None:
    if d is None:
        return None
    return PassedDown(office_id=d["office_id"], office=d["office"], matter_id=d["matter_id"],
                      number=d["number"], state=d["state"], last_at=_dt(d.get("last_at")),
                      last_text=d.get("last_text"))


def assignment_to_json(a: Assignment) -> dict[str, Any]:
    return {
        "no": a.no, "unit_id": a.unit_id, "lead": a.lead, "parent_no": a.parent_no,
        "principal_id": a.principal_id, "responsible_id": a.responsible_id,
        "handler_id": a.handler_id, "assigned_at": a.assigned_at.isoformat(),
        "assigned_by": a.assigned_by, "deadline": a.deadline.isoformat(),
        "committed_deadline": _iso(a.committed_deadline), "signed_at": _iso(a.signed_at),
        "status": a.status.value, "last_progress_at": _iso(a.last_progress_at),
        "last_progress_text": a.last_progress_text, "progress_count": a.progress_count,
        "completion_requested_at": _iso(a.completion_requested_at),
        "extension": _ext_json(a.extension), "urge_count": a.urge_count,
        "urge_limit": _iso(a.urge_limit), "criticized": a.criticized,
        "commended": a.commended, "referred": a.referred,
        "counted_from": _iso(a.counted_from), "counted_workdays": a.counted_workdays,
        "committed_counted_from": _iso(a.committed_counted_from),
        "committed_counted_workdays": a.committed_counted_workdays,
        "limit_counted_from": _iso(a.limit_counted_from),
        "limit_counted_workdays": a.limit_counted_workdays,
        "passed_down": _down_json(a.passed_down),
    }


def assignment_from_json(d: dict[str, Any]) -> Assignment:
    return Assignment(
        no=d["no"], unit_id=d["unit_id"], lead=d["lead"], parent_no=d["parent_no"],
        principal_id=d["principal_id"], responsible_id=d["responsible_id"],
        handler_id=d["handler_id"], assigned_at=datetime.fromisoformat(d["assigned_at"]),
        assigned_by=d["assigned_by"], deadline=date.fromisoformat(d["deadline"]),
        committed_deadline=_d(d["committed_deadline"]), signed_at=_dt(d["signed_at"]),
        status=AssignmentStatus(d["status"]), last_progress_at=_dt(d["last_progress_at"]),
        last_progress_text=d["last_progress_text"], progress_count=d["progress_count"],
        completion_requested_at=_dt(d["completion_requested_at"]),
        extension=_ext_from(d["extension"]), urge_count=d["urge_count"],
        urge_limit=_d(d["urge_limit"]), criticized=d["criticized"],
        commended=d["commended"], referred=d["referred"],
        counted_from=_d(d.get("counted_from")), counted_workdays=d.get("counted_workdays"),
        committed_counted_from=_d(d.get("committed_counted_from")),
        committed_counted_workdays=d.get("committed_counted_workdays"),
        limit_counted_from=_d(d.get("limit_counted_from")),
        limit_counted_workdays=d.get("limit_counted_workdays"),
        passed_down=_down_from(d.get("passed_down")),
    )


def matter_to_json(m: Matter) -> dict[str, Any]:
    """The full state, for storage's projection. Round-trips through `matter_from_json`."""
    return {
        "id": m.id, "office_id": m.office_id, "year": m.year, "seq": m.seq,
        "number": m.number, "title": m.title, "body": m.body, "source": m.source.value,
        "klass": m.klass.value, "confidential": m.confidential, "tags": list(m.tags),
        "received_at": m.received_at.isoformat(), "registered_at": m.registered_at.isoformat(),
        "registered_by": m.registered_by, "instruction_text": m.instruction_text,
        "instruction_author": m.instruction_author, "deadline": _iso(m.deadline),
        "deadline_counted_from": _iso(m.deadline_counted_from),
        "deadline_counted_workdays": m.deadline_counted_workdays,
        "closed_at": _iso(m.closed_at), "cancelled_at": _iso(m.cancelled_at),
        "cancel_reason": m.cancel_reason, "version": m.version, "origin": m.origin,
        "priority": m.priority, "priority_reason": m.priority_reason,
        "project": m.project.value if m.project else None, "figures": m.figures,
        "assignments": [assignment_to_json(a) for a in m.assignments],
    }


def matter_from_json(d: dict[str, Any]) -> Matter:
    return Matter(
        id=d["id"], office_id=d["office_id"], year=d["year"], seq=d["seq"],
        number=d["number"], title=d["title"], body=d["body"], source=Source(d["source"]),
        klass=MatterClass(d["klass"]), confidential=d["confidential"], tags=tuple(d["tags"]),
        received_at=datetime.fromisoformat(d["received_at"]),
        registered_at=datetime.fromisoformat(d["registered_at"]),
        registered_by=d["registered_by"], instruction_text=d["instruction_text"],
        instruction_author=d["instruction_author"], deadline=_d(d["deadline"]),
        deadline_counted_from=_d(d.get("deadline_counted_from")),
        deadline_counted_workdays=d.get("deadline_counted_workdays"),
        closed_at=_dt(d["closed_at"]), cancelled_at=_dt(d["cancelled_at"]),
        cancel_reason=d["cancel_reason"], version=d["version"], origin=d.get("origin"),
        priority=bool(d.get("priority", False)), priority_reason=d.get("priority_reason"),
        project=ProjectKind(d["project"]) if d.get("project") else None,
        figures=d.get("figures"),
        assignments=[assignment_from_json(a) for a in d["assignments"]],
    )
