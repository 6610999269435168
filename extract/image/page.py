"""A scanned page image → PageLayout.

orientation → deskew → red seal removal → contrast → grid → checkboxes →
OCR (reading.read_page: cut at cells and boxes, numbers read twice) → ticks
in stage cells → PDF points → build_page.

`read_image` returns a `PageRead`: the cell rectangles and the positioned,
flagged text fragments in PDF points — everything the page model is built
from, and what the OCR cache (cache.py) keeps, so a page read once is
re-mapped without reading it again (`to_layout`).
"""

from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import dataclass, field
from typing import Sequence

import cv2
import numpy as np

from ..layout import Fragment, PageLayout, build_page
from ..ocr.base import OcrEngine, Read, Word, get_engine
from ..ocr.textfix import repair_page, to_simplified
from ..review import Flag
from ..settings import DEFAULT, EngineOptions, Settings, px_f
from . import checkbox, grid as gridmod, orientation as orient, preprocess as pp, textgrid
from .pieces import crop_clean, cut_pieces
from .reading import calibrate, calibrated, evidence, read_page

log = logging.getLogger(__name__)

#: per-step seconds of the last image_to_layout call in this thread (for benchmarks)
LAST_TIMINGS: dict[str, float] = {}

CJK = re.compile(r"[\u3400-\u9fff]")
TICKISH = re.compile(r"^[√✓✔VvJjYy/\\\s]+$")


class _Clock:
    def __init__(self):
        self.t = time.perf_counter()
        self.steps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.steps[name] = self.steps.get(name, 0.0) + now - self.t
        self.t = now


@dataclass
class PageRead:
    """What the image path read on one page, in PDF points (top-left origin)."""

    number: int
    width: float
    height: float
    dpi: float
    rotation: int
    tables: list[list[tuple[float, float, float, float]]] = field(default_factory=list)
    fragments: list[Fragment] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    method: str = "ocr:rapidocr"
    #: per fragment (same order): what its confidence was calibrated from —
    #: the recognizer's score, its weakest character, how the reads of a
    #: number went (bench/calibrate.py fits the calibration on these)
    evidence: list[dict] = field(default_factory=list)
    orientation_sure: bool = True


@dataclass
class Prepared:
    """A page made ready to read."""

    gray: np.ndarray  # levelled, upright, seal-free, contrast-normalized
    ink: np.ndarray  # its ink mask
    turn: orient.Orientation
    angle: float  # the skew it was turned back by (degrees)
    bitonal: bool  # a 1-bit scan
    warnings: list[str]
    steps: dict[str, float]


def prepare(image, dpi: float, eng: OcrEngine | None = None, settings: Settings = DEFAULT,
            prior_turn: int | None = None) -> Prepared:
    """Image → levelled, upright, seal-free, contrast-normalized gray."""
    clock = _Clock()
    warnings: list[str] = []
    s = settings.prepare
    arr = pp.to_array(image)
    gray = pp.remove_red(arr) if arr.ndim == 3 else arr
    bitonal = pp.is_bitonal(gray)
    clock.lap("red")
    if eng is None:
        rot, conf = pp.orientation_detail(gray)
        turn = orient.Orientation(rot, conf, conf >= settings.orientation.quick_sure, "judge")
    else:
        turn = orient.decide(gray, eng, settings.orientation, dpi, prior_turn)
    gray = pp.rotate_quadrant(gray, turn.rotation)
    clock.lap("orientation")
    gray, angle = pp.deskew(gray, s.deskew_max_deg)
    if abs(angle) > s.skew_warn_deg:
        warnings.append(f"skew {angle:.1f}° is near the ±{s.deskew_max_deg:g}° the deskew searches")
    clock.lap("deskew")
    gray = pp.normalize_contrast(gray)
    clock.lap("contrast")
    ink = pp.binarize(gray)
    clock.lap("binarize")
    return Prepared(gray, ink, turn, angle, bitonal, warnings, clock.steps)


def image_to_layout(image, number: int, dpi: float, engine: str = "rapidocr",
                    settings: Settings = DEFAULT, engine_options: EngineOptions | None = None,
                    look_dir: str | None = None) -> PageLayout:
    """Read one scanned page (PIL image or ndarray; BGR when it is a colour
    array) at resolution dpi into a PageLayout (PDF points, top-left origin)."""
    return to_layout(read_image(image, number, dpi, engine, settings, engine_options, look_dir), settings)


def to_layout(read: PageRead, settings: Settings = DEFAULT) -> PageLayout:
    """The page model of what was read (cheap: no pixels involved). Each
    OCR fragment's confidence is calibrated here from its evidence, so a
    cached page takes the current calibration."""
    for f, ev in zip(read.fragments, read.evidence):
        if ev and f.method.startswith("ocr"):
            f.confidence = calibrated(ev, settings)
    page = build_page(read.number, "image", read.width, read.height, read.tables, read.fragments,
                      method=read.method)
    repair_page(page)
    page.rotation = read.rotation
    page.dpi = read.dpi
    page.warnings.extend(read.warnings)
    return page


