"""Bot API methods the sandbox implements, on validated and typed parameters."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from sandbox.errors import bad_request
from sandbox.formatting import EntityParseError, render
from sandbox.media import guess_mime, image_extension, image_size
from sandbox.spec import UploadedFile
from sandbox.world import (
    BotAccount,
    CallbackAnswer,
    ChatState,
    FileRecord,
    MessageRecord,
    WebhookState,
    World,
    check_inline_keyboard,
)

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_DOWNLOAD = 20 * 1024 * 1024
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)


class ServerHooks(Protocol):
    def webhook_changed(self, bot: BotAccount) -> None: ...


@dataclass
class CallContext:
    world: World
    bot: BotAccount
    uploads: dict[str, UploadedFile]
    hooks: ServerHooks
    max_poll_timeout: float = 50.0


Handler = Callable[[CallContext, dict[str, Any]], Awaitable[Any]]
HANDLERS: dict[str, Handler] = {}


def method(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[name] = fn
        return fn

    return register


# ---- helpers --------------------------------------------------------------------------


def _text(text: str, parse_mode: str | None, entities: Any) -> tuple[str, list[dict[str, Any]]]:
    try:
        return render(text, parse_mode, entities)
    except EntityParseError as exc:
        raise bad_request(f"can't parse entities: {exc}") from None


def _reply_target(chat: ChatState, p: dict[str, Any]) -> MessageRecord | None:
    params = p.get("reply_parameters")
    if not params:
        return None
    target = chat.message(int(params["message_id"]))
    if target is None and not params.get("allow_sending_without_reply"):
        raise bad_request("message to be replied not found")
    return target


def _caption(p: dict[str, Any]) -> dict[str, Any]:
    if "caption" not in p:
        return {}
    text, entities = _text(p["caption"], p.get("parse_mode"), p.get("caption_entities"))
    if len(text) > MAX_CAPTION:
        raise bad_request("message caption is too long")
    out: dict[str, Any] = {"caption": text}
    if entities:
        out["caption_entities"] = entities
    return out


def _existing_file(world: World, ref: str) -> FileRecord:
    if ref.startswith(("http://", "https://")):
        # offline by design: the sandbox never fetches the internet
        raise bad_request("failed to get HTTP URL content")
    record = world.files.get(ref)
    if record is None:
        raise bad_request("wrong file identifier/HTTP URL specified")
    return record


def _message_result(record: MessageRecord) -> dict[str, Any]:
    return record.snapshot()


def _send(
    ctx: CallContext,
    p: dict[str, Any],
    content: dict[str, Any],
) -> dict[str, Any]:
    chat = ctx.world.resolve_chat(ctx.bot, p["chat_id"], sending=True)
    reply_to = _reply_target(chat, p)
    if p.get("protect_content"):
        content["has_protected_content"] = True
    record = ctx.world.bot_message(
        ctx.bot, chat, content, reply_to=reply_to, reply_markup=p.get("reply_markup")
    )
    return _message_result(record)


def _target(ctx: CallContext, p: dict[str, Any]) -> MessageRecord:
    """The bot's own message an edit* call names."""
    if p.get("inline_message_id"):
        raise bad_request("MESSAGE_ID_INVALID")  # no inline mode in the sandbox
    if p.get("chat_id") is None or p.get("message_id") is None:
        raise bad_request("message identifier is not specified")
    chat = ctx.world.resolve_chat(ctx.bot, p["chat_id"], sending=True)
    record = chat.message(p["message_id"])
    if record is None:
        raise bad_request("message to edit not found")
    if not record.from_bot or record.sender_id != ctx.bot.id:
        raise bad_request("message can't be edited")
    return record


def _inline(markup: Any) -> dict[str, Any] | None:
    if isinstance(markup, dict) and markup.get("inline_keyboard"):
        return markup
    return None


# ---- getting updates ------------------------------------------------------------------


@method("getMe")
async def get_me(ctx: CallContext, p: dict[str, Any]) -> Any:
    return ctx.bot.to_dict()


@method("logOut")
async def log_out(ctx: CallContext, p: dict[str, Any]) -> Any:
    ctx.bot.logged_out = True
    return True


@method("close")
async def close(ctx: CallContext, p: dict[str, Any]) -> Any:
    return True


@method("getUpdates")
async def get_updates(ctx: CallContext, p: dict[str, Any]) -> Any:
    limit = min(100, max(1, p.get("limit", 100)))
    timeout = min(ctx.max_poll_timeout, max(0.0, float(p.get("timeout", 0))))
    return await ctx.world.get_updates(
        ctx.bot,
        offset=p.get("offset"),
        limit=limit,
        timeout=timeout,
        allowed_updates=p.get("allowed_updates"),
    )


