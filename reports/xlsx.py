"""A small, fast .xlsx writer and reader for the ledger's big sheets.

openpyxl's write-only and read-only modes handle about 60,000 cells a second here: a
100,000-matter ledger (2 million cells, plus its history) took over a minute each way.
This module streams SpreadsheetML directly (inline strings, real dates, a fixed style
sheet) and reads it back with expat, about ten times faster. Files it writes open in
Excel, WPS, LibreOffice and openpyxl; files it cannot read (an unusual producer) raise
`Unreadable`, and callers fall back to openpyxl.
"""

from __future__ import annotations

import re
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import IO, Any
from xml.etree.ElementTree import iterparse
from xml.sax.saxutils import escape, quoteattr

from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.utils.datetime import from_excel

__all__ = ["Sheet", "Unreadable", "XlsxWriter", "read_sheet"]

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
EPOCH = date(1899, 12, 30)
_EPOCH_DT = datetime(1899, 12, 30)
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

# cellXfs indices of the fixed style sheet below
STYLES = {"header": 1, "date": 2, "datetime": 3, "green": 4, "yellow": 5, "red": 6,
          "bold": 7, "title": 8}
_DATE, _DATETIME = STYLES["date"], STYLES["datetime"]

_FONT = '<font>{b}<sz val="{sz}"/><name val="宋体"/><family val="3"/><charset val="134"/></font>'
_FILL = ('<fill><patternFill patternType="solid"><fgColor rgb="FF{rgb}"/><bgColor indexed="64"/>'
         "</patternFill></fill>")
_XF = '<xf numFmtId="{fmt}" fontId="{font}" fillId="{fill}" borderId="0" xfId="0"{extra}'
_STYLES_XML = "".join([
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="{NS}">',
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>',
    '<numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm"/></numFmts>',
    '<fonts count="3">', _FONT.format(b="", sz=11), _FONT.format(b="<b/>", sz=11),
    _FONT.format(b="<b/>", sz=14), "</fonts>",
    '<fills count="5"><fill><patternFill patternType="none"/></fill>',
    '<fill><patternFill patternType="gray125"/></fill>',
    *(_FILL.format(rgb=rgb) for rgb in ("C8E6C9", "FFF59D", "FFCDD2")), "</fills>",
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>',
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>',
    '<cellXfs count="9">',
    _XF.format(fmt=0, font=0, fill=0, extra="/>"),
    _XF.format(fmt=0, font=1, fill=0, extra=' applyFont="1" applyAlignment="1">'),
    '<alignment horizontal="center" vertical="center" wrapText="1"/></xf>',
    _XF.format(fmt=164, font=0, fill=0, extra=' applyNumberFormat="1"/>'),
    _XF.format(fmt=165, font=0, fill=0, extra=' applyNumberFormat="1"/>'),
    *(_XF.format(fmt=0, font=0, fill=f, extra=' applyFill="1"/>') for f in (2, 3, 4)),
    _XF.format(fmt=0, font=1, fill=0, extra=' applyFont="1"/>'),
    _XF.format(fmt=0, font=2, fill=0, extra=' applyFont="1"/>'),
    "</cellXfs>",
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>',
    "</styleSheet>",
])
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml."
_XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def _rel(rid: str, kind: str, target: str) -> str:
    return f'<Relationship Id="{rid}" Type="{REL_NS}/{kind}" Target="{target}"/>'


class Styled:
    """A value with one of STYLES (a coloured light, a bold total)."""

    __slots__ = ("style", "value")

    def __init__(self, value: Any, style: str) -> None:
        self.value = value
        self.style = style


@lru_cache(maxsize=1 << 16)
def _text(s: str) -> str:
    """An inline string cell's content. Cached: titles, units and labels repeat a lot."""
    if not s.isprintable():
        s = _ILLEGAL.sub("", s)   # keeps \t \n \r, drops what XML 1.0 forbids
    if "&" in s or "<" in s or ">" in s:
        s = escape(s)
    if s[:1].isspace() or s[-1:].isspace():
        return f'<is><t xml:space="preserve">{s}</t></is>'
    return f"<is><t>{s}</t></is>"