def read_image(image, number: int, dpi: float, engine: str = "rapidocr", settings: Settings = DEFAULT,
               engine_options: EngineOptions | None = None, look_dir: str | None = None,
               prior_turn: int | None = None) -> PageRead:
    """Read one page. prior_turn: the turn the document's earlier pages
    surely stood in (settles this page's orientation when it is unsure)."""
    eng = get_engine(engine, engine_options)
    prep = prepare(image, dpi, eng, settings, prior_turn)
    gray, ink, turn, warnings, steps = prep.gray, prep.ink, prep.turn, prep.warnings, prep.steps
    clock = _Clock()
    page_flags: list[Flag] = []
    if not turn.sure:
        why = (f"page {number}: orientation uncertain, read at {turn.rotation}° "
               f"(confidence {turn.confidence:.2f}; {turn.detail})")
        warnings.append(why)
        page_flags.append(Flag("low_confidence", why))

    grid = gridmod.find_grid(gray, dpi, ink=ink, settings=settings.grid)
    text_ink = grid.text_ink()
    cells = grid.cells
    clock.lap("grid")

    marks = checkbox.find_boxes(text_ink, dpi, cells)
    holes = [_grow(m.bbox, 0.15) for m in marks]
    clean = gridmod.erase_lines(gray, grid)
    # a seal on a gray scan: its ring and star are light, print is dark
    clean = pp.suppress_light_ink(clean, text_ink, dpi, settings.prepare.seal_min_mm,
                                  settings.prepare.seal_max_share)
    visible = cv2.bitwise_and(text_ink, cv2.compare(clean, 200, cv2.CMP_LT))
    clock.lap("checkbox")

    # the recognizer was trained on gray print: a 1-bit page's stair-stepped
    # edges are smoothed before it is read (the grid and boxes see the bits)
    look = clean
    if prep.bitonal and settings.prepare.bitonal_smooth_mm > 0:
        sigma = px_f(settings.prepare.bitonal_smooth_mm, dpi)
        look = cv2.GaussianBlur(clean, (0, 0), sigma)
    second = None
    if settings.read.second_read == "tesseract":
        second = get_engine("tesseract", engine_options)
    words = read_page(eng, look, cells, holes, visible, dpi, settings, second)
    clock.lap("ocr")

    words, ticks = _stage_ticks(eng, look, words, cells, holes, visible, dpi)
    marks += ticks
    calibrate(words, settings)
    clock.lap("ticks")

    if look_dir:  # debug: what the page reader saw
        os.makedirs(look_dir, exist_ok=True)
        cv2.imwrite(os.path.join(look_dir, f"look-p{number}.png"), draw_layout(clean, grid, marks, words))

    # text in lines and columns outside every ruled table: a table whose
    # rules the scan lost, rebuilt from the text positions (flagged)
    rebuilt = textgrid.rebuild(words, cells)

    s = 72.0 / dpi
    method = f"ocr:{eng.name}"
    frags = [Fragment(to_simplified(w.text), _pt(w.bbox, s), round(float(w.confidence), 4), method,
                      flags=list(w.flags) + page_flags, reads=_reads(w))
             for w in words]
    evidences = [evidence(w) for w in words]
    frags += [Fragment(m.text, _pt(m.bbox, s), round(m.confidence, 4), "pixels", flags=list(page_flags))
              for m in marks]
    evidences += [{} for _ in marks]
    tables = [[_pt(c, s) for c in t] for t in grid.tables + rebuilt]
    h, w = gray.shape
    if not grid.tables:
        warnings.append(f"page {number}: no ruled table found")
    if rebuilt:
        warnings.append(f"page {number}: {len(rebuilt)} table(s) rebuilt from text positions "
                        "(no ruling grid found for them); their cells are flagged")
    if words:
        low = [x for x in words if x.confidence < settings.review.review_below]
        if len(low) > max(3, 0.2 * len(words)):
            warnings.append(f"page {number}: {len(low)} of {len(words)} OCR pieces read with low confidence")
    else:
        warnings.append(f"page {number}: OCR found no text")
    clock.lap("layout")
    steps.update(clock.steps)
    LAST_TIMINGS.clear()
    LAST_TIMINGS.update(steps)
    log.debug("page %d timings %s", number, {k: round(v, 3) for k, v in steps.items()})
    return PageRead(number, w * s, h * s, float(dpi), turn.rotation, tables, frags, warnings, method,
                    evidences, turn.sure)


def _reads(w: Word) -> list[dict]:
    """A piece's readings when it was read more than once, the kept one first."""
    if len(w.reads) < 2:
        return []
    kept = [r for r in w.reads if r["text"] == w.text][:1]
    first = kept[0] if kept else {"text": w.text, "source": "kept", "confidence": round(w.confidence, 4)}
    return [dict(first, text=to_simplified(first["text"]))] + [
        dict(r, text=to_simplified(r["text"])) for r in w.reads if r is not first]


def _pt(b, s: float) -> tuple[float, float, float, float]:
    return (round(b[0] * s, 2), round(b[1] * s, 2), round(b[2] * s, 2), round(b[3] * s, 2))


