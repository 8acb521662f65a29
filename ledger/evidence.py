"""The evidence archive's rules: which reported attachments are files the bot keeps a copy
of, the key a file is known by, Telegram's download limit, and the download each file
reported queues (in the same transaction as the report).

The copies themselves are kept by storage.filestore (content-addressed) and fetched by the
chat layer's adapter (handlers.downloads), which records each file's hash on its evidence
row (storage.evidence).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from ledger.model import Event
from ledger.ports import Notice

# Attachments that are files (Telegram file_id): downloaded and archived.
FILE_KINDS = frozenset({"photo", "document", "voice", "video", "video_note", "audio"})
# Attachments without a file: kept in the event itself.
PLACE_KINDS = frozenset({"location", "venue"})
# Events whose attachments are evidence (progress, 办结 asked, a liaison's inspection).
EVIDENCE_EVENTS = frozenset({"progress", "completion_requested", "inspected"})

# The Bot API's getFile downloads files up to 20 MB; a local Bot API server, larger ones.
TELEGRAM_DOWNLOAD_LIMIT = 20 * 1024 * 1024

DOWNLOAD_KIND = "file_download"   # the outbox kind (reminders.kinds.DOWNLOAD)
DOWNLOAD_PREFIX = "dl:"

# Evidence row states (storage.evidence).
PENDING = "pending"
STORED = "stored"
TOO_BIG = "too_big"
FAILED = "failed"


def is_file(att: Mapping[str, Any]) -> bool:
    return att.get("kind") in FILE_KINDS and bool(att.get("file_id"))


def file_key(att: Mapping[str, Any]) -> str:
    """A file as every bot knows it: Telegram's file_unique_id (the same for a new token
    or a new bot), else (records made before it was kept) the file_id."""
    return str(att.get("file_unique_id") or att.get("file_id") or "")


def too_big(att: Mapping[str, Any], limit: int = TELEGRAM_DOWNLOAD_LIMIT) -> bool:
    """Declared above the download limit (an unknown size is tried)."""
    size = att.get("file_size")
    return isinstance(size, int) and size > limit


def evidence_files(events: Iterable[Event]) -> list[tuple[Event, dict[str, Any]]]:
    """Every file reported in these events, in order (a file reported twice, twice)."""
    return [(e, a) for e in events if e.kind in EVIDENCE_EVENTS
            for a in e.after.get("attachments") or [] if is_file(a)]


def download_notices(office_id: int, matter_id: int | None, e: Event, now: datetime,
                     ) -> list[Notice]:
    """One download per file of the event (once per file: the key is the file's)."""
    if e.kind not in EVIDENCE_EVENTS:
        return []
    out: list[Notice] = []
    for a in e.after.get("attachments") or []:
        if not is_file(a):
            continue
        key = file_key(a)
        out.append(Notice(
            key=f"{DOWNLOAD_PREFIX}{key}"[:255], office_id=office_id, kind=DOWNLOAD_KIND,
            due_at=now, person_id=e.actor_id,
            payload={"file_key": key, "file_id": a["file_id"], "matter_id": matter_id}))
    return out