@dataclass
class Sheet:
    name: str
    widths: Sequence[float] = ()
    freeze: str | None = None       # the top-left cell of the scrolling part, e.g. "C2"
    autofilter: bool = False
    # The rows' XML spooled to a temporary file past a few MB: memory stays flat whatever
    # the count (a 100k-matter ledger and its history are hundreds of MB of XML).
    _spool: IO[str] = field(default_factory=lambda: tempfile.SpooledTemporaryFile(  # noqa: SIM115 (closed by save)
        max_size=4 << 20, mode="w+", encoding="utf-8"))
    _count: int = 0
    _width: int = 0
    _letters: list[str] = field(default_factory=list)

    def append(self, values: Sequence[Any]) -> None:
        n = self._count + 1
        if len(values) > len(self._letters):
            self._letters = [get_column_letter(i + 1) for i in range(len(values) + 8)]
        self._width = max(self._width, len(values))
        cells: list[str] = []
        letters = self._letters
        text = _text
        for i, v in enumerate(values):
            kind = type(v)
            if kind is str:
                if v:
                    cells.append(f'<c r="{letters[i]}{n}" t="inlineStr">{text(v)}</c>')
                continue
            if v is None:
                continue
            style = 0
            if kind is Styled:
                style, v = STYLES[v.style], v.value
                kind = type(v)
                if v is None or v == "":
                    cells.append(f'<c r="{letters[i]}{n}" s="{style}"/>')
                    continue
            ref = f"{letters[i]}{n}"
            s_attr = f' s="{style}"' if style else ""
            if kind is str:
                cells.append(f'<c r="{ref}"{s_attr} t="inlineStr">{text(v)}</c>')
            elif kind is bool:
                cells.append(f'<c r="{ref}"{s_attr} t="b"><v>{int(v)}</v></c>')
            elif kind is int or kind is float:
                cells.append(f'<c r="{ref}"{s_attr}><v>{v}</v></c>')
            elif isinstance(v, datetime):
                serial = (v.replace(tzinfo=None) - _EPOCH_DT).total_seconds() / 86400
                cells.append(f'<c r="{ref}" s="{style or _DATETIME}"><v>{serial:.10f}</v></c>')
            elif isinstance(v, date):
                cells.append(f'<c r="{ref}" s="{style or _DATE}"><v>{(v - EPOCH).days}</v></c>')
            elif isinstance(v, int | float):
                cells.append(f'<c r="{ref}"{s_attr}><v>{v}</v></c>')
            else:
                cells.append(f'<c r="{ref}"{s_attr} t="inlineStr">{text(str(v))}</c>')
        self._spool.write(f'<row r="{n}">{"".join(cells)}</row>')
        self._count = n

    @property
    def rows(self) -> int:
        return self._count

    def _ref(self) -> str:
        last = get_column_letter(max(1, self._width))
        return f"A1:{last}{max(1, self._count)}"

    def _spooled(self) -> Iterator[str]:
        self._spool.seek(0)
        while part := self._spool.read(1 << 20):
            yield part

    def close(self) -> None:
        self._spool.close()

    def xml(self) -> Iterator[str]:
        yield f'{_XML_HEAD}<worksheet xmlns="{NS}" xmlns:r="{REL_NS}">'
        yield f'<dimension ref="{self._ref()}"/>'
        yield '<sheetViews><sheetView workbookViewId="0">'
        if self.freeze:
            col, row = re.match(r"([A-Z]+)(\d+)", self.freeze).groups()  # type: ignore[union-attr]
            x, y = column_index_from_string(col) - 1, int(row) - 1
            pane = "bottomRight" if x and y else ("bottomLeft" if y else "topRight")
            split = (f' xSplit="{x}"' if x else "") + (f' ySplit="{y}"' if y else "")
            yield (f'<pane{split} topLeftCell="{self.freeze}" activePane="{pane}" state="frozen"/>'
                   f'<selection pane="{pane}" activeCell="{self.freeze}" sqref="{self.freeze}"/>')
        yield '</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>'
        if self.widths:
            yield "<cols>" + "".join(
                f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>'
                for i, w in enumerate(self.widths, start=1)) + "</cols>"
        yield "<sheetData>"
        yield from self._spooled()
        yield "</sheetData>"
        if self.autofilter and self._count > 1:
            yield f'<autoFilter ref="{self._ref()}"/>'
        yield ('<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" '
               'footer="0.3"/></worksheet>')