def _grow(b, f: float):
    d = int(round((b[2] - b[0]) * f))
    return (b[0] - d, b[1] - d, b[2] + d, b[3] + d)


def _cell_of(b, cells: Sequence) -> int | None:
    cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
    for i, c in enumerate(cells):
        if c[0] <= cx <= c[2] and c[1] <= cy <= c[3]:
            return i
    return None


def _stage_ticks(eng, gray, words: list[Word], cells, holes, text_ink, dpi):
    """Stage cells (… 阶段 √): the tick is read from the pixels beside the label.

    The cell is cut again at narrower gaps (so that a tick set off by a space
    is a piece of its own) and read (all stage cells in one batch); pieces
    with Chinese text are the label, any other ink in the cell the size of a
    mark is the tick. OCR text that is only a tick look-alike (√ V v /) is
    dropped in favour of it."""
    by_cell: dict[int, list[Word]] = {}
    for w in words:
        i = _cell_of(w.bbox, cells)
        if i is not None:
            by_cell.setdefault(i, []).append(w)
    boxed = {_cell_of(h, cells) for h in holes}
    # a stage cell printed with a box (☑ 实施阶段) has its state in the box
    stage = [i for i, ws in by_cell.items() if "阶段" in "".join(w.text for w in ws) and i not in boxed]
    if not stage:
        return words, []
    jobs = []  # (cell index, ink box, crop box)
    for i in stage:
        boxes = _line_boxes([w.crop_box or w.bbox for w in by_cell[i]])
        for ink_box, crop in cut_pieces(boxes, [cells[i]], holes, text_ink, gap_split=0.3):
            jobs.append((i, ink_box, crop))
    res = eng.recognize([crop_clean(gray, c, ib, None) for _, ib, c in jobs]) if jobs else []
    dropped = {id(w) for i in stage for w in by_cell[i]}
    words = [w for w in words if id(w) not in dropped]
    ticks = []
    for i in stage:
        mine = [(ib, c, r) for (j, ib, c), r in zip(jobs, res) if j == i]
        if not any(CJK.search(r.text) for _, _, r in mine):
            # the re-read found no label: work from what the page read had
            mine = [(w.bbox, w.crop_box or w.bbox, w.read or Read(w.text, w.score)) for w in by_cell[i]]
        line_h = float(np.median([ib[3] - ib[1] for ib, _, _ in mine])) if mine else dpi / 7.0
        label_boxes = []
        for ink_box, crop, r in mine:
            t = r.text.strip()
            if not t or not CJK.search(t):
                continue  # tick candidate (or nothing): decided by pixels
            k = t.find("阶段")
            if k >= 0 and k + 2 < len(t) and TICKISH.match(t[k + 2:]):
                # a tick set too close to be cut off: keep the label's share
                x0, x1 = ink_box[0], ink_box[2]
                cut = x0 + (x1 - x0) * (k + 2) / len(t)
                cut = _gap_near(text_ink, ink_box, cut, line_h)
                ink_box = (ink_box[0], ink_box[1], int(cut), ink_box[3])
                t = t[:k + 2]
            label_boxes.append(ink_box)
            words.append(Word(t, ink_box, r.score, crop, score=r.score, read=r))
        tick = checkbox.find_tick(text_ink, cells[i], label_boxes, line_h)
        if tick is not None:
            ticks.append(tick)
    return words, ticks


def _line_boxes(boxes: list) -> list:
    """Union of boxes that share a text line (overlap vertically by half)."""
    out: list[list[int]] = []
    for b in sorted(boxes, key=lambda b: (b[1], b[0])):
        for o in out:
            ov = min(o[3], b[3]) - max(o[1], b[1])
            if ov > 0.5 * min(o[3] - o[1], b[3] - b[1]):
                o[0], o[1], o[2], o[3] = min(o[0], b[0]), min(o[1], b[1]), max(o[2], b[2]), max(o[3], b[3])
                break
        else:
            out.append(list(b))
    return [tuple(o) for o in out]


def _gap_near(text_ink: np.ndarray, box, x: float, h: float) -> float:
    """The blank column of box nearest to x (within half a glyph), else x."""
    x0, y0, x1, y1 = box
    cols = text_ink[y0:y1, x0:x1].any(axis=0)
    r = int(max(2, h * 0.5))
    best = None
    for dx in range(0, r + 1):
        for c in (int(x) - dx, int(x) + dx):
            j = c - x0
            if 0 <= j < cols.size and not cols[j]:
                best = c
                break
        if best is not None:
            break
    return float(best if best is not None else x)


def draw_layout(gray: np.ndarray, grid, marks, words) -> np.ndarray:
    """Debug view: cells green, marks red/blue, OCR word boxes orange."""
    vis = gridmod.draw(gray, grid)
    vis = checkbox.draw(vis, marks)
    for w in words:
        cv2.rectangle(vis, w.bbox[:2], w.bbox[2:], (0, 140, 255), 1)
    return vis