@method("setWebhook")
async def set_webhook(ctx: CallContext, p: dict[str, Any]) -> Any:
    url = p.get("url", "")
    bot = ctx.bot
    if not url:
        return await delete_webhook(ctx, p)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret = p.get("secret_token")
    if secret is not None and not _SECRET_RE.fullmatch(secret):
        raise bad_request("secret token contains unallowed characters")
    if p.get("drop_pending_updates"):
        bot.updates.clear()
    if "allowed_updates" in p:
        bot.allowed_updates = list(p["allowed_updates"]) or None
    bot.webhook = WebhookState(
        url=url,
        secret_token=secret,
        max_connections=p.get("max_connections", 40),
        ip_address=p.get("ip_address"),
    )
    bot.signal.fire()
    ctx.hooks.webhook_changed(bot)
    return True


@method("deleteWebhook")
async def delete_webhook(ctx: CallContext, p: dict[str, Any]) -> Any:
    bot = ctx.bot
    if p.get("drop_pending_updates"):
        bot.updates.clear()
    if bot.webhook is not None:
        bot.webhook = None
        bot.signal.fire()
        ctx.hooks.webhook_changed(bot)
    return True


@method("getWebhookInfo")
async def get_webhook_info(ctx: CallContext, p: dict[str, Any]) -> Any:
    bot = ctx.bot
    hook = bot.webhook
    info: dict[str, Any] = {
        "url": hook.url if hook else "",
        "has_custom_certificate": False,
        "pending_update_count": len(bot.updates),
    }
    if hook is not None:
        info["max_connections"] = hook.max_connections
        if hook.ip_address:
            info["ip_address"] = hook.ip_address
        if hook.last_error_date is not None:
            info["last_error_date"] = hook.last_error_date
            info["last_error_message"] = hook.last_error_message or ""
        if bot.allowed_updates:
            info["allowed_updates"] = list(bot.allowed_updates)
    return info


# ---- messages -------------------------------------------------------------------------


@method("sendMessage")
async def send_message(ctx: CallContext, p: dict[str, Any]) -> Any:
    text, entities = _text(p["text"], p.get("parse_mode"), p.get("entities"))
    if not text.strip():
        raise bad_request("message text is empty")
    if len(text) > MAX_TEXT:
        raise bad_request("message is too long")
    content: dict[str, Any] = {"text": text}
    if entities:
        content["entities"] = entities
    return _send(ctx, p, content)


@method("sendDocument")
async def send_document(ctx: CallContext, p: dict[str, Any]) -> Any:
    doc = p["document"]
    if isinstance(doc, UploadedFile):
        name = doc.filename or "document"
        record = ctx.world.store_document(doc.data, name, guess_mime(name, doc.content_type))
    else:
        record = _existing_file(ctx.world, doc)
        if record.kind != "document":
            raise bad_request(f"can't use file of type {record.kind.title()} as Document")
    content = {"document": record.as_document(), **_caption(p)}
    return _send(ctx, p, content)


@method("sendPhoto")
async def send_photo(ctx: CallContext, p: dict[str, Any]) -> Any:
    photo = p["photo"]
    if isinstance(photo, UploadedFile):
        size = image_size(photo.data)
        if size is None:
            raise bad_request("IMAGE_PROCESS_FAILED")
        sizes = ctx.world.store_photo(photo.data, size[0], size[1], image_extension(photo.data))
        record = sizes[-1]
    else:
        record = _existing_file(ctx.world, photo)
        if record.kind != "photo":
            raise bad_request(f"can't use file of type {record.kind.title()} as Photo")
    content = {"photo": ctx.world.photo_sizes(record), **_caption(p)}
    return _send(ctx, p, content)


def _media(ctx: CallContext, p: dict[str, Any], kind: str) -> Any:
    """sendVoice, sendVideo, sendVideoNote, sendAudio: an upload or a file_id of that kind."""
    given = p[kind]
    if isinstance(given, UploadedFile):
        name = given.filename or kind
        record = ctx.world.store_document(given.data, name,
                                          guess_mime(name, given.content_type), kind=kind)
    else:
        record = _existing_file(ctx.world, given)
        if record.kind != kind:
            label = kind.replace("_", " ").title()
            raise bad_request(f"can't use file of type {record.kind.title()} as {label}")
    obj: dict[str, Any] = {"file_id": record.file_id, "file_unique_id": record.file_unique_id,
                           "file_size": record.size, "duration": int(p.get("duration") or 0)}
    if kind == "video_note":
        obj["length"] = int(p.get("length") or 240)
    elif record.mime_type:
        obj["mime_type"] = record.mime_type
    if kind == "video":
        obj.update(width=int(p.get("width") or 640), height=int(p.get("height") or 360))
    content = {kind: obj, **({} if kind == "video_note" else _caption(p))}
    return _send(ctx, p, content)


