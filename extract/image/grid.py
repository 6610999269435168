"""Ruling lines → table cells (OpenCV).

Horizontal and vertical rules are pulled out of the ink mask with long
morphological openings, their gaps closed along the line direction, and each
table's cells are the regions the lines enclose: the line mask is inverted and
its connected components inside the table are the cells, so a merged cell comes
out as one rectangle however many rows or columns it spans.

All sizes are derived from the page's resolution (dpi) so that 200 and 300 dpi
scans behave alike. Coordinates are image pixels (x0, top, x1, bottom).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from ..settings import GridSettings, px
from .preprocess import binarize

PxBox = tuple[int, int, int, int]


@dataclass
class Grid:
    """What grid detection found on one page."""

    tables: list[list[PxBox]] = field(default_factory=list)  # cells of each table
    table_boxes: list[PxBox] = field(default_factory=list)
    lines: np.ndarray | None = None  # mask of the ruling lines (255)
    ink: np.ndarray | None = None  # the page's ink mask (255)
    thickness: float = 1.0  # typical rule thickness, px
    warnings: list[str] = field(default_factory=list)

    @property
    def cells(self) -> list[PxBox]:
        return [c for t in self.tables for c in t]

    def text_ink(self) -> np.ndarray:
        """Ink without the ruling lines (what OCR and checkbox reading see)."""
        if self.ink is None:
            raise ValueError("grid has no ink mask")
        if self.lines is None:
            return self.ink
        return cv2.subtract(self.ink, self.lines)


def _mm(dpi: float, mm: float) -> int:
    return px(mm, dpi)


# The lengths and shares below are GridSettings (extract/settings.py): a rule
# is ink along min_cover of its length with one unbroken stretch of
# stroke_run_mm (strokes of glyphs lined up over two-line cells reach about
# 7 mm); a piece that text strokes run into over more than `crowded` of its
# length is glyph strokes lined up, not a rule.
_G = GridSettings()


def _coverage(m: np.ndarray, horizontal: bool) -> float:
    """Share of a piece's length where it has ink (not a bridged gap)."""
    along = m.any(axis=0) if horizontal else m.any(axis=1)
    return float(along.mean()) if along.size else 0.0


def _longest(m: np.ndarray, horizontal: bool) -> int:
    """Longest unbroken stretch of ink along a piece."""
    along = (m.any(axis=0) if horizontal else m.any(axis=1)).astype(np.int8)
    if not along.any():
        return 0
    d = np.diff(np.concatenate(([0], along, [0])))
    return int((np.flatnonzero(d == -1) - np.flatnonzero(d == 1)).max())


def _stroke_chain(m: np.ndarray, horizontal: bool, long_run: int) -> bool:
    """A piece made of short stretches (strokes of glyphs lined up line after
    line, bridged by the closing) rather than a rule with a break or two."""
    n = m.shape[1] if horizontal else m.shape[0]
    return _longest(m, horizontal) < min(0.45 * n, long_run)


def _drop_sparse(mask: np.ndarray, opened: np.ndarray, horizontal: bool, long_run: int,
                 min_cover: float = _G.min_cover) -> np.ndarray:
    """Remove the pieces of mask that are mostly bridged gaps in the
    opened-before-closing ink (coverage below min_cover)."""
    n, lab, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    out = mask.copy()
    for i in range(1, n):
        x, y, w, h, _ = stats[i]
        sl = (slice(y, y + h), slice(x, x + w))
        part = lab[sl] == i
        own = part & (opened[sl] > 0)
        if _coverage(own, horizontal) < min_cover or _stroke_chain(own, horizontal, long_run):
            out[sl][part] = 0
    return out


def _trim_to_crossings(mask: np.ndarray, other: np.ndarray, horizontal: bool) -> np.ndarray:
    """Cut each line of mask back to the span between its first and last
    crossing with a line of other (a line crossing fewer than two is left)."""
    n, lab, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    out = mask.copy()
    near = cv2.dilate(other, np.ones((5, 5), np.uint8))
    for i in range(1, n):
        x, y, w, h, _ = stats[i]
        sl = (slice(y, y + h), slice(x, x + w))
        part = lab[sl] == i
        hits = part & (near[sl] > 0)
        along = hits.any(axis=0) if horizontal else hits.any(axis=1)
        idx = np.flatnonzero(along)
        if idx.size == 0 or idx[-1] - idx[0] < 3:
            continue
        # crossings are runs; the outermost ones bound the line
        lo, hi = int(idx[0]), int(idx[-1]) + 1
        keep = np.zeros_like(part)
        if horizontal:
            keep[:, lo:hi] = True
        else:
            keep[lo:hi, :] = True
        sub = out[sl]
        sub[part & ~keep] = 0
    return out


