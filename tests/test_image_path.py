"""The scanned path: page image → PageLayout (extract/image, extract/ocr).

A synthetic form page is drawn with reportlab (ruled grid with merged cells,
Chinese labels, numbers, ☐/☑ boxes, stage cells with √) and rendered with
pypdfium2; the tests read it back clean, rotated, broken and turned.
"""

from __future__ import annotations

import io
import unicodedata

import cv2
import numpy as np
import pytest

pdfium = pytest.importorskip("pypdfium2")
pytest.importorskip("reportlab")

from extract.image import checkbox, grid as gridmod, preprocess as pp  # noqa: E402
from extract import sysdeps  # noqa: E402
from extract.layout import build_page  # noqa: E402

FONT = sysdeps.font_path("wqy-zenhei")
SYM = sysdeps.font_path("dejavu")
DPI = 200

OVERVIEW = ("根据市总工会对职工服务项目的要求，本着“冬送温暖、夏送清凉”的原则，对非公企业一线露天作业人员，"
            "夏季进行高温慰问，冬春季帮困慰问；并宣扬劳动光荣，关心关怀退休劳模；下企业开展集体协商指导等工作。")

# (x, y, column widths, row heights, cells: (row, col, row span, col span, text))
T1 = (45, 120, [80, 90, 70, 90, 70, 105], [26, 26, 26, 26, 62, 24, 24, 24, 24, 26], [
    (0, 0, 1, 1, "项目名称"), (0, 1, 1, 5, "（工会）维护职工权益"),
    (1, 0, 1, 1, "项目类别"), (1, 1, 1, 5, "☐一次性项目 ☑经常性项目 ☐中期预算试点项目"),
    (2, 0, 1, 1, "项目负责人:"), (2, 1, 1, 1, "朱怡"), (2, 2, 1, 1, "联系人:"), (2, 3, 1, 1, "朱怡"),
    (2, 4, 1, 1, "联系电话:"), (2, 5, 1, 1, "54145530"),
    (3, 0, 1, 1, "起始日期:"), (3, 1, 1, 2, "2020-01-01"), (3, 3, 1, 1, "结束日期:"), (3, 4, 1, 2, "2020-12-31"),
    (4, 0, 1, 1, "项目概况"), (4, 1, 1, 5, OVERVIEW),
    (5, 0, 4, 1, "项目资金"), (5, 1, 1, 2, "一、项目总预算："), (5, 3, 1, 3, "384200"),
    (6, 1, 1, 2, "二、当年预算："), (6, 3, 1, 3, "384200.00"),
    (7, 1, 1, 2, "1.上级财政拨款："), (7, 3, 1, 3, "0"),
    (8, 1, 1, 2, "(二)其他资金："), (8, 3, 1, 3, "15000.00"),
    (9, 0, 1, 1, "需要说明的其他问题"), (9, 1, 1, 5, "无"),
])
T2 = (45, 520, [75, 110, 110, 75, 70, 75], [24, 40, 40], [
    (0, 0, 1, 1, "制度保障"), (0, 1, 1, 1, "文件名称"), (0, 2, 1, 1, "具体措施"), (0, 3, 1, 3, "保障阶段"),
    (1, 0, 1, 1, "项目管理制度"), (1, 1, 1, 1, "专款专项制度"), (1, 2, 1, 1, "项目资金被有效合规使用"),
    (1, 3, 1, 1, "立项和计划阶段 √"), (1, 4, 1, 1, "实施阶段 √"), (1, 5, 1, 1, "收尾和完成阶段"),
    (2, 0, 1, 1, "预算管理制度"), (2, 1, 1, 1, "项目预算编制管理办法"), (2, 2, 1, 1, "对项目预算编制的细化程度进行了规定"),
    (2, 3, 1, 1, "立项和计划阶段"), (2, 4, 1, 1, "实施阶段 √"), (2, 5, 1, 1, "收尾和完成阶段 √"),
])


