"""Backup and restore of the whole ledger, on either engine.

A backup is one zip file (deflate): `manifest.json` (format and its version, the schema's
migration revision, each table's columns, column kinds and row count, in foreign-key
order), `tables/NAME.jsonl` (one JSON array per row) and `files/…` (the evidence files,
once the bot keeps them on disk). Every table of `storage.tables.metadata` is dumped, so a
table a new migration adds is backed up without touching this module.

`dump` reads in one transaction (REPEATABLE READ on PostgreSQL; a read transaction in WAL
on SQLite), so a backup taken while the bot writes is a consistent snapshot.
`restore` builds the schema with the migrations up to the backup's revision, loads the
rows with their ids, migrates to head, and advances PostgreSQL's sequences, all in one
transaction (SQLite: into a new file that replaces the target only when complete), so a
failed restore leaves the target as it was.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from alembic.script import ScriptDirectory
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Connection,
    Date,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    column,
    func,
    insert,
    inspect,
    select,
    table,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.types import TypeEngine

from storage.db import (
    _current_revision,
    _upgrade_on,
    alembic_config,
    check_schema,
    database_url,
    make_engine,
    read_only,
)
from storage.tables import UTCDateTime, metadata

FORMAT = "duban-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CHUNK = 2000  # rows per read, write and insert batch

# Column kinds as the manifest names them; each decodes the same way on both engines.
_KIND_TYPES: dict[str, Callable[[], TypeEngine[Any]]] = {
    "int": Integer, "bigint": BigInteger, "str": String, "bool": Boolean, "float": Float, "date": Date,
    "datetime": UTCDateTime, "json": JSON, "bytes": LargeBinary,
}


class BackupError(Exception):
    """One Chinese line for the command line: the file or the target is not usable."""


class TargetNotEmpty(BackupError):
    """The restore target holds data; nothing was changed."""


@dataclass(frozen=True)
class BackupInfo:
    revision: str                 # the schema revision the backup was taken at
    counts: dict[str, int]        # table → rows, in load order
    files: int = 0                # evidence files in the backup
    created_at: str = ""

    @property
    def summary(self) -> str:
        return "，".join(f"{name} {n}" for name, n in self.counts.items())


def _kind(type_: TypeEngine[Any]) -> str:
    # Order matters: UTCDateTime is a TypeDecorator over DateTime; Boolean before Integer.
    if isinstance(type_, UTCDateTime | DateTime):
        return "datetime"
    if isinstance(type_, Date):
        return "date"
    if isinstance(type_, JSON):
        return "json"
    if isinstance(type_, Boolean):
        return "bool"
    if isinstance(type_, BigInteger):   # chat and user ids: beyond 32 bits
        return "bigint"
    if isinstance(type_, Integer):
        return "int"
    if isinstance(type_, String):   # Text is a String
        return "str"
    if isinstance(type_, Float | Numeric):
        return "float"
    if isinstance(type_, LargeBinary):
        return "bytes"
    raise TypeError(f"backup does not know how to store {type_!r}")


def _encoder(kind: str) -> Callable[[Any], Any] | None:
    if kind in ("datetime", "date"):
        return lambda v: None if v is None else v.isoformat()
    if kind == "bytes":
        return lambda v: None if v is None else bytes(v).hex()
    return None


def _decoder(kind: str) -> Callable[[Any], Any] | None:
    if kind == "datetime":
        return lambda v: None if v is None else datetime.fromisoformat(v)
    if kind == "date":
        return lambda v: None if v is None else date.fromisoformat(v)
    if kind == "bytes":
        return lambda v: None if v is None else bytes.fromhex(v)
    return None


# ---- dump ----

async def dump(engine: AsyncEngine, out: Path, *, files_dir: Path | None = None,
               created_at: datetime | None = None) -> BackupInfo:
    """Write a backup of the database to `out` (replaced only once complete)."""
    await check_schema(engine)   # the metadata describes the database exactly
    out = Path(out)
    tmp = out.with_name(out.name + ".part")
    try:
        info = await _dump_to(engine, tmp, files_dir, created_at)
        await asyncio.to_thread(os.replace, tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    return info


async def _dump_to(engine: AsyncEngine, path: Path, files_dir: Path | None,
                   created_at: datetime | None) -> BackupInfo:
    tables: list[dict[str, Any]] = []
    zf = await asyncio.to_thread(zipfile.ZipFile, path, "w", zipfile.ZIP_DEFLATED,
                                 compresslevel=6)
    try:
        async with engine.connect() as conn:
            await _snapshot(conn)
            async with conn.begin():
                revision = await conn.run_sync(_current_revision)
                for t in metadata.sorted_tables:
                    tables.append(await _dump_table(conn, t, zf))
        files = await asyncio.to_thread(_add_files, zf, files_dir)
        manifest = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "revision": revision,
            "created_at": created_at.isoformat() if created_at else "",
            "engine": engine.dialect.name, "tables": tables, "files": files,
        }
        await asyncio.to_thread(zf.writestr, MANIFEST,
                                json.dumps(manifest, ensure_ascii=False, indent=1))
    finally:
        await asyncio.to_thread(zf.close)
    assert revision is not None
    return BackupInfo(revision, {t["name"]: t["rows"] for t in tables}, files,
                      str(manifest["created_at"]))


async def _snapshot(conn: AsyncConnection) -> None:
    """Before the first statement: every read of the transaction sees one moment."""
    if conn.dialect.name == "postgresql":
        await conn.execution_options(isolation_level="REPEATABLE READ",
                                     postgresql_readonly=True)
    else:
        # SQLite in WAL: a deferred transaction reads one snapshot from its first read
        # until it ends, while writers go on.
        await read_only(conn)


async def _dump_table(conn: AsyncConnection, t: Table, zf: zipfile.ZipFile) -> dict[str, Any]:
    names = [c.name for c in t.columns]
    kinds = [_kind(c.type) for c in t.columns]
    encoders = [(i, enc) for i, k in enumerate(kinds) if (enc := _encoder(k)) is not None]
    # In key order, so two backups of one ledger are the same rows in the same order.
    key = list(t.primary_key.columns)
    member = await asyncio.to_thread(zf.open, f"tables/{t.name}.jsonl", "w")
    rows = 0
    try:
        result = await conn.stream(select(t).order_by(*key) if key else select(t))
        async for part in result.partitions(CHUNK):
            rows += len(part)
            await asyncio.to_thread(_write_rows, member, part, encoders)
    finally:
        await asyncio.to_thread(member.close)
    return {"name": t.name, "columns": names, "kinds": kinds,
            "primary_key": [c.name for c in t.primary_key.columns], "rows": rows}


def _write_rows(member: IO[bytes], part: Any,
                encoders: list[tuple[int, Callable[[Any], Any]]]) -> None:
    lines = []
    for row in part:
        values = list(row)
        for i, enc in encoders:
            values[i] = enc(values[i])
        lines.append(json.dumps(values, ensure_ascii=False, separators=(",", ":")))
    member.write(("\n".join(lines) + "\n").encode("utf-8"))


def _add_files(zf: zipfile.ZipFile, files_dir: Path | None) -> int:
    """The evidence files (hook: the bot keeps none on disk yet; [files] dir once it does)."""
    if files_dir is None or not files_dir.is_dir():
        return 0
    n = 0
    for path in sorted(p for p in files_dir.rglob("*") if p.is_file()):
        zf.write(path, "files/" + path.relative_to(files_dir).as_posix())
        n += 1
    return n


# ---- restore ----

def read_manifest(backup: Path) -> dict[str, Any]:
    """The backup's manifest, checked; BackupError (one Chinese line) when unusable."""
    name = Path(backup).name
    try:
        with zipfile.ZipFile(backup) as zf:
            manifest = json.loads(zf.read(MANIFEST).decode("utf-8"))
    except FileNotFoundError:
        raise BackupError(f"找不到备份文件：{backup}") from None
    except (zipfile.BadZipFile, KeyError, UnicodeDecodeError, ValueError, OSError):
        raise BackupError(f"{name} 不是督办备份文件（应为 duban backup 生成的文件），"
                          f"未做任何改动。") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{name} 不是督办备份文件（应为 duban backup 生成的文件），未做任何改动。")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise BackupError(f"{name} 的备份格式为第 {version} 版，本程序只认第 {FORMAT_VERSION} 版："
                          f"请用生成它的程序版本恢复，未做任何改动。")
    script = ScriptDirectory.from_config(alembic_config())
    revision = manifest.get("revision")
    known = {s.revision for s in script.walk_revisions()}
    if revision not in known:
        raise BackupError(f"{name} 来自更新版本的程序（数据库版本 {revision}，本程序最高 "
                          f"{script.get_current_head()}）：请先升级程序再恢复，未做任何改动。")
    return manifest


