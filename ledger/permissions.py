"""Who may see and do what. Every use case calls one of these first."""

from __future__ import annotations

from ledger.errors import NotFound, PermissionDenied
from ledger.model import Assignment, Matter, Person, Role
from ledger.ports import UnitOfWork


async def load_actor(uow: UnitOfWork, actor_id: int) -> Person:
    """The person acting; unbound or deactivated people may do nothing."""
    try:
        person = await uow.people.get_person(actor_id)
    except NotFound:
        raise PermissionDenied("您还没有绑定身份，请向督查室索取邀请链接。") from None
    if not person.active:
        raise PermissionDenied("您的账号已停用，请联系督查室。")
    return person


def require_office(actor: Person) -> None:
    if not actor.is_office:
        raise PermissionDenied("只有督查室可以这样做。")


def is_unit_principal(actor: Person, a: Assignment) -> bool:
    return actor.has(Role.PRINCIPAL) and actor.unit_id == a.unit_id


def can_view(actor: Person, m: Matter) -> bool:
    """Confidential matters: the office and the named persons only (RULES 5)."""
    if not actor.active or actor.office_id != m.office_id:
        return False
    if actor.is_office or m.names(actor.id):
        return True
    if m.confidential:
        return False
    if actor.has(Role.LEADER) or actor.has(Role.LIAISON):
        return True
    return actor.unit_id is not None and actor.unit_id in m.unit_ids()


def require_view(actor: Person, m: Matter) -> None:
    if not can_view(actor, m):
        # Same answer as a missing matter: do not reveal that a confidential one exists.
        raise NotFound("找不到这件事项，或您无权查看。")


def can_work_on(actor: Person, a: Assignment) -> bool:
    """The named persons of an assignment and their unit's principal."""
    return actor.active and (a.names(actor.id) or is_unit_principal(actor, a))


def require_work_on(actor: Person, a: Assignment) -> None:
    if not can_work_on(actor, a):
        raise PermissionDenied("这项分工不是您负责的，不能代为操作。")


def can_lead_assignment(actor: Person, a: Assignment) -> bool:
    """Sign, ask for completion or an extension, split work: principal or responsible."""
    return actor.active and (
        actor.id in (a.principal_id, a.responsible_id) or is_unit_principal(actor, a))


def require_lead_assignment(actor: Person, a: Assignment) -> None:
    if not can_lead_assignment(actor, a):
        raise PermissionDenied("只有本单位第一责任人或责任人可以这样做。")


def is_principal(actor: Person, a: Assignment) -> bool:
    """The assignment's named principal or its unit's: confirms extension requests."""
    return actor.active and (actor.id == a.principal_id or is_unit_principal(actor, a))


def require_principal(actor: Person, a: Assignment) -> None:
    if not is_principal(actor, a):
        raise PermissionDenied("只有本单位第一责任人可以确认。")


def actor_assignments(actor: Person, m: Matter) -> list[Assignment]:
    """The open assignments of `m` the actor may report on, most specific first."""
    mine = [a for a in m.assignments if a.is_open and can_work_on(actor, a)]
    # A sub-assignment naming the actor is more specific than the unit's own.
    mine.sort(key=lambda a: (a.handler_id != actor.id and a.responsible_id != actor.id,
                             a.parent_no is None, a.no))
    return mine
