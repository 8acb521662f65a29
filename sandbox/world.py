"""The sandbox's in-memory Telegram: bots, people, chats, messages, files and update queues.

Everything here is synchronous state manipulation plus `Signal`s that wake waiters; the
HTTP side (sandbox.server) and the people side (sandbox.people) both act on one World.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sandbox.errors import ApiError, SandboxUsageError, bad_request, conflict, forbidden
from sandbox.formatting import detect_entities

T = TypeVar("T")

# Telegram's default when allowed_updates is empty or never given
DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)


class Signal:
    """Wakes every waiter on `fire()`; waiters re-check their own condition (no polling)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def wait_for(self, probe: Callable[[], T | None], timeout: float | None) -> T:
        """Return probe()'s first non-None value; TimeoutError after `timeout` seconds."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            event = self._event  # taken before probing so no fire() can slip between
            value = probe()
            if value is not None:
                return value
            if deadline is None:
                await event.wait()
                continue
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                value = probe()
                if value is not None:
                    return value
                raise


@dataclass
class UserAccount:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    auto_start: bool = True  # behaves as if the person had opened every bot's chat before

    def to_dict(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user


@dataclass
class WebhookState:
    url: str
    secret_token: str | None = None
    max_connections: int = 40
    ip_address: str | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None
    delivered: int = 0


@dataclass
class BotAccount:
    id: int
    token: str
    username: str
    first_name: str
    updates: list[dict[str, Any]] = field(default_factory=list)
    next_update_id: int = 1
    allowed_updates: list[str] | None = None
    webhook: WebhookState | None = None
    commands: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    signal: Signal = field(default_factory=Signal)
    poll_generation: int = 0
    logged_out: bool = False

    def to_dict(self, *, full: bool = True) -> dict[str, Any]:
        """The bot as a User; full=False is how it appears as a message's sender."""
        user: dict[str, Any] = {
            "id": self.id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
        }
        if not full:
            return user
        return {
            **user,
            "can_join_groups": True,
            "can_read_all_group_messages": True,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def deliverable(self, update: dict[str, Any]) -> bool:
        kind = next(k for k in update if k != "update_id")
        if self.allowed_updates:
            return kind in self.allowed_updates
        return kind not in DEFAULT_EXCLUDED_UPDATES


@dataclass
class MessageRecord:
    """A message in a chat; `data` is its current Message JSON (edits applied)."""

    chat_id: int
    message_id: int
    from_bot: bool
    sender_id: int
    date: int
    time: float  # sandbox monotonic clock, for ordering and latency checks
    data: dict[str, Any]
    versions: list[dict[str, Any]] = field(default_factory=list)  # earlier states
    deleted: bool = False
    reply_keyboard: dict[str, Any] | None = None  # non-inline reply_markup, not in Message

    @property
    def text(self) -> str | None:
        value = self.data.get("text")
        return value if isinstance(value, str) else None

    @property
    def caption(self) -> str | None:
        value = self.data.get("caption")
        return value if isinstance(value, str) else None

    @property
    def reply_markup(self) -> dict[str, Any] | None:
        value = self.data.get("reply_markup")
        return value if isinstance(value, dict) else None

    @property
    def document(self) -> dict[str, Any] | None:
        value = self.data.get("document")
        return value if isinstance(value, dict) else None

    @property
    def photo(self) -> list[dict[str, Any]] | None:
        value = self.data.get("photo")
        return value if isinstance(value, list) else None

    @property
    def edited(self) -> bool:
        return bool(self.versions)

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """Inline buttons of the current keyboard, row by row."""
        markup = self.reply_markup or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]

    def snapshot(self) -> dict[str, Any]:
        return json_copy(self.data)


