"""Settings of the reading path: typed objects that check themselves, with
their units in their names (``_mm`` millimetres on the paper, ``_dpi`` dots
per inch, ``_px`` pixels of a model's input, ``_deg`` degrees, shares and
probabilities in 0..1).

Lengths on the page are given in millimetres and turned into pixels at the
page's own resolution (`px`), so a 150-dpi photocopy and a 300-dpi scan are
read by the same rules. The defaults are what the benchmark in `bench/`
measured best; nothing here is read from the environment. One `Settings`
travels in `document.Options`, and its `key()` is part of every cache key of
what the image path read (a change of setting is a change of result).

Like pdfplumber's TableSettings, every object validates itself when made:
a setting out of range is a ValueError naming it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields

MM_PER_INCH = 25.4


def px(mm: float, dpi: float, minimum: int = 1) -> int:
    """A length on the paper (mm) in pixels of a page scanned at dpi."""
    return max(minimum, int(round(mm / MM_PER_INCH * dpi)))


def px_f(mm: float, dpi: float) -> float:
    """The same, unrounded."""
    return mm / MM_PER_INCH * dpi


class _Checked:
    """Range checks declared per field: _RANGES = {name: (lo, hi)}."""

    _RANGES: dict = {}
    _CHOICES: dict = {}

    def __post_init__(self):
        for f in fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            if f.name in self._RANGES:
                lo, hi = self._RANGES[f.name]
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
                    raise ValueError(f"{type(self).__name__}.{f.name} must be within {lo}..{hi}, not {v!r}")
            if f.name in self._CHOICES and v not in self._CHOICES[f.name]:
                raise ValueError(f"{type(self).__name__}.{f.name} must be one of "
                                 f"{self._CHOICES[f.name]}, not {v!r}")


@dataclass(frozen=True)
class GridSettings(_Checked):
    """Ruling lines → cells (extract/image/grid.py)."""

    open_h_mm: float = 4.0  # a horizontal rule piece is longer than glyph strokes
    open_v_mm: float = 2.0  # a stub of a broken one-row vertical rule survives
    close_gap_mm: float = 4.5  # gaps along a rule closed (broken rules of a photocopy)
    long_rule_mm: float = 12.0  # a piece this long is a rule by itself
    short_reach_mm: float = 3.0  # a short piece must end this close to crossing rules
    end_tolerance_mm: float = 0.6
    stroke_run_mm: float = 9.0  # a rule has one unbroken stretch this long (or 45 %)
    min_cover: float = 0.7  # share of a rule's length that is ink, not bridged gap
    crowded: float = 0.08  # share of a piece with text strokes running into it: not a rule
    side_mm: float = 0.7  # how far beside a rule a touching stroke is looked for
    bridge_reach_mm: float = 80.0  # a broken rule is carried over a cell up to this far
    bridge_min_share: float = 0.25  # share of the stretch that must still show the rule
    snap_reach_mm: float = 4.5  # a rule end stopping this short of a crossing is lengthened
    extend_mm: float = 1.2
    min_cell_mm: float = 2.0
    min_table_w_mm: float = 15.0
    min_table_h_mm: float = 5.0
    #: rules are looked for at about this resolution (a finer page in a
    #: reduced copy: a rule survives it, and it costs a fraction of the pixels)
    work_dpi: float = 150.0
    #: … when the page is finer than this (at 200 dpi the glyph strokes of a
    #: reduced copy run together into rule-like chains)
    reduce_above_dpi: float = 235.0

    _RANGES = {"open_h_mm": (0.5, 30), "open_v_mm": (0.5, 30), "close_gap_mm": (0, 20),
               "long_rule_mm": (2, 100), "short_reach_mm": (0, 20), "end_tolerance_mm": (0, 5),
               "stroke_run_mm": (1, 50), "min_cover": (0, 1), "crowded": (0, 1), "side_mm": (0.1, 5),
               "bridge_reach_mm": (0, 300), "bridge_min_share": (0, 1), "snap_reach_mm": (0, 20),
               "extend_mm": (0, 10), "min_cell_mm": (0.5, 50), "min_table_w_mm": (1, 500),
               "min_table_h_mm": (1, 500), "work_dpi": (72, 600), "reduce_above_dpi": (72, 2400)}


@dataclass(frozen=True)
class PrepareSettings(_Checked):
    """Page clean-up before the grid (extract/image/preprocess.py)."""

    deskew_max_deg: float = 5.0
    skew_warn_deg: float = 4.5
    seal_min_mm: float = 3.0  # a light shape this large both ways is a seal's ring or star
    seal_max_share: float = 0.3  # more light ink than this: the print itself is faint
    sauvola_window_mm: float = 3.0
    sauvola_k: float = 0.2
    #: a bitonal page (two gray levels) is smoothed by this much (mm) before it
    #: is read: the recognizer was trained on gray print, not on stair-stepped edges
    bitonal_smooth_mm: float = 0.09

    _RANGES = {"deskew_max_deg": (0, 20), "skew_warn_deg": (0, 20), "seal_min_mm": (0.5, 50),
               "seal_max_share": (0, 1), "sauvola_window_mm": (0.5, 30), "sauvola_k": (0.01, 1),
               "bitonal_smooth_mm": (0, 1)}


@dataclass(frozen=True)
class OrientationSettings(_Checked):
    """Which way up a page is (extract/image/orientation.py)."""

    #: the quick judge (the line classifier) is believed above this confidence
    quick_sure: float = 0.6
    #: the four-turn vote reads this many text lines in each turn
    vote_lines: int = 10
    #: the best turn must beat the next one by this much mean recognition
    #: probability, else the page is flagged, not guessed
    vote_margin: float = 0.08
    #: and its lines must read at least this well
    vote_min: float = 0.4
    #: the quick judge needs at least this many text lines to look at
    quick_min_lines: int = 4
    #: the vote finds its lines with the detector on a copy at this resolution
    detect_dpi: float = 80.0

    _RANGES = {"quick_sure": (0, 1), "vote_lines": (1, 64), "vote_margin": (0, 1), "vote_min": (0, 1),
               "quick_min_lines": (1, 64), "detect_dpi": (30, 300)}


@dataclass(frozen=True)
class TriageSettings(_Checked):
    """The quick look that sets aside scanned pages which cannot belong to a
    declaration before they are read in full (extract/image/triage.py)."""

    #: off: every scanned page is read in full
    enabled: bool = True
    #: the look works on a copy reduced to about this resolution
    work_dpi: float = 150.0
    #: the ruling grid is looked for on a copy at this resolution
    look_dpi: float = 50.0
    #: a rule counts when it is at least this share of the page's width (height)
    rule_share: float = 0.3
    #: a cross rule (the other way) counts from this share of the page's height (width)
    cross_share: float = 0.03
    #: a grid: this many long rules one way crossed by `min_cross` rules the other way
    min_rules: int = 2
    min_cross: int = 2
    #: a page without a grid is read fast: the detector at this resolution …
    read_dpi: float = 72.0
    #: … and the recognizer on this many of its longest lines
    read_lines: int = 12
    #: any of these in the quick read keeps the page (simplified characters)
    form_words: tuple[str, ...] = ("绩效", "指标", "目标", "项目", "资金", "预算", "申报", "万元",
                                   "单位", "年度", "产出", "效益", "满意", "说明", "金额", "合计")

    _RANGES = {"work_dpi": (50, 600), "look_dpi": (20, 300), "rule_share": (0, 1), "cross_share": (0, 1), "min_rules": (1, 100), "min_cross": (0, 100),
               "read_dpi": (30, 300), "read_lines": (1, 200)}

    def form_word(self, text: str) -> str | None:
        """The first of the form words in text (simplified characters), if any."""
        return next((w for w in self.form_words if w in text), None)


@dataclass(frozen=True)
class ReadSettings(_Checked):
    """Cutting, recognizing and second reads (extract/image/reading.py)."""

    det_dpi: float = 110.0  # detection runs on a copy at about this resolution
    piece_gap: float = 1.2  # a blank gap wider than this × the line height cuts a piece
    #: text the detector missed, found by its pixels: kept when it reads at
    #: least this well, else kept flagged (never dropped)
    pixel_found_sure: float = 0.85
    min_text_mm: float = 1.2  # ink bands lower than this are not a line of text
    #: ink the detector missed that is at least this tall is text even when
    #: it reads as nothing: kept as an empty, flagged piece (never dropped)
    unread_ink_mm: float = 2.2
    #: a piece is numeric (read twice) when at least this share of its
    #: characters are digits or separators (.,-/:年月日 %) and it has 2+ digits
    numeric_share: float = 0.6
    #: the second read of numeric pieces: "rescale" (the same recognizer on a
    #: binarized crop at another scale), "tesseract" (tesseract, digits and
    #: separators only) or "off"
    second_read: str = "rescale"
    second_scale: float = 1.6  # the rescaled read enlarges the crop by this
    #: a word the recognizer reads below this gets a low_confidence flag
    flag_below: float = 0.5

    _RANGES = {"det_dpi": (50, 600), "piece_gap": (0.1, 10), "pixel_found_sure": (0, 1),
               "min_text_mm": (0.1, 10), "unread_ink_mm": (0.1, 20), "numeric_share": (0, 1), "second_scale": (0.5, 4),
               "flag_below": (0, 1)}
    _CHOICES = {"second_read": ("rescale", "tesseract", "off")}


@dataclass(frozen=True)
class Calibration(_Checked):
    """Recognizer scores → probabilities that the text is right.

    Each curve is (score, probability) knots, interpolated linearly and
    monotone; measured by `bench/calibrate.py` on the scanned corpus (pieces
    compared with the digital original of the same page). A numeric piece
    read twice alike takes the `agreed` curve, one read twice differently
    the `disagreed` curve, other text `text` (by its weakest character)."""

    # fitted by `bench/calibrate.py --fit` on the sample set of seed 5 (its
    # scanned/ and scanned-bitonal/ pages: 7 775 pieces read once, 1 261
    # numbers read twice), judged on the bench set of seed 11; see
    # bench/RESULTS.md. The disagreed curve stops at 0.75: only 11 pieces
    # scored above 0.9 there, and a disagreement goes to review anyway.
    text: tuple[tuple[float, float], ...] = ((0.0, 0.0), (0.674, 0.7305), (0.949, 0.9143), (0.993, 0.9772),
                                             (0.999, 0.9848), (1.0, 0.9916))
    agreed: tuple[tuple[float, float], ...] = ((0.0, 0.0), (0.171, 0.0), (0.885, 0.9649), (0.993, 0.996),
                                               (0.998, 0.9989), (1.0, 0.9999))
    disagreed: tuple[tuple[float, float], ...] = ((0.0, 0.0), (0.271, 0.0), (0.369, 0.0683), (0.492, 0.1127),
                                                  (0.587, 0.1525), (0.73, 0.2128), (1.0, 0.75))

    def __post_init__(self):
        for name in ("text", "agreed", "disagreed"):
            knots = getattr(self, name)
            xs = [k[0] for k in knots]
            ys = [k[1] for k in knots]
            if len(knots) < 2 or xs != sorted(xs) or ys != sorted(ys) \
                    or not all(0.0 <= v <= 1.0 for v in xs + ys):
                raise ValueError(f"Calibration.{name} must be ≥ 2 (score, probability) knots "
                                 f"in 0..1, both increasing, not {knots!r}")

    def apply(self, curve: str, score: float) -> float:
        knots = getattr(self, curve)
        s = min(1.0, max(0.0, float(score)))
        for (x0, y0), (x1, y1) in zip(knots, knots[1:]):
            if s <= x1:
                return y0 if x1 == x0 else y0 + (y1 - y0) * (s - x0) / (x1 - x0)
        return knots[-1][1]


@dataclass(frozen=True)
class ReviewSettings(_Checked):
    """When a value goes to review (read by the record builder)."""

    #: a field whose confidence is below this gets a low_confidence entry
    review_below: float = 0.90
    #: the level the calibration is held to: of the fields at or above it,
    #: at least `sure_share_right` must be right (bench prints the table)
    sure: float = 0.90
    sure_share_right: float = 0.995
    #: a value a review entry names (low confidence, disagreement, suspect,
    #: failed check) is not sure, whatever its reading said: its provenance
    #: confidence is at most this
    flagged_at_most: float = 0.50

    _RANGES = {"review_below": (0, 1), "sure": (0, 1), "sure_share_right": (0, 1), "flagged_at_most": (0, 1)}


@dataclass(frozen=True)
class EngineOptions(_Checked):
    """How an OCR engine is built: threads of its inference runtime
    (0 = the runtime's default, all cores)."""

    threads: int = 0

    _RANGES = {"threads": (0, 256)}


@dataclass(frozen=True)
class Settings:
    grid: GridSettings = field(default_factory=GridSettings)
    prepare: PrepareSettings = field(default_factory=PrepareSettings)
    orientation: OrientationSettings = field(default_factory=OrientationSettings)
    read: ReadSettings = field(default_factory=ReadSettings)
    calibration: Calibration = field(default_factory=Calibration)
    review: ReviewSettings = field(default_factory=ReviewSettings)
    triage: TriageSettings = field(default_factory=TriageSettings)

    def as_dict(self) -> dict:
        return asdict(self)

    def key(self) -> str:
        """A short digest of every setting that changes what a page reads as
        (the calibration and the review thresholds do not: they are applied
        to what was read, so a cached page is re-scored without reading it
        again)."""
        d = self.as_dict()
        d.pop("review")
        d.pop("calibration")
        d.pop("triage")  # decides whether a page is read, not what it reads as
        blob = json.dumps(d, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


DEFAULT = Settings()
