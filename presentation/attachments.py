"""How a reported attachment reads in a reply, /history, the office feed and the export:
照片, 文件, 语音 0:12, 视频, 视频留言, 音频, 位置 (lat, lon), 地点 名称."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

_PLAIN = {"photo": "照片", "document": "文件", "video": "视频", "video_note": "视频留言",
          "audio": "音频", "voice": "语音"}


def duration(seconds: object) -> str:
    if not isinstance(seconds, int) or seconds < 0:
        return ""
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _fields(att: Any) -> Mapping[str, Any]:
    """An event's attachment dict, or a ledger.model.Attachment."""
    to_json = getattr(att, "to_json", None)
    return to_json() if callable(to_json) else att


def label(att: Mapping[str, Any] | Any) -> str:
    att = _fields(att)
    kind = att.get("kind")
    if kind == "voice":
        length = duration(att.get("duration"))
        return f"语音 {length}" if length else "语音"
    if kind in ("location", "venue"):
        lat, lon = att.get("latitude"), att.get("longitude")
        where = (f"({lat:.5f}, {lon:.5f})" if isinstance(lat, (int, float))
                 and isinstance(lon, (int, float)) else "")
        if kind == "venue":
            return f"地点 {att.get('title') or where}".strip()
        return f"位置 {where}".strip()
    return _PLAIN.get(str(kind), "附件")


def summary(items: Iterable[Mapping[str, Any] | Any]) -> str:
    """`2张照片、1个文件、语音 0:12、位置 (…)` (empty for none)."""
    items = [_fields(a) for a in items]
    photos = sum(1 for a in items if a.get("kind") == "photo")
    docs = sum(1 for a in items if a.get("kind") == "document")
    parts = [f"{photos}张照片"] if photos else []
    if docs:
        parts.append(f"{docs}个文件")
    parts += [label(a) for a in items if a.get("kind") not in ("photo", "document")]
    return "、".join(parts)
