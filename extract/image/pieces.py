"""What the image path asks an engine to read: detected text-line boxes cut
into pieces at cell borders, around checkboxes and at wide blank gaps; text
the detector missed, found by its pixels; and the clean crop of each piece.

Done once here for every engine (the engine only detects and recognizes),
so the text of two neighbouring cells never runs together whoever reads it.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..ocr.base import PxBox, area, interior, intersect
from ..settings import px_f


def _ink_runs(prof: np.ndarray, min_gap: int) -> list[tuple[int, int]]:
    """Runs of non-zero entries, merged across gaps shorter than min_gap."""
    idx = np.flatnonzero(prof)
    if idx.size == 0:
        return []
    runs = []
    start = prev = int(idx[0])
    for i in idx[1:]:
        i = int(i)
        if i - prev > min_gap:
            runs.append((start, prev + 1))
            start = i
        prev = i
    runs.append((start, prev + 1))
    return runs


def _subtract_x(box: PxBox, holes: Sequence[PxBox]) -> list[PxBox]:
    """Cut box horizontally around every hole that shares its rows."""
    parts = [box]
    for h in holes:
        nxt = []
        for p in parts:
            inter = intersect(p, h)
            if inter is None or (inter[3] - inter[1]) < 0.4 * min(h[3] - h[1], p[3] - p[1]):
                nxt.append(p)
                continue
            if h[0] > p[0]:
                nxt.append((p[0], p[1], h[0], p[3]))
            if h[2] < p[2]:
                nxt.append((h[2], p[1], p[2], p[3]))
        parts = nxt
    return [p for p in parts if p[2] - p[0] > 1]


def cut_pieces(boxes: Sequence[PxBox], cells: Sequence[PxBox], holes: Sequence[PxBox],
               text_ink: np.ndarray, margin: int = 2, gap_split: float = 1.2,
               line_h: float | None = None) -> list[tuple[PxBox, PxBox]]:
    """Detected text-line boxes → (ink box, crop box) pieces to recognize.

    A box is cut at every cell border it crosses (each part clipped to the
    cell's interior), around holes, and at blank gaps wider than gap_split ×
    the line's ink height. The ink box is tight around the piece's ink (the
    ink of a neighbouring text line grazing the box is left out); the crop box
    is the region to read (the ink box with a margin, inside the cell)."""
    H, W = text_ink.shape
    inner = [interior(c, margin) for c in cells]
    if line_h is None:
        # the ink height of a text line: from the boxes that are clearly one line
        hs = [b[3] - b[1] for b in boxes if (b[2] - b[0]) >= 2.5 * (b[3] - b[1])]
        line_h = 0.75 * float(np.median(hs)) if hs else 0.0
    out: list[tuple[PxBox, PxBox]] = []
    for b in boxes:
        b = (max(0, b[0]), max(0, b[1]), min(W, b[2]), min(H, b[3]))
        if b[2] - b[0] < 2 or b[3] - b[1] < 2:
            continue
        bh = b[3] - b[1]
        parts: list[tuple[PxBox, PxBox]] = []  # (part, its bounds)
        covered = 0
        for c in inner:
            i = intersect(b, c)
            if i is None:
                continue
            covered += area(i)
            if (i[3] - i[1]) >= 0.3 * bh and (i[2] - i[0]) >= 0.2 * bh:
                parts.append((i, c))
        if covered < 0.4 * area(b):
            parts = [(b, (0, 0, W, H))]
        elif len(parts) > 1:
            # a box run across a border: the sliver it pokes into the next
            # cell is the edge of a glyph read again, not text of that cell
            parts = [(p, c) for p, c in parts if p[2] - p[0] >= 0.6 * bh] or parts
        for part, bounds in parts:
            for p in _subtract_x(part, holes):
                # the crop may not reach past the piece sideways (into a
                # checkbox that was cut out, or over a cell border)
                b = (max(bounds[0], p[0]), bounds[1], min(bounds[2], p[2]), bounds[3])
                out.extend(_tighten(p, b, text_ink, gap_split, line_h))
    return out


def uncovered_lines(text_ink: np.ndarray, cells: Sequence[PxBox], covered_boxes: Sequence[PxBox],
                    dpi: float, margin: int = 2, min_text_mm: float = 1.2, band_gap_mm: float = 0.6,
                    dash_mm: float = 3.0) -> tuple[list[PxBox], np.ndarray]:
    """Text the detector missed: in each cell that no piece reached at all,
    its ink (less holes) as boxes around each band of rows, and the ink mask
    with the covered ink removed (to cut those boxes with). A seal over a
    cell or a faint patch can hide a line from the detector; the pixels still
    show it. A band of ink lower than min_text_mm is a speck or a stray
    line end, unless it runs wider than dash_mm (a dash line ----)."""
    mm = px_f(1.0, dpi)
    text_h = min_text_mm * mm
    covered = np.zeros(text_ink.shape, bool)
    for b in covered_boxes:
        covered[max(0, b[1]):max(0, b[3]), max(0, b[0]):max(0, b[2])] = True
    rest = text_ink.copy()
    rest[covered] = 0
    out: list[PxBox] = []
    min_ink = max(20, int(text_h ** 2 * 0.3))
    for c in cells:
        x0, y0, x1, y1 = interior(c, margin)
        if x1 <= x0 or y1 <= y0:
            continue
        roi = rest[y0:y1, x0:x1] > 0
        if int(roi.sum()) < min_ink:
            continue
        if covered[y0:y1, x0:x1].any() and int(roi.sum()) < 0.5 * int((text_ink[y0:y1, x0:x1] > 0).sum()):
            continue  # the detector read this cell; what is left is noise
        for r0, r1 in _ink_runs(roi.any(axis=1), max(1, int(band_gap_mm * mm))):
            band = roi[r0:r1]
            cols = np.flatnonzero(band.any(axis=0))
            wide = cols.size and (cols[-1] - cols[0]) > dash_mm * mm
            if (int(band.sum()) < min_ink and not wide) or ((r1 - r0) < text_h and not wide):
                continue  # specks, a stray line end
            pad = max((r1 - r0) // 4, int(mm))
            out.append((x0 + int(cols[0]) - pad, y0 + r0 - pad, x0 + int(cols[-1]) + 1 + pad, y0 + r1 + pad))
    return out, rest


def _tighten(p: PxBox, bounds: PxBox, text_ink: np.ndarray, gap_split: float,
             line_h: float = 0.0) -> list[tuple[PxBox, PxBox]]:
    x0, y0, x1, y1 = p
    roi = text_ink[y0:y1, x0:x1]
    if roi.size == 0 or not roi.any():
        return []
    h = y1 - y0
    rows = roi.any(axis=1)
    if line_h and h > 1.8 * line_h:
        # a box holding several lines (a narrow column, one glyph a line,
        # comes out of the detector as one tall box): one piece per line
        bands = _line_bands(rows, line_h)
    else:
        # ink rows: keep the runs of rows that reach into the middle of the
        # box, so that the top or bottom of a neighbouring line is not taken
        runs = _ink_runs(rows, max(1, h // 12))
        lo, hi = int(h * 0.25), int(h * 0.75)
        keep = [r for r in runs if r[1] > lo and r[0] < hi] or runs
        bands = [(min(r[0] for r in keep), max(r[1] for r in keep))]
    out = []
    for ry0, ry1 in bands:
        band = roi[ry0:ry1]
        ih = max(ry1 - ry0, 1)
        cols = band.any(axis=0)
        pieces = _ink_runs(cols, max(1, int(round(gap_split * ih))))
        pad = max(2, int(round(ih * 0.25)))
        for cx0, cx1 in pieces:
            sub = band[:, cx0:cx1]
            if int(np.count_nonzero(sub)) < max(3, ih // 3):
                continue  # a speck
            ink_box = (x0 + cx0, y0 + ry0, x0 + cx1, y0 + ry1)
            crop = (max(bounds[0], ink_box[0] - pad), max(bounds[1], ink_box[1] - pad),
                    min(bounds[2], ink_box[2] + pad), min(bounds[3], ink_box[3] + pad))
            out.append((ink_box, crop))
    return out


def _line_bands(rows: np.ndarray, line_h: float) -> list[tuple[int, int]]:
    """Rows with ink → text lines: runs of rows grouped while the group stays
    within one line's height (the strokes of 二 or 三 are one line)."""
    runs = _ink_runs(rows, 1)
    bands: list[list[int]] = []
    for a, b in runs:
        if bands and b - bands[-1][0] <= 1.15 * line_h:
            bands[-1][1] = b
        else:
            bands.append([a, b])
    return [(a, b) for a, b in bands if b - a >= 0.2 * line_h]


def crop_clean(gray: np.ndarray, crop: PxBox, ink_box: PxBox, lines: np.ndarray | None,
               pad_to: int = 0) -> np.ndarray:
    """The crop region of the page with ruling-line pixels whitened and the
    part outside the ink box's rows padded white (nothing of a neighbour)."""
    x0, y0, x1, y1 = crop
    img = gray[y0:y1, x0:x1].copy()
    if lines is not None:
        img[lines[y0:y1, x0:x1] > 0] = 255
    top, bottom = ink_box[1] - 1 - y0, ink_box[3] + 1 - y0
    if top > 0:
        img[:top] = 255
    if bottom < img.shape[0]:
        img[bottom:] = 255
    if pad_to:
        img = np.pad(img, pad_to, constant_values=255)
    return img