def _check_stretches(mask: np.ndarray, other: np.ndarray, opened: np.ndarray, ink: np.ndarray,
                     horizontal: bool, side: int, min_len: int, g: GridSettings = _G) -> np.ndarray:
    """Remove the stretches of mask's lines, between consecutive crossings
    with other, that are not rule-like: mostly bridged gaps in the opened ink
    (coverage under min_cover) or with text strokes running into them."""
    m, o, op, ik = (mask, other, opened, ink) if horizontal else (mask.T, other.T, opened.T, ink.T)
    out = m.copy()
    near = cv2.dilate(o, np.ones((5, 5), np.uint8)) > 0
    loose = cv2.subtract(ik, cv2.dilate(m | o, np.ones((5, 5), np.uint8)))
    n, lab, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    for i in range(1, n):
        x, y, w, h, _ = stats[i]
        part = lab[y:y + h, x:x + w] == i
        cross = (part & near[y:y + h, x:x + w]).any(axis=0)
        idx = np.flatnonzero(cross)
        if idx.size < 2:
            continue
        # the crossings as runs; stretches between one run's end and the next's start
        runs = np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1)
        for a, b in zip(runs, runs[1:]):
            s0, s1 = int(a[-1]) + 1, int(b[0])
            if s1 - s0 < max(3, min_len // 2):
                continue
            own = part[:, s0:s1] & (op[y:y + h, x + s0:x + s1] > 0)
            cover = _coverage(own, True)
            if cover < g.min_cover or _crowded(loose, (x + s0, y, s1 - s0, h), True, side) > g.crowded:
                out[y:y + h, x + s0:x + s1][part[:, s0:s1]] = 0
    return out if horizontal else out.T.copy()


def _crowded(ink: np.ndarray, box: tuple[int, int, int, int], horizontal: bool, reach: int) -> float:
    """Share of the positions along a line piece where ink crosses or touches
    its core (the most inked row/column of the piece, as thick as a rule) and
    runs on sideways. Text never touches a rule, its cells are padded; a
    chain of glyph strokes lined up over the lines of a paragraph has the
    strokes of those glyphs running into it."""
    x, y, w, h = box
    m = ink if not horizontal else ink.T
    if horizontal:
        x, y, w, h = y, x, h, w
    roi = m[y:y + h, x:x + w] > 0
    if roi.size == 0:
        return 0.0
    cols = roi.sum(axis=0)
    best = int(np.argmax(cols))
    core = np.flatnonzero(cols >= 0.6 * cols[best])
    # the run of strong columns around the best one
    c0 = c1 = best
    while c0 - 1 in core:
        c0 -= 1
    while c1 + 1 in core:
        c1 += 1
    c0, c1 = x + c0, x + c1 + 1
    k = max(2, reach)
    left = m[y:y + h, max(0, c0 - k):c0] > 0
    right = m[y:y + h, c1:c1 + k] > 0
    touch = np.zeros(h, bool)
    if left.shape[1] == k:
        touch |= left.all(axis=1)
    if right.shape[1] == k:
        touch |= right.all(axis=1)
    return float(touch.mean())


def _piece_width(mask: np.ndarray, horizontal: bool) -> float:
    """Median thickness (area / length) of the pieces of a line mask."""
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n <= 1:
        return 0.0
    length = stats[1:, 2] if horizontal else stats[1:, 3]
    return float(np.median(stats[1:, 4] / np.maximum(length, 1)))


def _gap_to(flags: np.ndarray, start: int, step: int, reach: int) -> int | None:
    """Distance from index start (inclusive) to the first True going in
    direction step, within reach; None when there is none."""
    n = flags.size
    for k in range(reach + 1):
        i = start + step * k
        if i < 0 or i >= n:
            return None
        if flags[i]:
            return k
    return None


def line_masks(ink: np.ndarray, dpi: float, g: GridSettings = _G) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal and vertical rule masks from an ink mask.

    1. open with a kernel longer than most glyph strokes (4 mm across, 2 mm
       down, so that a stub of a broken one-row rule survives) → rule pieces
       (a stub between two breaks goes too: hence the wide closing next);
    2. thicken across the line by one pixel each side so that pieces offset by a
       pixel (residual skew) still meet, and close gaps of up to 4.5 mm along it;
    3. a piece of 12 mm or more is a rule; a shorter one is a rule only when
       both its ends come within 3 mm of a long rule of the other direction, it
       covers 80 % of the distance between them and it is no thicker than the
       page's rules (the border between two cells of one short row, or of one
       narrow column; not a text stroke, not the arc of a seal);
    4. any piece must be ink along most of its length, with one unbroken
       stretch of 6 mm or 45 % of it: glyph strokes lined up line after line
       and chained by the closing are not a rule."""
    l1h, l1v, gap = _mm(dpi, g.open_h_mm), _mm(dpi, g.open_v_mm), _mm(dpi, g.close_gap_mm)
    l2, reach = _mm(dpi, g.long_rule_mm), _mm(dpi, g.short_reach_mm)
    end_tol = _mm(dpi, g.end_tolerance_mm)
    run = _mm(dpi, g.stroke_run_mm)
    pieces, longs, opened = [], [], []
    for horizontal in (True, False):
        k = (lambda n: (n, 1)) if horizontal else (lambda n: (1, n))
        across = (1, 3) if horizontal else (3, 1)
        l1 = l1h if horizontal else l1v
        m = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, k(l1)))
        m = cv2.dilate(m, cv2.getStructuringElement(cv2.MORPH_RECT, across))
        opened.append(m)
        m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, k(gap)))
        pieces.append(m)
        lg = cv2.morphologyEx(m, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, k(l2)))
        # the closing also chains text strokes that repeat row after row at
        # the same x (工作计划 down a column): a rule is ink along most of
        # its length, such a chain is mostly gaps
        longs.append(_drop_sparse(lg, opened[-1], horizontal, run, g.min_cover))
    # a long rule's ends stop at its first and last crossing: beyond them the
    # closing may have chained it into a text stroke lined up with it (the
    # right stroke of 目 just above where a column rule starts)
    longs[1] = _trim_to_crossings(longs[1], longs[0], False)
    longs[0] = _trim_to_crossings(longs[0], longs[1], True)
    # the ink that is not a long rule (text), to see what lies beside a piece
    loose = cv2.subtract(ink, cv2.dilate(longs[0] | longs[1], np.ones((5, 5), np.uint8)))
    side = _mm(dpi, g.side_mm)
    # every stretch of a long rule between two crossings must be a rule
    # itself: the closing chains a column rule to a glyph stroke in the
    # header cell over it, and through it to the rule above
    longs[1] = _check_stretches(longs[1], longs[0], opened[1], ink, False, side, l1v, g)
    longs[0] = _check_stretches(longs[0], longs[1], opened[0], ink, True, side, l1h, g)
    out = [longs[0].copy(), longs[1].copy()]
    widths = [_piece_width(longs[0], True), _piece_width(longs[1], False)]
    # short vertical pieces first (against long horizontals), then short
    # horizontal ones (against long and accepted verticals)
    for d in (1, 0):
        other = out[1 - d]
        # a piece much thicker than the page's rules is not one (the arc of a
        # seal's ring, a bold stroke)
        max_w = widths[d] * 1.6 + 1 if widths[d] else None
        short = cv2.subtract(pieces[d], cv2.dilate(longs[d], np.ones((3, 3), np.uint8)))
        # cut the pieces where they cross a rule of the other direction: each
        # part then runs between two rules (or dangles, like a text stroke)
        short = cv2.subtract(short, other)
        n, lab, stats, _ = cv2.connectedComponentsWithStats(short, connectivity=8)
        for i in range(1, n):
            x, y, w, h, a = stats[i]
            if max_w is not None and a / max(1, h if d == 1 else w) > max_w:
                continue
            sl = (slice(y, y + h), slice(x, x + w))
            own = opened[d][sl] & (lab[sl] == i)
            cover = _coverage(own, d == 0)
            if cover < g.min_cover or _stroke_chain(own, d == 0, run):
                continue
            if cover < 0.9:
                # a rule meets the rules at its ends; a chain of text strokes
                # stops a cell padding short of them (bridged by the closing)
                along = own.any(axis=0) if d == 0 else own.any(axis=1)
                idx = np.flatnonzero(along)
                if idx.size == 0 or idx[0] > end_tol or along.size - 1 - idx[-1] > end_tol:
                    continue
            if d == 1:
                if h < l1v:
                    continue
                band = other[:, max(0, x - 1):x + w + 1].any(axis=1)
                up = _gap_to(band, y, -1, reach)
                down = _gap_to(band, y + h - 1, 1, reach)
                ok = up is not None and down is not None and h >= 0.8 * (h + up + down)
            else:
                if w < l1h:
                    continue
                band = other[max(0, y - 1):y + h + 1, :].any(axis=0)
                left = _gap_to(band, x, -1, reach)
                right = _gap_to(band, x + w - 1, 1, reach)
                ok = left is not None and right is not None and w >= 0.8 * (w + left + right)
            if ok and _crowded(loose, (x, y, w, h), d == 0, side) > g.crowded:
                ok = False  # strokes of glyphs lined up: text runs on both sides of it
            if ok:
                sl = (slice(y, y + h), slice(x, x + w))
                out[d][sl] = cv2.max(out[d][sl], (lab[sl] == i).astype(np.uint8) * 255)
    return _snap_ends(out[0], out[1], _mm(dpi, g.snap_reach_mm))


def _snap_ends(hmask: np.ndarray, vmask: np.ndarray, reach: int) -> tuple[np.ndarray, np.ndarray]:
    """Lengthen a rule whose end stops short of a crossing rule (the last
    stretch broken away, or a stub too short to survive the opening) up to
    that rule, when it lies within reach along the rule's own row/column."""
    H, W = hmask.shape
    hout, vout = hmask.copy(), vmask.copy()
    for mask, other, out, horizontal in ((hmask, vmask, hout, True), (vmask, hmask, vout, False)):
        n, lab, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        for i in range(1, n):
            x, y, w, h, _ = stats[i]
            if horizontal:
                rows = slice(y, y + h)
                left = other[rows, max(0, x - reach):x]
                hit = np.flatnonzero(left.any(axis=0))
                if hit.size and hit[-1] < left.shape[1] - 1:
                    out[rows, max(0, x - reach) + hit[-1]:x] = 255
                right = other[rows, x + w:min(W, x + w + reach)]
                hit = np.flatnonzero(right.any(axis=0))
                if hit.size and hit[0] > 0:
                    out[rows, x + w:x + w + hit[0] + 1] = 255
            else:
                cols = slice(x, x + w)
                up = other[max(0, y - reach):y, cols]
                hit = np.flatnonzero(up.any(axis=1))
                if hit.size and hit[-1] < up.shape[0] - 1:
                    out[max(0, y - reach) + hit[-1]:y, cols] = 255
                down = other[y + h:min(H, y + h + reach), cols]
                hit = np.flatnonzero(down.any(axis=1))
                if hit.size and hit[0] > 0:
                    out[y + h:y + h + hit[0] + 1, cols] = 255
    return hout, vout