@method("sendVoice")
async def send_voice(ctx: CallContext, p: dict[str, Any]) -> Any:
    return _media(ctx, p, "voice")


@method("sendVideo")
async def send_video(ctx: CallContext, p: dict[str, Any]) -> Any:
    return _media(ctx, p, "video")


@method("sendVideoNote")
async def send_video_note(ctx: CallContext, p: dict[str, Any]) -> Any:
    return _media(ctx, p, "video_note")


@method("sendAudio")
async def send_audio(ctx: CallContext, p: dict[str, Any]) -> Any:
    return _media(ctx, p, "audio")


def _coordinates(p: dict[str, Any]) -> dict[str, float]:
    try:
        lat, lon = float(p["latitude"]), float(p["longitude"])
    except (KeyError, TypeError, ValueError):
        raise bad_request("wrong latitude or longitude") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise bad_request("wrong latitude or longitude")
    return {"latitude": lat, "longitude": lon}


@method("sendLocation")
async def send_location(ctx: CallContext, p: dict[str, Any]) -> Any:
    return _send(ctx, p, {"location": _coordinates(p)})


@method("sendVenue")
async def send_venue(ctx: CallContext, p: dict[str, Any]) -> Any:
    location = _coordinates(p)
    venue = {"location": location, "title": str(p.get("title") or ""),
             "address": str(p.get("address") or "")}
    return _send(ctx, p, {"location": location, "venue": venue})


@method("editMessageText")
async def edit_message_text(ctx: CallContext, p: dict[str, Any]) -> Any:
    record = _target(ctx, p)
    if "text" not in p:
        if p.get("rich_message") is not None:
            raise bad_request("method not supported by sandbox: rich messages")
        raise bad_request("message text is empty")
    if record.text is None:
        raise bad_request("there is no text in the message to edit")
    text, entities = _text(p["text"], p.get("parse_mode"), p.get("entities"))
    if not text.strip():
        raise bad_request("message text is empty")
    if len(text) > MAX_TEXT:
        raise bad_request("message is too long")
    markup = _inline(p.get("reply_markup"))
    old = record.data
    if text == old.get("text") and entities == old.get("entities", []) and markup == old.get(
        "reply_markup"
    ):
        raise bad_request(_NOT_MODIFIED)
    ctx.world.edit_message(record, {"text": text, "entities": entities}, reply_markup=markup)
    return _message_result(record)


@method("editMessageCaption")
async def edit_message_caption(ctx: CallContext, p: dict[str, Any]) -> Any:
    record = _target(ctx, p)
    if record.text is not None:
        raise bad_request("there is no caption in the message to edit")
    caption = _caption(p) if "caption" in p else {"caption": None, "caption_entities": None}
    changes = {"caption_entities": None, **caption}
    markup = _inline(p.get("reply_markup"))
    old = record.data
    if (
        changes.get("caption") == old.get("caption")
        and changes.get("caption_entities") == old.get("caption_entities")
        and markup == old.get("reply_markup")
    ):
        raise bad_request(_NOT_MODIFIED)
    ctx.world.edit_message(record, changes, reply_markup=markup)
    return _message_result(record)


@method("editMessageReplyMarkup")
async def edit_message_reply_markup(ctx: CallContext, p: dict[str, Any]) -> Any:
    record = _target(ctx, p)
    markup = _inline(p.get("reply_markup"))
    if markup == record.data.get("reply_markup"):
        raise bad_request(_NOT_MODIFIED)
    if markup is not None:
        check_inline_keyboard(markup)
    ctx.world.edit_message(record, {}, reply_markup=markup)
    return _message_result(record)


@method("deleteMessage")
async def delete_message(ctx: CallContext, p: dict[str, Any]) -> Any:
    chat = ctx.world.resolve_chat(ctx.bot, p["chat_id"], sending=False)
    record = chat.message(p["message_id"])
    if record is None:
        raise bad_request("message to delete not found")
    if record.from_bot and record.sender_id != ctx.bot.id:
        raise bad_request("message can't be deleted")
    ctx.world.delete_message(record)
    return True


@method("answerCallbackQuery")
async def answer_callback_query(ctx: CallContext, p: dict[str, Any]) -> Any:
    text = p.get("text")
    if text is not None and len(text) > 200:
        raise bad_request("MESSAGE_TOO_LONG")
    ctx.world.answer_callback(
        ctx.bot,
        p["callback_query_id"],
        CallbackAnswer(
            text=text,
            show_alert=bool(p.get("show_alert", False)),
            url=p.get("url"),
            cache_time=int(p.get("cache_time", 0)),
        ),
    )
    return True


