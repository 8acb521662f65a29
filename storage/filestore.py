"""The evidence file store the bot owns: content-addressed files under one directory.

A file lives at ROOT/ab/cd/abcdef… (its sha256, fanned out by the first two byte pairs),
written to a temporary file in the same directory, flushed and renamed into place, so a
crash leaves either the whole file or none. The same bytes are kept once. Blocking: call
from a thread (asyncio.to_thread).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from storage.health import sqlite_path

_SHA256 = re.compile(r"[0-9a-f]{64}")


def default_root(files_dir: Path | None, db_url: str) -> Path:
    """`[files] dir`, else `files` beside the SQLite file, else var/files (PostgreSQL)."""
    if files_dir is not None:
        return Path(files_dir)
    try:
        db_file = sqlite_path(db_url)
    except Exception:  # an unparsable URL: the config check says so elsewhere
        db_file = None
    return db_file.parent / "files" if db_file is not None else Path("var/files").absolute()


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        if not _SHA256.fullmatch(sha256):
            raise ValueError(f"not a sha256: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def put(self, data: bytes) -> StoredFile:
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.is_file() and target.stat().st_size == len(data):
            return StoredFile(digest, len(data))
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return StoredFile(digest, len(data))

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()
