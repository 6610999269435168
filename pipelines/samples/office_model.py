"""The page model of the office rendering route: what a person typing a
declaration into a spreadsheet or a word processor builds, before any file
format is chosen.

A document is a list of :class:`Part` (a worksheet of a workbook, a section of
a document, each starting on a new page).  A part has one column grid (widths
in points) and a list of blocks: free :class:`Line` s (titles, 填报单位, 单位：元)
and :class:`Table` s whose cells start at a grid column and span columns and
rows, as merged cells do in Excel and Word.  ``office_xlsx`` and ``office_docx``
write the same model into their formats; the layouts (``office_layouts``) know
nothing of either.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .fonts import fontset

# font family names as LibreOffice knows them → fonts.py keys (to measure text)
FAMILIES: dict[str, str] = {
    "WenQuanYi Zen Hei": "wqy-zenhei",
    "WenQuanYi Micro Hei": "wqy-microhei",
    "AR PL UMing CN": "uming",
    "AR PL UKai CN": "ukai",
    "Droid Sans Fallback": "droid",
}


@dataclass
class Cell:
    text: str
    col: int                      # first grid column (0-based)
    span: int = 1                 # grid columns
    rowspan: int = 1
    kind: str = "value"           # label | value | head (column header)
    align: str = "left"           # left | center | right
    font: str | None = None       # another font family for this cell (a Wingdings tick)


@dataclass
class Row:
    cells: list[Cell]
    header: bool = False          # a column-header row (repeated on continuation pages when asked)
    break_before: bool = False    # a manual page break before this row


@dataclass
class Table:
    rows: list[Row]
    repeat_header: bool = False   # header rows printed again on each continuation page


@dataclass
class Line:
    text: str
    size: float | None = None     # None: the body size
    bold: bool = False
    align: str = "left"           # left | center
    right: str | None = None      # text at the right end of the same line


@dataclass
class Part:
    name: str                     # sheet name
    widths: list[float]           # grid column widths (pt), summing to the printable width
    blocks: list[Line | Table] = field(default_factory=list)
    landscape: bool = False


def check_part(p: Part) -> None:
    """Every cell inside the grid, no two cells on one grid position."""
    n = len(p.widths)
    for b in p.blocks:
        if not isinstance(b, Table):
            continue
        taken: set[tuple[int, int]] = set()
        for i, r in enumerate(b.rows):
            for c in r.cells:
                if c.col < 0 or c.span < 1 or c.col + c.span > n or c.rowspan < 1 \
                        or i + c.rowspan > len(b.rows):
                    raise ValueError(f"{p.name}: cell {c.text[:20]!r} at row {i} col {c.col} "
                                     f"span {c.span}x{c.rowspan} is outside the {n}-column grid")
                for dr in range(c.rowspan):
                    for dc in range(c.span):
                        pos = (i + dr, c.col + dc)
                        if pos in taken:
                            raise ValueError(f"{p.name}: cell {c.text[:20]!r} overlaps at {pos}")
                        taken.add(pos)


def fit_widths(total: float, weights: list[float]) -> list[float]:
    s = sum(weights)
    return [round(total * w / s, 2) for w in weights]


def count_lines(text: str, width: float, family: str, size: float) -> int:
    """How many lines ``text`` takes in a cell ``width`` points wide (a greedy
    character wrap, a little pessimistic so that a row is never too short)."""
    fs = fontset(FAMILIES.get(family, "wqy-zenhei"))
    avail = max(width - 8.0, size)  # the office programs' inner cell margins
    lines = 0
    for para in (text or "").split("\n"):
        w = fs.width(para, size) * 1.08
        # a latin token is never broken, so allow a partly empty last line
        lines += max(1, math.ceil(w / avail + (0.15 if w > avail else 0)))
    return lines