class XlsxWriter:
    """Sheets in memory, then one zip: `w = XlsxWriter(); s = w.sheet(...); s.append(...);
    w.save(target)`."""

    def __init__(self) -> None:
        self.sheets: list[Sheet] = []

    def sheet(self, name: str, widths: Sequence[float] = (), freeze: str | None = None,
              autofilter: bool = False) -> Sheet:
        s = Sheet(name, widths, freeze, autofilter)
        self.sheets.append(s)
        return s

    def save(self, target: str | Path | IO[bytes]) -> None:
        n = len(self.sheets)
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{_CT}worksheet+xml"/>'
            for i in range(1, n + 1))
        content_types = (
            f'{_XML_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}sheet.main+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{_CT}styles+xml"/>'
            f"{overrides}</Types>")
        root_rels = (f'{_XML_HEAD}<Relationships xmlns="{PKG_REL_NS}">'
                     + _rel("rId1", "officeDocument", "xl/workbook.xml") + "</Relationships>")
        sheets = "".join(f'<sheet name={quoteattr(s.name)} sheetId="{i}" r:id="rId{i}"/>'
                         for i, s in enumerate(self.sheets, start=1))
        names = "".join(
            f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
            f"{escape(_quote_sheet(s.name))}!{_absolute(s._ref())}</definedName>"
            for i, s in enumerate(self.sheets) if s.autofilter and s.rows > 1)
        workbook = (
            f'{_XML_HEAD}<workbook xmlns="{NS}" xmlns:r="{REL_NS}">'
            f'<bookViews><workbookView activeTab="0"/></bookViews><sheets>{sheets}</sheets>'
            + (f"<definedNames>{names}</definedNames>" if names else "") + "</workbook>")
        wb_rels = (f'{_XML_HEAD}<Relationships xmlns="{PKG_REL_NS}">'
                   + "".join(_rel(f"rId{i}", "worksheet", f"worksheets/sheet{i}.xml")
                             for i in range(1, n + 1))
                   + _rel(f"rId{n + 1}", "styles", "styles.xml") + "</Relationships>")
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            zf.writestr("[Content_Types].xml", content_types)
            zf.writestr("_rels/.rels", root_rels)
            zf.writestr("xl/workbook.xml", workbook)
            zf.writestr("xl/_rels/workbook.xml.rels", wb_rels)
            zf.writestr("xl/styles.xml", _STYLES_XML)
            for i, s in enumerate(self.sheets, start=1):
                with zf.open(f"xl/worksheets/sheet{i}.xml", "w", force_zip64=True) as f:
                    chunk: list[str] = []
                    size = 0
                    for part in s.xml():
                        chunk.append(part)
                        size += len(part)
                        if size > 1 << 20:
                            f.write("".join(chunk).encode())
                            chunk, size = [], 0
                    f.write("".join(chunk).encode())
        for s in self.sheets:
            s.close()


def _quote_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _absolute(ref: str) -> str:
    return ":".join(re.sub(r"([A-Z]+)(\d+)", r"$\1$\2", part) for part in ref.split(":"))


# ---------------------------------------------------------------- reading


class Unreadable(Exception):
    """Not a workbook this reader understands (use openpyxl instead)."""


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


_C, _V, _T, _IS, _ROW, _SI, _R = (_q(t) for t in ("c", "v", "t", "is", "row", "si", "r"))


def _rels(zf: zipfile.ZipFile, key: str) -> dict[str, str]:
    """The workbook's relationships: Id → target (key "Id") or Type → target ("Type")."""
    out: dict[str, str] = {}
    try:
        data = zf.open("xl/_rels/workbook.xml.rels")
    except KeyError:
        return out
    for _, el in iterparse(data):
        if el.tag == f"{{{PKG_REL_NS}}}Relationship":
            out[el.get(key, "")] = el.get("Target", "")
    return out


def _shared_strings(zf: zipfile.ZipFile, path: str | None) -> list[str]:
    if path is None or path not in zf.namelist():
        return []
    out: list[str] = []
    for _, el in iterparse(zf.open(path)):
        if el.tag == _SI:
            parts: list[str] = []
            for child in el:
                if child.tag == _T:
                    parts.append(child.text or "")
                elif child.tag == _R:   # a rich-text run; phonetic runs (rPh) are skipped
                    parts.extend(t.text or "" for t in child.iter(_T))
            out.append("".join(parts))
            el.clear()
    return out


