"""Reading a levelled page with any OCR engine: what to read, second reads,
votes, calibrated confidence and flags — done once here, for every engine.

    detect (engine, at its detection resolution)
      → cut at cells, checkboxes and wide gaps (pieces.cut_pieces)
      → text the detector missed, found by its pixels (pieces.uncovered_lines)
      → recognize every piece in one batch (engine)
      → tidy (digit look-alikes, specks)
      → numbers read twice (an independent second read of every amount,
        quantity, date and phone piece); a disagreement decided by a third
        read and flagged with every reading
      → confidence: the recognizer's score turned into a probability that
        the text is right (settings.Calibration)

A piece is *numeric* by its own text (digits and separators make up most of
it), not by where the template expects a number: the image path does not
know the template, and a number printed where nobody expected one must be
read as carefully.
"""

from __future__ import annotations

import re
from typing import Sequence

import cv2
import numpy as np

from ..ocr.base import DIGITS, OcrEngine, PxBox, Read, Word, quad_to_box
from ..review import Flag
from ..settings import Settings
from .pieces import crop_clean, cut_pieces, uncovered_lines

DIGITISH = re.compile(r"^[0-9OoDQIl|.,\-]+$")
DIGIT_FIX = str.maketrans({"O": "0", "o": "0", "D": "0", "Q": "0", "I": "1", "l": "1", "|": "1"})
SIGNS = re.compile(r"[\w\u3400-\u9fff√✓✔]")
#: what may stand between the digits of a number, a date, a phone number or a quantity
SEPARATORS = set(".,，。:：-—－/%％年月日号¥￥+ ")
_KEY = re.compile(r"[^0-9.]")
RULE_LIKE = re.compile(r"^[一1lI|\-—_－~·.\s]+$")


def is_numeric(text: str, share: float = 0.6) -> bool:
    """A piece that is mostly a number: at least `share` of its characters
    are digits or separators, with two digits or more."""
    t = text.strip()
    if not t:
        return False
    digits = sum(c.isdigit() for c in t)
    if digits < 2:
        return False
    seps = sum(c in SEPARATORS for c in t)
    return (digits + seps) / len(t) >= share


def number_key(text: str) -> str:
    """What two reads of a number must agree on: its digits and decimal
    points in order (a lost thousands comma changes nothing; a dot read as
    a middle dot is a dot; a stray dot before or after the number is dust)."""
    t = text.translate(DIGIT_FIX) if DIGITISH.match(text.strip() or "-") else text
    t = t.replace("。", ".").replace("·", ".").replace("•", ".").replace("∙", ".")
    k = _KEY.sub("", t).strip(".")
    if k.count(".") > 1:  # 15.000.00: a thousands comma read as a dot; the last is the decimal point
        head, _, tail = k.rpartition(".")
        k = head.replace(".", "") + "." + tail
    return k


# ------------------------------------------------------------------ the page


def read_page(eng: OcrEngine, gray: np.ndarray, cells: Sequence[PxBox], holes: Sequence[PxBox],
              text_ink: np.ndarray, dpi: float, settings: Settings,
              second: OcrEngine | None = None) -> list[Word]:
    """Words of a levelled gray page (ruling lines erased). cells: every
    table cell; holes: regions whose content must not be read (checkboxes,
    ticks); text_ink: the ink mask without ruling lines; second: the engine
    of the second read of numbers (None: the same engine, on another
    rendering of the crop)."""
    s = settings.read
    boxes = detect_boxes(eng, gray, dpi)
    pieces = cut_pieces(boxes, cells, holes, text_ink, gap_split=s.piece_gap)
    n_det = len(pieces)
    missed, rest = uncovered_lines(text_ink, cells, [c for _, c in pieces] + list(holes), dpi,
                                   min_text_mm=s.min_text_mm)
    if missed:
        pieces += cut_pieces(missed, cells, holes, rest, gap_split=s.piece_gap)
    crops = [crop_clean(gray, crop, ink, None) for ink, crop in pieces]
    reads = eng.recognize(crops)
    words: list[Word] = []
    for k, ((ink, crop), r) in enumerate(zip(pieces, reads)):
        t = r.text.strip()
        if k >= n_det:
            # found by its pixels only (the detector boxed nothing there): a
            # speck reads as nothing or as a lone mark; a line of text that
            # reads poorly is kept, flagged — or, read as nothing, named as
            # ink nobody could read (an empty piece carrying the flag)
            h_mm = (ink[3] - ink[1]) / dpi * 25.4
            if len(t) < 2 and r.score < s.pixel_found_sure and h_mm < s.unread_ink_mm:
                continue
            if RULE_LIKE.match(t) and r.score < s.pixel_found_sure:
                continue  # what is left of a broken rule (一一1, —_), not text
            w = Word(t, ink, r.score, crop, score=r.score, read=r)
            if not t or r.score < s.pixel_found_sure:
                what = f"'{t}', score {r.score:.2f}" if t else "nothing could be read"
                w.flags.append(Flag("low_confidence", f"text the detector missed, read from its pixels ({what})"))
                if not t:
                    w.score, w.read = 0.0, None
        elif not t:
            continue
        else:
            w = Word(t, ink, r.score, crop, score=r.score, read=r)
        w.reads = [_read_dict(t, eng.name, r.score)]
        words.append(w)
    words = tidy(words)
    second_reads(eng, gray, words, settings, second)
    return words