@dataclass
class ChatState:
    id: int
    type: str  # "private", "group", "supergroup" or "channel"
    title: str | None = None
    username: str | None = None
    user: UserAccount | None = None  # the person of a private chat
    bot_id: int | None = None  # the bot of a private chat
    member_ids: list[int] = field(default_factory=list)
    messages: dict[int, MessageRecord] = field(default_factory=dict)
    next_message_id: int = 1
    pinned: list[int] = field(default_factory=list)
    started: bool = True
    actions: list[str] = field(default_factory=list)
    # In a channel, bots are administrators that may post and edit unless this is False.
    bots_may_post: bool = True

    def to_dict(self) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.user is not None:
            chat["first_name"] = self.user.first_name
            if self.user.last_name:
                chat["last_name"] = self.user.last_name
            if self.user.username:
                chat["username"] = self.user.username
        else:
            chat["title"] = self.title or ""
            if self.username:
                chat["username"] = self.username
        return chat

    def full_info(self) -> dict[str, Any]:
        info = self.to_dict()
        info.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        )
        live = [m for m in self.pinned if m in self.messages and not self.messages[m].deleted]
        if live:
            info["pinned_message"] = strip_reply(self.messages[live[-1]].data)
        return info

    def message(self, message_id: int) -> MessageRecord | None:
        record = self.messages.get(message_id)
        return record if record is not None and not record.deleted else None


@dataclass
class FileRecord:
    file_id: str
    file_unique_id: str
    data: bytes
    kind: str  # "photo", "document", or what else a user sent (voice, video, sticker...)
    file_path: str
    mime_type: str | None = None
    file_name: str | None = None
    width: int = 0
    height: int = 0
    photo_group: list[str] = field(default_factory=list)  # file_ids of all sizes
    # The size Telegram reports (file_size), when a test simulates a file bigger than the
    # bytes it keeps (e.g. above getFile's 20 MB); None: len(data).
    declared_size: int | None = None

    @property
    def size(self) -> int:
        return self.declared_size if self.declared_size is not None else len(self.data)

    def as_document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
        }
        if self.file_name:
            doc["file_name"] = self.file_name
        if self.mime_type:
            doc["mime_type"] = self.mime_type
        return doc

    def as_photo_size(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
            "width": self.width,
            "height": self.height,
        }

    def as_file(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
            "file_path": self.file_path,
        }


@dataclass(frozen=True)
class CallbackAnswer:
    text: str | None = None
    show_alert: bool = False
    url: str | None = None
    cache_time: int = 0


@dataclass
class CallbackRecord:
    id: str
    bot_id: int
    user_id: int
    chat_id: int
    message_id: int
    data: str
    query: dict[str, Any]
    answer: CallbackAnswer | None = None


def json_copy(value: Any) -> Any:
    """A deep copy of JSON-shaped data (dicts, lists, scalars): what every update and
    answer is. Several times faster than copy.deepcopy, which the sandbox would otherwise
    spend more time in than the bot under test."""
    t = type(value)
    if t is dict:
        return {k: json_copy(v) for k, v in value.items()}
    if t is list:
        return [json_copy(v) for v in value]
    return value


def strip_reply(data: dict[str, Any]) -> dict[str, Any]:
    """A message as embedded in another one: Telegram does not nest reply_to_message."""
    out = json_copy(data)
    out.pop("reply_to_message", None)
    return out


def check_inline_keyboard(markup: dict[str, Any]) -> None:
    """Telegram's own checks on inline buttons beyond the JSON schema."""
    for row in markup.get("inline_keyboard", []):
        for button in row:
            actions = [a for a in _BUTTON_ACTIONS if button.get(a) is not None]
            if not actions:
                raise bad_request(
                    "can't parse inline keyboard button: Text buttons are unallowed in the "
                    "inline keyboard"
                )
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode("utf-8")) <= 64:
                raise bad_request("BUTTON_DATA_INVALID")


