"""The office page model → an Excel workbook (openpyxl), one worksheet per
part, as a person lays a form out in a spreadsheet: merged cells, wrapped
text, row heights set by hand (LibreOffice does not grow a row for text in a
merged cell), A4 print setup, manual row breaks and repeated title rows."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break

from .office_model import Line, Part, Table, check_part, count_lines
from .office_style import OfficeStyle

PT_PER_WIDTH_UNIT = 7.0    # a column of width 1 is 7 pt wide as LibreOffice prints it
LINE_FACTOR = 1.42         # a wrapped line's height / the font size (CJK fonts, with leading)


def _height(lines: int, size: float, s: OfficeStyle) -> float:
    return lines * size * LINE_FACTOR + s.row_pad


def row_heights(t: Table, widths: list[float], s: OfficeStyle) -> list[float]:
    """Each row tall enough for its text; a merged cell's need spread over its rows."""
    size = s.font_size
    h = [s.min_row_height] * len(t.rows)
    spans = []
    for i, r in enumerate(t.rows):
        for c in r.cells:
            w = sum(widths[c.col:c.col + c.span])
            need = _height(count_lines(c.text, w, s.font, size), size, s)
            if c.rowspan == 1:
                h[i] = max(h[i], need)
            else:
                spans.append((i, c.rowspan, need))
    for i, n, need in spans:
        have = sum(h[i:i + n])
        if need > have:
            for j in range(i, i + n):
                h[j] += (need - have) / n
    return [round(x, 1) for x in h]


def write_xlsx(parts: list[Part], s: OfficeStyle, out: str | Path) -> None:
    wb = Workbook()
    wb.remove(wb.active)
    side = Side(style=s.border, color="000000")
    border = Border(left=side, right=side, top=side, bottom=side)
    used: set[str] = set()
    for k, p in enumerate(parts, start=1):
        check_part(p)
        name = f"{k}-{p.name}"[:31]
        while name in used:
            name = name[:-1] + "_"
        used.add(name)
        ws = wb.create_sheet(name)
        _sheet(ws, p, s, border)
    wb.save(str(out))


def _font(s: OfficeStyle, size: float | None = None, bold: bool = False, name: str | None = None) -> Font:
    return Font(name=name or s.font, size=size or s.font_size, bold=bold)


def _sheet(ws, p: Part, s: OfficeStyle, border: Border) -> None:
    n = len(p.widths)
    for j, w in enumerate(p.widths):
        ws.column_dimensions[get_column_letter(j + 1)].width = round(w / PT_PER_WIDTH_UNIT, 2)
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if p.landscape else "portrait"
    m = s.margin_mm / 25.4
    ws.page_margins.left = ws.page_margins.right = m
    ws.page_margins.top = ws.page_margins.bottom = max(m, 0.6)
    ws.print_options.horizontalCentered = True
    if s.page_footer:
        ws.oddFooter.center.text = "第 &P 页，共 &N 页"
        ws.oddFooter.center.size = max(s.font_size - 1.5, 8)
    r = 1
    titled = False
    for b in p.blocks:
        if isinstance(b, Line):
            size = b.size or s.font_size
            ws.row_dimensions[r].height = round(size * 1.9, 1)
            if b.right:
                k = 1
                need = len(b.right) * size + 10
                while k < n - 1 and sum(p.widths[n - k:]) < need:
                    k += 1
                _put(ws, r, 1, n - k, 1, b.text, _font(s, size, b.bold), Alignment(horizontal=b.align, vertical="bottom"))
                _put(ws, r, n - k + 1, k, 1, b.right, _font(s, size), Alignment(horizontal="right", vertical="bottom"))
            else:
                _put(ws, r, 1, n, 1, b.text, _font(s, size, b.bold),
                     Alignment(horizontal=b.align, vertical="bottom", wrap_text=True))
            r += 1
            continue
        heights = row_heights(b, p.widths, s)
        header_rows = []
        for i, row in enumerate(b.rows):
            ws.row_dimensions[r + i].height = heights[i]
            if row.break_before and i:
                ws.row_breaks.append(Break(id=r + i - 1))
            if row.header and (not header_rows or header_rows[-1] == r + i - 1):
                header_rows.append(r + i)
            for c in row.cells:
                bold = c.kind == "head"
                horiz = "center" if c.kind in ("label", "head") else c.align
                vert = "center" if c.kind in ("label", "head") or c.rowspan > 1 else s.valign
                _put(ws, r + i, c.col + 1, c.span, c.rowspan, c.text, _font(s, bold=bold, name=c.font),
                     Alignment(horizontal=horiz, vertical=vert, wrap_text=True), border)
            # grid positions no cell covers still get their lines
            for j in range(n):
                if not _covered(b, i, j):
                    ws.cell(r + i, j + 1).border = border
        if b.repeat_header and header_rows and not titled:
            ws.print_title_rows = f"{header_rows[0]}:{header_rows[-1]}"
            titled = True
        r += len(b.rows)


def _covered(t: Table, i: int, j: int) -> bool:
    for rr, row in enumerate(t.rows[:i + 1]):
        for c in row.cells:
            if rr <= i < rr + c.rowspan and c.col <= j < c.col + c.span:
                return True
    return False


def _put(ws, row: int, col: int, span: int, rowspan: int, text: str, font: Font, align: Alignment,
         border: Border | None = None) -> None:
    cell = ws.cell(row, col)
    cell.value = text if text != "" else None
    if text.startswith("="):
        cell.data_type = "s"  # typed text (=100.00(%)), not a formula
    cell.number_format = "@"  # typed as text: 0 stays 0, 2026/1/1 stays as typed
    cell.font = font
    cell.alignment = align
    if border is not None:
        cell.border = border
    if span > 1 or rowspan > 1:
        ws.merge_cells(start_row=row, start_column=col, end_row=row + rowspan - 1, end_column=col + span - 1)
