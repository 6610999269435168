"""The OCR engine boundary, drawn where OCRmyPDF's `OcrEngine` and Docling's
`BaseOcrModel` draw it: an engine **detects** text lines on an image,
**recognizes** cropped single-line images, and **judges** which way up a line
is — and nothing else. What to read (cutting detected lines at cell borders
and around checkboxes), second reads of numbers, voting between reads,
calibration and flags are done once, in the image path
(extract/image/reading.py), for every engine.

Engines are heavy (models, processes): the registry (registry.py) makes each
once per process and per `EngineOptions`, and is the one list of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, Sequence, runtime_checkable

import numpy as np

from ..settings import EngineOptions

PxBox = tuple[int, int, int, int]  # x0, top, x1, bottom in image pixels

#: what a digits-only read may return (amounts, quantities, dates, phones)
DIGITS = "0123456789.,-%:/"


@dataclass
class Read:
    """What a recognizer made of one crop."""

    text: str
    score: float  # the engine's own score, 0..1 (mean of its character probabilities)
    #: per character: (char, probability, runner-up char, its probability);
    #: None when the engine does not say (tesseract gives word confidences only)
    chars: list[tuple[str, float, str, float]] | None = None

    @property
    def weakest(self) -> float:
        """The probability of the least sure character (the score when the
        engine gives no per-character probabilities)."""
        if not self.chars:
            return self.score if self.text else 0.0
        return min(c[1] for c in self.chars)

    def alternatives(self, n: int = 2) -> list[tuple[str, float]]:
        """Other readings: the text with one of its least sure characters
        replaced by the recognizer's runner-up there, with the runner-up's
        probability (what the accounting pass tries when a sum fails)."""
        if not self.chars:
            return []
        order = sorted(range(len(self.chars)), key=lambda i: self.chars[i][1])
        out = []
        for i in order[:n]:
            ch, p, alt, q = self.chars[i]
            if not alt or alt == ch or q <= 0.0:
                continue
            out.append((self.text[:i] + alt + self.text[i + 1:], round(float(q), 4)))
        return out


@dataclass
class Word:
    """A piece of recognized text on the page image, as the image path keeps it."""

    text: str
    bbox: PxBox  # tight around the ink, image pixels
    confidence: float  # 0..1: the calibrated probability that the text is right
    crop_box: PxBox | None = None  # the region that was recognized
    score: float = 0.0  # the recognizer's own score
    reads: list[dict] = field(default_factory=list)  # every read: {"text", "source", "confidence"}
    flags: list = field(default_factory=list)  # review.Flag raised on this piece
    read: Read | None = None  # the engine's first read of it
    #: how the reads of a number went: None (read once), "agreed", "disagreed"
    agreement: str | None = None
    support: float | None = None  # the score the confidence is calibrated from


@runtime_checkable
class OcrEngine(Protocol):
    name: str

    def version(self) -> str:
        """The engine and model version (part of cache keys and provenance)."""

    def detect(self, img: np.ndarray, dpi: float) -> list[np.ndarray]:
        """Text-line quadrilaterals (4×2 float arrays, clockwise from
        top-left) on a gray page image, in its pixel coordinates."""

    def recognize(self, crops: Sequence[np.ndarray], charset: str | None = None) -> list[Read]:
        """The text of each cropped single-line gray image; charset limits
        what may be read (DIGITS for a digits-only read), when the engine can."""

    def upside_down(self, crops: Sequence[np.ndarray]) -> list[float] | None:
        """Probability that each text-line crop is upside down, or None when
        the engine has no judge of its own (the image path then decides by
        recognition confidence)."""


def get_engine(name: str, options: EngineOptions | None = None) -> OcrEngine:
    """The process-wide engine called name (see registry.py)."""
    from . import registry

    return registry.get(name, options)


# ------------------------------------------------------------------ geometry


def quad_to_box(q: np.ndarray) -> PxBox:
    q = np.asarray(q, dtype=np.float32).reshape(-1, 2)
    return (int(np.floor(q[:, 0].min())), int(np.floor(q[:, 1].min())),
            int(np.ceil(q[:, 0].max())), int(np.ceil(q[:, 1].max())))


def box_to_quad(b: PxBox) -> np.ndarray:
    x0, y0, x1, y1 = b
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float32)


def intersect(a: PxBox, b: PxBox) -> PxBox | None:
    x0, y0, x1, y1 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    if x1 <= x0 or y1 <= y0:
        return None
    return (x0, y0, x1, y1)


def area(b: PxBox) -> int:
    return max(0, b[2] - b[0]) * max(0, b[3] - b[1])


def interior(cell: PxBox, margin: int) -> PxBox:
    return (cell[0] + margin, cell[1] + margin, cell[2] - margin, cell[3] - margin)
