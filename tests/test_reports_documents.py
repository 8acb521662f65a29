"""Formal documents open with python-docx and carry the right fields in GB/T 9704 layout;
the bulletin chart renders Chinese with a real CJK font."""

from __future__ import annotations

import io
import warnings
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import docx
import pytest
from docx.document import Document
from docx.oxml.ns import qn
from docx.shared import Length, Pt
from docx.text.paragraph import Paragraph

from ledger.bulletins import BulletinKind, Period
from ledger.model import Source
from ledger.usecases.accountability import urge
from ledger.usecases.ledger_mgmt import RegisterMatter, assign, register_matter
from reports.bulletin import build_bulletin, bulletin_document
from reports.chart import bulletin_chart_png
from reports.documents import BODY_FONT, HEADING_FONT, TITLE_FONT, cn_date
from reports.fonts import FontMissing, find_cjk_font
from reports.notices import assignment_notice, urging_notice
from tests.test_reports_helpers import Seed, reopen, seed_once

WEEK = Period(date(2026, 11, 16), date(2026, 11, 22))


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seed:
    return seed_once(tmp_path_factory.mktemp("seed"))


@pytest.fixture
async def s(seeded: Seed, tmp_path: Path) -> AsyncIterator[Seed]:
    seed = reopen(seeded, tmp_path)
    yield seed
    await seed.engine.dispose()


def open_doc(data: bytes) -> Document:
    return docx.Document(io.BytesIO(data))


def para(d: Document, text: str) -> Paragraph:
    for p in d.paragraphs:
        if text in p.text.replace("\n", ""):   # a long title is cut into lines
            return p
    raise AssertionError(f"no paragraph with {text!r}: {[p.text for p in d.paragraphs]}")


def colophon(d: Document) -> str:
    """The 版记's text, asserting it is anchored to the foot of the text block."""
    table = d.tables[-1]
    pos = table._tbl.tblPr.find(qn("w:tblpPr"))
    assert pos is not None, "the 版记 floats at the foot of the page"
    assert (pos.get(qn("w:vertAnchor")), pos.get(qn("w:tblpYSpec"))) == ("margin", "bottom")
    return "\n".join(c.text for r in table.rows for c in r.cells)


def assert_pagination(d: Document) -> None:
    """The flaws an office sees: language zh-CN (East Asian too), no heading alone at a
    page's foot, 版记 at the foot of the last page, header rows repeating."""
    styles = d.styles.element
    langs = list(styles.iter(qn("w:lang")))
    assert langs, "the styles name a language"
    for lang in langs:
        assert lang.get(qn("w:val")) == "zh-CN" and lang.get(qn("w:eastAsia")) == "zh-CN"
    assert "en-US" not in styles.xml
    defaults = styles.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    assert defaults.find(qn("w:lang")).get(qn("w:eastAsia")) == "zh-CN"
    headings = [p for p in d.paragraphs if p.runs and p.text.strip()
                and east_asia(p) & {HEADING_FONT, TITLE_FONT} and sizes(p) != {36.0}]
    assert headings
    for p in headings:
        assert p.paragraph_format.keep_with_next, f"heading {p.text!r} may be left alone"
    for table in d.tables[:-1]:  # data tables (the last is the 版记)
        tr_pr = table.rows[0]._tr.trPr
        assert tr_pr is not None and tr_pr.find(qn("w:tblHeader")) is not None
    # Nothing but the end mark after the 版记.
    body = list(d.element.body)
    tail = body[body.index(d.tables[-1]._tbl) + 1:]
    assert [el.tag.split("}")[1] for el in tail] in (["p", "sectPr"], ["p"])


def east_asia(p: Paragraph) -> set[str]:
    out = set()
    for r in p.runs:
        if not r.text.strip():
            continue
        fonts = r._r.rPr.find(qn("w:rFonts"))
        out.add(fonts.get(qn("w:eastAsia")))
    return out


def sizes(p: Paragraph) -> set[float]:
    return {r.font.size.pt for r in p.runs if r.text.strip() and r.font.size is not None}


def assert_layout(d: Document) -> None:
    sec = d.sections[0]

    def mm(*values: int | None) -> tuple[float, ...]:
        assert all(v is not None for v in values)
        return tuple(round(Length(v).mm, 1) for v in values)  # type: ignore[arg-type]

    assert mm(sec.page_width, sec.page_height) == (210.0, 297.0)
    assert mm(sec.top_margin, sec.left_margin) == (37.0, 28.0)
    assert mm(sec.page_width - sec.left_margin - sec.right_margin,  # type: ignore[operator]
              sec.page_height - sec.top_margin - sec.bottom_margin) == (156.0, 225.0)
    footer_xml = sec.footer._element.xml
    assert "PAGE" in footer_xml