def sqlite_path(url: str) -> Path | None:
    """The file of an SQLite URL; None for a database server."""
    sa_url = make_url(url)
    if sa_url.get_backend_name() != "sqlite":
        return None
    if not sa_url.database or sa_url.database == ":memory:":
        raise BackupError("恢复需要一个数据库文件或 PostgreSQL 数据库，不能恢复到内存数据库。")
    return Path(sa_url.database)


async def restore(url: str, backup: Path, *, force: bool = False,
                  files_dir: Path | None = None) -> BackupInfo:
    """Restore `backup` into the empty database at `url` (with `force`: any database,
    whose contents are replaced). TargetNotEmpty when it holds data and not `force`."""
    url = database_url(url)
    manifest = await asyncio.to_thread(read_manifest, Path(backup))
    target = sqlite_path(url)
    if target is not None:
        info = await _restore_sqlite(url, target, Path(backup), manifest, force)
    else:
        info = await _restore_server(url, Path(backup), manifest, force)
    if files_dir is not None and info.files:
        await asyncio.to_thread(_extract_files, Path(backup), files_dir)
    return info


async def _restore_sqlite(url: str, target: Path, backup: Path, manifest: dict[str, Any],
                          force: bool) -> BackupInfo:
    if await asyncio.to_thread(target.exists) and not force:
        raise TargetNotEmpty(f"目标数据库文件 {target} 已存在，未做任何改动；"
                             f"要覆盖它请加 --force（先停掉机器人）。")
    building = target.with_name(target.name + ".restoring")
    await asyncio.to_thread(target.parent.mkdir, parents=True, exist_ok=True)
    await asyncio.to_thread(_remove_sqlite, building)
    engine = make_engine(str(building), foreign_keys=False)
    try:
        async with engine.begin() as conn:
            info = await _load(conn, url, backup, manifest)
            broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).fetchall()
            if broken:
                raise BackupError(f"备份中的数据外键不完整（{broken[:3]}），未做任何改动。")
    except BaseException:
        await engine.dispose()
        await asyncio.to_thread(_remove_sqlite, building)
        raise
    await engine.dispose()   # the last connection checkpoints the WAL into the file
    await asyncio.to_thread(_replace_sqlite, building, target)
    return info


