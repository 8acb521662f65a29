"""Contract: every answer the sandbox gives is one PTB parses (de_json) and the spec allows."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from telegram import (
    Bot,
    BotCommand,
    ChatFullInfo,
    ChatMember,
    File,
    Message,
    TelegramObject,
    Update,
    User,
    WebhookInfo,
)

from sandbox.media import tiny_png
from sandbox.methods import HANDLERS
from sandbox.server import SandboxServer
from sandbox.spec import BotApiSpec
from tests.conftest_sandbox import *  # noqa: F403


class Api:
    """Raw HTTP calls, in the three body encodings Telegram accepts."""

    def __init__(self, http: aiohttp.ClientSession, server: SandboxServer, token: str) -> None:
        self.http = http
        self.url = f"{server.base_url}{token}"

    async def raw(
        self, method: str, body: str = "json", **params: Any
    ) -> tuple[int, dict[str, Any]]:
        url = f"{self.url}/{method}"
        if body == "json":
            response = await self.http.post(url, json=params)
        elif body == "form":
            form = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
            response = await self.http.post(url, data=form)
        else:
            data = aiohttp.FormData()
            for k, v in params.items():
                if isinstance(v, tuple):
                    data.add_field(k, v[1], filename=v[0])
                else:
                    data.add_field(k, v if isinstance(v, str) else json.dumps(v))
            response = await self.http.post(url, data=data)
        async with response:
            return response.status, await response.json()

    async def ok(self, method: str, body: str = "json", **params: Any) -> Any:
        status, answer = await self.raw(method, body, **params)
        assert status == 200 and answer["ok"], (method, answer)
        return answer["result"]


def parsed(
    covered: dict[str, Any], method: str, result: Any, parse: Callable[[Any], Any] | None
) -> Any:
    if parse is None:
        assert result is True, (method, result)
        covered[method] = result
        return result
    obj = parse(result)
    objects = obj if isinstance(obj, tuple | list) else [obj]
    for item in objects:
        if isinstance(item, TelegramObject):
            # fields PTB does not know land in api_kwargs: the sandbox must not invent any
            assert dict(item.api_kwargs) == {}, (method, item.api_kwargs)
    covered[method] = obj
    return obj


async def test_every_implemented_method_answers_what_ptb_parses(
    sandbox: SandboxServer, bot_token: str, bot: Bot
) -> None:
    alice = sandbox.person(first_name="张三", last_name="张", username="zhangsan")
    group = sandbox.group(title="县督查工作群", members=[alice])
    covered: dict[str, Any] = {}
    keyboard = {"inline_keyboard": [[{"text": "签收", "callback_data": "ack"}]]}
    async with aiohttp.ClientSession() as http:
        api = Api(http, sandbox, bot_token)

        def check(method: str, result: Any, parse: Callable[[Any], Any] | None) -> Any:
            return parsed(covered, method, result, parse)

        me = check("getMe", await api.ok("getMe"), lambda r: User.de_json(r, bot))
        assert me.username == "duban_bot" and me.is_bot

        await alice.send("/start abc")
        await alice.send_photo(tiny_png(), caption="现场 #督办")
        await alice.send_document(b"data", filename="台账.xlsx", chat=group)
        updates = check(
            "getUpdates",
            await api.ok("getUpdates", "form", timeout=0, allowed_updates=[]),
            lambda r: Update.de_list(r, bot),
        )
        assert [u.effective_message.message_id for u in updates] == [1, 2, 1]

        text = check(
            "sendMessage",
            await api.ok(
                "sendMessage", "form", chat_id=alice.id, text="<b>新事项</b>",
                parse_mode="HTML", reply_markup=keyboard,
                reply_parameters={"message_id": 1},
            ),
            lambda r: Message.de_json(r, bot),
        )
        assert text.reply_to_message.text == "/start abc"
        assert text.reply_markup.inline_keyboard[0][0].callback_data == "ack"

        doc = check(
            "sendDocument",
            await api.ok(
                "sendDocument", "multipart", chat_id=str(group.id),
                document=("整改报告.docx", b"PK\x03\x04"), caption="*附件*",
                parse_mode="MarkdownV2",
            ),
            lambda r: Message.de_json(r, bot),
        )
        assert doc.document.file_name == "整改报告.docx"
        assert doc.caption == "附件" and doc.caption_entities[0].type == "bold"

        photo = check(
            "sendPhoto",
            await api.ok(
                "sendPhoto", "multipart", chat_id=str(alice.id), photo=("p.png", tiny_png(200, 100))
            ),
            lambda r: Message.de_json(r, bot),
        )
        assert [(p.width, p.height) for p in photo.photo] == [(90, 45), (200, 100)]

        file = check(
            "getFile",
            await api.ok("getFile", file_id=photo.photo[-1].file_id),
            lambda r: File.de_json(r, bot),
        )
        assert file.file_path.startswith("photos/")

        voice = check(
            "sendVoice",
            await api.ok("sendVoice", "multipart", chat_id=str(alice.id),
                         voice=("v.ogg", b"OggS"), duration="7", caption="语音"),
            lambda r: Message.de_json(r, bot),
        )
        assert voice.voice.file_size == 4 and voice.caption == "语音"
        again = await api.ok("sendVoice", chat_id=alice.id, voice=voice.voice.file_id)
        assert again["voice"]["file_unique_id"] == voice.voice.file_unique_id
        video = check(
            "sendVideo",
            await api.ok("sendVideo", "multipart", chat_id=str(alice.id),
                         video=("v.mp4", b"mp4"), duration="3"),
            lambda r: Message.de_json(r, bot),
        )
        assert video.video.width and video.video.file_id
        note = check(
            "sendVideoNote",
            await api.ok("sendVideoNote", "multipart", chat_id=str(alice.id),
                         video_note=("n.mp4", b"note")),
            lambda r: Message.de_json(r, bot),
        )
        assert note.video_note.length
        audio = check(
            "sendAudio",
            await api.ok("sendAudio", "multipart", chat_id=str(alice.id),
                         audio=("a.mp3", b"ID3")),
            lambda r: Message.de_json(r, bot),
        )
        got = check("getFile", await api.ok("getFile", file_id=audio.audio.file_id),
                    lambda r: File.de_json(r, bot))
        assert got.file_size == 3
        # a file of another kind is refused, as Telegram does
        status, refused = await api.raw("sendVideo", chat_id=alice.id, video=voice.voice.file_id)
        assert status == 400 and "as Video" in refused["description"]
        where = check(
            "sendLocation",
            await api.ok("sendLocation", chat_id=alice.id, latitude=30.5, longitude=120.25),
            lambda r: Message.de_json(r, bot),
        )
        assert where.location.latitude == 30.5
        venue = check(
            "sendVenue",
            await api.ok("sendVenue", chat_id=alice.id, latitude=30.5, longitude=120.25,
                         title="县政府", address="人民路1号"),
            lambda r: Message.de_json(r, bot),
        )
        assert venue.venue.title == "县政府" and venue.location.longitude == 120.25

        check(
            "editMessageText",
            await api.ok(
                "editMessageText", chat_id=alice.id, message_id=text.message_id, text="改后",
                reply_markup=keyboard,
            ),
            lambda r: Message.de_json(r, bot),
        )
        check(
            "editMessageReplyMarkup",
            await api.ok("editMessageReplyMarkup", chat_id=alice.id, message_id=text.message_id),
            lambda r: Message.de_json(r, bot),
        )
        check(
            "editMessageCaption",
            await api.ok(
                "editMessageCaption", chat_id=group.id, message_id=doc.message_id, caption="新说明"
            ),
            lambda r: Message.de_json(r, bot),
        )

        card = await api.ok("sendMessage", chat_id=alice.id, text="卡片", reply_markup=keyboard)
        query = await alice.tap(card, "签收")
        check(
            "answerCallbackQuery",
            await api.ok("answerCallbackQuery", "form", callback_query_id=query["id"], text="好"),
            None,
        )
        commands = [{"command": "start", "description": "开始"}]
        check("setMyCommands", await api.ok("setMyCommands", commands=commands), None)
        check(
            "getMyCommands",
            await api.ok("getMyCommands"),
            lambda r: BotCommand.de_list(r, bot),
        )
        check("deleteMyCommands", await api.ok("deleteMyCommands"), None)
        check("sendChatAction", await api.ok("sendChatAction", chat_id=alice.id, action="typing"), None)
        check("pinChatMessage", await api.ok("pinChatMessage", chat_id=alice.id, message_id=card["message_id"]), None)
        for chat_id in (alice.id, group.id):
            info = check(
                "getChat", await api.ok("getChat", chat_id=chat_id),
                lambda r: ChatFullInfo.de_json(r, bot),
            )
        assert info.title == "县督查工作群"
        covered["getChatMemberCount"] = await api.ok("getChatMemberCount", chat_id=group.id)
        assert covered["getChatMemberCount"] == 2
        channel = sandbox.channel("督查事项公示")
        admin = check(
            "getChatMember", await api.ok("getChatMember", chat_id=channel.id, user_id=me.id),
            lambda r: ChatMember.de_json(r, bot),
        )
        assert admin.status == "administrator" and admin.can_post_messages
        member = check(
            "getChatMember", await api.ok("getChatMember", chat_id=group.id, user_id=alice.id),
            lambda r: ChatMember.de_json(r, bot),
        )
        assert member.status == "member"
        check("unpinChatMessage", await api.ok("unpinChatMessage", chat_id=alice.id), None)
        check("unpinAllChatMessages", await api.ok("unpinAllChatMessages", chat_id=alice.id), None)
        check("deleteMessage", await api.ok("deleteMessage", chat_id=alice.id, message_id=card["message_id"]), None)
        check("setWebhook", await api.ok("setWebhook", url="https://example.invalid/hook"), None)
        check(
            "getWebhookInfo",
            await api.ok("getWebhookInfo"),
            lambda r: WebhookInfo.de_json(r, bot),
        )
        check("deleteWebhook", await api.ok("deleteWebhook"), None)
        check("logOut", await api.ok("logOut"), None)
        check("close", await api.ok("close"), None)

    assert set(covered) == set(HANDLERS), "add new sandbox methods to this contract test"


async def test_every_spec_method_is_validated(sandbox: SandboxServer, bot_token: str) -> None:
    spec = BotApiSpec.load()
    async with aiohttp.ClientSession() as http:
        api = Api(http, sandbox, bot_token)
        for name, method in spec.methods.items():
            if name in ("logOut", "close", "setWebhook", "deleteWebhook"):
                continue
            status, answer = await api.raw(name, "form")
            required = [f for f in method.fields if f.required]
            if required:
                assert status == 400, (name, answer)
                assert answer["description"].endswith("is empty"), (name, answer)
            elif name in HANDLERS:
                # edit* calls have conditional requirements the spec cannot express
                assert status == 200 or name.startswith("edit"), (name, answer)
            elif method.returns_boolean_only:
                assert status == 200 and answer["ok"], (name, answer)
            else:
                assert answer["description"] == "Bad Request: method not supported by sandbox"

        alice = sandbox.person(first_name="张三")
        # not implemented, returns True per the spec: validated, then accepted
        assert await api.ok("setChatTitle", chat_id=alice.id, title="新名称") is True
        status, answer = await api.raw("setChatTitle", chat_id=alice.id, title={"x": 1})
        assert status == 400 and "title" in answer["description"]
        # not implemented and returns an object: refused plainly
        status, answer = await api.raw(
            "forwardMessage", chat_id=alice.id, from_chat_id=alice.id, message_id=1
        )
        assert (status, answer) == (
            400,
            {"ok": False, "error_code": 400,
             "description": "Bad Request: method not supported by sandbox"},
        )


async def test_answers_breaking_the_spec_become_500(
    sandbox: SandboxServer, bot_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(ctx: Any, params: dict[str, Any]) -> Any:
        return {"id": 1, "is_bot": True}  # first_name missing

    monkeypatch.setitem(HANDLERS, "getMe", broken)
    async with aiohttp.ClientSession() as http:
        status, answer = await Api(http, sandbox, bot_token).raw("getMe")
    assert status == 500 and "first_name" in answer["description"]
    assert len(sandbox.internal_errors) == 1
    sandbox.internal_errors.clear()  # expected here; the fixture fails on leftovers
