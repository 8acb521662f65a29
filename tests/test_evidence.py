"""The evidence archive's parts: the rules (ledger.evidence), the file store, the labels
replies show, the .zip builder, and `[files]` in the config."""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import ConfigError, load_config
from ledger import evidence as ev
from ledger.model import Attachment, Event
from presentation.attachments import duration, label, summary
from reports.archive import ArchiveContent, ArchiveFile, build_archive
from storage.filestore import FileStore, default_root

NOW = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)
LIMIT = ev.TELEGRAM_DOWNLOAD_LIMIT


# ---- rules


def test_the_20_mb_limit_at_its_boundary() -> None:
    assert not ev.too_big({"kind": "video", "file_size": LIMIT})
    assert ev.too_big({"kind": "video", "file_size": LIMIT + 1})
    assert not ev.too_big({"kind": "video"})  # unknown: tried (Telegram says if too big)
    assert ev.too_big({"kind": "video", "file_size": 2 * 2**20}, limit=2**20)


def test_one_download_per_reported_file_keyed_by_the_file_not_the_token() -> None:
    atts = [Attachment("photo", "AgA-1", file_unique_id="U1").to_json(),
            Attachment("location", "", latitude=1.0, longitude=2.0).to_json(),
            Attachment("voice", "AwA-2", file_unique_id="U2", duration=3).to_json(),
            Attachment("document", "BQA-3").to_json()]  # an older record: no unique id
    e = Event(kind="progress", at=NOW, actor_id=7, office_id=1, matter_id=5,
              after={"text": "", "attachments": atts})
    notices = ev.download_notices(1, 5, e, NOW)
    assert [n.key for n in notices] == ["dl:U1", "dl:U2", "dl:BQA-3"]
    assert all(n.kind == ev.DOWNLOAD_KIND and n.person_id == 7 and n.matter_id is None
               for n in notices)
    assert notices[0].payload == {"file_key": "U1", "file_id": "AgA-1", "matter_id": 5}
    other = Event(kind="signed", at=NOW, actor_id=7, office_id=1, after={"attachments": atts})
    assert ev.download_notices(1, 5, other, NOW) == []
    assert [a["kind"] for _, a in ev.evidence_files([e, other])] == [
        "photo", "voice", "document"]


def test_attachment_json_keeps_older_records_as_they_were() -> None:
    old = {"kind": "photo", "file_id": "x", "file_name": None}
    assert Attachment.from_json(old).to_json() == old
    voice = Attachment("voice", "v", file_unique_id="u", file_size=10, mime_type="audio/ogg",
                       duration=12)
    assert Attachment.from_json(voice.to_json()) == voice
    venue = Attachment("venue", "", latitude=30.1, longitude=120.2, title="县政府",
                       address="人民路")
    assert Attachment.from_json(json.loads(json.dumps(venue.to_json()))) == venue


# ---- how they read


@pytest.mark.parametrize(("seconds", "shown"), [
    (0, "0:00"), (9, "0:09"), (59, "0:59"), (60, "1:00"), (3599, "59:59"),
    (3600, "1:00:00"), (3661, "1:01:01")])
def test_durations(seconds: int, shown: str) -> None:
    assert duration(seconds) == shown


@given(st.integers(min_value=0, max_value=10**7))
def test_a_duration_reads_back_as_its_seconds(seconds: int) -> None:
    parts = [int(p) for p in duration(seconds).split(":")]
    assert re.fullmatch(r"(\d+:\d\d:\d\d|\d+:\d\d)", duration(seconds))
    total = 0
    for p in parts:
        total = total * 60 + p
    assert total == seconds


def test_labels() -> None:
    assert label({"kind": "voice", "duration": 12}) == "语音 0:12"
    assert label({"kind": "location", "latitude": 30.123456, "longitude": -120.5}) == (
        "位置 (30.12346, -120.50000)")
    assert label({"kind": "venue", "title": "城关镇政府", "latitude": 1, "longitude": 2}) == (
        "地点 城关镇政府")
    assert [label({"kind": k}) for k in ("video", "video_note", "audio", "sticker")] == [
        "视频", "视频留言", "音频", "附件"]
    items = [{"kind": "photo"}, {"kind": "photo"}, {"kind": "document"},
             {"kind": "voice", "duration": 75}]
    assert summary(items) == "2张照片、1个文件、语音 1:15"
    assert summary([]) == ""
    assert summary([Attachment("video_note", "n")]) == "视频留言"


# ---- the store


def test_the_store_is_content_addressed_and_writes_whole_files(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "files")
    data = b"\x89PNG evidence"
    sha = hashlib.sha256(data).hexdigest()
    stored = store.put(data)
    assert (stored.sha256, stored.size) == (sha, len(data))
    path = tmp_path / "files" / sha[:2] / sha[2:4] / sha
    assert path.read_bytes() == data and store.read(sha) == data and store.has(sha)
    assert store.put(data) == stored  # the same bytes are kept once
    assert [p.name for p in (tmp_path / "files").rglob("*") if p.is_file()] == [sha]
    assert not store.has("0" * 64)
    with pytest.raises(ValueError):
        store.path("../../etc/passwd")


def test_where_the_store_is(tmp_path: Path) -> None:
    assert default_root(tmp_path / "x", "var/duban.db") == tmp_path / "x"
    assert default_root(None, f"sqlite+aiosqlite:///{tmp_path}/d.db") == tmp_path / "files"
    assert default_root(None, "postgresql+asyncpg://u@h/db").parts[-2:] == ("var", "files")


def test_files_section_of_the_config(tmp_path: Path) -> None:
    f = tmp_path / "duban.toml"
    f.write_text('[files]\ndir = "store"\ndownload_limit_mb = 2000\n', encoding="utf-8")
    c = load_config(env={}, path=f)
    assert c.files_dir == tmp_path / "store" and c.files_download_mb == 2000
    example = Path(__file__).resolve().parent.parent / "config.example.toml"
    assert load_config(env={}, path=example).files_download_mb == 20
    f.write_text("[files]\ndownload_limit_mb = 0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"files\.download_limit_mb"):
        load_config(env={}, path=f)


# ---- the .zip


def _file(status: str, sha: str | None, name: str | None = "方案.pdf") -> ArchiveFile:
    return ArchiveFile(reported_at="12月3日 09:00", reporter="孙干事", kind="document",
                       label="文件", file_key="k" + status, original_name=name,
                       status=status, sha256=sha, size=3, mime_type="application/pdf")


def test_the_archive_lists_what_it_does_not_have(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    kept = store.put(b"pdf")
    gone = hashlib.sha256(b"lost").hexdigest()  # stored once, the store lost it since
    content = ArchiveContent(
        number="督〔2026〕1号", title="老旧小区改造", heading="共 2 条", facts=[("状态", "办理中")],
        lines=["一", "二"], history={"matter": {"number": "督〔2026〕1号"}, "events": []},
        files=[_file("stored", kept.sha256), _file("stored", gone, None),
               _file("pending", None), _file("too_big", None)],
        made_at="12月3日 10:00")
    archive = build_archive(content, store)
    z = zipfile.ZipFile(io.BytesIO(archive.data))
    assert z.read(f"files/{kept.sha256[:16]}_方案.pdf") == b"pdf"
    assert [f.status for f in archive.files] == ["stored", "missing", "pending", "too_big"]
    manifest = z.read("manifest.csv").decode("utf-8-sig")
    assert manifest.count("\n") == 5 and "missing" in manifest
    assert json.loads(z.read("history.json"))["files"][1]["status"] == "missing"
    assert {"history.docx", "history.json", "manifest.csv"} <= set(z.namelist())
