"""Simulated Telegram people and group chats, acting in-process on a SandboxServer.

A person's actions become Updates for the bot (getUpdates or webhook) exactly as Telegram
would produce them; their views (`inbox`, `Group.messages`) show what the bot sent, with
edits applied. Waiting is event-driven: every bot call that changes a chat wakes waiters.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from sandbox.errors import SandboxUsageError
from sandbox.formatting import detect_entities
from sandbox.media import guess_mime, image_extension, image_size
from sandbox.world import (
    BotAccount,
    CallbackAnswer,
    CallbackRecord,
    ChatState,
    MessageRecord,
    UserAccount,
    World,
)


class SandboxHost(Protocol):
    """What people need of the server (sandbox.server.SandboxServer): so that the server
    may import this module and not the other way round."""

    world: World

    def bot(self, token: str | None = None) -> BotAccount: ...

    def person_by_id(self, user_id: int) -> Person: ...

MessageRef = Mapping[str, Any] | MessageRecord
FileSource = bytes | str | os.PathLike[str]


_MEDIA_MIME = {"voice": "audio/ogg", "video": "video/mp4", "video_note": "video/mp4",
               "audio": "audio/mpeg"}


def _message_id(ref: MessageRef | int) -> int:
    if isinstance(ref, int):
        return ref
    if isinstance(ref, MessageRecord):
        return ref.message_id
    return int(ref["message_id"])


async def _load(source: FileSource) -> tuple[bytes, str | None]:
    if isinstance(source, bytes):
        return source, None
    path = Path(source)
    return await asyncio.to_thread(path.read_bytes), path.name


class _ChatUser:
    """Shared lookups for Person and Group."""

    def __init__(self, server: SandboxHost) -> None:
        self.server = server
        self.world = server.world

    def _bot(self, bot: str | None) -> BotAccount:
        return self.server.bot(bot)

    def _record(self, ref: MessageRef, bot: str | None = None) -> MessageRecord:
        """The live record behind a message dict (or record) from any chat."""
        if isinstance(ref, MessageRecord):
            return ref
        chat_id = int(ref["chat"]["id"])
        if chat_id < 0:
            chat = self.world.groups.get(chat_id)
        else:
            sender = ref.get("from") or {}
            account = (
                self.world.bots.get(int(sender["id"])) if sender.get("is_bot") else None
            ) or self._bot(bot)
            chat = self.world.private.get((account.id, chat_id))
        record = chat.messages.get(int(ref["message_id"])) if chat else None
        if record is None:
            raise SandboxUsageError(f"no message {ref.get('message_id')} in chat {chat_id}")
        return record


class Person(_ChatUser):
    """A Telegram user. `chat=None` means the private chat with the (default) bot."""

    def __init__(self, server: SandboxHost, account: UserAccount) -> None:
        super().__init__(server)
        self.account = account
        # last message this person sent per chat: default start of wait_for_reply
        self._last_sent: dict[tuple[int | None, int], int] = {}

    def __repr__(self) -> str:
        return f"<Person {self.id} {self.first_name} @{self.username}>"

    @property
    def id(self) -> int:
        return self.account.id

    @property
    def first_name(self) -> str:
        return self.account.first_name

    @property
    def username(self) -> str | None:
        return self.account.username

    @property
    def user(self) -> dict[str, Any]:
        """The person as a Bot API User object."""
        return self.account.to_dict()

    def chat_state(self, chat: Group | int | None = None, bot: str | None = None) -> ChatState:
        if chat is None:
            return self.world.private_chat(self._bot(bot), self.account)
        chat_id = chat if isinstance(chat, int) else chat.id
        if chat_id > 0:
            if chat_id != self.id:
                raise SandboxUsageError("a person's private chat with a bot has the person's id")
            return self.world.private_chat(self._bot(bot), self.account)
        group = self.world.groups.get(chat_id)
        if group is None:
            raise SandboxUsageError(f"no group {chat_id}")
        return group

    def _post(
        self,
        chat: ChatState,
        content: dict[str, Any],
        reply_to: MessageRef | None,
        bot: str | None,
    ) -> dict[str, Any]:
        target = self._record(reply_to, bot) if reply_to is not None else None
        if target is not None and target.chat_id != chat.id:
            raise SandboxUsageError("reply_to is a message of another chat")
        record = self.world.user_message(self.account, chat, content, reply_to=target)
        self._last_sent[(chat.bot_id, chat.id)] = record.message_id
        return record.snapshot()

    async def send(
        self,
        text: str,
        *,
        chat: Group | int | None = None,
        reply_to: MessageRef | None = None,
        bot: str | None = None,
    ) -> dict[str, Any]:
        """Post text (commands get bot_command entities); returns the Message as sent."""
        content: dict[str, Any] = {"text": text}
        entities = detect_entities(text)
        if entities:
            content["entities"] = entities
        return self._post(self.chat_state(chat, bot), content, reply_to, bot)

    async def reply(self, to: MessageRef, text: str, *, bot: str | None = None) -> dict[str, Any]:
        """Reply to a message (usually one the bot sent) in the chat it is in."""
        record = self._record(to, bot)
        chat = self.world.chat_of(record)
        content: dict[str, Any] = {"text": text}
        entities = detect_entities(text)
        if entities:
            content["entities"] = entities
        return self._post(chat, content, record, bot)

    def _caption(self, caption: str | None) -> dict[str, Any]:
        if caption is None:
            return {}
        out: dict[str, Any] = {"caption": caption}
        entities = detect_entities(caption)
        if entities:
            out["caption_entities"] = entities
        return out

    async def send_photo(
        self,
        photo: FileSource,
        *,
        caption: str | None = None,
        chat: Group | int | None = None,
        reply_to: MessageRef | None = None,
        bot: str | None = None,
    ) -> dict[str, Any]:
        """Send a photo (PNG/JPEG/GIF/WebP bytes or path); the bot gets PhotoSizes."""
        data, _ = await _load(photo)
        size = image_size(data)
        if size is None:
            raise SandboxUsageError("send_photo needs PNG/JPEG/GIF/WebP data (see media.tiny_png)")
        sizes = self.world.store_photo(data, size[0], size[1], image_extension(data))
        content = {"photo": self.world.photo_sizes(sizes[-1]), **self._caption(caption)}
        return self._post(self.chat_state(chat, bot), content, reply_to, bot)

    async def send_document(
        self,
        document: FileSource,
        *,
        filename: str | None = None,
        mime_type: str | None = None,
        caption: str | None = None,
        chat: Group | int | None = None,
        reply_to: MessageRef | None = None,
        bot: str | None = None,
    ) -> dict[str, Any]:
        """Send a file; the bot gets a Document and can download it with getFile."""
        data, path_name = await _load(document)
        name = filename or path_name or "document.bin"
        record = self.world.store_document(data, name, guess_mime(name, mime_type))
        content = {"document": record.as_document(), **self._caption(caption)}
        return self._post(self.chat_state(chat, bot), content, reply_to, bot)

    async def send_media(
        self,
        kind: str,
        data: FileSource,
        *,
        duration: int = 0,
        filename: str | None = None,
        mime_type: str | None = None,
        caption: str | None = None,
        file_size: int | None = None,
        chat: Group | int | None = None,
        reply_to: MessageRef | None = None,
        bot: str | None = None,
    ) -> dict[str, Any]:
        """A voice message, video, video note or audio file (kind: "voice", "video",
        "video_note", "audio"); the bot can download it with getFile. file_size: the size
        Telegram reports, to simulate a file larger than `data` (e.g. above 20 MB)."""
        if kind not in _MEDIA_MIME:
            raise SandboxUsageError(f"send_media kind must be one of {sorted(_MEDIA_MIME)}")
        raw, path_name = await _load(data)
        name = filename or path_name
        mime = mime_type or _MEDIA_MIME[kind]
        record = self.world.store_document(raw, name, mime, kind=kind, declared_size=file_size)
        obj: dict[str, Any] = {"file_id": record.file_id,
                               "file_unique_id": record.file_unique_id,
                               "file_size": record.size, "duration": duration}
        if kind == "video_note":
            obj["length"] = 240
        else:
            obj["mime_type"] = mime
        if kind in ("video",):
            obj.update(width=640, height=360)
        if name and kind in ("video", "audio"):
            obj["file_name"] = name
        content = {kind: obj, **self._caption(caption)}
        return self._post(self.chat_state(chat, bot), content, reply_to, bot)

    async def send_location(
        self,
        latitude: float,
        longitude: float,
        *,
        title: str | None = None,
        address: str = "",
        chat: Group | int | None = None,
        reply_to: MessageRef | None = None,
        bot: str | None = None,
    ) -> dict[str, Any]:
        """A location; with a title, a venue (which, as in Telegram, carries the location)."""
        location = {"latitude": latitude, "longitude": longitude}
        content: dict[str, Any] = {"location": location}
        if title is not None:
            content["venue"] = {"location": location, "title": title, "address": address}
        return self._post(self.chat_state(chat, bot), content, reply_to, bot)

    async def send_sticker(
        self,
        *,
        emoji: str = "👍",
        chat: Group | int | None = None,
        reply_to: MessageRef | None = None,
        bot: str | None = None,
    ) -> dict[str, Any]:
        record = self.world.store_document(b"RIFF\x00\x00\x00\x00WEBP", "sticker.webp",
                                           "image/webp", kind="sticker")
        content = {"sticker": {"file_id": record.file_id,
                               "file_unique_id": record.file_unique_id, "type": "regular",
                               "width": 512, "height": 512, "is_animated": False,
                               "is_video": False, "emoji": emoji, "file_size": record.size}}
        return self._post(self.chat_state(chat, bot), content, reply_to, bot)

    async def send_content(
        self,
        content: Mapping[str, Any],
        *,
        chat: Group | int | None = None,
        reply_to: MessageRef | None = None,
        bot: str | None = None,
    ) -> dict[str, Any]:
        """Any other message content as Bot API fields, e.g. {"dice": {"emoji": "🎲",
        "value": 3}} or {"contact": {"phone_number": "…", "first_name": "…"}}."""
        return self._post(self.chat_state(chat, bot), dict(content), reply_to, bot)

    async def edit(self, message: MessageRef, text: str) -> dict[str, Any]:
        """Edit one's own text message: the bot gets an edited_message update."""
        return self.world.user_edit(self.account, self._record(message), text).snapshot()

    async def delete(self, message: MessageRef) -> None:
        """Delete a message from a private chat with a bot (either side's, as a Telegram
        user may): the bot is not told, and its later edits of it fail."""
        record = self._record(message)
        if record.chat_id != self.id:
            raise SandboxUsageError("a person deletes messages in their own private chat")
        self.world.delete_message(record)

    async def tap(self, message: MessageRef, label: str, *, bot: str | None = None) -> dict[str, Any]:
        """Press the inline button labelled `label`; returns the CallbackQuery sent to the bot.

        Uses the message's current keyboard (edits applied). Raises SandboxUsageError when
        there is no such button, the message is gone or the button carries no callback_data.
        """
        record = self._record(message, bot)
        sender = self.world.bots.get(record.sender_id) if record.from_bot else None
        if sender is None:
            raise SandboxUsageError("inline buttons can only be tapped on a bot's message")
        return dict(self.world.press_button(self.account, sender, record, label).query)

    async def answered(
        self, callback: Mapping[str, Any] | CallbackRecord | str, timeout: float = 2.0
    ) -> CallbackAnswer | None:
        """How the bot answered a tapped button (text, show_alert, ...); None if it did not
        answer within `timeout` seconds."""
        if isinstance(callback, str):
            query_id = callback
        elif isinstance(callback, CallbackRecord):
            query_id = callback.id
        else:
            query_id = str(callback["id"])
        record = self.world.callbacks.get(query_id)
        if record is None:
            raise SandboxUsageError(f"unknown callback query {query_id}")
        try:
            return await self.world.activity.wait_for(lambda: record.answer, timeout)
        except TimeoutError:
            return None

    def inbox(self, *, bot: str | None = None, include_deleted: bool = False) -> list[dict[str, Any]]:
        """Messages the bot sent to this person's private chat, current state, oldest first."""
        chat = self.chat_state(None, bot)
        records = self.world.chat_messages(chat, from_bot=True, include_deleted=include_deleted)
        return [r.snapshot() for r in records]

    async def wait_for_reply(
        self,
        timeout: float = 5.0,
        since: MessageRef | int | None = None,
        *,
        chat: Group | int | None = None,
        bot: str | None = None,
    ) -> dict[str, Any]:
        """The first bot message in the chat newer than `since` (default: this person's last
        message there). Raises TimeoutError if none arrives in `timeout` seconds."""
        state = self.chat_state(chat, bot)
        after = (
            _message_id(since) if since is not None
            else self._last_sent.get((state.bot_id, state.id), 0)
        )
        only = self._bot(bot).id if bot is not None and state.type != "private" else None
        try:
            return await self.world.activity.wait_for(
                lambda: _first_bot_message(state, after, only), timeout
            )
        except TimeoutError:
            raise TimeoutError(
                f"{self.first_name}: no bot message in chat {state.id} after message {after} "
                f"within {timeout}s"
            ) from None

    async def wait_for_edit(self, message: MessageRef, timeout: float = 5.0) -> dict[str, Any]:
        """Wait until the message differs from the given snapshot (edited or re-marked-up)."""
        record = self._record(message)
        seen = dict(message) if not isinstance(message, MessageRecord) else record.snapshot()

        def probe() -> dict[str, Any] | None:
            return record.snapshot() if record.data != seen or record.deleted else None

        return await self.world.activity.wait_for(probe, timeout)

    async def block_bot(self, bot: str | None = None) -> None:
        """Block the bot: its sends to this person get 403; it receives my_chat_member."""
        account = self._bot(bot)
        chat = self.world.private_chat(account, self.account)
        self.world.blocked.add((account.id, self.id))
        self._member_update(account, chat, "member", "kicked")

    async def unblock_bot(self, bot: str | None = None) -> None:
        account = self._bot(bot)
        chat = self.world.private_chat(account, self.account)
        self.world.blocked.discard((account.id, self.id))
        self._member_update(account, chat, "kicked", "member")

    def _member_update(self, bot: BotAccount, chat: ChatState, old: str, new: str) -> None:
        def member(status: str) -> dict[str, Any]:
            out: dict[str, Any] = {"status": status, "user": bot.to_dict(full=False)}
            if status == "kicked":
                out["until_date"] = 0
            return out

        self.world.push_update(
            bot,
            "my_chat_member",
            {
                "chat": chat.to_dict(),
                "from": self.user,
                "date": int(self.world.wall_clock()),
                "old_chat_member": member(old),
                "new_chat_member": member(new),
            },
        )


