"""Which way up a scanned page is, decided so that it can be trusted.

1. The axis from the pixels: text lines (smeared characters) run along rows
   on an upright or upside-down page and along columns on a sideways one.
2. The quick judge: the engine's 0°/180° line classifier on a few line
   crops. Believed when it is sure (`OrientationSettings.quick_sure`) and the
   axis is clear.
3. Otherwise the recognition vote: the engine's detector finds the text
   lines on a reduced copy (on a noisy page the pixel blobs are mostly
   pieces of broken rules), and the lines are read in each turn their shape
   allows (wide lines 0°/180°, tall ones 90°/270°, all four when both kinds
   are common); the turn whose lines read best wins, when it beats the next
   by `vote_margin` and reads at least `vote_min` — or when the line
   classifier on those lines agrees with it.
4. A page still unsure is read in the best turn and *flagged* (every piece
   of it carries a low_confidence flag), never silently guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..ocr.base import OcrEngine
from ..settings import OrientationSettings
from . import preprocess as pp


@dataclass
class Orientation:
    rotation: int  # clockwise degrees that make the page upright
    confidence: float  # 0..1
    sure: bool
    how: str  # "judge" | "vote" | "prior" | "blank"
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


def box_crops(gray: np.ndarray, boxes, turn: int, n: int) -> list[np.ndarray]:
    """The first n boxes cut from gray with a little margin, turned by turn."""
    out = []
    for x0, y0, x1, y1 in boxes[:n]:
        pad = int(0.15 * min(x1 - x0, y1 - y0))
        crop = gray[max(0, y0 - pad):y1 + pad, max(0, x0 - pad):x1 + pad]
        if crop.size:
            out.append(np.ascontiguousarray(pp.rotate_quadrant(crop, turn)))
    return out


def _detected_lines(gray: np.ndarray, eng: OcrEngine, dpi: float, s: OrientationSettings):
    """Text lines the engine's detector finds on a reduced copy: (wide boxes,
    tall boxes) in gray's pixels, clearest first. The detector finds text
    whichever way up it stands; the pixel blobs of a noisy page are often
    the pieces of broken rules."""
    f = min(1.0, s.detect_dpi / dpi) if dpi else 1.0
    small = gray if f == 1.0 else cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    boxes = []
    for q in eng.detect(small, dpi * f):
        q = np.asarray(q, np.float32).reshape(-1, 2) / f
        boxes.append((int(q[:, 0].min()), int(q[:, 1].min()), int(q[:, 0].max()) + 1, int(q[:, 1].max()) + 1))
    wide = [b for b in boxes if (b[2] - b[0]) >= 2.5 * (b[3] - b[1])]
    tall = [b for b in boxes if (b[3] - b[1]) >= 2.5 * (b[2] - b[0])]

    def clearest(bs, across):
        if not bs:
            return []
        med = float(np.median([across(b) for b in bs]))
        keep = [b for b in bs if 0.6 * med <= across(b) <= 1.6 * med]  # one text size
        return sorted(keep, key=lambda b: -max(b[2] - b[0], b[3] - b[1]))

    return clearest(wide, lambda b: b[3] - b[1]), clearest(tall, lambda b: b[2] - b[0])


def _vote(eng: OcrEngine, candidates) -> dict[int, float]:
    """Mean recognition score of each turn's crops (a line read the wrong
    way up comes back short and unsure)."""
    scores = {}
    for turn, crops in candidates:
        if len(crops) < 2:
            scores[turn] = 0.0
            continue
        reads = eng.recognize(crops)
        scores[turn] = float(np.mean([r.score * min(1.0, len(r.text) / 4) for r in reads]))
    return scores


def decide(gray: np.ndarray, eng: OcrEngine, s: OrientationSettings, dpi: float = 0.0,
           prior: int | None = None) -> Orientation:
    """prior: the turn the document's earlier pages surely stood in; it
    settles a page the vote leaves unsure, unless the vote reads clearly
    against it."""
    hor, ver, f = pp.line_blobs(gray)
    hs = sum(w for _, _, w, _ in hor)
    vs = sum(h for _, _, _, h in ver)
    axis = 90 if vs > hs * 1.3 else 0
    axis_clear = max(hs, vs) >= 3.0 * max(1, min(hs, vs))
    judge = getattr(eng, "upside_down", None)
    if judge is not None and (hor or ver):
        base = hor if axis == 0 else ver
        crops = _crops(gray, base, f, axis, s.vote_lines)
        probs = judge(crops) if crops else None
        if probs:
            p = float(np.mean(probs))
            turn, conf = (axis + (180 if p > 0.5 else 0)) % 360, abs(p - 0.5) * 2
            if conf >= s.quick_sure and axis_clear and len(base) >= s.quick_min_lines:
                return Orientation(turn, round(conf, 3), True, "judge", f"line classifier {conf:.2f}")
    # the quick look is unsure: find the text lines with the detector and
    # read them in every turn their shape allows
    wide, tall = _detected_lines(gray, eng, dpi, s)
    if not wide and not tall:
        if prior is not None:
            return Orientation(prior, 0.0, True, "prior", "no text lines found; as the earlier pages")
        return Orientation(0, 0.0, not (hor or ver), "blank", "no text lines found")
    n = s.vote_lines
    cands = []
    if len(wide) >= 0.25 * len(tall):
        cands += [(0, box_crops(gray, wide, 0, n)), (180, box_crops(gray, wide, 180, n))]
    if len(tall) >= 0.25 * len(wide):
        cands += [(90, box_crops(gray, tall, 90, n)), (270, box_crops(gray, tall, 270, n))]
    scores = _vote(eng, cands)
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    best, b = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    margin = b - second
    sure = margin >= s.vote_margin and b >= s.vote_min
    detail = "recognition over the turns: " + ", ".join(f"{t}° {v:.2f}" for t, v in ranked)
    if not sure and judge is not None:
        # the line classifier on the detected lines, as a second opinion
        lines = wide if best in (0, 180) else tall
        axis2 = 0 if best in (0, 180) else 90
        probs = judge(box_crops(gray, lines, axis2, n))
        if probs:
            p = float(np.mean(probs))
            turn, conf = (axis2 + (180 if p > 0.5 else 0)) % 360, abs(p - 0.5) * 2
            detail += f"; line classifier {turn}° {conf:.2f}"
            if turn == best and conf >= s.quick_sure and b >= s.vote_min / 2:
                sure = True
    if not sure and prior is not None and scores.get(prior, -1.0) >= b - s.vote_margin:
        detail += f"; taken as the document's earlier pages stood ({prior}°)"
        return Orientation(prior, round(min(1.0, max(0.0, margin)), 3), True, "prior", detail)
    # confidence: how far the best turn reads ahead of the next one
    return Orientation(best, round(min(1.0, max(0.0, margin)), 3), sure, "vote", detail)