class World:
    def __init__(self, clock: Callable[[], float], wall_clock: Callable[[], float]) -> None:
        self.clock = clock
        self.wall_clock = wall_clock
        self.bots: dict[int, BotAccount] = {}
        self.bots_by_token: dict[str, BotAccount] = {}
        self.users: dict[int, UserAccount] = {}
        self.groups: dict[int, ChatState] = {}
        self.private: dict[tuple[int, int], ChatState] = {}
        self.files: dict[str, FileRecord] = {}
        self.files_by_path: dict[str, FileRecord] = {}
        self.callbacks: dict[str, CallbackRecord] = {}
        self.blocked: set[tuple[int, int]] = set()  # (bot id or 0 for all bots, chat id)
        self.activity = Signal()  # any message/edit/delete/answer: for people's waits
        self.closing = False
        self._next_user_id = 100_000_001
        self._next_bot_id = 7_000_000_001
        self._next_group = 1
        self._next_file = 1
        self._next_callback = 1

    # ---- accounts and chats ----------------------------------------------------------

    def create_bot(
        self, username: str, first_name: str | None = None, token: str | None = None
    ) -> BotAccount:
        if token is not None:
            bot_id = int(token.split(":", 1)[0])
        else:
            bot_id = self._next_bot_id
            self._next_bot_id += 1
            token = f"{bot_id}:AA{secrets.token_urlsafe(33)[:33]}"
        if token in self.bots_by_token or bot_id in self.bots:
            raise SandboxUsageError(f"bot {bot_id} exists already")
        bot = BotAccount(
            id=bot_id, token=token, username=username.lstrip("@"), first_name=first_name or username
        )
        self.bots[bot_id] = bot
        self.bots_by_token[token] = bot
        return bot

    def create_user(
        self,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        auto_start: bool = True,
    ) -> UserAccount:
        user = UserAccount(
            id=self._next_user_id,
            first_name=first_name,
            last_name=last_name,
            username=username.lstrip("@") if username else None,
            language_code=language_code,
            auto_start=auto_start,
        )
        self._next_user_id += 1
        self.users[user.id] = user
        return user

    def create_group(
        self,
        title: str,
        member_ids: list[int],
        supergroup: bool = False,
        username: str | None = None,
    ) -> ChatState:
        n = self._next_group
        self._next_group += 1
        chat_id = -(1_002_000_000_000 + n) if supergroup else -(4_000_000_000 + n)
        chat = ChatState(
            id=chat_id,
            type="supergroup" if supergroup else "group",
            title=title,
            username=username.lstrip("@") if username else None,
            member_ids=list(member_ids),
        )
        self.groups[chat_id] = chat
        return chat

    def create_channel(self, title: str, username: str | None = None) -> ChatState:
        """A channel (-100… id): bots may post and edit there; nobody writes back."""
        n = self._next_group
        self._next_group += 1
        chat = ChatState(id=-(1_002_000_000_000 + n), type="channel", title=title,
                         username=username.lstrip("@") if username else None)
        self.groups[chat.id] = chat
        return chat

    def private_chat(self, bot: BotAccount, user: UserAccount) -> ChatState:
        chat = self.private.get((bot.id, user.id))
        if chat is None:
            chat = ChatState(
                id=user.id, type="private", user=user, bot_id=bot.id, started=user.auto_start
            )
            self.private[(bot.id, user.id)] = chat
        return chat

    def find_chat(self, bot: BotAccount, chat_id: int) -> ChatState | None:
        if chat_id > 0:
            user = self.users.get(chat_id)
            return self.private_chat(bot, user) if user else None
        return self.groups.get(chat_id)

    def resolve_chat(self, bot: BotAccount, chat_id: int | str, *, sending: bool) -> ChatState:
        """The chat a bot call names; raises Telegram's errors for unknown/closed chats."""
        chat: ChatState | None = None
        if isinstance(chat_id, str):
            name = chat_id.lstrip("@").lower()
            chat = next((g for g in self.groups.values() if (g.username or "").lower() == name), None)
        else:
            chat = self.find_chat(bot, chat_id)
        if chat is None:
            raise bad_request("chat not found")
        if sending and chat.type == "channel" and not chat.bots_may_post:
            raise bad_request("need administrator rights in the channel chat")
        if sending:
            if chat.type == "private" and not chat.started:
                raise forbidden("bot can't initiate conversation with a user")
            self.check_not_blocked(bot, chat)
        return chat

    def is_blocked(self, bot_id: int, chat_id: int) -> bool:
        return (bot_id, chat_id) in self.blocked or (0, chat_id) in self.blocked

    def check_not_blocked(self, bot: BotAccount, chat: ChatState) -> None:
        if self.is_blocked(bot.id, chat.id):
            if chat.type == "private":
                raise forbidden("bot was blocked by the user")
            raise forbidden("bot was kicked from the group chat")

    # ---- messages ---------------------------------------------------------------------

    def _add_message(
        self,
        chat: ChatState,
        *,
        sender: dict[str, Any],
        from_bot: bool,
        content: dict[str, Any],
        reply_to: MessageRecord | None = None,
    ) -> MessageRecord:
        message_id = chat.next_message_id
        chat.next_message_id += 1
        date = int(self.wall_clock())
        data: dict[str, Any] = {
            "message_id": message_id,
            "from": sender,
            "chat": chat.to_dict(),
            "date": date,
        }
        if reply_to is not None:
            data["reply_to_message"] = strip_reply(reply_to.data)
        data.update(content)
        record = MessageRecord(
            chat_id=chat.id,
            message_id=message_id,
            from_bot=from_bot,
            sender_id=int(sender["id"]),
            date=date,
            time=self.clock(),
            data=data,
        )
        chat.messages[message_id] = record
        self.activity.fire()
        return record

    def bot_message(
        self,
        bot: BotAccount,
        chat: ChatState,
        content: dict[str, Any],
        *,
        reply_to: MessageRecord | None = None,
        reply_markup: dict[str, Any] | None = None,
    ) -> MessageRecord:
        inline = reply_markup if reply_markup and "inline_keyboard" in reply_markup else None
        if inline is not None:
            check_inline_keyboard(inline)
            content = {**content, "reply_markup": inline}
        record = self._add_message(
            chat, sender=bot.to_dict(full=False), from_bot=True, content=content,
            reply_to=reply_to,
        )
        if reply_markup is not None and inline is None:
            record.reply_keyboard = reply_markup
        return record

    def edit_message(
        self,
        record: MessageRecord,
        changes: dict[str, Any],
        *,
        reply_markup: dict[str, Any] | None,
        keep_markup: bool = False,
    ) -> None:
        """Apply an edit; `changes` values of None remove the key."""
        record.versions.append(json_copy(record.data))
        for key, value in changes.items():
            if value is None or value == []:
                record.data.pop(key, None)
            else:
                record.data[key] = value
        if not keep_markup:
            if reply_markup:
                record.data["reply_markup"] = reply_markup
            else:
                record.data.pop("reply_markup", None)
        record.data["edit_date"] = int(self.wall_clock())
        self.activity.fire()

    def delete_message(self, record: MessageRecord) -> None:
        record.deleted = True
        self.activity.fire()

    def user_message(
        self,
        user: UserAccount,
        chat: ChatState,
        content: dict[str, Any],
        *,
        reply_to: MessageRecord | None = None,
    ) -> MessageRecord:
        """A person posts in a chat; every bot that can see it gets a `message` update."""
        if chat.type == "private":
            chat.started = True
            if chat.bot_id is not None:
                # writing to a bot you blocked unblocks it, as in Telegram
                self.blocked.discard((chat.bot_id, chat.id))
        elif user.id not in chat.member_ids:
            raise SandboxUsageError(f"{user.first_name} is not a member of {chat.title!r}")
        record = self._add_message(
            chat, sender=user.to_dict(), from_bot=False, content=content, reply_to=reply_to
        )
        for bot in self.bots_seeing(chat):
            self.push_update(bot, "message", record.data)
        return record

    def user_edit(self, user: UserAccount, record: MessageRecord, text: str) -> MessageRecord:
        if record.from_bot or record.sender_id != user.id:
            raise SandboxUsageError("people can only edit their own messages")
        if record.deleted or record.text is None:
            raise SandboxUsageError("message is deleted or has no text")
        entities = detect_entities(text)
        self.edit_message(
            record, {"text": text, "entities": entities or None}, reply_markup=None,
            keep_markup=True,
        )
        chat = self.chat_of(record)
        for bot in self.bots_seeing(chat):
            self.push_update(bot, "edited_message", record.data)
        return record

    def bots_seeing(self, chat: ChatState) -> list[BotAccount]:
        if chat.type == "private":
            bot = self.bots.get(chat.bot_id or 0)
            return [bot] if bot is not None else []
        # group privacy mode off: every bot sees every message of groups it was not kicked from
        return [b for b in self.bots.values() if not self.is_blocked(b.id, chat.id)]

    def chat_of(self, record: MessageRecord) -> ChatState:
        for chat in [*self.private.values(), *self.groups.values()]:
            if chat.id == record.chat_id and chat.messages.get(record.message_id) is record:
                return chat
        raise SandboxUsageError("message is not in any chat")

    # ---- files ------------------------------------------------------------------------

    def _file_ids(self, kind: str) -> tuple[str, str]:
        n = self._next_file
        self._next_file += 1
        prefix = {"photo": "AgACAgUAAxkBAAI", "document": "BQACAgUAAxkBAAI"}.get(kind, "CAAC")
        return f"{prefix}{n:06d}{secrets.token_urlsafe(18)}", f"AQAD{n:06d}{secrets.token_hex(3)}"

    def store_document(
        self, data: bytes, file_name: str | None, mime_type: str | None,
        kind: str = "document", declared_size: int | None = None,
    ) -> FileRecord:
        """A file a user sends: a document, or (kind) a voice, video, video_note, audio,
        sticker... Every kind downloads with getFile as the bytes given."""
        file_id, unique = self._file_ids(kind)
        ext = (file_name or "").rpartition(".")[2] if file_name and "." in file_name else "bin"
        folder = "documents" if kind == "document" else f"{kind}s"
        path = f"{folder}/file_{self._next_file - 1}.{ext}"
        record = FileRecord(
            file_id=file_id,
            file_unique_id=unique,
            data=data,
            kind=kind,
            file_path=path,
            mime_type=mime_type,
            file_name=file_name,
            declared_size=declared_size,
        )
        self.files[file_id] = record
        self.files_by_path[path] = record
        return record

    def store_photo(self, data: bytes, width: int, height: int, ext: str) -> list[FileRecord]:
        """The sizes of one photo, smallest first; they all download as the uploaded bytes."""
        sizes = [(width, height)]
        scale = 90 / max(width, height)
        if scale < 1:
            sizes.insert(0, (max(1, round(width * scale)), max(1, round(height * scale))))
        records: list[FileRecord] = []
        for w, h in sizes:
            file_id, unique = self._file_ids("photo")
            path = f"photos/file_{self._next_file - 1}.{ext}"
            record = FileRecord(
                file_id=file_id,
                file_unique_id=unique,
                data=data,
                kind="photo",
                file_path=path,
                mime_type=f"image/{'jpeg' if ext == 'jpg' else ext}",
                width=w,
                height=h,
            )
            self.files[file_id] = record
            self.files_by_path[path] = record
            records.append(record)
        for record in records:
            record.photo_group = [r.file_id for r in records]
        return records

    def photo_sizes(self, record: FileRecord) -> list[dict[str, Any]]:
        return [self.files[fid].as_photo_size() for fid in record.photo_group or [record.file_id]]

    # ---- callbacks --------------------------------------------------------------------

    def press_button(
        self, user: UserAccount, bot: BotAccount, record: MessageRecord, label: str
    ) -> CallbackRecord:
        if record.deleted:
            raise SandboxUsageError(f"message {record.message_id} was deleted")
        buttons = record.buttons
        button = next((b for b in buttons if b.get("text") == label), None)
        if button is None:
            labels = [b.get("text") for b in buttons]
            raise SandboxUsageError(
                f"no inline button {label!r} on message {record.message_id}; buttons: {labels}"
            )
        if button.get("callback_data") is None:
            raise SandboxUsageError(f"button {label!r} has no callback_data: {button}")
        chat = self.chat_of(record)
        if chat.type != "private" and user.id not in chat.member_ids:
            raise SandboxUsageError(f"{user.first_name} is not a member of {chat.title!r}")
        query_id = f"{bot.id % 10_000_000}{self._next_callback:09d}"
        self._next_callback += 1
        query = {
            "id": query_id,
            "from": user.to_dict(),
            "message": record.snapshot(),
            "chat_instance": str(abs(chat.id) * 31 + bot.id % 1000),
            "data": str(button["callback_data"]),
        }
        callback = CallbackRecord(
            id=query_id,
            bot_id=bot.id,
            user_id=user.id,
            chat_id=chat.id,
            message_id=record.message_id,
            data=str(button["callback_data"]),
            query=query,
        )
        self.callbacks[query_id] = callback
        self.push_update(bot, "callback_query", query)
        return callback

    def answer_callback(self, bot: BotAccount, query_id: str, answer: CallbackAnswer) -> None:
        callback = self.callbacks.get(query_id)
        if callback is None or callback.bot_id != bot.id or callback.answer is not None:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        callback.answer = answer
        self.activity.fire()

    # ---- updates ----------------------------------------------------------------------

    def push_update(self, bot: BotAccount, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": bot.next_update_id, kind: json_copy(payload)}
        bot.next_update_id += 1
        bot.updates.append(update)
        bot.signal.fire()
        self.activity.fire()
        return update

    @staticmethod
    def confirm(bot: BotAccount, offset: int) -> None:
        if offset > 0:
            bot.updates = [u for u in bot.updates if u["update_id"] >= offset]
        elif offset < 0:
            bot.updates = bot.updates[offset:]

    async def get_updates(
        self,
        bot: BotAccount,
        *,
        offset: int | None,
        limit: int,
        timeout: float,
        allowed_updates: list[str] | None,
    ) -> list[dict[str, Any]]:
        if bot.webhook is not None:
            raise _webhook_conflict()
        if allowed_updates is not None:
            bot.allowed_updates = list(allowed_updates) or None
        if offset is not None:
            self.confirm(bot, offset)
        bot.poll_generation += 1
        generation = bot.poll_generation
        bot.signal.fire()  # an older long poll still waiting must now give way

        def probe() -> list[dict[str, Any]] | ApiError | None:
            if bot.poll_generation != generation:
                return conflict(
                    "terminated by other getUpdates request; make sure that only one bot "
                    "instance is running"
                )
            if bot.webhook is not None:
                return _webhook_conflict()
            ready = [u for u in bot.updates if bot.deliverable(u)][:limit]
            if ready or self.closing:
                return ready
            return None

        outcome: list[dict[str, Any]] | ApiError
        try:
            outcome = await bot.signal.wait_for(probe, timeout)
        except TimeoutError:
            outcome = []
        if isinstance(outcome, ApiError):
            raise outcome
        return json_copy(outcome)

    def next_webhook_update(self, bot: BotAccount) -> dict[str, Any] | None:
        while bot.updates and not bot.deliverable(bot.updates[0]):
            bot.updates.pop(0)
        return bot.updates[0] if bot.updates else None

    # ---- views ------------------------------------------------------------------------

    def chat_messages(
        self,
        chat: ChatState,
        *,
        from_bot: bool | None = None,
        bot_id: int | None = None,
        include_deleted: bool = False,
    ) -> list[MessageRecord]:
        out = []
        for record in chat.messages.values():
            if record.deleted and not include_deleted:
                continue
            if from_bot is not None and record.from_bot != from_bot:
                continue
            if bot_id is not None and record.from_bot and record.sender_id != bot_id:
                continue
            out.append(record)
        return out


def _webhook_conflict() -> ApiError:
    return conflict(
        "can't use getUpdates method while webhook is active; use deleteWebhook to delete "
        "the webhook first"
    )
