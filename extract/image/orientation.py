"""Which way up a scanned page is, decided so that it can be trusted.

1. The axis from the pixels: text lines (smeared characters) run along rows
   on an upright or upside-down page and along columns on a sideways one.
2. The quick judge: the engine's 0°/180° line classifier on a few line
   crops. Believed when it is sure (`OrientationSettings.quick_sure`) and the
   axis is clear.
3. Otherwise the recognition vote: the longest lines of both axes are read
   in each of the four turns; the turn whose lines read best wins, when it
   beats the next by `vote_margin` and reads at least `vote_min`.
4. A page still unsure is read in the best turn and *flagged* (every piece
   of it carries a low_confidence flag), never silently guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ocr.base import OcrEngine
from ..settings import OrientationSettings
from . import preprocess as pp


@dataclass
class Orientation:
    rotation: int  # clockwise degrees that make the page upright
    confidence: float  # 0..1
    sure: bool
    how: str  # "judge" | "vote" | "blank"
    detail: str = ""


def _crops(gray: np.ndarray, blobs, f: float, turn: int, n: int) -> list[np.ndarray]:
    out = []
    for x, y, w, h in sorted(blobs, key=lambda b: -max(b[2], b[3]))[:n]:
        pad = min(w, h) * 0.3
        x0, y0 = int((x - pad) / f), int((y - pad) / f)
        x1, y1 = int((x + w + pad) / f), int((y + h + pad) / f)
        crop = gray[max(0, y0):y1, max(0, x0):x1]
        if crop.size:
            out.append(np.ascontiguousarray(pp.rotate_quadrant(crop, turn)))
    return out


def decide(gray: np.ndarray, eng: OcrEngine, s: OrientationSettings) -> Orientation:
    hor, ver, f = pp.line_blobs(gray)
    hs = sum(w for _, _, w, _ in hor)
    vs = sum(h for _, _, _, h in ver)
    if not hor and not ver:
        return Orientation(0, 0.0, True, "blank", "no text lines found")
    axis = 90 if vs > hs * 1.3 else 0
    axis_clear = max(hs, vs) >= 3.0 * max(1, min(hs, vs))
    judge = getattr(eng, "upside_down", None)
    quick = None
    if judge is not None:
        base = hor if axis == 0 else ver
        crops = _crops(gray, base, f, axis, s.vote_lines)
        probs = judge(crops) if crops else None
        if probs:
            p = float(np.mean(probs))
            quick = ((axis + (180 if p > 0.5 else 0)) % 360, abs(p - 0.5) * 2)
            if quick[1] >= s.quick_sure and axis_clear:
                return Orientation(quick[0], quick[1], True, "judge",
                                   f"line classifier {quick[1]:.2f}")
    scores = {}
    for turn, blobs in ((0, hor), (180, hor), (90, ver), (270, ver)):
        crops = _crops(gray, blobs, f, turn, s.vote_lines)
        if len(crops) < 2:
            scores[turn] = 0.0
            continue
        reads = eng.recognize(crops)
        # a line read the wrong way up comes back short and unsure
        scores[turn] = float(np.mean([r.score * min(1.0, len(r.text) / 4) for r in reads]))
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    (best, b), (_, second) = ranked[0], ranked[1]
    margin = b - second
    sure = margin >= s.vote_margin and b >= s.vote_min
    detail = "recognition over four turns: " + ", ".join(f"{t}° {v:.2f}" for t, v in ranked)
    conf = float(min(1.0, max(0.0, margin / max(s.vote_margin, 1e-6) * 0.5 + (0.5 if sure else 0.0))))
    return Orientation(best, round(conf, 3), sure, "vote", detail)
