"""The office page model → a Word document (python-docx), one section per
part, as a person types a form in a word processor: tables with merged cells
(gridSpan / vMerge), fixed column widths, rows that grow with their text,
header rows marked to repeat on every page, a table cut by a hand-made page
break into two tables."""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_ALIGN_VERTICAL, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from .office_model import Line, Part, Row, Table, check_part
from .office_style import OfficeStyle

BORDER_EIGHTHS = {"hair": 2, "thin": 4, "medium": 12}  # w:sz in eighths of a point
ALIGN = {"left": WD_ALIGN_PARAGRAPH.LEFT, "center": WD_ALIGN_PARAGRAPH.CENTER, "right": WD_ALIGN_PARAGRAPH.RIGHT}


def _set_fonts(rpr_owner, family: str) -> None:
    """Latin and East-Asian font of a run or style (python-docx sets Latin only)."""
    rpr = rpr_owner.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for a in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(a), family)


def write_docx(parts: list[Part], s: OfficeStyle, out: str | Path) -> None:
    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.size = Pt(s.font_size)
    _set_fonts(normal.element, s.font)
    pf = normal.paragraph_format
    pf.space_before = pf.space_after = Pt(0)
    pf.line_spacing = 1.0
    for k, p in enumerate(parts):
        check_part(p)
        sec = doc.sections[0] if k == 0 else doc.add_section(WD_SECTION.NEW_PAGE)
        sec.page_width, sec.page_height = (Mm(297), Mm(210)) if p.landscape else (Mm(210), Mm(297))
        sec.orientation = WD_ORIENT.LANDSCAPE if p.landscape else WD_ORIENT.PORTRAIT
        sec.left_margin = sec.right_margin = Mm(s.margin_mm)
        sec.top_margin = sec.bottom_margin = Mm(max(s.margin_mm, 15.0))
        if s.page_footer and k == 0:  # later sections' footers are linked to the first
            _page_footer(sec)
        width = sum(p.widths)
        for b in p.blocks:
            if isinstance(b, Line):
                _line(doc, b, s, width)
            else:
                for seg_no, seg in enumerate(_segments(b)):
                    if seg_no:
                        doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
                    _table(doc, seg, p.widths, s)
                doc.add_paragraph()  # a table is followed by a paragraph, as Word requires
    doc.save(str(out))


def _page_footer(sec) -> None:
    """第 N 页 with a PAGE field, centred in the section's footer."""
    para = sec.footer.paragraphs[0]
    para.alignment = WD_ALIGN_PARAGRAPH.CENTER
    para.add_run("第 ")
    fld = OxmlElement("w:fldSimple")
    fld.set(qn("w:instr"), "PAGE")
    r = OxmlElement("w:r")
    t = OxmlElement("w:t")
    t.text = "1"
    r.append(t)
    fld.append(r)
    para._p.append(fld)
    para.add_run(" 页")


def _line(doc, b: Line, s: OfficeStyle, width: float) -> None:
    para = doc.add_paragraph()
    para.alignment = ALIGN[b.align]
    para.paragraph_format.space_after = Pt(4)
    run = para.add_run(b.text)
    run.font.size = Pt(b.size or s.font_size)
    run.bold = b.bold
    if b.right:
        para.paragraph_format.tab_stops.add_tab_stop(Pt(width), WD_TAB_ALIGNMENT.RIGHT)
        r2 = para.add_run("\t" + b.right)
        r2.font.size = Pt(b.size or s.font_size)


def _segments(t: Table) -> list[tuple[list[Row], bool]]:
    """A table cut where a row asks for a page break; with repeat_header the
    person copies the header rows to the top of the continuation."""
    head = []
    for r in t.rows:
        if not r.header:
            break
        head.append(r)
    segs: list[list[Row]] = [[]]
    for i, r in enumerate(t.rows):
        if r.break_before and i:
            segs.append(list(head) if t.repeat_header else [])
        segs[-1].append(r)
    return [(seg, t.repeat_header) for seg in segs]


def _table(doc, seg, widths: list[float], s: OfficeStyle) -> None:
    rows, repeat = seg
    n = len(widths)
    table = doc.add_table(rows=len(rows), cols=n)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    tbl = table._tbl
    tblPr = tbl.tblPr
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    tblPr.append(layout)
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        e = OxmlElement(f"w:{edge}")
        e.set(qn("w:val"), "single")
        e.set(qn("w:sz"), str(BORDER_EIGHTHS[s.border]))
        e.set(qn("w:space"), "0")
        e.set(qn("w:color"), "000000")
        borders.append(e)
    tblPr.append(borders)
    for j, gc in enumerate(tbl.tblGrid.findall(qn("w:gridCol"))):
        gc.set(qn("w:w"), str(int(widths[j] * 20)))
    for i in range(len(rows)):
        for j in range(n):
            table.cell(i, j).width = Pt(widths[j])
    # header rows repeated on each page: only leading rows can be
    lead = 0
    while lead < len(rows) and rows[lead].header:
        lead += 1
    if repeat:
        for i in range(lead):
            trPr = table.rows[i]._tr.get_or_add_trPr()
            h = OxmlElement("w:tblHeader")
            h.set(qn("w:val"), "true")
            trPr.append(h)
    # merges first, then the text into each merged cell
    for i, r in enumerate(rows):
        for c in r.cells:
            rs = min(c.rowspan, len(rows) - i)
            if c.span > 1 or rs > 1:
                table.cell(i, c.col).merge(table.cell(i + rs - 1, c.col + c.span - 1))
    for i, r in enumerate(rows):
        for c in r.cells:
            cell = table.cell(i, c.col)
            para = cell.paragraphs[0]
            para.alignment = ALIGN["center" if c.kind in ("label", "head") else c.align]
            run = para.add_run(c.text)
            if c.kind == "head":
                run.bold = True
            if c.font:
                _set_fonts(run._r, c.font)
            vert = "center" if c.kind in ("label", "head") or c.rowspan > 1 else s.valign
            cell.vertical_alignment = WD_ALIGN_VERTICAL.CENTER if vert == "center" else WD_ALIGN_VERTICAL.TOP
