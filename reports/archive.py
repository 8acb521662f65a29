"""A matter's archive (`/archive 编号`, `duban archive`): one .zip with its full history as
a .docx (to read and print) and history.json (machine-readable), and the original files
reported on it, byte for byte from the bot's file store, listed in manifest.csv.

Pure and blocking (python-docx, zip, file reads): call it in a thread.
"""

from __future__ import annotations

import csv
import io
import json
import mimetypes
import re
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from docx import Document
from docx.oxml.ns import qn
from docx.shared import Pt

from storage.filestore import FileStore

_EXT = {"photo": ".jpg", "voice": ".ogg", "video": ".mp4", "video_note": ".mp4",
        "audio": ".mp3", "document": ".bin"}
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')
FONT = "宋体"


@dataclass(frozen=True)
class ArchiveFile:
    """One reported file, as the manifest lists it."""

    reported_at: str      # shown the Chinese way (12月3日 09:15)
    reporter: str
    kind: str
    label: str            # 照片, 语音 0:12, …
    file_key: str
    original_name: str | None
    status: str           # stored | pending | too_big | failed | missing
    sha256: str | None = None
    size: int | None = None
    mime_type: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class ArchiveContent:
    number: str
    title: str
    heading: str                      # the history's head line
    facts: Sequence[tuple[str, str]]  # 状态, 来源, … for the .docx
    lines: Sequence[str]              # the history, one line an event (as /history)
    history: dict[str, Any]           # history.json
    files: Sequence[ArchiveFile]
    made_at: str


@dataclass(frozen=True)
class Archive:
    data: bytes                 # the .zip
    files: Sequence[ArchiveFile]  # as listed (a stored file the store lacks: missing)
    events: int


def zip_name(number: str) -> str:
    return f"督办档案-{_safe(number)}.zip"


def _safe(name: str) -> str:
    return _UNSAFE.sub("_", name).strip(" .") or "file"


def _member(f: ArchiveFile) -> str:
    assert f.sha256 is not None
    name = f.original_name or ""
    if not name:
        ext = (mimetypes.guess_extension(f.mime_type) if f.mime_type else None) \
            or _EXT.get(f.kind, ".bin")
        name = f"{f.kind}{ext}"
    return f"files/{f.sha256[:16]}_{_safe(name)}"


def _docx(c: ArchiveContent) -> bytes:
    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(11)
    rpr = normal.element.get_or_add_rPr()
    rpr.get_or_add_rFonts().set(qn("w:eastAsia"), FONT)
    lang = rpr.makeelement(qn("w:lang"), {qn("w:val"): "zh-CN", qn("w:eastAsia"): "zh-CN"})
    rpr.append(lang)
    doc.add_heading(f"{c.number} {c.title}", level=1)
    for key, value in c.facts:
        doc.add_paragraph(f"{key}：{value}")
    doc.add_heading("办理记录", level=2)
    doc.add_paragraph(c.heading)
    for text in c.lines:
        doc.add_paragraph(text)
    doc.add_heading("原始文件", level=2)
    if not c.files:
        doc.add_paragraph("无。")
    for f in c.files:
        where = _member(f) if f.status == "stored" and f.sha256 else f"未存档（{f.note or f.status}）"
        doc.add_paragraph(f"{f.reported_at} {f.reporter}：{f.label} — {where}")
    doc.add_paragraph(f"导出时间：{c.made_at}")
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def _manifest(rows: Sequence[tuple[ArchiveFile, str]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["path", "sha256", "size", "kind", "original_name", "reported_at",
                "reporter", "status", "note"])
    for f, path in rows:
        w.writerow([path, f.sha256 or "", f.size if f.size is not None else "", f.kind,
                    f.original_name or "", f.reported_at, f.reporter, f.status, f.note or ""])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # BOM: Excel reads it as UTF-8


def build_archive(c: ArchiveContent, store: FileStore) -> Archive:
    """The .zip. A file the store does not have (not downloaded yet, or refused) is listed
    in the manifest as missing, with why; the archive is made all the same."""
    out = io.BytesIO()
    listed: list[tuple[ArchiveFile, str]] = []
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        seen: set[str] = set()
        for f in c.files:
            if f.status == "stored" and f.sha256 and store.has(f.sha256):
                path = _member(f)
                if path not in seen:
                    seen.add(path)
                    zf.writestr(path, store.read(f.sha256))
                listed.append((f, path))
            else:
                status = "missing" if f.status == "stored" else f.status
                note = f.note or ("文件库中没有这个文件" if f.status == "stored" else "尚未下载")
                listed.append((replace(f, status=status, note=note), ""))
        final = [f for f, _ in listed]
        zf.writestr("history.docx", _docx(replace(c, files=final)))
        history = {**c.history, "files": [{**asdict(f), "path": p} for f, p in listed]}
        zf.writestr("history.json", json.dumps(history, ensure_ascii=False, indent=2,
                                               default=str))
        zf.writestr("manifest.csv", _manifest(listed))
    return Archive(out.getvalue(), final, len(c.lines))