def _bridge(hmask: np.ndarray, vmask: np.ndarray, ink: np.ndarray, dpi: float,
            g: GridSettings = _G) -> np.ndarray:
    """Carry a horizontal rule across a cell where the scan broke it away.

    A rule that ends at a crossing rule, with the next crossing rule further
    along its row and thin ink lying on its line over at least min_share of
    the stretch in between (what is left of the broken rule: ink with paper
    right above and below it, not a glyph), is continued to that next rule.
    A rule that really ends there (a merged cell beyond) has no ink on its
    line. Vertical rules: call with the masks transposed."""
    out = hmask.copy()
    H, W = hmask.shape
    reach = _mm(dpi, g.bridge_reach_mm)
    min_share = g.bridge_min_share
    near = max(2, _mm(dpi, 0.5))
    n, _, stats, _ = cv2.connectedComponentsWithStats(hmask, connectivity=8)
    for i in range(1, n):
        x, y, w, h, _ = stats[i]
        y0, y1 = max(0, y - 1), min(H, y + h + 1)
        cols_v = vmask[y0:y1].any(axis=0)
        for end, step in ((x, -1), (x + w - 1, 1)):
            lo, hi = max(0, end - near), min(W, end + near + 1)
            if not cols_v[lo:hi].any():
                continue  # no crossing at this end
            # the far side of the crossing rule, then the next crossing rule
            k = end
            while 0 <= k < W and abs(k - end) <= near and cols_v[k]:
                k += step
            while 0 <= k < W and cols_v[k] and abs(k - end) <= 3 * near:
                k += step
            start = k
            while 0 <= k < W and abs(k - start) <= reach and not cols_v[k]:
                k += step
            if not (0 <= k < W) or abs(k - start) > reach or abs(k - start) < near:
                continue
            a, b = sorted((start, k - step))
            band = ink[y0:y1, a:b + 1] > 0
            pad = max(2, _mm(dpi, 1.0))
            above = ink[max(0, y0 - pad):y0, a:b + 1] > 0
            below = ink[y1:y1 + pad, a:b + 1] > 0
            thin = band.any(axis=0)
            if above.size:
                thin &= ~above.any(axis=0)
            if below.size:
                thin &= ~below.any(axis=0)
            # what is left of a rule meets a crossing rule at one end at
            # least; a glyph's stroke floats in its cell, padded off both
            # rules, and the glyph's other strokes run into it
            e = max(2, _mm(dpi, 1.0))
            if thin.size and thin.mean() >= min_share and (thin[:e].any() or thin[-e:].any()) \
                    and _crowded(ink, (a, y, b + 1 - a, h), True, _mm(dpi, g.side_mm)) <= g.crowded:
                out[y:y + h, a:b + 1] = 255
    return out


