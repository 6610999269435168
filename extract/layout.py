"""The page model shared by the digital and the scanned path.

Both paths end here: a page becomes ruled tables (cells with row/column spans and
their text) plus the lines of text outside any table. Everything downstream (field
mapping, normalization, checks) reads only this model, so it exists once.

Coordinates are PDF points (1/72 inch) with the origin at the page's top-left, as
pdfplumber reports them; the image path converts pixels with the scan's dpi.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import median
from typing import Iterable, Sequence

import numpy as np

from .review import Flag

BBox = tuple[float, float, float, float]  # x0, top, x1, bottom

# Characters that stand for a checkbox. The image path writes the canonical
# ones (☑ ☐) after reading the box's pixels; the text layer may carry any.
CHECKED_GLYPHS = "☑☒■✓✔√▣"
UNCHECKED_GLYPHS = "☐□"


@dataclass
class Fragment:
    """A piece of text with its position: a character from a text layer, or a
    word/line recognized by OCR."""

    text: str
    bbox: BBox
    confidence: float = 1.0
    method: str = "text"  # "text" | "ocr:tesseract" | "ocr:rapidocr" | "pixels"
    flags: list[Flag] = field(default_factory=list)  # doubts raised where it was read
    #: every reading of it when it was read more than once (a number): the
    #: kept one first, then second reads and the recognizer's runner-ups,
    #: each {"text", "source", "confidence"}
    reads: list[dict] = field(default_factory=list)

    @property
    def cx(self) -> float:
        return (self.bbox[0] + self.bbox[2]) / 2

    @property
    def cy(self) -> float:
        return (self.bbox[1] + self.bbox[3]) / 2

    @property
    def height(self) -> float:
        return self.bbox[3] - self.bbox[1]


@dataclass
class Cell:
    bbox: BBox
    row: int
    col: int
    row_span: int = 1
    col_span: int = 1
    text: str = ""
    confidence: float = 1.0
    method: str = "text"
    page: int = 1
    flags: list[Flag] = field(default_factory=list)  # its fragments' doubts (review.Flag)
    #: the readings of a cell holding one fragment that was read more than
    #: once, as whole-cell texts (Fragment.reads); [] otherwise
    reads: list[dict] = field(default_factory=list)

    @property
    def rows(self) -> range:
        return range(self.row, self.row + self.row_span)

    @property
    def cols(self) -> range:
        return range(self.col, self.col + self.col_span)


@dataclass
class Table:
    page: int
    bbox: BBox
    cells: list[Cell]
    n_rows: int
    n_cols: int

    def row_cells(self, r: int) -> list[Cell]:
        """The distinct cells covering grid row r, left to right (a cell that
        spans several rows appears in each of them)."""
        return sorted((c for c in self.cells if r in c.rows), key=lambda c: c.col)

    def cell_at(self, r: int, c: int) -> Cell | None:
        for cell in self.cells:
            if r in cell.rows and c in cell.cols:
                return cell
        return None


@dataclass
class TextLine:
    text: str
    bbox: BBox
    page: int
    confidence: float = 1.0
    method: str = "text"
    flags: list[Flag] = field(default_factory=list)


@dataclass
class PageLayout:
    number: int  # 1-based
    kind: str  # "text" | "image" | "garbled"
    width: float
    height: float
    tables: list[Table] = field(default_factory=list)
    lines: list[TextLine] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rotation: int = 0  # degrees the image path turned the page to read it
    dpi: float | None = None  # the resolution an image page was read at (None: text layer)


# ---------------------------------------------------------------- grid building


def _cluster(values: Iterable[float], tol: float) -> list[float]:
    """Merge coordinates closer than tol; return the sorted cluster centres."""
    out: list[list[float]] = []
    for v in sorted(values):
        if out and v - out[-1][-1] <= tol:
            out[-1].append(v)
        else:
            out.append([v])
    return [sum(c) / len(c) for c in out]


def _index(edges: Sequence[float], v: float) -> int:
    return min(range(len(edges)), key=lambda i: abs(edges[i] - v))


def grid_from_boxes(boxes: Sequence[BBox], page: int, tol: float = 2.0,
                    method: str = "text") -> Table:
    """Cell rectangles (any order) → a Table whose cells know their row and
    column indices and spans. Spans come from the rectangles alone: a cell
    covering three row bands of its neighbours has row_span 3."""
    xs = _cluster([b[0] for b in boxes] + [b[2] for b in boxes], tol)
    ys = _cluster([b[1] for b in boxes] + [b[3] for b in boxes], tol)
    cells = []
    for b in boxes:
        c0, c1 = _index(xs, b[0]), _index(xs, b[2])
        r0, r1 = _index(ys, b[1]), _index(ys, b[3])
        if c1 <= c0 or r1 <= r0:
            continue  # degenerate sliver
        cells.append(Cell(bbox=tuple(b), row=r0, col=c0, row_span=r1 - r0,
                          col_span=c1 - c0, page=page, method=method))
    cells.sort(key=lambda c: (c.row, c.col))
    bbox = (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes)) if boxes else (0, 0, 0, 0)
    return Table(page=page, bbox=bbox, cells=cells, n_rows=max(len(ys) - 1, 0),
                 n_cols=max(len(xs) - 1, 0))


# ---------------------------------------------------------------- text assembly


def group_lines(frags: Sequence[Fragment]) -> list[list[Fragment]]:
    """Fragments → visual lines (top to bottom), each sorted left to right.
    Two fragments share a line when their vertical centres are within half a
    typical glyph height."""
    if not frags:
        return []
    h = median(f.height for f in frags) or 1.0
    lines: list[list[Fragment]] = []
    sums: list[float] = []  # running sum of each line's centres: linear, not quadratic
    for f in sorted(frags, key=lambda f: (f.cy, f.bbox[0])):
        if lines and abs(f.cy - sums[-1] / len(lines[-1])) <= h * 0.5:
            lines[-1].append(f)
            sums[-1] += f.cy
        else:
            lines.append([f])
            sums.append(f.cy)
    return [sorted(line, key=lambda f: f.bbox[0]) for line in lines]


def line_text(line: Sequence[Fragment]) -> str:
    """Join a line's fragments; keep one space where the printed gap is wide
    (separating e.g. a value from the next option), none between glyphs."""
    out = ""
    prev: Fragment | None = None
    for f in line:
        if prev is not None:
            gap = f.bbox[0] - prev.bbox[2]
            size = max(min(f.height, prev.height), 1.0)
            if gap > size * 0.9 and not out.endswith(" ") and not f.text.startswith(" "):
                out += " "
        out += f.text
        prev = f
    return out.strip()


def block_text(frags: Sequence[Fragment], right_edge: float | None = None) -> str:
    """Text of a cell: visual lines joined without a space when the layout
    wrapped them (the line runs to the cell's right edge), with a newline when
    the line ended early (a printed paragraph or item ended there)."""
    lines = group_lines(frags)
    if not lines:
        return ""
    if right_edge is None:
        right_edge = max(f.bbox[2] for f in frags)
    h = median(f.height for f in frags) or 1.0
    out = line_text(lines[0])
    for prev, line in zip(lines, lines[1:]):
        ended_early = right_edge - prev[-1].bbox[2] > h * 2.2
        out += ("\n" if ended_early else "") + line_text(line)
    return out


def joint_confidence(frags: Sequence[Fragment]) -> float:
    """The probability that a text made of these fragments is right: each
    fragment's confidence is the probability that it is right (the image
    path calibrates it so), and a text is right only when every fragment is
    — their product (a paragraph of ten pieces each 97 % sure is 74 % sure,
    not 97 %). Text-layer fragments are 1.0 and change nothing."""
    p = 1.0
    for f in frags:
        p *= f.confidence
    return p


def fill_cells(table: Table, frags: Sequence[Fragment]) -> list[Fragment]:
    """Put each fragment into the cell holding its centre; set the cells' text,
    confidence (joint_confidence of its fragments) and method. Returns the
    fragments that fell in no cell."""
    buckets: dict[int, list[Fragment]] = {}
    rest = []
    if frags and table.cells:
        # every fragment's centre against every cell at once: the first cell holding it
        box = np.array([c.bbox for c in table.cells], dtype=np.float64)
        cx = np.array([f.cx for f in frags], dtype=np.float64)[:, None]
        cy = np.array([f.cy for f in frags], dtype=np.float64)[:, None]
        inside = (box[:, 0] <= cx) & (cx <= box[:, 2]) & (box[:, 1] <= cy) & (cy <= box[:, 3])
        first = inside.argmax(axis=1)
        for f, i, hit in zip(frags, first.tolist(), inside.any(axis=1).tolist()):
            if hit:
                buckets.setdefault(i, []).append(f)
            else:
                rest.append(f)
    else:
        rest = list(frags)
    for i, fs in buckets.items():
        c = table.cells[i]
        c.text = block_text(fs, right_edge=c.bbox[2] - 1.0)
        c.confidence = joint_confidence(fs)
        c.flags = [fl for f in fs for fl in f.flags]
        c.reads = list(fs[0].reads) if len(fs) == 1 else []
        methods = {f.method for f in fs}
        c.method = methods.pop() if len(methods) == 1 else "+".join(sorted(methods))
    return rest


def free_lines(frags: Sequence[Fragment], page: int) -> list[TextLine]:
    """Fragments outside any table → text lines (titles, 金额单位, …)."""
    out = []
    for line in group_lines(frags):
        out.append(TextLine(
            text=line_text(line),
            bbox=(min(f.bbox[0] for f in line), min(f.bbox[1] for f in line),
                  max(f.bbox[2] for f in line), max(f.bbox[3] for f in line)),
            page=page,
            confidence=joint_confidence(line),
            method=line[0].method,
            flags=[fl for f in line for fl in f.flags],
        ))
    return out


def build_page(number: int, kind: str, width: float, height: float,
               table_boxes: Sequence[Sequence[BBox]], frags: Sequence[Fragment],
               method: str = "text") -> PageLayout:
    """Cell rectangles of each table + positioned text → a PageLayout. The one
    constructor both paths use."""
    page = PageLayout(number=number, kind=kind, width=width, height=height)
    rest = list(frags)
    for boxes in table_boxes:
        if not boxes:
            continue
        t = grid_from_boxes(boxes, page=number, method=method)
        rest = fill_cells(t, rest)
        page.tables.append(t)
    page.tables.sort(key=lambda t: t.bbox[1])
    page.lines = free_lines(rest, number)
    return page