def assert_red_header(d: Document, mark: str, number: str) -> None:
    p = para(d, mark)
    [run] = [r for r in p.runs if r.text.strip()]
    assert str(run.font.color.rgb) == "FF0000" and east_asia(p) == {TITLE_FONT}
    assert sizes(p) == {36.0}
    num = para(d, number)
    assert num.text.strip() == number
    border = num._p.pPr.find(qn("w:pBdr")).find(qn("w:bottom"))
    assert border.get(qn("w:color")) == "FF0000"
    # Only the mark is red: every other run is black.
    red = [other.text for other in d.paragraphs for r in other.runs
           if r.text.strip() and str(r.font.color.rgb) != "000000"]
    assert red == [mark]


async def test_assignment_notice_with_instruction(s: Seed) -> None:
    s.when(date(2026, 11, 24), 10)
    m = await register_matter(s.uow(), s.clock, s.cal, s.admin, RegisterMatter(
        title="城南片区积水点整治", body="入汛前完成城南片区6处积水点改造。",
        source=Source.INSTRUCTION, instruction_text="请住建局牵头，交通局配合，务必在汛前完成。",
        instruction_author="李县长", deadline=date(2026, 12, 4)))
    assert m.id is not None
    m = await assign(s.uow(), s.clock, s.cal, s.admin, m.id,
                     [s.spec("住建局"), s.spec("交通局", lead=False)])
    s.when(date(2026, 11, 25), 9)
    name, data = await assignment_notice(s.uow(), s.clock, m.id, 1)
    assert name == "交办通知单_26-8_住建局.docx"
    d = open_doc(data)
    assert_layout(d)
    assert_red_header(d, "县委县政府督查室", "督〔2026〕8号")
    title = para(d, "关于交办“城南片区积水点整治”的通知")
    assert east_asia(title) == {TITLE_FONT} and sizes(title) == {22.0}
    assert title.alignment == 1  # centred
    recipient = para(d, "住建局：")
    assert recipient.text == "住建局：" and recipient.paragraph_format.first_line_indent is None
    lead = para(d, "交由你单位牵头办理，交通局配合")
    assert lead.paragraph_format.first_line_indent == Pt(32)
    assert east_asia(lead) == {BODY_FONT} and sizes(lead) == {16.0}
    assert east_asia(para(d, "领导批示")) == {HEADING_FONT}
    para(d, "请住建局牵头，交通局配合，务必在汛前完成。（李县长）")
    para(d, "第一责任人：住建局局长；具体责任人：住建局科长；具体承办人：住建局干事。")
    para(d, "请于2026年12月4日前办结")
    signature = para(d, "2026年11月25日")
    assert signature.text == "2026年11月25日" and signature.paragraph_format.right_indent == Pt(64)
    assert "县委县政府督查室\t2026年11月25日印发" in colophon(d)
    assert_pagination(d)
    # The co-unit's notice says whom it works with.
    _, co = await assignment_notice(s.uow(), s.clock, m.id, 2)
    para(open_doc(co), "交由你单位配合住建局办理")


async def test_urging_notice_carries_the_new_limit(s: Seed) -> None:
    name, data = await urging_notice(s.uow(), s.clock, s.cal, s.m["m1"], 1)
    assert name == "催办通知单_26-1_住建局.docx"
    d = open_doc(data)
    assert_layout(d)
    assert_red_header(d, "县委县政府督查室", "督催〔2026〕1号")
    para(d, "关于催办“城区道路改造”的通知")
    para(d, "办结时限为2026年11月13日，已超期6个工作日。这是第1次催办。")
    para(d, "请你单位高度重视，于2026年11月20日前办结")
    para(d, "2026年11月23日")
    assert "2026年11月23日印发" in colophon(d)
    assert_pagination(d)
    assert "催办说明" not in "".join(p.text for p in d.paragraphs)  # the first urge had none
    with pytest.raises(ValueError):
        await urging_notice(s.uow(), s.clock, s.cal, s.m["m5"], 1)


