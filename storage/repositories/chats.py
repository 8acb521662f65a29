"""Invites, bound group chats and remembered messages."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Row,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.ports import (
    GroupChat,
    Invite,
    MessageRef,
)
from storage.dialect import insert_ignore_many, upsert
from storage.repositories._common import _roles, _roles_json
from storage.tables import (
    group_chats,
    invites,
    message_refs,
)


def _invite(row: Row[Any]) -> Invite:
    return Invite(token=row.token, office_id=row.office_id, name=row.name,
                  roles=_roles(row.roles), unit_id=row.unit_id, created_by=row.created_by,
                  created_at=row.created_at, expires_at=row.expires_at, used_at=row.used_at,
                  person_id=row.person_id)


class SqlInviteRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, invite: Invite) -> None:
        await self._conn.execute(insert(invites).values(
            token=invite.token, office_id=invite.office_id, name=invite.name,
            roles=_roles_json(invite.roles), unit_id=invite.unit_id,
            created_by=invite.created_by, created_at=invite.created_at,
            expires_at=invite.expires_at, used_at=invite.used_at, person_id=invite.person_id))

    async def get(self, token: str) -> Invite | None:
        row = (await self._conn.execute(
            select(invites).where(invites.c.token == token))).first()
        return None if row is None else _invite(row)

    async def mark_used(self, token: str, at: datetime, person_id: int) -> bool:
        result = await self._conn.execute(
            update(invites).where(invites.c.token == token, invites.c.used_at.is_(None))
            .values(used_at=at, person_id=person_id))
        return result.rowcount == 1


def _chat(row: Row[Any]) -> GroupChat:
    return GroupChat(chat_id=row.chat_id, office_id=row.office_id, unit_id=row.unit_id,
                     title=row.title, bound_by=row.bound_by, bound_at=row.bound_at)


class SqlChatRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def bind(self, chat: GroupChat) -> None:
        values = {"chat_id": chat.chat_id, "office_id": chat.office_id,
                  "unit_id": chat.unit_id, "title": chat.title, "bound_by": chat.bound_by,
                  "bound_at": chat.bound_at}
        await self._conn.execute(upsert(self._conn.dialect, group_chats, values, ["chat_id"]))

    async def get(self, chat_id: int) -> GroupChat | None:
        row = (await self._conn.execute(
            select(group_chats).where(group_chats.c.chat_id == chat_id))).first()
        return None if row is None else _chat(row)

    async def for_office(self, office_id: int) -> builtins.list[GroupChat]:
        rows = await self._conn.execute(
            select(group_chats).where(group_chats.c.office_id == office_id)
            .order_by(group_chats.c.chat_id))
        return [_chat(r) for r in rows]

    async def remember(self, ref: MessageRef) -> None:
        values = {"chat_id": ref.chat_id, "message_id": ref.message_id,
                  "matter_id": ref.matter_id, "assignment_no": ref.assignment_no}
        await self._conn.execute(
            upsert(self._conn.dialect, message_refs, values, ["chat_id", "message_id"]))

    async def remember_many(self, refs: Sequence[MessageRef]) -> None:
        if not refs:
            return
        # A message is about one matter for good: a ref already there stays as it is.
        await self._conn.execute(
            insert_ignore_many(self._conn.dialect, message_refs, ["chat_id", "message_id"]),
            [{"chat_id": r.chat_id, "message_id": r.message_id, "matter_id": r.matter_id,
              "assignment_no": r.assignment_no} for r in refs])

    async def lookup(self, chat_id: int, message_id: int) -> MessageRef | None:
        row = (await self._conn.execute(select(message_refs).where(
            message_refs.c.chat_id == chat_id, message_refs.c.message_id == message_id))).first()
        if row is None:
            return None
        return MessageRef(chat_id=row.chat_id, message_id=row.message_id,
                          matter_id=row.matter_id, assignment_no=row.assignment_no)


# ---- outbox ----
