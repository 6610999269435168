"""Checkboxes and tick marks read from pixels.

OCR reads a printed ☐ as 口 and ☑ as 回 (or drops it), so a box's state never
comes from OCR text: small squares are found in the ink, their state decided by
the ink inside, and the OCR pieces overlapping them are cut away (they are
passed to the engine as holes). Stage cells (立项和计划阶段 √) carry a tick after
the label instead of a box: after OCR has read the label, the ink to its right
(or on a line of its own) is the tick.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

PxBox = tuple[int, int, int, int]


@dataclass
class Mark:
    """A checkbox or tick found in the pixels."""

    kind: str  # "box" | "tick"
    bbox: PxBox
    checked: bool
    confidence: float
    ink: float  # the measure the decision came from

    @property
    def text(self) -> str:
        if self.kind == "tick":
            return "√"
        return "☑" if self.checked else "☐"


def _mm(dpi: float, mm: float) -> float:
    return mm / 25.4 * dpi


def _side_cover(m: np.ndarray, t: int) -> float:
    """Smallest share of positions along the four sides of a square mask that
    have ink within t pixels of that side."""
    top = m[:t].any(axis=0).mean()
    bottom = m[-t:].any(axis=0).mean()
    left = m[:, :t].any(axis=1).mean()
    right = m[:, -t:].any(axis=1).mean()
    return float(min(top, bottom, left, right))


def _stroke(m: np.ndarray) -> int:
    """Border stroke width of a box mask: run length at the middle of each side."""
    h, w = m.shape
    vals = []
    for line in (m[h // 2, :], m[h // 2, ::-1], m[:, w // 2], m[::-1, w // 2]):
        n = 0
        for v in line:
            if not v:
                break
            n += 1
        if n:
            vals.append(n)
    return int(np.median(vals)) if vals else 1


def _longest_run(a: np.ndarray) -> int:
    """Longest run of True along the rows of a boolean array."""
    best = 0
    for row in a:
        if not row.any():
            continue
        d = np.diff(np.concatenate(([0], row.astype(np.int8), [0])))
        starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
        best = max(best, int((ends - starts).max()))
    return best


def _straight(inner: np.ndarray) -> float:
    """Longest straight horizontal or vertical ink run inside a box, as a share
    of the inside's width/height."""
    h, w = inner.shape
    return max(_longest_run(inner) / max(w, 1), _longest_run(inner.T) / max(h, 1))