def _replace_sqlite(building: Path, target: Path) -> None:
    _remove_sqlite(target)
    os.replace(building, target)


def _remove_sqlite(path: Path) -> None:
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        p.unlink(missing_ok=True)


async def _restore_server(url: str, backup: Path, manifest: dict[str, Any],
                          force: bool) -> BackupInfo:
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            existing = await conn.run_sync(lambda c: inspect(c).get_table_names())
            if existing and not force:
                raise TargetNotEmpty(f"目标数据库已有 {len(existing)} 张表，未做任何改动；"
                                     f"要覆盖它请加 --force（先停掉机器人）。")
            if existing:
                await conn.run_sync(_drop_everything)
            info = await _load(conn, url, backup, manifest)
            await _advance_sequences(conn, manifest)
        return info
    finally:
        await engine.dispose()


def _drop_everything(conn: Connection) -> None:
    found = MetaData()
    found.reflect(conn)
    found.drop_all(conn)


async def _load(conn: AsyncConnection, url: str, backup: Path,
                manifest: dict[str, Any]) -> BackupInfo:
    cfg = alembic_config(url)
    revision = str(manifest["revision"])
    await conn.run_sync(_upgrade_on, cfg, revision)
    counts: dict[str, int] = {}
    with zipfile.ZipFile(backup) as zf:
        for spec in manifest["tables"]:
            counts[spec["name"]] = await _load_table(conn, zf, spec)
    await conn.run_sync(_upgrade_on, alembic_config(url), "head")
    for name, expected in counts.items():
        stored = (await conn.execute(select(func.count()).select_from(table(name)))).scalar()
        if stored != expected:
            raise BackupError(f"恢复后表 {name} 有 {stored} 行，备份中为 {expected} 行，"
                              f"已撤销，未做任何改动。")
    return BackupInfo(revision, counts, int(manifest.get("files", 0)),
                      str(manifest.get("created_at", "")))