def evidence(w: Word) -> dict:
    """What a word's confidence is calibrated from: how its reads went and
    the score that supports it (the weakest character of its read)."""
    return {"score": round(w.score, 4), "weakest": round(_weakest(w), 4), "agreement": w.agreement,
            "support": None if w.support is None else round(w.support, 4)}


def calibrated(ev: dict, settings: Settings) -> float:
    """The probability that a piece is right, from its evidence."""
    curve = {"agreed": "agreed", "disagreed": "disagreed"}.get(ev.get("agreement") or "", "text")
    score = ev["support"] if ev.get("support") is not None else ev.get("weakest", ev.get("score", 0.0))
    return round(settings.calibration.apply(curve, score), 4)


def calibrate(words: Sequence[Word], settings: Settings) -> None:
    """Each word's confidence: the probability that its text is right."""
    for w in words:
        w.confidence = calibrated(evidence(w), settings)


def detect_boxes(eng: OcrEngine, gray: np.ndarray, dpi: float, at_dpi: float | None = None) -> list[PxBox]:
    """The engine's text lines as boxes in gray's pixels; detection runs on a
    copy at at_dpi, else at the engine's detection resolution when it has one."""
    det_dpi = at_dpi or getattr(eng, "detect_dpi", None)
    f = 1.0
    if det_dpi and dpi > det_dpi * 1.15:
        f = det_dpi / dpi
    small = gray if f == 1.0 else cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    return [quad_to_box(np.asarray(q, np.float32) / f) for q in eng.detect(small, dpi * f)]


def _read_dict(text: str, source: str, confidence: float) -> dict:
    return {"text": text, "source": source, "confidence": round(float(confidence), 4)}


def _weakest(w: Word) -> float:
    r = w.read
    if r is not None and r.chars and len(r.text.strip()) == len(w.text):
        return r.weakest
    return w.score


def tidy(words: list[Word]) -> list[Word]:
    """Generic clean-up of what an engine read: a number read with letter
    look-alikes (O for 0, l for 1) gets its digits; a lone speck of dust read
    as punctuation (no letter, digit or character, far smaller than the text
    around it) goes."""
    if not words:
        return words
    med_h = float(np.median([w.bbox[3] - w.bbox[1] for w in words]))
    out = []
    for w in words:
        t = w.text
        if not t:  # ink that read as nothing, flagged: kept so the cell is named
            out.append(w)
            continue
        if DIGITISH.match(t) and (any(c.isdigit() for c in t) or t in ("O", "o")):
            t = t.translate(DIGIT_FIX)
        size = max(w.bbox[3] - w.bbox[1], w.bbox[2] - w.bbox[0])
        if not SIGNS.search(t) and size < 0.5 * med_h:
            continue
        if len(t) == 1 and size < 0.4 * med_h:
            continue  # a speck (of a seal, of dust) read as 0 or a letter
        w.text = t
        out.append(w)
    return out


# ------------------------------------------------------------------ second reads