def _thickness(hmask: np.ndarray, vmask: np.ndarray, ink: np.ndarray) -> float:
    """Median rule thickness: ink area under each line piece / its length."""
    vals = []
    for m, horizontal in ((hmask, True), (vmask, False)):
        under = cv2.bitwise_and(ink, m)
        n, lab, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
        if n <= 1:
            continue
        areas = np.bincount(lab[under > 0].ravel(), minlength=n)
        for i in range(1, n):
            length = stats[i, 2] if horizontal else stats[i, 3]
            if length > 0 and areas[i] > 0:
                vals.append(areas[i] / length)
    return max(1.0, float(np.median(vals))) if vals else 1.0


def _extend(mask: np.ndarray, horizontal: bool, n: int) -> np.ndarray:
    """Lengthen lines by n px at both ends (rules that stop short of a crossing)."""
    k = (2 * n + 1, 1) if horizontal else (1, 2 * n + 1)
    return cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_RECT, k))


def find_grid(gray: np.ndarray, dpi: float, ink: np.ndarray | None = None,
              settings: GridSettings = _G) -> Grid:
    """Find the ruled tables of a (levelled) page and their cells.

    A page finer than GridSettings.reduce_above_dpi is looked at in a copy of its ink
    mask at about work_dpi (any ink in a pixel's area makes it ink, so
    a one-pixel rule survives) and the cells scaled back."""
    if ink is None:
        ink = binarize(gray)
    g = settings
    f = dpi / g.work_dpi if dpi > g.reduce_above_dpi else 1.0
    if f > 1:
        h2, w2 = max(1, int(round(ink.shape[0] / f))), max(1, int(round(ink.shape[1] / f)))
        f = ink.shape[1] / w2  # the factor the copy really has
        work = cv2.resize(ink, (w2, h2), interpolation=cv2.INTER_AREA)
        work = cv2.compare(work, 0, cv2.CMP_GT)
    else:
        work = ink
    wdpi = dpi / f
    hmask, vmask = line_masks(work, wdpi, g)
    hmask = _bridge(hmask, vmask, work, wdpi, g)
    vmask = _bridge(vmask.T.copy(), hmask.T.copy(), work.T.copy(), wdpi, g).T.copy()
    thick = _thickness(hmask, vmask, work)
    ext = _mm(wdpi, g.extend_mm)
    lines = _extend(hmask, True, ext) | _extend(vmask, False, ext)
    grid = Grid(ink=ink, thickness=thick * f)
    rules = cv2.dilate(hmask | vmask, np.ones((3, 3), np.uint8))
    if f > 1:
        rules = cv2.resize(rules, (ink.shape[1], ink.shape[0]), interpolation=cv2.INTER_NEAREST)
    # the rule mask as the page shows it (for erasing), slightly widened
    grid.lines = rules & cv2.dilate(ink, np.ones((3, 3), np.uint8))
    min_cell = _mm(wdpi, g.min_cell_mm)
    min_table = _mm(wdpi, g.min_table_w_mm)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(lines, connectivity=8)
    for i in range(1, n):
        x, y, w, h, _ = stats[i]
        if w < min_table or h < _mm(wdpi, g.min_table_h_mm):
            continue
        roi = (labels[y:y + h, x:x + w] == i).astype(np.uint8) * 255
        # close an open frame: a table without outer rules still has its extent
        cv2.rectangle(roi, (0, 0), (w - 1, h - 1), 255, 1)
        cells = _cells_in(roi, x, y, min_cell, thick)
        if len(cells) == 0:
            continue
        if len(cells) == 1 and (h < _mm(wdpi, 8) or w < _mm(wdpi, 8)):
            continue
        grid.tables.append([tuple(int(round(v * f)) for v in c) for c in cells])
        grid.table_boxes.append((int(x * f), int(y * f), int((x + w) * f), int((y + h) * f)))
    order = sorted(range(len(grid.tables)), key=lambda k: (grid.table_boxes[k][1], grid.table_boxes[k][0]))
    grid.tables = [grid.tables[k] for k in order]
    grid.table_boxes = [grid.table_boxes[k] for k in order]
    return grid


