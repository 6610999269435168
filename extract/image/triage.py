"""The quick look: can this scanned page belong to a declaration at all?

Archive boxes mix declarations with cover letters, attachments and photos.
Reading such a page in full costs the same as a form page (seconds); the
quick look costs a small share of that and decides whether the full read is
worth it:

1. **Ruling grid.** A declaration is a ruled form. On a copy at
   `TriageSettings.look_dpi` the ink is opened with 5 mm horizontal and
   vertical strokes; long rules one way (`rule_share` of the page) crossed
   by shorter ones the other way (`cross_share`: a table two rows high has
   short cross rules) — either way round, so a sideways page counts — make
   the page a form page. Nothing is read.
   (Everything runs on a copy reduced to about `work_dpi` by keeping each
   block's darkest pixel, so thin rules and strokes survive.)
2. **Form words.** A page without a grid (a scan that lost its rules, a
   continuation page of prose) gets a fast low-resolution read: the
   engine's detector on a copy at `read_dpi`, then its recognizer on the
   longest lines, in both turns of their axis. Any of `form_words`
   (绩效, 指标, 项目 …) keeps the page.
3. Otherwise the page is *set aside*: not read in full, with the reason.

A set-aside page is never lost from a declaration: the document reader
(document.py) reads every set-aside page in full as soon as any page of the
same document passed the look, so only a document none of whose pages
looks like a form ends without a full read — as E_NOT_DECLARATION, naming
what the look found on each page.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..ocr.base import OcrEngine
from ..ocr.textfix import to_simplified
from ..settings import TriageSettings
from . import preprocess as pp
from .orientation import box_crops
from .reading import detect_boxes


@dataclass
class Look:
    form: bool  # read this page in full
    why: str  # what the look found, for the record and the error message
    rules: dict | None = None  # what rules() counted
    words: str = ""  # the form word that kept it, if the read decided


def rules(gray: np.ndarray, dpi: float, s: TriageSettings) -> dict[str, int]:
    """Rules found on a copy at `look_dpi`: "h"/"v" count the horizontal /
    vertical ones at least `rule_share` of the page's width / height long,
    "h_short"/"v_short" those at least `cross_share` of it (the cross rules of
    a table only a few rows high). The ink is thresholded first (a
    one-pixel rule survives the reduction as ink), then reduced by keeping
    any ink in each block; 5 mm strokes are longer than any stroke of body
    text."""
    ink = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)[1]
    f = min(1.0, s.look_dpi / dpi) if dpi else 1.0
    if f < 1.0:
        ink = cv2.resize(ink, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
        ink = cv2.compare(ink, 0, cv2.CMP_GT)
    h, w = ink.shape
    stroke = max(5, int(round(s.look_dpi * 0.2)))
    out = {}
    for name, kernel, extent, span in (("h", (stroke, 1), 2, w), ("v", (1, stroke), 3, h)):
        opened = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, kernel))
        n, _, stats, _ = cv2.connectedComponentsWithStats(opened, connectivity=8)
        lengths = stats[1:, extent] if n > 1 else np.zeros(0)
        out[name] = int(np.sum(lengths >= s.rule_share * span))
        out[name + "_short"] = int(np.sum(lengths >= s.cross_share * span))
    return out


def _is_grid(r: dict[str, int], s: TriageSettings) -> bool:
    """Long rules one way crossed by rules the other way (either way round:
    a sideways page counts)."""
    return (r["h"] >= s.min_rules and r["v_short"] >= s.min_cross) or \
        (r["v"] >= s.min_rules and r["h_short"] >= s.min_cross)


def _rules_text(r: dict[str, int]) -> str:
    return f"{r['h']} long rules across, {r['v']} down"


def quick_read(gray: np.ndarray, dpi: float, eng: OcrEngine, s: TriageSettings) -> list[str]:
    """The longest text lines of the page, read fast (the detector at
    `read_dpi`): every line in both turns of its axis, the page's own
    orientation not being known yet."""
    boxes = [b for b in detect_boxes(eng, gray, dpi, s.read_dpi) if b[2] - b[0] > 2 and b[3] - b[1] > 2]
    boxes.sort(key=lambda b: -max(b[2] - b[0], b[3] - b[1]))
    crops = []
    for b in boxes[: s.read_lines]:
        for t in ((0, 180) if (b[2] - b[0]) >= (b[3] - b[1]) else (90, 270)):
            crops += box_crops(gray, [b], t, 1)
    return [to_simplified(r.text) for r in eng.recognize(crops)] if crops else []


def darkest(arr: np.ndarray, k: int) -> np.ndarray:
    """arr reduced k times, each block to its darkest pixel: a one-pixel rule
    or stroke stays as dark as it was (an average would fade it)."""
    if k <= 1:
        return arr
    h, w = arr.shape[0] // k * k, arr.shape[1] // k * k
    a = arr[:h, :w]
    return np.ascontiguousarray(a.reshape(h // k, k, w // k, k, *a.shape[2:]).min(axis=(1, 3)))


def look(image, dpi: float, eng: OcrEngine, s: TriageSettings) -> Look:
    """Decide whether a scanned page is worth a full read (see the module).
    Everything works on a copy at about `work_dpi` (a poster-sized page
    costs no more than a letter)."""
    arr = pp.to_array(image)
    k = int(dpi // s.work_dpi) if dpi else 1
    if k > 1:
        arr, dpi = darkest(arr, k), dpi / k
    gray = pp.remove_red(arr) if arr.ndim == 3 else arr
    found = rules(gray, dpi, s)
    if _is_grid(found, s):
        return Look(True, f"ruling grid ({_rules_text(found)})", found)
    texts = quick_read(gray, dpi, eng, s)
    for t in texts:
        word = s.form_word(t)
        if word:
            return Look(True, f"no ruling grid ({_rules_text(found)}); the quick read found {word!r}",
                        found, word)
    seen = "; ".join(t for t in texts[::2][:3] if t.strip())[:80]
    return Look(False, f"no ruling grid ({_rules_text(found)}) and no form word in a quick read of "
                       f"{len(texts) // 2} line(s)" + (f" ({seen})" if seen else ""), found)