async def _load_table(conn: AsyncConnection, zf: zipfile.ZipFile, spec: dict[str, Any]) -> int:
    names: list[str] = list(spec["columns"])
    kinds: list[str] = list(spec["kinds"])
    if len(names) != len(kinds) or any(k not in _KIND_TYPES for k in kinds):
        raise BackupError(f"备份文件中表 {spec['name']} 的列说明有误，未做任何改动。")
    target = table(spec["name"], *(column(n, _KIND_TYPES[k]()) for n, k in zip(
        names, kinds, strict=True)))
    stmt = insert(target)
    decoders = [(i, dec) for i, k in enumerate(kinds) if (dec := _decoder(k)) is not None]
    try:
        member = zf.open(f"tables/{spec['name']}.jsonl")
    except KeyError:
        raise BackupError(f"备份文件缺少表 {spec['name']} 的数据，未做任何改动。") from None
    n = 0
    with member:
        chunks = _chunks(io.TextIOWrapper(member, encoding="utf-8"), names, decoders)
        while True:
            try:
                rows = await asyncio.to_thread(next, chunks, None)
            except (ValueError, TypeError, IndexError, zipfile.BadZipFile, EOFError):
                raise BackupError(f"备份文件中表 {spec['name']} 的数据已损坏（第 {n + 1} 行之后），"
                                  f"未做任何改动。") from None
            if rows is None:
                break
            await conn.execute(stmt, rows)
            n += len(rows)
    return n


def _chunks(lines: IO[str], names: list[str],
            decoders: list[tuple[int, Callable[[Any], Any]]]) -> Iterator[list[dict[str, Any]]]:
    rows: list[dict[str, Any]] = []
    for line in lines:
        if not line.strip():
            continue
        values = json.loads(line)
        for i, dec in decoders:
            values[i] = dec(values[i])
        rows.append(dict(zip(names, values, strict=True)))
        if len(rows) >= CHUNK:
            yield rows
            rows = []
    if rows:
        yield rows


async def _advance_sequences(conn: AsyncConnection, manifest: dict[str, Any]) -> None:
    """PostgreSQL: each serial id's sequence continues after the restored ids."""
    for spec in manifest["tables"]:
        for col in spec.get("primary_key", []):
            seq = (await conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                                      {"t": spec["name"], "c": col})).scalar()
            if seq is None:
                continue
            await conn.execute(text(
                f'SELECT setval(:s, coalesce((SELECT max("{col}") FROM "{spec["name"]}"), 0) + 1,'
                f" false)"), {"s": seq})


def _extract_files(backup: Path, files_dir: Path) -> None:
    with zipfile.ZipFile(backup) as zf:
        for member in zf.namelist():
            if member.startswith("files/") and not member.endswith("/"):
                rel = Path(member[len("files/"):])
                if rel.is_absolute() or ".." in rel.parts:
                    continue
                dest = files_dir / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(zf.read(member))


async def is_empty(url: str) -> bool:
    """What `restore` accepts without --force: no SQLite file yet, or no tables."""
    url = database_url(url)
    target = sqlite_path(url)
    if target is not None:
        return not await asyncio.to_thread(target.exists)
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return not await conn.run_sync(lambda c: inspect(c).get_table_names())
    finally:
        await engine.dispose()