async def test_urging_notice_prints_the_latest_urges_note(s: Seed) -> None:
    await urge(s.uow(), s.clock, s.cal, s.admin, s.m["m1"], 1, limit=date(2026, 11, 27),
               note="请于周五前报送整改方案")
    _, data = await urging_notice(s.uow(), s.clock, s.cal, s.m["m1"], 1)
    d = open_doc(data)
    para(d, "这是第2次催办。")
    para(d, "催办说明：请于周五前报送整改方案")
    para(d, "于2026年11月27日前办结")


async def test_bulletin_document(s: Seed) -> None:
    b = await build_bulletin(s.uow(), s.clock, s.cal, s.office_id, BulletinKind.REGULAR, WEEK)
    d = open_doc(bulletin_document(b, s.cal))
    assert_layout(d)
    assert_red_header(d, "督察", "督察〔2026〕1号")
    para(d, "2026年第1期（预览）")
    title = para(d, "关于2026年11月16日至11月22日督办事项落实情况的通报")
    assert title.text == "关于2026年11月16日至11月22日\n督办事项落实情况的通报"
    para(d, "各乡镇，县直各部门：")
    para(d, "本期新立项督办事项2件，办结2件，其中按时办结1件")
    para(d, "督〔2026〕1号“城区道路改造”，时限2026年11月13日，超期6个工作日，已催办1次。")
    para(d, "住建局办理的督〔2026〕1号“城区道路改造”：催办时限内未落实")
    para(d, "于2026年11月30日前将整改情况书面报县督查部门")  # 5 working days after 11-23
    assert "县委县政府督查室\t2026年11月23日印发" in colophon(d)
    table, _ = d.tables
    rows = [[c.text for c in r.cells] for r in table.rows]
    assert rows[0][:3] == ["单位", "在办", "超期"]
    assert ["城关镇", "0", "0", "2", "1", "50%", "0"] in rows
    assert_pagination(d)
    assert not d.inline_shapes  # no chart given, none embedded


async def test_bulletin_document_embeds_its_chart(s: Seed) -> None:
    b = await build_bulletin(s.uow(), s.clock, s.cal, s.office_id, BulletinKind.REGULAR, WEEK)
    png = bulletin_chart_png(b)
    d = open_doc(bulletin_document(b, s.cal, chart_png=png))
    [shape] = d.inline_shapes
    rel = shape._inline.graphic.graphicData.pic.blipFill.blip.embed
    assert d.part.related_parts[rel].blob == png  # the chart itself, in the .docx
    assert round(shape.width.mm) == 150  # within the 156 mm text block
    assert_pagination(d)


async def test_long_table_repeats_its_header(s: Seed) -> None:
    from reports.documents import _Doc
    doc = _Doc()
    doc.heading("一、各单位情况")
    doc.table(("单位", "在办"), [(f"单位{i}", str(i)) for i in range(80)])
    doc.colophon("县委县政府督查室", date(2026, 11, 23))
    d = open_doc(doc.bytes())
    table = d.tables[0]
    assert table.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None
    assert all(r._tr.trPr.find(qn("w:tblHeader")) is None for r in table.rows[1:])
    assert all(r._tr.trPr.find(qn("w:cantSplit")) is not None for r in table.rows)
    assert para(d, "一、各单位情况").paragraph_format.keep_with_next


def test_cn_date_has_no_leading_zeros() -> None:
    assert cn_date(date(2026, 1, 5)) == "2026年1月5日"


# ---- chart and font


async def test_chart_renders_chinese_without_missing_glyphs(s: Seed) -> None:
    b = await build_bulletin(s.uow(), s.clock, s.cal, s.office_id, BulletinKind.REGULAR, WEEK)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph … missing from font(s)"
        png = bulletin_chart_png(b)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    empty = await build_bulletin(s.uow(), s.clock, s.cal, s.office_id, BulletinKind.PROJECT,
                                 Period(date(2026, 1, 1), date(2026, 1, 31)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert bulletin_chart_png(empty).startswith(b"\x89PNG")


def test_font_is_found_or_explained(tmp_path: Path) -> None:
    font = find_cjk_font()
    assert font.path.is_file() and ("CJK" in font.family or "Hei" in font.family)
    with pytest.raises(FontMissing, match="fonts-noto-cjk"):
        find_cjk_font(env={}, search=[], use_installed=False)
    bogus = tmp_path / "not-a-font.otf"
    bogus.write_bytes(b"nope")
    with pytest.raises(FontMissing, match="DUBAN_CJK_FONT"):
        find_cjk_font(env={"DUBAN_CJK_FONT": str(bogus)})
    assert find_cjk_font(env={"DUBAN_CJK_FONT": str(font.path)}).path == font.path
