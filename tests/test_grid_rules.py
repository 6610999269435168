"""Grid detection on drawn pages: which ink is a rule. A rule broken away
across a cell is carried over it; strokes of glyphs lined up in a paragraph
or a header are never taken for a rule."""

from __future__ import annotations

import numpy as np
import cv2

from extract.image import checkbox, grid as gridmod

DPI = 200.0
MM = DPI / 25.4


def px(mm: float) -> int:
    return int(round(mm * MM))


def page(w_mm=150, h_mm=80) -> np.ndarray:
    return np.full((px(h_mm), px(w_mm)), 255, np.uint8)


def rule(img, x0, y0, x1, y1, t=2):
    cv2.line(img, (px(x0), px(y0)), (px(x1), px(y1)), 0, t)


BARS = ((0.2, 0.8), (0.5,), (0.35,), (0.65,))


def glyph(img, x_mm, y_mm, size_mm=3.5, stroke=3, kind=0):
    """A character-like shape: a vertical stroke crossed by bars (丰, 十 …);
    `kind` picks where the bars sit, so that neighbours differ as glyphs do."""
    x, y, s = px(x_mm), px(y_mm), px(size_mm)
    cv2.line(img, (x + s // 2, y), (x + s // 2, y + s), 0, stroke)
    for k in BARS[kind % len(BARS)]:
        cv2.line(img, (x, y + int(k * s)), (x + s, y + int(k * s)), 0, stroke)


def frame(img, xs, ys):
    """Full-length rules: a vertical at each x and a horizontal at each y (mm)."""
    for x in xs:
        rule(img, x, ys[0], x, ys[-1])
    for y in ys:
        rule(img, xs[0], y, xs[-1], y)


def cells_of(img):
    g = gridmod.find_grid(img, DPI)
    return sorted(g.cells, key=lambda c: (c[1], c[0]))


def test_a_rule_broken_away_across_a_label_cell_is_carried_over_it():
    img = page()
    frame(img, (10, 50, 140), (10, 60))
    # the rule between the two rows: whole in the value column, only stubs
    # of it left in the label column
    rule(img, 50, 35, 140, 35)
    rule(img, 10, 35, 17, 35)
    rule(img, 30, 35, 34, 35)
    cells = cells_of(img)
    assert len(cells) == 4, cells
    label_cells = [c for c in cells if c[2] <= px(50) + 3]
    assert len(label_cells) == 2


def test_a_merged_cell_stays_merged():
    img = page()
    frame(img, (10, 50, 140), (10, 60))
    rule(img, 50, 35, 140, 35)  # the label cell spans both rows: nothing on its line
    cells = cells_of(img)
    assert len(cells) == 3, cells


def test_glyph_strokes_lined_up_in_a_paragraph_do_not_split_the_cell():
    img = page()
    frame(img, (10, 140), (10, 30))
    # two lines of text whose glyphs sit exactly under each other
    for line_y in (12.5, 19.5):
        for k in range(30):
            glyph(img, 12 + k * 4.2, line_y, size_mm=3.6, kind=k)
    cells = cells_of(img)
    assert len(cells) == 1, cells


def test_a_header_glyph_does_not_continue_a_column_rule():
    img = page()
    frame(img, (10, 140), (10, 20, 60))
    rule(img, 75, 20, 75, 60)  # a column rule below the header only
    glyph(img, 73.25, 13, size_mm=3.5, kind=1)  # a header character right over it
    glyph(img, 68.5, 13, size_mm=3.5, kind=2)
    glyph(img, 78, 13, size_mm=3.5, kind=3)
    cells = cells_of(img)
    header = [c for c in cells if c[3] <= px(20) + 3]
    assert len(header) == 1, cells


def test_a_square_part_of_a_character_is_not_a_checkbox():
    ink = np.zeros((px(20), px(40)), np.uint8)
    s = px(3)
    # a lone box: a checkbox
    cv2.rectangle(ink, (px(5), px(5)), (px(5) + s, px(5) + s), 255, 2)
    # a box with strokes right under it (the 口 of 只): part of a glyph
    x = px(20)
    cv2.rectangle(ink, (x, px(5)), (x + s, px(5) + s), 255, 2)
    cv2.line(ink, (x + s // 3, px(5) + s + 3), (x, px(5) + 2 * s), 255, 2)
    cv2.line(ink, (x + 2 * s // 3, px(5) + s + 3), (x + s, px(5) + 2 * s), 255, 2)
    marks = checkbox.find_boxes(ink, DPI)
    assert [m.bbox[0] < px(15) for m in marks] == [True]


def test_a_square_character_inside_a_word_is_not_a_checkbox():
    from PIL import Image, ImageDraw, ImageFont

    from extract import sysdeps

    for dpi in (150, 200, 300):
        size = int(round(10.5 / 72 * dpi))  # 10.5-pt print
        im = Image.new("L", (size * 12, size * 3), 255)
        d = ImageDraw.Draw(im)
        font = ImageFont.truetype(sysdeps.font_path("wqy-zenhei"), size, index=0)
        d.text((size, size), "施工图设计 口", fill=0, font=font)
        ink = (np.asarray(im) < 128).astype(np.uint8) * 255
        marks = checkbox.find_boxes(ink, dpi)
        assert not [m for m in marks if m.bbox[0] < size * 6], (dpi, marks)
