"""reports.xlsx: what it writes, openpyxl reads (values, dates, styles, frozen panes,
filters); what Excel-like producers write (shared strings, rich text, 1904 dates, no cell
references), it reads."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime

import openpyxl
import pytest

from reports.xlsx import Styled, Unreadable, XlsxWriter, read_sheet


def test_written_file_reads_back_in_openpyxl_and_here() -> None:
    w = XlsxWriter()
    s = w.sheet("督办台账", widths=(6, 30), freeze="C2", autofilter=True)
    s.append([Styled("序号", "header"), Styled("事项", "header"), "日期", "时间", "灯", "真"])
    s.append([1, "城区道路改造 & <管网>", date(2026, 11, 13), datetime(2026, 11, 2, 9, 30),
              Styled("红灯", "red"), True])
    s.append([2, "  前后空格  ", None, None, "", False])
    s.append([3.5, "控制字符\x07去掉", date(1999, 1, 1)])
    other = w.sheet("办理记录")
    other.append(["只有一行"])
    out = io.BytesIO()
    w.save(out)

    wb = openpyxl.load_workbook(io.BytesIO(out.getvalue()))
    assert wb.sheetnames == ["督办台账", "办理记录"]
    ws = wb["督办台账"]
    assert ws.freeze_panes == "C2" and ws.auto_filter.ref == "A1:F4"
    assert ws.column_dimensions["B"].width == 30
    assert ws["B1"].font.b and ws["E2"].fill.fgColor.rgb == "FFFFCDD2"
    assert ws["C2"].value == datetime(2026, 11, 13) and ws["C2"].number_format == "yyyy-mm-dd"
    assert ws["D2"].value == datetime(2026, 11, 2, 9, 30)
    assert [c.value for c in ws[2]][:2] == [1, "城区道路改造 & <管网>"]
    assert ws["B3"].value == "  前后空格  " and ws["F3"].value is False
    assert ws["B4"].value == "控制字符去掉" and ws["A4"].value == 3.5

    rows = list(read_sheet(io.BytesIO(out.getvalue()), prefer="督办台账"))
    assert [n for n, _ in rows] == [1, 2, 3, 4]
    assert rows[1][1] == [1, "城区道路改造 & <管网>", datetime(2026, 11, 13),
                          datetime(2026, 11, 2, 9, 30), "红灯", True]
    assert rows[2][1][:2] == [2, "  前后空格  "]
    assert [v for _, v in read_sheet(io.BytesIO(out.getvalue()), prefer="办理记录")] == \
        [["只有一行"]]


def test_reads_what_openpyxl_writes() -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "台账"
    ws.append(["标题行"])
    ws.append([])
    ws.append(["序号", "事项", "交办日期", "金额"])
    ws.append([1, "城区道路改造", date(2026, 3, 2), 12.5])
    ws.append([2, "重复的字符串", "2026-03-03", 7])
    ws.append([3, "重复的字符串", None, None])
    ws["C6"].number_format = "yyyy/m/d"
    ws["C6"] = 46100
    out = io.BytesIO()
    wb.save(out)
    rows = list(read_sheet(io.BytesIO(out.getvalue())))
    assert [n for n, _ in rows] == [1, 3, 4, 5, 6]
    assert rows[2][1] == [1, "城区道路改造", datetime(2026, 3, 2), 12.5]
    assert rows[3][1] == [2, "重复的字符串", "2026-03-03", 7]
    assert rows[4][1] == [3, "重复的字符串", datetime(2026, 3, 19)]


def _handmade(sheet_xml: str, shared: str | None = None, date1904: bool = False) -> bytes:
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        pr = '<workbookPr date1904="1"/>' if date1904 else ""
        z.writestr("xl/workbook.xml", f'<workbook xmlns="{ns}" xmlns:r="{rel}">{pr}<sheets>'
                   '<sheet name="S" sheetId="1" r:id="rId7"/></sheets></workbook>')
        rels = (f'<Relationship Id="rId7" Type="{rel}/worksheet" Target="/xl/worksheets/a.xml"/>'
                f'<Relationship Id="rId8" Type="{rel}/styles" Target="styles.xml"/>')
        if shared is not None:
            rels += f'<Relationship Id="rId9" Type="{rel}/sharedStrings" Target="ss.xml"/>'
            z.writestr("xl/ss.xml", f'<sst xmlns="{ns}">{shared}</sst>')
        z.writestr("xl/_rels/workbook.xml.rels",
                   '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                   f'relationships">{rels}</Relationships>')
        z.writestr("xl/styles.xml", f'<styleSheet xmlns="{ns}"><cellXfs count="2"><xf numFmtId="0"/>'
                   '<xf numFmtId="14"/></cellXfs></styleSheet>')
        z.writestr("xl/worksheets/a.xml", f'<worksheet xmlns="{ns}"><sheetData>{sheet_xml}'
                   "</sheetData></worksheet>")
    return out.getvalue()


def test_reads_shared_rich_text_missing_refs_and_1904_dates() -> None:
    shared = ('<si><t>事项</t></si><si><r><t>城区</t></r><r><t>道路</t></r>'
              '<rPh><t>チェンチュ</t></rPh></si>')
    data = _handmade('<row><c t="s"><v>0</v></c><c t="s"><v>1</v></c></row>'
                     '<row><c s="1"><v>1</v></c><c t="str"><v>公式结果</v></c>'
                     '<c t="e"><v>#N/A</v></c><c r="F3"><v>1E3</v></c></row>',
                     shared, date1904=True)
    rows = list(read_sheet(io.BytesIO(data)))
    assert rows[0] == (1, ["事项", "城区道路"])
    assert rows[1] == (2, [datetime(1904, 1, 2), "公式结果", "#N/A", None, None, 1000.0])


def test_unreadable() -> None:
    with pytest.raises(Unreadable):
        list(read_sheet(io.BytesIO(b"not a zip")))
    empty = io.BytesIO()
    with zipfile.ZipFile(empty, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(Unreadable):
        list(read_sheet(io.BytesIO(empty.getvalue())))
