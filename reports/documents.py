"""Formal documents as .docx in the GB/T 9704-2012 layout (DOCUMENTS.md):
交办通知单 (assignment notice), 催办通知单 (urging notice) and each bulletin.

A4, top margin 37 mm, left 28 mm, text block 156 × 225 mm; body 仿宋_GB2312 三号 (16 pt) on
a fixed 28.95 pt line (22 lines a page, 28 characters a line); title 方正小标宋简体 二号
(22 pt) centred; headings 黑体 / 楷体_GB2312; only the issuing-office mark and the line
under the header are red. The fonts are named, not embedded: Word on the office PC has
them. Every function returns the file's bytes.

Pagination as an office checks it: the language is zh-CN (styles' w:lang, East Asian text
included), a title or heading is kept with the paragraph after it (never alone at a page's
foot), a table's header row repeats on each page it runs onto, and the 版记 sits at the
foot of the last page (a table anchored to the bottom of the text block).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from docx import Document
from docx.enum.section import WD_SECTION_START
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

from ledger.bulletins import Bulletin
from ledger.deadlines import MatterClass
from ledger.model import NUMBER_RE, Assignment, Matter, Office, format_number

__all__ = [
    "BODY_FONT",
    "HEADING_FONT",
    "TITLE_FONT",
    "Names",
    "assignment_notice_docx",
    "bulletin_docx",
    "cn_date",
    "urging_notice_docx",
]

LANG = "zh-CN"
BODY_FONT = "仿宋_GB2312"
TITLE_FONT = "方正小标宋简体"
HEADING_FONT = "黑体"
HEADING2_FONT = "楷体_GB2312"
PAGE_NUMBER_FONT = "宋体"
LATIN_FONT = "Times New Roman"

BODY_PT = 16.0      # 三号
TITLE_PT = 22.0     # 二号
MARK_PT = 36.0      # the issuing-office mark: large, red
FOOTER_PT = 14.0    # 四号: 版记 and page numbers
TABLE_PT = 12.0     # 小四, tables
LINE_PT = 28.95     # 225 mm / 22 lines
RED = RGBColor(0xFF, 0x00, 0x00)
CHAR = Pt(BODY_PT)  # one character of body text


TITLE_CHARS = 20   # 156 mm of 22 pt characters
_NO_LINE_START = set("，。、；：？！”’）》〕」』…—")


def _width(ch: str) -> float:
    return 0.5 if ch.isascii() else 1.0


def _balanced(text: str, width: int) -> list[str]:
    """`text` in as few lines of at most `width` characters as it needs (ASCII counts
    half), of nearly equal length, never cut inside a number or before closing punctuation."""
    total = sum(_width(c) for c in text)
    if total <= width:
        return [text]
    n_lines = -(-int(total) // width)
    target = total / n_lines
    lines: list[str] = []
    start, acc = 0, 0.0
    for i, ch in enumerate(text):
        acc += _width(ch)
        if acc >= target and len(lines) < n_lines - 1 and i + 1 < len(text):
            nxt, cur = text[i + 1], ch
            if nxt in _NO_LINE_START or (cur.isascii() and cur.isalnum() and (
                    (nxt.isascii() and nxt.isalnum()) or nxt in "年月日号期项件")):
                continue
            lines.append(text[start:i + 1])
            start, acc = i + 1, 0.0
    lines.append(text[start:])
    return lines


def cn_date(d: date) -> str:
    """成文日期: Arabic numerals, no leading zeros, e.g. 2026年11月25日."""
    return f"{d.year}年{d.month}月{d.day}日"


@dataclass(frozen=True)
class Names:
    """The persons an assignment names (RULES 3)."""

    principal: str
    responsible: str
    handler: str


# ---------------------------------------------------------------- the page and the runs


def _set_fonts(rpr_parent: object, name: str) -> None:
    """Name the font for Latin and East Asian text alike (Word reads w:eastAsia)."""
    rpr = rpr_parent.get_or_add_rPr()  # type: ignore[attr-defined]
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:cs"):
        fonts.set(qn(attr), LATIN_FONT if name == BODY_FONT else name)
    fonts.set(qn("w:eastAsia"), name)


def _border(paragraph: object, side: str, color: str, size_eighths: int) -> None:
    ppr = paragraph._p.get_or_add_pPr()  # type: ignore[attr-defined]
    bdr = ppr.find(qn("w:pBdr"))
    if bdr is None:
        bdr = OxmlElement("w:pBdr")
        ppr.append(bdr)
    line = OxmlElement(f"w:{side}")
    line.set(qn("w:val"), "single")
    line.set(qn("w:sz"), str(size_eighths))
    line.set(qn("w:space"), "1")
    line.set(qn("w:color"), color)
    bdr.append(line)


def _page_field(paragraph: object) -> None:
    """`— N —`: a PAGE field between dashes."""
    p = paragraph
    _text_run(p, "— ", PAGE_NUMBER_FONT, FOOTER_PT)
    run: Any = _text_run(p, "", PAGE_NUMBER_FONT, FOOTER_PT)
    for kind, text in (("begin", None), (None, " PAGE "), ("end", None)):
        if kind is not None:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        else:
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = text
        run._r.append(el)
    _text_run(p, " —", PAGE_NUMBER_FONT, FOOTER_PT)


def _set_language(doc: Any) -> None:
    """zh-CN for every run: the defaults and each style that names a language."""
    styles = doc.styles.element
    defaults = styles.find(qn("w:docDefaults"))
    if defaults is not None:
        rpr_default = defaults.find(qn("w:rPrDefault"))
        if rpr_default is None:
            rpr_default = OxmlElement("w:rPrDefault")
            defaults.insert(0, rpr_default)
        rpr = rpr_default.find(qn("w:rPr"))
        if rpr is None:
            rpr = OxmlElement("w:rPr")
            rpr_default.append(rpr)
        if rpr.find(qn("w:lang")) is None:
            rpr.append(OxmlElement("w:lang"))
    normal_rpr = doc.styles["Normal"].element.get_or_add_rPr()
    if normal_rpr.find(qn("w:lang")) is None:
        normal_rpr.append(OxmlElement("w:lang"))
    for lang in styles.iter(qn("w:lang")):
        lang.set(qn("w:val"), LANG)
        lang.set(qn("w:eastAsia"), LANG)
        lang.set(qn("w:bidi"), "ar-SA")


def _keep_with_next(paragraph: Any) -> None:
    pf = paragraph.paragraph_format
    pf.keep_with_next = True
    pf.keep_together = True


def _text_run(paragraph: object, text: str, font: str, size: float, *, bold: bool = False,
              color: RGBColor | None = None) -> object:
    run = paragraph.add_run(text)  # type: ignore[attr-defined]
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.color.rgb = color or RGBColor(0, 0, 0)
    _set_fonts(run._r, font)
    return run


class _Doc:
    """One GB/T 9704 document being written."""

    def __init__(self) -> None:
        self.doc = Document()
        section = self.doc.sections[0]
        section.start_type = WD_SECTION_START.NEW_PAGE
        section.page_width, section.page_height = Mm(210), Mm(297)
        section.top_margin, section.left_margin = Mm(37), Mm(28)
        section.right_margin = Mm(210 - 28 - 156)
        section.bottom_margin = Mm(297 - 37 - 225)
        section.header_distance, section.footer_distance = Mm(15), Mm(20)
        normal = self.doc.styles["Normal"]
        normal.font.size = Pt(BODY_PT)
        normal.font.color.rgb = RGBColor(0, 0, 0)
        normal.font.name = LATIN_FONT
        _set_fonts(normal.element, BODY_FONT)
        pf = normal.paragraph_format
        pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        pf.line_spacing = Pt(LINE_PT)
        pf.space_before = pf.space_after = Pt(0)
        _set_language(self.doc)
        # Page numbers: odd pages on the right, even on the left, one character in.
        self.doc.settings.odd_and_even_pages_header_footer = True
        odd = section.footer.paragraphs[0]
        odd.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        odd.paragraph_format.right_indent = Pt(FOOTER_PT)
        _page_field(odd)
        even = section.even_page_footer.paragraphs[0]
        even.alignment = WD_ALIGN_PARAGRAPH.LEFT
        even.paragraph_format.left_indent = Pt(FOOTER_PT)
        _page_field(even)

    # -- 版头
    def header(self, mark: str, number: str, *, urgency: str | None = None,
               secrecy: str | None = None, issue_line: str | None = None) -> None:
        for label in (secrecy, urgency):
            if label:
                p = self.doc.add_paragraph()
                _text_run(p, label, HEADING_FONT, BODY_PT)
        p = self.doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        p.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
        p.paragraph_format.space_before = Pt(12)
        p.paragraph_format.space_after = Pt(12)
        _text_run(p, mark, TITLE_FONT, MARK_PT, color=RED)
        if issue_line:
            p = self.doc.add_paragraph()
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            _text_run(p, issue_line, BODY_FONT, BODY_PT)
        p = self.doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        p.paragraph_format.space_after = Pt(6)
        _text_run(p, number, BODY_FONT, BODY_PT)
        _border(p, "bottom", "FF0000", 12)   # the red separator line, 1.5 pt
        self.doc.add_paragraph()

    # -- 主体
    def title(self, text: str) -> None:
        """Centred; a long title is cut into balanced lines (never before closing
        punctuation) rather than left to wrap with one character on the last line."""
        p = self.doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        p.paragraph_format.line_spacing = Pt(LINE_PT * 1.2)
        _keep_with_next(p)
        for i, line in enumerate(_balanced(text, TITLE_CHARS)):
            run: Any = _text_run(p, line, TITLE_FONT, TITLE_PT)
            if i:
                run._r.insert(0, OxmlElement("w:br"))
        _keep_with_next(self.doc.add_paragraph())

    def recipient(self, text: str) -> None:
        p = self.doc.add_paragraph()
        _text_run(p, f"{text}：", BODY_FONT, BODY_PT)

    def para(self, text: str, *, indent: bool = True, bold_lead: str | None = None) -> None:
        p = self.doc.add_paragraph()
        if indent:
            p.paragraph_format.first_line_indent = CHAR * 2
        if bold_lead:
            _text_run(p, bold_lead, BODY_FONT, BODY_PT, bold=True)
        _text_run(p, text, BODY_FONT, BODY_PT)

    def heading(self, text: str, level: int = 1) -> None:
        """Kept with what follows: never the last line of a page."""
        p = self.doc.add_paragraph()
        p.paragraph_format.first_line_indent = CHAR * 2
        _keep_with_next(p)
        if level == 1:
            _text_run(p, text, HEADING_FONT, BODY_PT)
        elif level == 2:
            _text_run(p, text, HEADING2_FONT, BODY_PT)
        else:
            _text_run(p, text, BODY_FONT, BODY_PT, bold=True)

    def table(self, head: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        t = self.doc.add_table(rows=1, cols=len(head))
        t.style = self.doc.styles["Table Grid"]
        t.alignment = WD_TABLE_ALIGNMENT.CENTER
        _row_props(t.rows[0], header=True)
        for cell, text in zip(t.rows[0].cells, head, strict=True):
            self._cell(cell, text, bold=True)
            _keep_with_next(cell.paragraphs[0])  # the header stays with the first row
        for row in rows:
            r = t.add_row()
            _row_props(r)
            for cell, text in zip(r.cells, row, strict=True):
                self._cell(cell, text)

    @staticmethod
    def _cell(cell: object, text: str, bold: bool = False) -> None:
        p = cell.paragraphs[0]  # type: ignore[attr-defined]
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        p.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
        p.paragraph_format.first_line_indent = Pt(0)
        _text_run(p, text, HEADING_FONT if bold else BODY_FONT, TABLE_PT)

    def signature(self, office: str, day: date) -> None:
        """署名 centred over the date; the date four characters in from the right."""
        when = cn_date(day)
        self.doc.add_paragraph()
        self.doc.add_paragraph()
        p = self.doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        shift = max(0.0, (len(when) - len(office)) / 2)
        p.paragraph_format.right_indent = Pt(BODY_PT * (4 + shift))
        _keep_with_next(p)  # the office's name never on a page without its date
        _text_run(p, office, BODY_FONT, BODY_PT)
        p = self.doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        p.paragraph_format.right_indent = CHAR * 4
        _text_run(p, when, BODY_FONT, BODY_PT)

    # -- 版记
    def colophon(self, office: str, day: date, copies_to: Sequence[str] = ()) -> None:
        """抄送 and 印发 between black rules (the first and last thicker), in a table
        anchored to the foot of the text block of the page it falls on: the last."""
        rows = (["抄送：" + "，".join(copies_to) + "。"] if copies_to else []) + [""]
        t = self.doc.add_table(rows=len(rows), cols=1)
        t.alignment = WD_TABLE_ALIGNMENT.CENTER
        tbl_pr = t._tbl.tblPr
        float_pr = OxmlElement("w:tblpPr")
        for attr, value in (("w:vertAnchor", "margin"), ("w:tblpYSpec", "bottom"),
                            ("w:horzAnchor", "margin"), ("w:tblpXSpec", "center")):
            float_pr.set(qn(attr), value)
        tbl_pr.insert(0, float_pr)
        width = OxmlElement("w:tblW")
        width.set(qn("w:w"), str(int(Mm(156).twips)))
        width.set(qn("w:type"), "dxa")
        tbl_pr.append(width)
        borders = OxmlElement("w:tblBorders")
        for side, size in (("top", 12), ("bottom", 12), ("insideH", 8)):
            el = OxmlElement(f"w:{side}")
            el.set(qn("w:val"), "single")
            el.set(qn("w:sz"), str(size))
            el.set(qn("w:space"), "0")
            el.set(qn("w:color"), "000000")
            borders.append(el)
        for side in ("left", "right", "insideV"):
            el = OxmlElement(f"w:{side}")
            el.set(qn("w:val"), "nil")
            borders.append(el)
        tbl_pr.append(borders)
        for row, text in zip(t.rows, rows, strict=True):
            _row_props(row)
            p = row.cells[0].paragraphs[0]
            p.paragraph_format.left_indent = Pt(FOOTER_PT)
            p.paragraph_format.right_indent = Pt(FOOTER_PT)
            if text:
                _text_run(p, text, BODY_FONT, FOOTER_PT)
            else:
                p.paragraph_format.tab_stops.add_tab_stop(
                    Mm(156) - Pt(FOOTER_PT * 2), alignment=WD_TAB_ALIGNMENT.RIGHT)
                _text_run(p, f"{office}\t{cn_date(day)}印发", BODY_FONT, FOOTER_PT)
        # A document may not end with a table: an empty paragraph, one point high.
        end = self.doc.add_paragraph()
        end.paragraph_format.line_spacing = Pt(1)

    def picture(self, png: bytes, width_mm: float = 150) -> None:
        """A figure (the bulletin's chart), centred, kept with its caption line."""
        p = self.doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        p.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
        _keep_with_next(p)
        p.add_run().add_picture(io.BytesIO(png), width=Mm(width_mm))

    def bytes(self) -> bytes:
        out = io.BytesIO()
        self.doc.save(out)
        return out.getvalue()


# ---------------------------------------------------------------- the documents


def _row_props(row: Any, header: bool = False) -> None:
    """A row never split across pages; a header row repeated on each page (w:tblHeader)."""
    tr_pr = row._tr.get_or_add_trPr()
    tr_pr.append(OxmlElement("w:cantSplit"))
    if header:
        tr_pr.append(OxmlElement("w:tblHeader"))


def _doc_number(matter: Matter, tag: str = "") -> str:
    """`督〔2026〕12号`, or `督催〔2026〕12号` with tag "催"."""
    m = NUMBER_RE.match(matter.number)
    if m is None:
        return matter.number
    return format_number(f"{m['prefix']}{tag}", int(m["year"]), int(m["seq"]))


def _urgency(matter: Matter) -> str | None:
    return "特急" if matter.klass is MatterClass.URGENT else None


def _persons_para(d: _Doc, names: Names) -> None:
    d.para(f"第一责任人：{names.principal}；具体责任人：{names.responsible}；"
           f"具体承办人：{names.handler}。")


def assignment_notice_docx(matter: Matter, assignment: Assignment, unit: str, names: Names,
                           office: Office, *, issued_on: date,
                           co_units: Sequence[str] = (),
                           lead_unit: str | None = None,
                           copies_to: Sequence[str] = ()) -> bytes:
    """交办通知单 (§2.2): the matter, the leader's instruction where there is one, the
    named persons and the deadline; the unit signs for it and commits a deadline (§2.4)."""
    d = _Doc()
    d.header(office.name, _doc_number(matter), urgency=_urgency(matter),
             secrecy="机密" if matter.confidential else None)
    d.title(f"关于交办“{matter.title}”的通知")
    d.recipient(unit)
    if assignment.lead:
        role = "牵头办理"
        if co_units:
            role += f"，{'、'.join(co_units)}配合"
    else:
        role = f"配合{lead_unit}办理" if lead_unit else "配合办理"
    d.para(f"根据县委、县政府工作部署，现将“{matter.title}”（编号{matter.number}）"
           f"交由你单位{role}。有关事项通知如下：")
    n = 1
    numerals = "一二三四五六七八"
    if matter.body:
        d.heading(f"{numerals[n - 1]}、督办事项")
        d.para(matter.body)
        n += 1
    if matter.instruction_text:
        d.heading(f"{numerals[n - 1]}、领导批示")
        author = f"（{matter.instruction_author}）" if matter.instruction_author else ""
        d.para(f"{matter.instruction_text}{author}")
        d.para("领导批示复印件随本通知送达。")
        n += 1
    d.heading(f"{numerals[n - 1]}、责任分工")
    _persons_para(d, names)
    n += 1
    d.heading(f"{numerals[n - 1]}、办结时限")
    d.para(f"请于{cn_date(assignment.deadline)}前办结。请在收到本通知后及时签收，"
           "明确具体责任人、具体承办人，承诺办结时限；因特殊原因不能按时办结的，"
           "须在时限届满前由单位主要负责人书面说明情况并申请延期。")
    d.para("办理过程中请及时报送进展，办结后将办理结果报县督查部门审核销号。")
    d.signature(office.name, issued_on)
    d.colophon(office.name, issued_on, copies_to)
    return d.bytes()


def urging_notice_docx(matter: Matter, assignment: Assignment, unit: str, names: Names,
                       office: Office, *, limit: date, issued_on: date,
                       workdays_overdue: int | None = None, urge_count: int | None = None,
                       note: str = "", copies_to: Sequence[str] = ()) -> bytes:
    """催办通知单 (§2.10): the lagging matter, its new limit, and what follows if missed."""
    d = _Doc()
    count = urge_count or assignment.urge_count or 1
    d.header(office.name, _doc_number(matter, "催"), urgency=_urgency(matter),
             secrecy="机密" if matter.confidential else None)
    d.title(f"关于催办“{matter.title}”的通知")
    d.recipient(unit)
    state = (f"已超期{workdays_overdue}个工作日" if workdays_overdue
             else "至今尚未办结")
    d.para(f"你单位承办的“{matter.title}”（编号{matter.number}），办结时限为"
           f"{cn_date(assignment.effective_deadline)}，{state}。"
           f"这是第{count}次催办。")
    if note:
        d.para(note)
    d.para(f"请你单位高度重视，于{cn_date(limit)}前办结，并将办理情况书面报县督查部门。"
           "在催办时限内没有按要求落实的，将予以通报批评，并与年终目标责任制考评挂钩；"
           "情节特别严重的，提请县纪委、县监察局追究责任。")
    _persons_para(d, names)
    d.signature(office.name, issued_on)
    d.colophon(office.name, issued_on, copies_to)
    return d.bytes()


def bulletin_docx(b: Bulletin, *, recipients: str = "各乡镇，县直各部门",
                  deadline: date | None = None, detail_limit: int = 200,
                  copies_to: Sequence[str] = (), chart_png: bytes | None = None) -> bytes:
    """A bulletin issue as a document: masthead, 第N期, the number, title, recipients, the
    figures and the per-unit table, commendations and criticisms, the deadline for the
    criticized and overdue units to report, office and date."""
    f = b.figures
    d = _Doc()
    d.header(b.info.masthead, b.doc_number, issue_line=f"{b.issue}"
             + ("（预览）" if b.preview else ""))
    d.title(b.title)
    d.recipient(recipients)
    d.para(f"现将{b.period.label}县委、县政府督办事项落实情况通报如下。")
    numerals = iter("一二三四五六七八九十")

    def h(text: str) -> None:
        d.heading(f"{next(numerals)}、{text}")

    h("总体情况")
    d.para(f"本期新立项督办事项{f.registered}件，办结{f.closed}件，其中按时办结"
           f"{f.closed_on_time}件。截至{cn_date(b.issued_on)}，在办事项{f.open}件，"
           f"其中超期未办结{f.overdue_matters}件（涉及分工{f.overdue}项），临近办结时限"
           f"{f.due_soon}项，进展停滞{f.stagnating}项；本期共催办{f.urged}次，"
           f"通报表彰{f.commended}次，通报批评{f.criticized}次。")
    if chart_png:
        d.picture(chart_png)
        p = d.doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _text_run(p, "图　各单位在办与超期情况", HEADING2_FONT, TABLE_PT)
    if b.units:
        h("各单位按时办结情况")
        d.table(("单位", "在办", "超期", "本期办结", "按时办结", "按时率", "催办"),
                [(r.unit, str(r.open), str(r.overdue), str(r.closed), str(r.closed_on_time),
                  r.on_time_text, str(r.urged)) for r in b.units])
    if b.overdue_by_unit:
        h("超期未办结事项")
        shown = 0
        for u in b.overdue_by_unit:
            d.heading(f"（{u.unit}）超期{len(u.lines)}项，合计{u.workdays}个工作日", level=2)
            for x in u.lines:
                if shown >= detail_limit:
                    break
                shown += 1
                urged = f"，已催办{x.urge_count}次" if x.urge_count else ""
                d.para(f"{x.number}“{x.title}”，时限{cn_date(x.deadline)}，"
                       f"超期{x.workdays_overdue}个工作日{urged}。")
        if shown < f.overdue:
            d.para(f"另有{f.overdue - shown}项超期分工，详见督办台账。")
    if b.commendations:
        h("通报表彰")
        for j in b.commendations[:detail_limit]:
            d.para(f"{j.unit}办理的{j.number}“{j.title}”：{j.reason}", indent=True)
    if b.criticisms:
        h("通报批评")
        for j in b.criticisms[:detail_limit]:
            d.para(f"{j.unit}办理的{j.number}“{j.title}”：{j.reason}", indent=True)
    if b.children:
        h("下级督查室台账情况")
        d.table(("督查室", "在办", "红灯", "黄灯", "超期", "本期销号", "红灯事项"),
                [(c.office, str(c.figures.open), str(c.figures.red), str(c.figures.yellow),
                  str(c.figures.overdue), str(c.figures.closed),
                  "、".join(c.figures.numbers) or "—") for c in b.children])
        d.para("以上数字按各下级督查室本级台账统计，不含机密事项。", indent=True)
    h("工作要求")
    due = deadline
    text = "被通报超期、批评的单位要认真分析原因，落实整改措施"
    if due is not None:
        text += f"，于{cn_date(due)}前将整改情况书面报县督查部门"
    d.para(text + "。各单位要对照台账逐项推进，确保按时办结。")
    d.signature(b.office_name, b.issued_on)
    d.colophon(b.office_name, b.issued_on, copies_to)
    return d.bytes()
