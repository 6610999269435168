"""Tables the ruling grid could not find, rebuilt from text positions.

A photocopy can lose a table's rules altogether (faded toner, a bitonal
threshold set too high); its text is still there, in lines and columns.
Text outside every detected table is grouped into lines; a run of three or
more lines that each break into two or more pieces at wide gaps is a table:
its columns are the x-ranges the pieces of those lines cover (split where no
piece of any line reaches), its rows the lines. The cells come out as an
ordinary table, so the mapper aligns their header to the template's column
order as for any table — and every piece in them carries a low_confidence
flag, since the cell borders were guessed.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..ocr.base import PxBox, Word
from ..review import Flag

REBUILT = "table rebuilt from text positions: no ruling grid"


def _inside(w: Word, cells: Sequence[PxBox]) -> bool:
    cx, cy = (w.bbox[0] + w.bbox[2]) / 2, (w.bbox[1] + w.bbox[3]) / 2
    return any(c[0] <= cx <= c[2] and c[1] <= cy <= c[3] for c in cells)


def _lines(words: list[Word], h: float) -> list[list[Word]]:
    out: list[list[Word]] = []
    for w in sorted(words, key=lambda w: ((w.bbox[1] + w.bbox[3]) / 2, w.bbox[0])):
        cy = (w.bbox[1] + w.bbox[3]) / 2
        if out:
            last = out[-1]
            lcy = float(np.mean([(v.bbox[1] + v.bbox[3]) / 2 for v in last]))
            if abs(cy - lcy) <= 0.5 * h:
                last.append(w)
                continue
        out.append([w])
    return [sorted(ln, key=lambda w: w.bbox[0]) for ln in out]


def _chunks(line: list[Word], gap: float) -> list[tuple[int, int]]:
    """x-ranges of a line's pieces, joined across gaps narrower than gap."""
    spans: list[list[int]] = []
    for w in line:
        if spans and w.bbox[0] - spans[-1][1] < gap:
            spans[-1][1] = max(spans[-1][1], w.bbox[2])
        else:
            spans.append([w.bbox[0], w.bbox[2]])
    return [(a, b) for a, b in spans]


def rebuild(words: list[Word], cells: Sequence[PxBox], min_lines: int = 3,
            gap_lines: float = 2.5, gap_cols: float = 1.2) -> list[list[PxBox]]:
    """Tables (lists of cell boxes, image pixels) rebuilt from the words that
    lie in no detected cell; the words in them are flagged (REBUILT)."""
    free = [w for w in words if not _inside(w, cells)]
    if len(free) < 2 * min_lines:
        return []
    h = float(np.median([w.bbox[3] - w.bbox[1] for w in free])) or 1.0
    lines = _lines(free, h)
    # runs of lines close under each other, tabular when most of them
    # break into pieces (a cell's second line may not)
    blocks: list[list[list[Word]]] = []
    runs: list[list[list[Word]]] = []
    for ln in lines:
        if runs and ln[0].bbox[1] - max(w.bbox[3] for w in runs[-1][-1]) < gap_lines * h:
            runs[-1].append(ln)
        else:
            runs.append([ln])
    for run in runs:
        multi = [len(_chunks(ln, gap_cols * h)) >= 2 for ln in run]
        # trim lines of one piece off the ends (a title above, a note below)
        while run and not multi[0]:
            run, multi = run[1:], multi[1:]
        while run and not multi[-1]:
            run, multi = run[:-1], multi[:-1]
        if sum(multi) >= min_lines and sum(multi) >= 0.5 * len(run):
            blocks.append(run)
    tables: list[list[PxBox]] = []
    for block in blocks:
        spans = [s for ln in block for s in _chunks(ln, gap_cols * h)]
        multi_spans = [s for ln in block if len(_chunks(ln, gap_cols * h)) >= 2
                       for s in _chunks(ln, gap_cols * h)]
        x0, x1 = min(a for a, _ in spans), max(b for _, b in spans)
        cover = np.zeros(x1 - x0 + 1, bool)
        for a, b in multi_spans:  # a long line of one piece would hide every border
            cover[a - x0:b - x0 + 1] = True
        # column borders: the middle of each x-range no piece covers
        edges = [x0 - int(0.5 * h)]
        idx = np.flatnonzero(~cover)
        if idx.size:
            runs = np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1)
            edges += [x0 + int((r[0] + r[-1]) // 2) for r in runs if r.size >= 0.8 * h]
        edges.append(x1 + int(0.5 * h))
        if len(edges) < 3:
            continue  # one column: not a table
        tops = [min(w.bbox[1] for w in ln) for ln in block]
        bottoms = [max(w.bbox[3] for w in ln) for ln in block]
        ys = [tops[0] - int(0.4 * h)]
        ys += [int((b + t) // 2) for b, t in zip(bottoms, tops[1:])]
        ys.append(bottoms[-1] + int(0.4 * h))
        boxes = [(a, t, b, bt) for t, bt in zip(ys, ys[1:]) for a, b in zip(edges, edges[1:])]
        tables.append(boxes)
        for ln in block:
            for w in ln:
                w.flags.append(Flag("low_confidence", REBUILT))
    return tables