def _make_pdf(ruled: tuple[bool, bool] = (True, True)
              ) -> tuple[bytes, list[list[tuple[tuple[float, float, float, float], str]]]]:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(TTFont("t-zh", FONT, subfontIndex=0))
    pdfmetrics.registerFont(TTFont("t-sym", SYM))

    def text(c, x, y, s, size):
        for ch in s:
            font = "t-sym" if ch in "☐☑" else "t-zh"
            c.setFont(font, size)
            c.drawString(x, y, ch)
            x += pdfmetrics.stringWidth(ch, font, size)

    def wrap(s, width, size):
        lines, cur = [], ""
        for ch in s:
            if pdfmetrics.stringWidth(cur + ch, "t-zh", size) > width:
                lines.append(cur)
                cur = ch
            else:
                cur += ch
        return lines + ([cur] if cur else [])

    buf = io.BytesIO()
    W, H = 595.28, 841.89
    c = canvas.Canvas(buf, pagesize=(W, H))
    c.setFont("t-zh", 16)
    c.drawCentredString(W / 2, H - 70, "财政项目支出绩效目标申报表（项目总体情况）")
    c.setFont("t-zh", 10)
    c.drawString(45, H - 112, "填报单位（盖章）")
    c.drawString(450, H - 112, "金额单位：元")
    tables = []
    for (x, y, cols, rows, cells), with_rules in zip((T1, T2), ruled):
        xs, ys = [x], [y]
        for w in cols:
            xs.append(xs[-1] + w)
        for h in rows:
            ys.append(ys[-1] + h)
        c.setLineWidth(0.6)
        out = []
        for r, col, rs, cs, s in cells:
            x0, x1, y0, y1 = xs[col], xs[col + cs], ys[r], ys[r + rs]
            if with_rules:
                c.rect(x0, H - y1, x1 - x0, y1 - y0, stroke=1, fill=0)
            out.append(((x0, y0, x1, y1), s))
            lines = wrap(s, x1 - x0 - 8, 9.5)
            lh = 9.5 * 1.45
            top = (y0 + y1) / 2 - lh * len(lines) / 2
            for i, ln in enumerate(lines):
                text(c, x0 + 4, H - (top + lh * i + 9.5 * 1.05), ln, 9.5)
        tables.append(out)
    c.showPage()
    c.save()
    return buf.getvalue(), tables


@pytest.fixture(scope="module")
def form():
    pdf, tables = _make_pdf()
    doc = pdfium.PdfDocument(pdf)
    img = np.asarray(doc[0].render(scale=DPI / 72).to_pil().convert("L")).copy()
    return img, tables


def _norm(s: str) -> str:
    return "".join(unicodedata.normalize("NFKC", s).split())


def _spans(grid, tables_expected):
    """Build the page from the found cells; check every expected cell exists
    with its row/column span."""
    s = 72.0 / DPI
    boxes = [[(b[0] * s, b[1] * s, b[2] * s, b[3] * s) for b in t] for t in grid.tables]
    page = build_page(1, "image", 595, 842, boxes, [])
    assert len(page.tables) == 2
    for table, (_, _, _, _, cells) in zip(page.tables, (T1, T2)):
        assert len(table.cells) == len(cells)
        got = sorted((c.row_span, c.col_span) for c in table.cells)
        want = sorted((rs, cs) for _, _, rs, cs, _ in cells)
        assert got == want
    return page


def test_grid_cells_and_merged_spans(form):
    img, tables = form
    g = gridmod.find_grid(img, DPI)
    assert [len(t) for t in g.tables] == [27, 16]
    page = _spans(g, tables)
    # the merged 项目资金 label covers four rows, 项目名称's value five columns
    t1 = page.tables[0]
    assert t1.n_rows == 10 and t1.n_cols == 6
    assert t1.cell_at(5, 0).row_span == 4 and t1.cell_at(0, 1).col_span == 5
    # cells come back where they were drawn (within 2 pt)
    s = 72.0 / DPI
    for cells, exp in zip(g.tables, tables):
        for b, _ in exp:
            assert min(sum(abs(c[i] * s - b[i]) for i in range(4)) for c in cells) < 4