def find_boxes(text_ink: np.ndarray, dpi: float, cells: Sequence[PxBox] | None = None,
               min_mm: float = 1.8, max_mm: float = 6.0) -> list[Mark]:
    """Square checkboxes in an ink mask without ruling lines.

    A candidate is a connected piece of ink whose bounding box is a square of
    min_mm..max_mm with ink along all four sides. Its state is the share of
    ink inside the border: empty → ☐; a tick, cross or fill → ☑. A square with
    straight horizontal or vertical strokes across its inside is a character
    (国, 回, 田), not a box; CJK characters are also visibly narrower than tall
    (口 ≈ 0.86), which a box is not."""
    lo, hi = _mm(dpi, min_mm), _mm(dpi, max_mm)
    n, lab, stats, _ = cv2.connectedComponentsWithStats(text_ink, connectivity=8)
    marks: list[Mark] = []
    for i in range(1, n):
        x, y, w, h, a = stats[i]
        if not (lo <= w <= hi and lo <= h <= hi):
            continue
        if abs(w / h - 1.0) > 0.09:
            continue
        m = lab[y:y + h, x:x + w] == i
        t = max(1, int(round(min(w, h) * 0.12)))
        if _side_cover(m, t) < 0.9:
            continue
        s = min(_stroke(m), max(1, min(w, h) // 4))
        k = s + max(1, int(round(min(w, h) * 0.08)))
        inner = m[k:h - k, k:w - k]
        if inner.size == 0:
            continue
        # all ink inside the box, even pieces not connected to the border
        full = text_ink[y + k:y + h - k, x + k:x + w - k] > 0
        fill = float(full.mean())
        if _part_of_glyph(text_ink, (x, y, x + w, y + h)) or _between_glyphs(text_ink, (x, y, x + w, y + h)):
            continue
        if 0.03 < fill < 0.75:
            # a character's inner strokes run straight across (困 国 回 图); a
            # tick or a cross does not. Characters are also a little narrower
            # than tall, so a less square candidate must be less straight.
            straight = _straight(full)
            if straight >= 0.75 or (abs(w / h - 1.0) > 0.06 and straight >= 0.5):
                continue
            if _pieces(full) >= 3:
                continue  # 图: several strokes inside; a tick or a cross is one or two
        elif fill >= 0.75 and _has_holes(full):
            continue  # a character printed heavily (国 圈 面): a filled box is solid
        checked = fill >= 0.03
        # confidence from the distance to the decision threshold
        margin = (fill - 0.03) / 0.09 if checked else (0.03 - fill) / 0.03
        conf = float(min(1.0, 0.6 + 0.4 * min(1.0, margin)))
        marks.append(Mark("box", (int(x), int(y), int(x + w), int(y + h)), checked, conf, fill))
    # the fill or the tick inside a box can itself look like a small box
    marks = [mk for mk in marks if not any(o is not mk and _inside(mk.bbox, o.bbox) for o in marks)]
    if cells is not None:
        marks = [mk for mk in marks if _in_any(mk.bbox, cells)]
    return marks


def _part_of_glyph(ink: np.ndarray, b: PxBox) -> bool:
    """A square that is one part of a character (the 口 of 只 in 织): other
    strokes of the glyph sit right above or below it, closer than the gap
    between two lines of text, across a good part of its width."""
    x0, y0, x1, y1 = b
    h, w = y1 - y0, x1 - x0
    reach = max(2, int(round(0.2 * h)))
    H = ink.shape[0]
    for r0, r1 in ((max(0, y0 - reach), max(0, y0 - 1)), (min(H, y1 + 1), min(H, y1 + reach))):
        band = ink[r0:r1, x0 + w // 6:x1 - w // 6]
        if band.size and band.any(axis=0).mean() > 0.25:
            return True
    return False


def _between_glyphs(ink: np.ndarray, b: PxBox, gap: float = 0.3) -> bool:
    """A square set in a run of text at the spacing of its characters (图 in
    施工图设计): the ink of a glyph within gap × its width before it, in the
    rows it spans. A printed box stands apart from what precedes it (a cell
    border, a space after the previous option); the label after a box may
    follow it closely, so only the left side is looked at."""
    x0, y0, x1, y1 = b
    w = x1 - x0
    reach = max(2, int(round(gap * w)))
    left = ink[y0:y1, max(0, x0 - reach):x0]
    return bool(np.count_nonzero(left) >= 2)


def _pieces(inner: np.ndarray) -> int:
    """Pieces of ink inside a box that are more than a speck."""
    n, _, stats, _ = cv2.connectedComponentsWithStats(inner.astype(np.uint8), connectivity=8)
    big = max(4, int(0.015 * inner.size))
    return int(sum(1 for i in range(1, n) if stats[i, 4] >= big))


def _has_holes(inner: np.ndarray) -> bool:
    """White inside a heavily inked square that is a gap between strokes
    (a character), not a speck of a worn fill."""
    n, _, stats, _ = cv2.connectedComponentsWithStats((~inner).astype(np.uint8), connectivity=4)
    big = max(4, int(0.02 * inner.size))
    return any(stats[i, 4] >= big for i in range(1, n))


def _inside(a: PxBox, b: PxBox) -> bool:
    return a[0] >= b[0] and a[1] >= b[1] and a[2] <= b[2] and a[3] <= b[3]


def _in_any(b: PxBox, cells: Sequence[PxBox]) -> bool:
    cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
    return any(c[0] <= cx <= c[2] and c[1] <= cy <= c[3] for c in cells)


# ------------------------------------------------------------------ ticks

STAGE_LABELS = ("立项和计划阶段", "实施阶段", "收尾和完成阶段", "阶段")


def find_tick(text_ink: np.ndarray, cell: PxBox, label_boxes: Sequence[PxBox],
              line_h: float, margin: int = 3) -> Mark | None:
    """The tick in a stage cell: ink of the cell outside the label's glyphs.

    label_boxes: where the label text lies (tight ink boxes of the OCR
    pieces, already cut so that they hold only the label). Whatever ink of the
    cell is not under them and is big enough to be a mark (not a speck) is
    the tick; its size against the line height gives the confidence."""
    x0, y0, x1, y1 = cell[0] + margin, cell[1] + margin, cell[2] - margin, cell[3] - margin
    if x1 <= x0 or y1 <= y0:
        return None
    roi = text_ink[y0:y1, x0:x1].copy()
    for b in label_boxes:
        bx0, by0, bx1, by1 = b[0] - x0 - 1, b[1] - y0 - 1, b[2] - x0 + 1, b[3] - y0 + 1
        roi[max(0, by0):max(0, by1), max(0, bx0):max(0, bx1)] = 0
    n, lab, stats, _ = cv2.connectedComponentsWithStats(roi, connectivity=8)
    if n <= 1:
        return None
    # mark-sized pieces of ink (a speck is too small, a seal's ring too big)
    cands = [i for i in range(1, n)
             if 0.3 * line_h <= max(stats[i, 2], stats[i, 3]) <= 2.0 * line_h]
    if not cands:
        return None
    # the tick follows the label: on its line to the right, else below it
    if label_boxes:
        lx1 = max(b[2] for b in label_boxes) - x0
        ly0 = min(b[1] for b in label_boxes) - y0
        ly1 = max(b[3] for b in label_boxes) - y0
        lx0 = min(b[0] for b in label_boxes) - x0
    else:
        lx0 = lx1 = 0
        ly0 = ly1 = 0

    def key(i):
        x, y, w, h = stats[i, :4]
        cy = y + h / 2
        same_line = ly0 - 0.3 * line_h <= cy <= ly1 + 0.3 * line_h and x >= lx1 - 2
        if same_line:
            return (0, x - lx1)
        below = y >= ly1 - 0.3 * line_h
        return (1 if below else 2, abs(x - lx0) + (y - ly1))

    best = min(cands, key=key)
    x, y, w, h, a = stats[best]
    size = max(w, h) / max(line_h, 1.0)
    if size < 0.4:
        return None
    ink = float(a) / max(1.0, line_h * line_h)
    conf = float(min(1.0, 0.5 + 0.5 * min(1.0, (size - 0.4) / 0.3)))
    return Mark("tick", (int(x0 + x), int(y0 + y), int(x0 + x + w), int(y0 + y + h)), True, conf, ink)


def draw(img: np.ndarray, marks: Sequence[Mark]) -> np.ndarray:
    vis = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR) if img.ndim == 2 else img.copy()
    for m in marks:
        colour = (0, 0, 255) if m.checked else (255, 0, 0)
        cv2.rectangle(vis, m.bbox[:2], m.bbox[2:], colour, 2)
    return vis
