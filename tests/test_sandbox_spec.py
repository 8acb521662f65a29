"""Request validation and answer checks against the Bot API spec file, without HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandbox.errors import ApiError
from sandbox.spec import BotApiSpec, UploadedFile

SPEC = BotApiSpec.load()


def parse(method: str, raw: dict[str, Any], uploads: dict[str, UploadedFile] | None = None) -> Any:
    spec_method = SPEC.method(method)
    assert spec_method is not None
    return SPEC.parse_params(spec_method, raw, uploads)


def error(method: str, raw: dict[str, Any], uploads: dict[str, UploadedFile] | None = None) -> str:
    with pytest.raises(ApiError) as caught:
        parse(method, raw, uploads)
    assert caught.value.error_code == 400
    return caught.value.description


def test_spec_file_is_loaded() -> None:
    assert SPEC.version.startswith("Bot API")
    assert SPEC.method("sendmessage") is SPEC.method("sendMessage")
    assert SPEC.method("sendTelepathy") is None
    assert "callback_query" in SPEC.update_types()


def test_primitive_types_from_form_strings() -> None:
    assert parse("sendLocation", {"chat_id": "-100123", "latitude": "31.2", "longitude": 121}) == {
        "chat_id": -100123, "latitude": 31.2, "longitude": 121.0
    }
    assert parse("banChatMember", {"chat_id": "@county_group", "user_id": "7",
                                   "revoke_messages": "0"}) == {
        "chat_id": "@county_group", "user_id": 7, "revoke_messages": False
    }
    assert "latitude" in error("sendLocation", {"chat_id": 1, "latitude": "north", "longitude": 1})
    assert "user_id" in error("banChatMember", {"chat_id": 1, "user_id": True})
    assert "revoke_messages" in error(
        "banChatMember", {"chat_id": 1, "user_id": 2, "revoke_messages": "yes"}
    )


def test_missing_means_absent_null_or_empty() -> None:
    for raw in ({}, {"chat_id": None}, {"chat_id": ""}):
        assert error("banChatMember", {**raw, "user_id": 1}) == "Bad Request: chat_id is empty"


def test_json_parameters_and_nested_objects() -> None:
    parsed = parse("setWebhook", {"url": "https://x.cn", "allowed_updates": '["message"]'})
    assert parsed["allowed_updates"] == ["message"]
    assert "allowed_updates" in error("setWebhook", {"url": "u", "allowed_updates": '{"a": 1}'})
    assert "[1]: expected String" in error("setWebhook", {"url": "u", "allowed_updates": "[1, []]"})
    media = '[{"type": "photo", "media": "attach://p1"}, {"type": "photo", "media": "FILEID"}]'
    assert len(parse("sendMediaGroup", {"chat_id": 1, "media": media})["media"]) == 2
    assert "media" in error("sendMediaGroup", {"chat_id": 1, "media": '[{"type": "photo"}]'})


def test_files() -> None:
    upload = UploadedFile(field="cert", data=b"PEM", filename="cert.pem")
    assert parse("setWebhook", {"url": "u", "certificate": upload})["certificate"] is upload
    assert parse(
        "setWebhook", {"url": "u", "certificate": "attach://cert"}, {"cert": upload}
    )["certificate"] is upload
    assert "certificate" in error("setWebhook", {"url": "u", "certificate": "FILEID"})
    assert "url" in error("setWebhook", {"url": upload})
    assert parse("sendDocument", {"chat_id": 1, "document": "FILEID"})["document"] == "FILEID"


def test_answers_are_checked_strictly() -> None:
    message = {"message_id": 1, "date": 2, "chat": {"id": 3, "type": "private"}}
    assert SPEC.check_value(message, ["Message"]) == []
    assert SPEC.check_value({**message, "date": "2"}, ["Message"]) == ["date: expected Integer"]
    assert SPEC.check_value({**message, "chat": {"id": 3}}, ["Message"]) == [
        "chat.type: required field of Chat is missing"
    ]
    member = {"status": "kicked", "user": {"id": 1, "is_bot": False, "first_name": "x"},
              "until_date": 0}
    assert SPEC.check_value(member, ["ChatMember"]) == []
    assert SPEC.check_value({**member, "status": "member", "until_date": None}, ["ChatMember"]) == []
    assert SPEC.check_value(True, ["Boolean"]) == []
    assert SPEC.check_value("true", ["Boolean"]) != []


@given(st.integers(min_value=-(2**62), max_value=2**62))
def test_integers_survive_form_encoding(n: int) -> None:
    assert parse("banChatMember", {"chat_id": str(n), "user_id": str(n)}) == {
        "chat_id": n, "user_id": n
    }