def _date_styles(zf: zipfile.ZipFile, path: str | None) -> set[int]:
    if path is None or path not in zf.namelist():
        return set()
    custom: dict[int, str] = {}
    xfs: list[int] = []
    in_cell_xfs = False
    for event, el in iterparse(zf.open(path), events=("start", "end")):
        if el.tag == _q("cellXfs"):
            in_cell_xfs = event == "start"
        elif event == "end" and el.tag == _q("numFmt"):
            custom[int(el.get("numFmtId", "0"))] = el.get("formatCode", "")
        elif event == "end" and el.tag == _q("xf") and in_cell_xfs:
            xfs.append(int(el.get("numFmtId", "0")))
    dates = set()
    for i, fmt_id in enumerate(xfs):
        code = custom.get(fmt_id, BUILTIN_FORMATS.get(fmt_id, "General"))
        if is_date_format(code):
            dates.add(i)
    return dates


def _target(base: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    parts = (base.rsplit("/", 1)[0] + "/" + target).split("/")
    out: list[str] = []
    for p in parts:
        if p == "..":
            if out:
                out.pop()
        elif p and p != ".":
            out.append(p)
    return "/".join(out)


def read_sheet(source: str | Path | IO[bytes], prefer: str | None = None,
               max_rows: int | None = None) -> Iterator[tuple[int, list[Any]]]:
    """(row number, values) of the sheet named `prefer`, else the first; empty rows skipped.
    Dates come back as datetime (the cell's style says it is a date), numbers as int/float."""
    try:
        zf = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as e:
        raise Unreadable(str(e)) from None
    with zf:
        names = set(zf.namelist())
        if "xl/workbook.xml" not in names:
            raise Unreadable("no xl/workbook.xml")
        sheets: list[tuple[str, str]] = []
        date1904 = False
        for _, el in iterparse(zf.open("xl/workbook.xml")):
            if el.tag == _q("sheet"):
                sheets.append((el.get("name", ""), el.get(f"{{{REL_NS}}}id", "")))
            elif el.tag == _q("workbookPr"):
                date1904 = el.get("date1904", "0") in ("1", "true")
        if not sheets:
            raise Unreadable("no sheets (or not the transitional namespace)")
        rels = _rels(zf, "Id")
        _, rid = next((s for s in sheets if s[0] == prefer), sheets[0])
        path = _target("xl/workbook.xml", rels.get(rid, ""))
        if path not in names:
            raise Unreadable(f"sheet part {path!r} missing")
        by_type = {t.rsplit("/", 1)[-1]: _target("xl/workbook.xml", v)
                   for t, v in _rels(zf, "Type").items()}
        strings = _shared_strings(zf, by_type.get("sharedStrings"))
        date_styles = _date_styles(zf, by_type.get("styles"))
        epoch = datetime(1904, 1, 1) if date1904 else None
        yield from _rows(zf.open(path), strings, date_styles, epoch, max_rows)


_REF = re.compile(r"([A-Z]+)(\d*)")


def _rows(stream: IO[bytes], strings: list[str], date_styles: set[int],
          epoch: datetime | None, max_rows: int | None) -> Iterator[tuple[int, list[Any]]]:
    row_no = 0
    values: list[Any] = []
    col = 0
    for _, el in iterparse(stream):
        tag = el.tag
        if tag == _C:
            ref = el.get("r")
            if ref is not None:
                m = _REF.match(ref)
                col = column_index_from_string(m.group(1)) - 1 if m else col
            t = el.get("t")
            value: Any
            if t == "inlineStr":
                is_ = el.find(_IS)
                value = "".join(x.text or "" for x in is_.iter(_T)) if is_ is not None else ""
            else:
                v = el.find(_V)
                raw = v.text if v is not None else None
                if raw is None:
                    value = None
                elif t == "s":
                    value = strings[int(raw)]
                elif t in ("str", "e"):
                    value = raw
                elif t == "b":
                    value = raw == "1"
                else:
                    num = float(raw)
                    style = int(el.get("s", "0"))
                    if style in date_styles:
                        value = from_excel(num, epoch) if epoch else from_excel(num)
                    else:
                        value = int(num) if num.is_integer() and "." not in raw and "E" not in raw.upper() else num
            while len(values) < col:
                values.append(None)
            values.append(value)
            col += 1
            el.clear()
        elif tag == _ROW:
            r = el.get("r")
            row_no = int(r) if r is not None else row_no + 1
            if any(v is not None and v != "" for v in values):
                yield row_no, values
            values, col = [], 0
            el.clear()
            if max_rows is not None and row_no >= max_rows:
                return