def _cells_in(roi: np.ndarray, ox: int, oy: int, min_cell: int, thick: float) -> list[PxBox]:
    """Regions enclosed by the lines of one table → cell rectangles (page px)."""
    free = cv2.bitwise_not(roi)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(free, connectivity=4)
    h, w = roi.shape
    pad = int(round(thick / 2)) + 1
    cells = []
    for i in range(1, n):
        x, y, cw, ch, area = stats[i]
        if cw < min_cell or ch < min_cell:
            continue
        if x == 0 or y == 0 or x + cw >= w or y + ch >= h:
            continue  # outside the frame
        if area < 0.6 * cw * ch:
            continue  # not a rectangle: a leak or an irregular blob (seal, noise)
        cells.append((int(ox + x - pad), int(oy + y - pad), int(ox + x + cw - 1 + pad),
                      int(oy + y + ch - 1 + pad)))
    return _snap(cells, thick)


def _snap(cells: list[PxBox], thick: float) -> list[PxBox]:
    """Make neighbouring cells share their edge coordinates exactly."""
    if not cells:
        return cells
    tol = max(3.0, thick * 1.5)

    def snap_axis(vals: list[int]) -> dict[int, int]:
        out: dict[int, int] = {}
        group: list[int] = []
        for v in sorted(set(vals)):
            if group and v - group[-1] > tol:
                c = int(round(sum(group) / len(group)))
                out.update({g: c for g in group})
                group = []
            group.append(v)
        c = int(round(sum(group) / len(group)))
        out.update({g: c for g in group})
        return out

    xs = snap_axis([c[0] for c in cells] + [c[2] for c in cells])
    ys = snap_axis([c[1] for c in cells] + [c[3] for c in cells])
    return [(xs[a], ys[b], xs[c], ys[d]) for a, b, c, d in cells]


def erase_lines(gray: np.ndarray, grid: Grid) -> np.ndarray:
    """The page with its ruling lines painted over in paper white."""
    if grid.lines is None:
        return gray
    out = gray.copy()
    out[grid.lines > 0] = 255
    return out


def draw(img: np.ndarray, grid: Grid) -> np.ndarray:
    """Debug view: cells in green, table frames in blue."""
    vis = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR) if img.ndim == 2 else img.copy()
    for tb in grid.table_boxes:
        cv2.rectangle(vis, tb[:2], tb[2:], (255, 0, 0), 3)
    for cells in grid.tables:
        for c in cells:
            cv2.rectangle(vis, (c[0] + 2, c[1] + 2), (c[2] - 2, c[3] - 2), (0, 180, 0), 2)
    return vis