@method("sendChatAction")
async def send_chat_action(ctx: CallContext, p: dict[str, Any]) -> Any:
    if p["action"] not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    chat = ctx.world.resolve_chat(ctx.bot, p["chat_id"], sending=True)
    chat.actions.append(p["action"])
    return True


# ---- files ----------------------------------------------------------------------------


@method("getFile")
async def get_file(ctx: CallContext, p: dict[str, Any]) -> Any:
    record = ctx.world.files.get(p["file_id"])
    if record is None:
        raise bad_request("invalid file_id")
    if record.size > MAX_DOWNLOAD:
        raise bad_request("file is too big")
    return record.as_file()


# ---- commands -------------------------------------------------------------------------


def _scope_key(p: dict[str, Any]) -> tuple[str, str]:
    scope = p.get("scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True), p.get("language_code", "")


@method("setMyCommands")
async def set_my_commands(ctx: CallContext, p: dict[str, Any]) -> Any:
    commands = p["commands"]
    if len(commands) > 100:
        raise bad_request("too many commands")
    clean = []
    for c in commands:
        command = str(c["command"]).lstrip("/")
        description = str(c["description"])
        if not _COMMAND_RE.fullmatch(command):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(description) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        clean.append({"command": command, "description": description})
    ctx.bot.commands[_scope_key(p)] = clean
    return True


@method("getMyCommands")
async def get_my_commands(ctx: CallContext, p: dict[str, Any]) -> Any:
    return [dict(c) for c in ctx.bot.commands.get(_scope_key(p), [])]


@method("deleteMyCommands")
async def delete_my_commands(ctx: CallContext, p: dict[str, Any]) -> Any:
    ctx.bot.commands.pop(_scope_key(p), None)
    return True


# ---- chats ----------------------------------------------------------------------------


@method("getChat")
async def get_chat(ctx: CallContext, p: dict[str, Any]) -> Any:
    chat = ctx.world.resolve_chat(ctx.bot, p["chat_id"], sending=False)
    return chat.full_info()


@method("getChatMemberCount")
async def get_chat_member_count(ctx: CallContext, p: dict[str, Any]) -> Any:
    chat = ctx.world.resolve_chat(ctx.bot, p["chat_id"], sending=False)
    if chat.type == "private":
        return 2
    return len(chat.member_ids) + len(ctx.world.bots_seeing(chat))


@method("getChatMember")
async def get_chat_member(ctx: CallContext, p: dict[str, Any]) -> Any:
    chat = ctx.world.resolve_chat(ctx.bot, p["chat_id"], sending=False)
    user_id = p["user_id"]
    bot = next((b for b in ctx.world.bots_by_token.values() if b.id == user_id), None)
    if bot is not None:
        if chat.type != "channel":
            return {"status": "member", "user": bot.to_dict(full=False)}
        rights = {name: False for name in (
            "can_be_edited", "is_anonymous", "can_manage_chat", "can_delete_messages",
            "can_manage_video_chats", "can_restrict_members", "can_promote_members",
            "can_change_info", "can_invite_users", "can_post_stories", "can_edit_stories",
            "can_delete_stories")}
        may = chat.bots_may_post
        return {"status": "administrator", "user": bot.to_dict(full=False), **rights,
                "can_manage_chat": True, "can_post_messages": may, "can_edit_messages": may}
    user = ctx.world.users.get(user_id)
    if user is None:
        raise bad_request("user not found")
    inside = user_id in chat.member_ids or chat.user is user
    return {"status": "member" if inside else "left", "user": user.to_dict()}


@method("pinChatMessage")
async def pin_chat_message(ctx: CallContext, p: dict[str, Any]) -> Any:
    chat = ctx.world.resolve_chat(ctx.bot, p["chat_id"], sending=True)
    if chat.message(p["message_id"]) is None:
        raise bad_request("message to pin not found")
    if p["message_id"] in chat.pinned:
        chat.pinned.remove(p["message_id"])
    chat.pinned.append(p["message_id"])
    ctx.world.activity.fire()
    return True


@method("unpinChatMessage")
async def unpin_chat_message(ctx: CallContext, p: dict[str, Any]) -> Any:
    chat = ctx.world.resolve_chat(ctx.bot, p["chat_id"], sending=True)
    message_id = p.get("message_id")
    if message_id is None:
        if chat.pinned:
            chat.pinned.pop()
    elif message_id in chat.pinned:
        chat.pinned.remove(message_id)
    else:
        raise bad_request("message to unpin not found")
    ctx.world.activity.fire()
    return True


@method("unpinAllChatMessages")
async def unpin_all_chat_messages(ctx: CallContext, p: dict[str, Any]) -> Any:
    chat = ctx.world.resolve_chat(ctx.bot, p["chat_id"], sending=True)
    chat.pinned.clear()
    ctx.world.activity.fire()
    return True