def _degrade(img: np.ndarray, angle: float, seed: int = 3) -> np.ndarray:
    """Break some rules, rotate by angle (counter-clockwise), add noise."""
    out = img.copy()
    mm = DPI / 25.4
    # broken rules: gaps of ~1.2 mm, one of them in a short (one-row) vertical
    for (x, y) in ((200, 120 + 26 * 2), (400, 120 + 26 * 4), (130, 520 + 24), (300, 520 + 64)):
        px, py = int(x / 72 * DPI), int(y / 72 * DPI)
        out[py - 3:py + 4, px:px + int(1.2 * mm)] = 255
    vx, vy = int(215 / 72 * DPI), int((120 + 26 * 2 + 8) / 72 * DPI)
    out[vy:vy + int(1.2 * mm), vx - 3:vx + 4] = 255
    h, w = out.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    out = cv2.warpAffine(out, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=255)
    rng = np.random.default_rng(seed)
    noisy = out.astype(np.float32) + rng.normal(0, 6, out.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def test_grid_on_a_skewed_page_with_broken_rules(form):
    img, tables = form
    scan = _degrade(img, 2.0)
    level, angle = pp.deskew(scan)
    assert abs(angle + 2.0) < 0.1  # turned back by the angle it was skewed
    g = gridmod.find_grid(pp.normalize_contrast(level), DPI)
    assert [len(t) for t in g.tables] == [27, 16]
    _spans(g, tables)


def test_checkbox_states_from_pixels(form):
    img, _ = form
    g = gridmod.find_grid(img, DPI)
    marks = checkbox.find_boxes(g.text_ink(), DPI, g.cells)
    boxes = sorted((m for m in marks if m.kind == "box"), key=lambda m: m.bbox[0])
    # exactly the three boxes of 项目类别; 困 (a square character) is no box
    assert [m.checked for m in boxes] == [False, True, False]
    assert [m.text for m in boxes] == ["☐", "☑", "☐"]
    assert all(m.confidence > 0.5 for m in boxes)
    ys = {m.bbox[1] // 10 for m in boxes}
    assert len(ys) == 1


def test_checkbox_synthetic_marks():
    mm = DPI / 25.4
    img = np.zeros((200, 400), np.uint8)
    s = int(3.5 * mm)
    for k, mark in enumerate(("empty", "cross", "fill")):
        x0, y0 = 40 + k * 100, 60
        cv2.rectangle(img, (x0, y0), (x0 + s, y0 + s), 255, 2)
        if mark == "cross":
            cv2.line(img, (x0 + 4, y0 + 4), (x0 + s - 4, y0 + s - 4), 255, 2)
            cv2.line(img, (x0 + s - 4, y0 + 4), (x0 + 4, y0 + s - 4), 255, 2)
        elif mark == "fill":
            cv2.rectangle(img, (x0 + 4, y0 + 4), (x0 + s - 4, y0 + s - 4), 255, -1)
    marks = sorted(checkbox.find_boxes(img, DPI), key=lambda m: m.bbox[0])
    assert [m.checked for m in marks] == [False, True, True]


def test_orientation(form):
    img, _ = form
    assert pp.orientation(img) == 0
    assert pp.orientation(pp.rotate_quadrant(img, 180)) == 180
    # content turned clockwise by 90 → turn it a further 270 to read it
    assert pp.orientation(pp.rotate_quadrant(img, 90)) == 270


def _check_cells(page, tables, max_cer: float, exact: set[str]):
    from rapidfuzz.distance import Levenshtein

    errs = total = 0
    for table, exp in zip(page.tables, tables):
        for b, text in exp:
            cell = min(table.cells, key=lambda c: sum(abs(c.bbox[i] - b[i]) for i in range(4)))
            d = Levenshtein.distance(_norm(cell.text), _norm(text))
            errs += d
            total += len(_norm(text))
            if text in exact:
                assert _norm(cell.text) == _norm(text), (text, cell.text)
    assert errs / total <= max_cer, errs / total


def test_image_to_layout_rapidocr(form):
    from extract.image.page import image_to_layout

    img, tables = form
    page = image_to_layout(img, 1, DPI, engine="rapidocr")
    assert page.kind == "image" and page.rotation == 0
    assert abs(page.width - 595.3) < 1 and abs(page.height - 841.9) < 1
    assert [len(t.cells) for t in page.tables] == [27, 16]
    exact = {"☐一次性项目 ☑经常性项目 ☐中期预算试点项目", "54145530", "2020-01-01", "384200",
             "384200.00", "0", "15000.00", "立项和计划阶段 √", "实施阶段 √", "收尾和完成阶段",
             "立项和计划阶段", "收尾和完成阶段 √", "项目资金", "需要说明的其他问题"}
    _check_cells(page, tables, 0.01, exact)
    assert any("财政项目支出绩效目标申报表" in _norm(line.text) for line in page.lines)
    frag_methods = {c.method for t in page.tables for c in t.cells if c.text}
    assert "ocr:rapidocr" in frag_methods
    assert all(0 <= c.confidence <= 1 for t in page.tables for c in t.cells)


def test_image_to_layout_upside_down_page(form):
    from extract.image.page import image_to_layout

    img, tables = form
    page = image_to_layout(pp.rotate_quadrant(img, 180), 1, DPI, engine="rapidocr")
    assert page.rotation == 180
    assert [len(t.cells) for t in page.tables] == [27, 16]
    _check_cells(page, tables, 0.02, {"54145530"})


def test_image_to_layout_tesseract(form):
    pytest.importorskip("pytesseract")
    from extract.image.page import image_to_layout

    img, tables = form
    page = image_to_layout(img, 1, DPI, engine="tesseract")
    assert [len(t.cells) for t in page.tables] == [27, 16]
    # tesseract reads this font less well (怡 → 恰): the numbers and the
    # pixel-read boxes and ticks must be right, the rest close
    _check_cells(page, tables, 0.08, {"54145530", "384200", "15000.00", "实施阶段 √", "收尾和完成阶段 √"})
    cat = page.tables[0].cell_at(1, 1).text
    assert [ch for ch in cat if ch in "☐☑"] == ["☐", "☑", "☐"]


def test_a_table_whose_rules_are_lost_is_rebuilt_and_flagged():
    from extract.image.page import image_to_layout

    pdf, tables = _make_pdf(ruled=(True, False))
    doc = pdfium.PdfDocument(pdf)
    img = np.asarray(doc[0].render(scale=DPI / 72).to_pil().convert("L")).copy()
    page = image_to_layout(img, 1, DPI, engine="rapidocr")
    assert len(page.tables) == 2 and len(page.tables[0].cells) == 27
    rebuilt = page.tables[1]
    assert any("rebuilt from text positions" in w for w in page.warnings)
    texts = [_norm(c.text) for c in rebuilt.cells if c.text]
    for want in ("制度保障", "文件名称", "具体措施", "项目管理制度", "专款专项制度"):
        assert any(want in t for t in texts), (want, texts)
    assert all(any(f.reason == "low_confidence" and "rebuilt" in f.detail for f in c.flags)
               for c in rebuilt.cells if c.text)