def variant(gray: np.ndarray, box: PxBox, scale: float, pad_share: float = 0.25) -> np.ndarray:
    """Another rendering of a piece for an independent read: its own crop
    (padded by a share of its height), binarized by its own Otsu threshold,
    enlarged by scale and smoothed back to gray edges."""
    x0, y0, x1, y1 = box
    h = max(1, y1 - y0)
    p = max(2, int(round(h * pad_share)))
    H, W = gray.shape
    c = gray[max(0, y0 - p):min(H, y1 + p), max(0, x0 - p):min(W, x1 + p)]
    if c.size == 0:
        return np.full((8, 8), 255, np.uint8)
    _, b = cv2.threshold(c, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    big = cv2.resize(b, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    return cv2.GaussianBlur(big, (0, 0), 0.6 * scale)


def second_reads(eng: OcrEngine, gray: np.ndarray, words: list[Word], settings: Settings,
                 second: OcrEngine | None = None) -> None:
    """Every numeric piece read a second time, independently, and the two
    reads compared on their digits. Alike: the piece is `agreed` (its
    confidence rises). Different: a third read (the first engine on the crop
    rendered differently again) decides which reading to keep — two of three
    alike, else the surest — and the piece carries a `disagreement` flag
    with every reading.

    second: the engine of the second read, digits only (tesseract); None
    reads again with the first engine on a binarized, rescaled crop."""
    s = settings.read
    num = [w for w in words if is_numeric(w.text, s.numeric_share)]
    if not num or s.second_read == "off":
        return
    boxes = [w.bbox for w in num]
    if second is not None:
        r2s = second.recognize([variant(gray, b, 1.0, 0.3) for b in boxes], charset=DIGITS)
        src2, full2 = f"{second.name} digits", False
    else:
        r2s = eng.recognize([variant(gray, b, s.second_scale) for b in boxes])
        src2, full2 = f"{eng.name} ×{s.second_scale:g} binarized", True
    differ: list[tuple[Word, Read]] = []
    for w, r2 in zip(num, r2s):
        t2 = tidy_text(r2.text)
        w.reads.append(_read_dict(t2, src2, r2.score))
        w1 = _weakest(w)
        if number_key(t2) == number_key(w.text):
            w.agreement, w.support = "agreed", min(w1, r2.weakest)
            _add_alternatives(w, eng.name)
        else:
            differ.append((w, r2))
    if not differ:
        return
    r3s = eng.recognize([variant(gray, w.bbox, 1.0, 0.4) for w, _ in differ])
    src3 = f"{eng.name} ×1 binarized"
    for (w, r2), r3 in zip(differ, r3s):
        t1, t2, t3 = w.text, tidy_text(r2.text), tidy_text(r3.text)
        w.reads.append(_read_dict(t3, src3, r3.score))
        k1, k2, k3 = number_key(t1), number_key(t2), number_key(t3)
        s1 = _weakest(w)
        if k3 == k1:
            keep, support = t1, min(s1, r3.weakest)
        elif k3 == k2:
            # a digits-only read cannot give the text around the digits:
            # then the third read (a full read) is the text kept
            keep, support = (t2 if full2 else t3), min(r2.weakest, r3.weakest)
        else:
            # no two alike: the first read (on the page's own pixels) stands
            # unless another is clearly surer of itself
            keep, support = t1, s1
            for sc, tx in [(r3.weakest, t3)] + ([(r2.weakest, t2)] if full2 else []):
                if sc > support + 0.1:
                    keep, support = tx, sc
        distinct: list[dict] = []
        for r in w.reads:
            if number_key(r["text"]) not in {number_key(d["text"]) for d in distinct}:
                distinct.append(r)
        shown = " / ".join(d["text"] or "∅" for d in distinct)
        w.flags.append(Flag("disagreement", f"reads differ: {shown}", reads=list(w.reads)))
        w.text, w.agreement, w.support = keep, "disagreed", support


def tidy_text(t: str) -> str:
    t = t.strip()
    if DIGITISH.match(t) and any(c.isdigit() for c in t):
        t = t.translate(DIGIT_FIX)
    return t


def _add_alternatives(w: Word, source: str) -> None:
    """Runner-up readings of a number the two reads agreed on, kept for the
    accounting pass (a failed sum is re-tried with them)."""
    if w.read is None:
        return
    for text, q in w.read.alternatives(2):
        if number_key(text) != number_key(w.text):
            w.reads.append(_read_dict(text, f"{source} runner-up", q))
