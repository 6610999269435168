"""Tesseract (chi_sim, via pytesseract) as an OcrEngine.

Tesseract is called as few times as possible, since every call starts a
process and loads the language model: a page is read in one image_to_data
call, with its ruling lines erased (on a page that still has them, psm 6 skips
whole rows) and with `--dpi` given (pytesseract does not pass the image's
resolution; without it tesseract misjudges the text size and splits a ruled
page into columns). Its words are then cut at cell borders and mapped to cells
by position. `recognize` reads a list of crops in one call too, stacked into
one image with white space between them.
"""

from __future__ import annotations

import re
import threading
from typing import Sequence

import cv2
import numpy as np

from .base import PxBox, Word, _ink_runs, box_to_quad, interior, is_numeric, zoom_crops

LANG = "chi_sim"
CJK = re.compile(r"[\u3400-\u9fff]")


def _data(img: np.ndarray, config: str, lang: str = LANG) -> dict:
    import pytesseract
    from PIL import Image

    return pytesseract.image_to_data(Image.fromarray(img), lang=lang, config=config,
                                     output_type=pytesseract.Output.DICT)


def _join(a: str, b: str) -> str:
    """Tesseract separates CJK characters with spaces; print does not."""
    if not a:
        return b
    if CJK.search(a[-1]) or CJK.search(b[:1]) or not a[-1].isalnum() or not b[:1].isalnum():
        return a + b
    return a + " " + b


