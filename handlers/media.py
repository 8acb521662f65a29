"""What a phone sent, as the ledger records it: photos, files, voice, video, video notes,
audio, locations and venues become attachments; stickers, polls and the like are named so
the sender can be told what to send instead."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from telegram import Bot, Message
from telegram.warnings import PTBDeprecationWarning

from ledger.model import Attachment


def attachments(msg: Message) -> list[Attachment]:
    out: list[Attachment] = []
    if msg.photo:
        p = msg.photo[-1]  # the largest size
        out.append(Attachment("photo", p.file_id, None, p.file_unique_id, p.file_size,
                              "image/jpeg"))
    if msg.document is not None:
        d = msg.document
        out.append(Attachment("document", d.file_id, d.file_name, d.file_unique_id,
                              d.file_size, d.mime_type))
    if msg.voice is not None:
        v = msg.voice
        out.append(Attachment("voice", v.file_id, None, v.file_unique_id, v.file_size,
                              v.mime_type, duration=_duration(v)))
    if msg.video is not None:
        vd = msg.video
        out.append(Attachment("video", vd.file_id, vd.file_name, vd.file_unique_id,
                              vd.file_size, vd.mime_type, duration=_duration(vd)))
    if msg.video_note is not None:
        n = msg.video_note
        out.append(Attachment("video_note", n.file_id, None, n.file_unique_id, n.file_size,
                              "video/mp4", duration=_duration(n)))
    if msg.audio is not None:
        au = msg.audio
        out.append(Attachment("audio", au.file_id, au.file_name, au.file_unique_id,
                              au.file_size, au.mime_type, duration=_duration(au),
                              title=au.title))
    if msg.venue is not None:  # a venue carries its location too: one attachment
        ve = msg.venue
        out.append(Attachment("venue", "", latitude=ve.location.latitude,
                              longitude=ve.location.longitude, title=ve.title,
                              address=ve.address))
    elif msg.location is not None:
        loc = msg.location
        out.append(Attachment("location", "", latitude=loc.latitude,
                              longitude=loc.longitude))
    return out


def _duration(media: object) -> int | None:
    with warnings.catch_warnings():  # PTB 22 warns that the type will become timedelta
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        return _seconds(getattr(media, "duration", None))


def _seconds(value: object) -> int | None:
    """PTB gives durations as int or (with its time-period setting) as a timedelta."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    total = getattr(value, "total_seconds", None)
    return int(total()) if callable(total) else None


def unusable(msg: Message) -> str:
    """What a message the ledger cannot record is (for the line saying what to send)."""
    for kind in ("sticker", "poll", "dice", "contact", "game", "story", "invoice"):
        if getattr(msg, kind, None) is not None:
            return kind
    return "other"


async def send_attachment(bot: Bot, chat_id: int, a: Mapping[str, Any], caption: str,
                          ) -> Message:
    """A reported attachment sent back as what it was (the office reviews the evidence)."""
    kind, file_id = a.get("kind"), a.get("file_id") or ""
    if kind == "photo":
        return await bot.send_photo(chat_id, file_id, caption=caption)
    if kind == "voice":
        return await bot.send_voice(chat_id, file_id, caption=caption)
    if kind == "video":
        return await bot.send_video(chat_id, file_id, caption=caption)
    if kind == "audio":
        return await bot.send_audio(chat_id, file_id, caption=caption)
    if kind == "video_note":  # no caption on a video note: the caption goes before it
        await bot.send_message(chat_id, caption)
        return await bot.send_video_note(chat_id, file_id)
    if kind in ("location", "venue"):
        await bot.send_message(chat_id, caption)
        lat, lon = float(a.get("latitude") or 0), float(a.get("longitude") or 0)
        if kind == "venue":
            return await bot.send_venue(chat_id, lat, lon, str(a.get("title") or ""),
                                        str(a.get("address") or ""))
        return await bot.send_location(chat_id, lat, lon)
    return await bot.send_document(chat_id, file_id, caption=caption)
