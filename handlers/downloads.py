"""The evidence archive's download adapter: an outbox notice of kind `file_download`
(queued by the ledger with each reported file, see ledger.evidence) is fetched here —
getFile, then the file from the Bot API's file endpoint — into the bot's own file store
(storage.filestore), and its evidence row gets the sha256, size and mime type.

Refusals are read for the outbox: 429 and network failures are retried with its backoff
(RetryLater); a file above the download limit or a file_id Telegram no longer knows is
recorded on the row (too_big / failed) and not tried again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from telegram import Bot
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

from handlers.deps import Deps
from handlers.ratelimit import retry_seconds
from ledger import evidence as ev
from ledger.ports import Notice
from reminders.outbox import RetryLater
from settings import Config
from storage import evidence as rows
from storage.evidence import EvidenceRow
from storage.filestore import FileStore, default_root
from storage.uow import connection_of

log = logging.getLogger(__name__)


def file_store(config: Config) -> FileStore:
    return FileStore(default_root(config.files_dir, config.db))


def download_limit(config: Config) -> int:
    """Bytes the configured Bot API server lets the bot download (20 MB at Telegram's)."""
    return config.files_download_mb * 1024 * 1024


def too_big(config: Config, atts: list[Any]) -> list[Any]:
    """The attachments declared above the download limit (the sender is asked again)."""
    limit = download_limit(config)
    return [a for a in atts if ev.is_file(a.to_json()) and ev.too_big(a.to_json(), limit)]


async def _attachment(deps: Deps, matter_id: int | None, key: str) -> Mapping[str, Any]:
    """The reported attachment's fields (kind, name, mime) from the matter's history."""
    if matter_id is None:
        return {}
    async with (deps.read or deps.uow)() as u:
        events = await u.events.for_matter(matter_id)
    for _, a in ev.evidence_files(events):
        if ev.file_key(a) == key:
            return a
    return {}


class FileFetcher:
    def __init__(self, bot: Bot, deps: Deps) -> None:
        self.bot = bot
        self.deps = deps

    async def fetch(self, notice: Notice) -> None:
        deps = self.deps
        key = str(notice.payload.get("file_key") or "")
        file_id = str(notice.payload.get("file_id") or "")
        matter_id = notice.payload.get("matter_id")
        if not key or not file_id:
            log.warning("download %s without a file: dropped", notice.key)
            return
        store = file_store(deps.config)
        async with deps.uow() as u:
            row = await rows.get(connection_of(u), key)
            if row is None:
                att = await _attachment(deps, matter_id if isinstance(matter_id, int) else None,
                                        key)
                row = EvidenceRow(key, file_id, str(att.get("kind") or "document"), ev.PENDING,
                                  matter_id if isinstance(matter_id, int) else None,
                                  notice.person_id, att.get("file_name"), att.get("mime_type"))
                await rows.ensure(connection_of(u), row, deps.clock.now())
                await u.commit()
        if row.status == ev.STORED and row.sha256 and await asyncio.to_thread(
                store.has, row.sha256):
            return
        try:
            data = await self._download(file_id, notice.attempts)
        except _Refused as e:
            async with deps.uow() as u:
                await rows.mark(connection_of(u), key, e.status, e.note)
                await u.commit()
            log.warning("evidence %s not archived: %s", key, e.note)
            return
        stored = await asyncio.to_thread(store.put, data)
        async with deps.uow() as u:
            await rows.mark_stored(connection_of(u), key, stored.sha256, stored.size,
                                   deps.clock.now())
            await u.commit()

    async def _download(self, file_id: str, attempts: int) -> bytes:
        try:
            tg_file = await self.bot.get_file(file_id)
            return bytes(await tg_file.download_as_bytearray())
        except RetryAfter as e:
            raise RetryLater(retry_seconds(e), "429 Too Many Requests") from e
        except BadRequest as e:
            text = e.message.lower()
            if "too big" in text:
                raise _Refused(ev.TOO_BIG, f"超过 {self.deps.config.files_download_mb}MB 下载"
                               "上限：需本地 Bot API 服务器（files.download_limit_mb）") from e
            raise _Refused(ev.FAILED, f"Telegram 拒绝下载：{e.message}") from e
        except (TimedOut, NetworkError) as e:
            raise RetryLater(min(600.0, 2.0 ** min(attempts + 1, 9)), f"network: {e}") from e


class _Refused(Exception):
    def __init__(self, status: str, note: str) -> None:
        super().__init__(note)
        self.status = status
        self.note = note