def _first_bot_message(chat: ChatState, after: int, bot_id: int | None) -> dict[str, Any] | None:
    for record in chat.messages.values():
        if (
            record.from_bot
            and not record.deleted
            and record.message_id > after
            and (bot_id is None or record.sender_id == bot_id)
        ):
            return record.snapshot()
    return None


class Group(_ChatUser):
    """A group chat (negative id). Every bot of the server is a member."""

    def __init__(self, server: SandboxHost, state: ChatState) -> None:
        super().__init__(server)
        self.state = state

    def __repr__(self) -> str:
        return f"<Group {self.id} {self.title!r}>"

    @property
    def id(self) -> int:
        return self.state.id

    @property
    def title(self) -> str:
        return self.state.title or ""

    @property
    def chat(self) -> dict[str, Any]:
        """The group as a Bot API Chat object."""
        return self.state.to_dict()

    @property
    def members(self) -> list[Person]:
        return [self.server.person_by_id(uid) for uid in self.state.member_ids]

    @property
    def pinned(self) -> list[int]:
        """Pinned message ids, oldest pin first."""
        return list(self.state.pinned)

    def messages(self, *, bot: str | None = None, include_deleted: bool = False) -> list[dict[str, Any]]:
        """Messages bots sent to the group (current state), oldest first."""
        bot_id = self._bot(bot).id if bot is not None else None
        records = self.world.chat_messages(
            self.state, from_bot=True, bot_id=bot_id, include_deleted=include_deleted
        )
        return [r.snapshot() for r in records]

    def history(self, *, include_deleted: bool = False) -> list[dict[str, Any]]:
        """Every message of the group, people's included."""
        records = self.world.chat_messages(self.state, include_deleted=include_deleted)
        return [r.snapshot() for r in records]

    async def wait_for_message(
        self, timeout: float = 5.0, since: MessageRef | int | None = None, *, bot: str | None = None
    ) -> dict[str, Any]:
        """First bot message newer than `since` (default: the latest message by a person)."""
        if since is not None:
            after = _message_id(since)
        else:
            people = [m for m in self.state.messages.values() if not m.from_bot]
            after = people[-1].message_id if people else 0
        only = self._bot(bot).id if bot is not None else None
        try:
            return await self.world.activity.wait_for(
                lambda: _first_bot_message(self.state, after, only), timeout
            )
        except TimeoutError:
            raise TimeoutError(
                f"no bot message in {self.title!r} after message {after} within {timeout}s"
            ) from None

    async def add_member(self, person: Person) -> dict[str, Any]:
        """The person joins: bots get a new_chat_members service message."""
        if person.id in self.state.member_ids:
            raise SandboxUsageError(f"{person.first_name} is already in {self.title!r}")
        self.state.member_ids.append(person.id)
        record = self.world.user_message(
            person.account, self.state, {"new_chat_members": [person.user]}
        )
        return record.snapshot()

    async def remove_member(self, person: Person) -> dict[str, Any]:
        """The person leaves: bots get a left_chat_member service message."""
        if person.id not in self.state.member_ids:
            raise SandboxUsageError(f"{person.first_name} is not in {self.title!r}")
        record = self.world.user_message(
            person.account, self.state, {"left_chat_member": person.user}
        )
        self.state.member_ids.remove(person.id)
        return record.snapshot()