class TesseractEngine:
    name = "tesseract"

    def __init__(self, lang: str = LANG):
        import pytesseract

        from .. import sysdeps

        sysdeps.tool("tesseract")  # E_MISSING_DEPENDENCY, naming the package
        self.lang = lang
        self.version = str(pytesseract.get_tesseract_version())
        if lang == "chi_sim" and "chi_sim" not in pytesseract.get_languages(config=""):
            raise sysdeps.missing("tesseract's Chinese model chi_sim.traineddata",
                                  sysdeps.TESSDATA_CHI_SIM.package)
        self._lock = threading.Lock()

    # ------------------------------------------------------------ raw calls
    def _words(self, img: np.ndarray, dpi: float, psm: int = 6, extra: str = "") -> list[tuple[str, PxBox, float, tuple]]:
        # tessedit_do_invert=0: no second pass looking for white-on-black text
        d = _data(img, f"--psm {psm} --dpi {int(round(dpi))} -c tessedit_do_invert=0 {extra}".strip(), self.lang)
        out = []
        for i, t in enumerate(d["text"]):
            t = (t or "").strip()
            if not t or float(d["conf"][i]) < 0:
                continue
            x, y, w, h = d["left"][i], d["top"][i], d["width"][i], d["height"][i]
            key = (d["block_num"][i], d["par_num"][i], d["line_num"][i])
            out.append((t, (x, y, x + w, y + h), float(d["conf"][i]) / 100.0, key))
        return out

    # ------------------------------------------------------------ interface
    def detect(self, img: np.ndarray, dpi: float = 200.0) -> list[np.ndarray]:
        """Text lines (tesseract's line boxes) as quads."""
        lines: dict[tuple, list[int]] = {}
        for _, (x0, y0, x1, y1), _, key in self._words(img, dpi):
            b = lines.setdefault(key, [x0, y0, x1, y1])
            b[0], b[1], b[2], b[3] = min(b[0], x0), min(b[1], y0), max(b[2], x1), max(b[3], y1)
        return [box_to_quad(tuple(b)) for b in lines.values()]

    def recognize(self, crops: Sequence[np.ndarray], numeric: bool = False,
                  dpi: float = 200.0) -> list[tuple[str, float]]:
        """Read single-line crops in one tesseract call: they are stacked
        top to bottom on a white sheet, each line's words mapped back to its
        crop by position."""
        res: list[tuple[str, float]] = [("", 0.0)] * len(crops)
        if not crops:
            return res
        grays = [c if c.ndim == 2 else cv2.cvtColor(c, cv2.COLOR_BGR2GRAY) for c in crops]
        hmax = max(g.shape[0] for g in grays)
        gap = max(10, hmax // 2)
        width = max(g.shape[1] for g in grays) + 2 * gap
        height = sum(g.shape[0] + gap for g in grays) + gap
        sheet = np.full((height, width), 255, np.uint8)
        spans = []
        y = gap
        for g in grays:
            sheet[y:y + g.shape[0], gap:gap + g.shape[1]] = g
            spans.append((y, y + g.shape[0]))
            y += g.shape[0] + gap
        extra = "-c tessedit_char_whitelist=0123456789.,-%" if numeric else ""
        parts: list[list[tuple[int, str, float]]] = [[] for _ in crops]
        for t, (x0, y0, x1, y1), conf, _ in self._words(sheet, dpi, psm=6, extra=extra):
            cy = (y0 + y1) / 2
            for k, (a, b) in enumerate(spans):
                if a - gap / 2 <= cy <= b + gap / 2:
                    parts[k].append((x0, t, conf))
                    break
        for k, ps in enumerate(parts):
            if ps:
                ps.sort()
                text = ""
                for _, t, _ in ps:
                    text = _join(text, t)
                res[k] = (text, min(c for _, _, c in ps))
        return res

    def read_page(self, gray: np.ndarray, cells: Sequence[PxBox], holes: Sequence[PxBox],
                  text_ink: np.ndarray, dpi: float) -> list[Word]:
        """One tesseract call for the page: every cell's content (and every
        stretch of text outside the tables) is cut out and the pieces are
        stacked into one tall sheet, so that tesseract never runs a text line
        across two cells and a multi-line cell is read line by line."""
        img = gray.copy()
        for h in holes:
            img[max(0, h[1]):max(0, h[3]), max(0, h[0]):max(0, h[2])] = 255
        blocks = _blocks(text_ink, cells, holes, dpi)
        if not blocks:
            return []
        pad = max(8, int(dpi / 25.4 * 1.5))
        width = max(b[2] - b[0] for b in blocks) + 2 * pad
        height = sum(b[3] - b[1] + pad for b in blocks) + pad
        sheet = np.full((height, width), 255, np.uint8)
        spans = []
        y = pad
        for b in blocks:
            h = b[3] - b[1]
            sheet[y:y + h, pad:pad + b[2] - b[0]] = img[b[1]:b[3], b[0]:b[2]]
            spans.append((y, y + h))
            y += h + pad
        words = []
        for t, (x0, y0, x1, y1), conf, key in self._words(sheet, dpi, psm=6):
            cy = (y0 + y1) / 2
            for k, (a, b_) in enumerate(spans):
                if a - pad / 2 <= cy <= b_ + pad / 2:
                    bx, by = blocks[k][0] - pad, blocks[k][1] - a
                    box = (x0 + bx, y0 + by, x1 + bx, y1 + by)
                    tb = _tight(text_ink, box) or box
                    words.append(Word(t, tb, conf, None))
                    break
        words = [w for w in (_strip_after_hole(w, holes) for w in words) if w.text]
        words = _merge_runs(words, cells, holes)
        self._second_pass(gray, words, dpi)
        return words

    def _second_pass(self, gray: np.ndarray, words: list[Word], dpi: float) -> None:
        weak = [w for w in words if is_numeric(w.text) and w.confidence < 0.8]
        if not weak:
            return
        crops = zoom_crops(gray, [w.bbox for w in weak], pad_share=1 / 3, pad_min=3)
        for w, (t, c) in zip(weak, self.recognize(crops, numeric=True, dpi=dpi * 2)):
            if t and c > w.confidence:
                w.text, w.confidence = t, c


def _blocks(text_ink: np.ndarray, cells: Sequence[PxBox], holes: Sequence[PxBox],
            dpi: float, margin: int = 2) -> list[PxBox]:
    """Regions to read: each cell's inked part, and each band of text lines
    outside the cells, trimmed to their ink with a small margin."""
    H, W = text_ink.shape
    ink = text_ink.copy()
    for h in holes:
        ink[max(0, h[1]):max(0, h[3]), max(0, h[0]):max(0, h[2])] = 0
    pad = max(3, int(dpi / 25.4 * 0.8))
    min_ink = max(6, int((dpi / 25.4) ** 2 * 0.3))
    out = []
    outside = ink.copy()
    for c in cells:
        x0, y0, x1, y1 = interior(c, margin)
        outside[max(0, c[1]):c[3] + 1, max(0, c[0]):c[2] + 1] = 0
        if x1 <= x0 or y1 <= y0:
            continue
        roi = ink[y0:y1, x0:x1]
        if int(np.count_nonzero(roi)) < min_ink:
            continue
        ys = np.flatnonzero(roi.any(axis=1))
        xs = np.flatnonzero(roi.any(axis=0))
        out.append((max(x0, x0 + int(xs[0]) - pad), max(y0, y0 + int(ys[0]) - pad),
                    min(x1, x0 + int(xs[-1]) + 1 + pad), min(y1, y0 + int(ys[-1]) + 1 + pad)))
    # text outside the tables, band by band
    for a, b in _ink_runs(outside.any(axis=1), int(dpi / 25.4 * 2)):
        roi = outside[a:b]
        if int(np.count_nonzero(roi)) < min_ink or b - a < dpi / 25.4 * 1.2:
            continue
        xs = np.flatnonzero(roi.any(axis=0))
        out.append((max(0, int(xs[0]) - pad), max(0, a - pad), min(W, int(xs[-1]) + 1 + pad), min(H, b + pad)))
    return out


def _cell_index(x: float, y: float, cells: Sequence[PxBox]) -> int | None:
    for i, c in enumerate(cells):
        if c[0] <= x <= c[2] and c[1] <= y <= c[3]:
            return i
    return None


def _split_at_cells(text: str, box: PxBox, cells: Sequence[PxBox]) -> list[tuple[str, PxBox]]:
    """A word spanning a cell border → one piece per cell, its characters
    shared out by position (CJK glyphs are of one width)."""
    x0, y0, x1, y1 = box
    cy = (y0 + y1) / 2
    borders = sorted({c[2] for c in cells if c[1] <= cy <= c[3] and x0 + 2 < c[2] < x1 - 2})
    if not borders or len(text) < 2:
        return [(text, box)]
    out = []
    edges = [x0] + borders + [x1]
    n = len(text)
    start = 0
    for a, b in zip(edges, edges[1:]):
        end = n if b == x1 else int(round((b - x0) / (x1 - x0) * n))
        if end > start:
            out.append((text[start:end], (a, y0, b, y1)))
        start = max(start, end)
    return out


def _tight(ink: np.ndarray, b: PxBox) -> PxBox | None:
    x0, y0, x1, y1 = b
    roi = ink[max(0, y0):y1, max(0, x0):x1]
    if roi.size == 0 or not roi.any():
        return None
    ys = np.flatnonzero(roi.any(axis=1))
    xs = np.flatnonzero(roi.any(axis=0))
    return (x0 + int(xs[0]), y0 + int(ys[0]), x0 + int(xs[-1]) + 1, y0 + int(ys[-1]) + 1)


def _merge_runs(words: list[Word], cells: Sequence[PxBox], holes: Sequence[PxBox] = ()) -> list[Word]:
    """Join words that tesseract split between CJK characters (same cell,
    same line, nearly touching) so that a cell's text is not a row of
    one-character pieces with stray spaces between them."""
    groups: dict[object, list[Word]] = {}
    for w in words:
        groups.setdefault(_cell_of(w.bbox, cells), []).append(w)
    out: list[Word] = []
    for ws in groups.values():
        lines: list[list[Word]] = []
        for w in sorted(ws, key=lambda w: (w.bbox[1] + w.bbox[3]) / 2):
            cy = (w.bbox[1] + w.bbox[3]) / 2
            h = w.bbox[3] - w.bbox[1]
            if lines:
                last = lines[-1]
                lcy = sum((v.bbox[1] + v.bbox[3]) / 2 for v in last) / len(last)
                lh = max(v.bbox[3] - v.bbox[1] for v in last)
                if abs(cy - lcy) < 0.5 * max(h, lh):
                    last.append(w)
                    continue
            lines.append([w])
        for line in lines:
            line.sort(key=lambda w: w.bbox[0])
            cur = line[0]
            for w in line[1:]:
                h = max(cur.bbox[3] - cur.bbox[1], w.bbox[3] - w.bbox[1], 1)
                between = any(b[0] >= cur.bbox[2] - 2 and b[2] <= w.bbox[0] + 2
                              and b[1] < w.bbox[3] and b[3] > w.bbox[1] for b in holes)
                if w.bbox[0] - cur.bbox[2] < 0.8 * h and not between:
                    cur = Word(_join(cur.text, w.text),
                               (cur.bbox[0], min(cur.bbox[1], w.bbox[1]), max(cur.bbox[2], w.bbox[2]),
                                max(cur.bbox[3], w.bbox[3])),
                               min(cur.confidence, w.confidence), None)
                else:
                    out.append(cur)
                    cur = w
            out.append(cur)
    return out


QUOTES = "“”\"'‘’`,，"


def _strip_after_hole(w: Word, holes: Sequence[PxBox]) -> Word:
    """Tesseract sees a quote mark where a checkbox was whitened out."""
    if not holes or not w.text or w.text[0] not in QUOTES:
        return w
    h = w.bbox[3] - w.bbox[1]
    for b in holes:
        if b[1] < w.bbox[3] and b[3] > w.bbox[1] and -h <= w.bbox[0] - b[2] <= h:
            return Word(w.text.lstrip(QUOTES), w.bbox, w.confidence, w.crop_box)
    return w


def _cell_of(b: PxBox, cells: Sequence[PxBox]) -> int | None:
    return _cell_index((b[0] + b[2]) / 2, (b[1] + b[3]) / 2, cells)
