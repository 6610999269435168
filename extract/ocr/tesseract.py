"""Tesseract (chi_sim, via pytesseract) as an OcrEngine.

Tesseract is called as few times as possible, since every call starts a
process and loads the language model: `detect` reads the whole page in one
image_to_data call (the image path hands it the page with its ruling lines
erased: on a page that still has them psm 6 skips whole rows) and returns
tesseract's line boxes; `recognize` reads a list of crops in one call too,
each scaled to one text height and stacked on a white sheet, their words
mapped back to their crops by position. `--dpi` is always given (pytesseract
does not pass the image's resolution; without it tesseract misjudges the
text size and splits a ruled page into columns).
"""

from __future__ import annotations

import re
import threading
from typing import Sequence

import cv2
import numpy as np

from ..settings import EngineOptions
from .base import PxBox, Read, box_to_quad

LANG = "chi_sim"
CJK = re.compile(r"[\u3400-\u9fff]")
#: crops are scaled to this height before they are stacked, and the sheet is
#: read as if printed at REC_DPI (a 10-pt line at 300 dpi is about this tall)
REC_H = 48
REC_DPI = 300


def _data(img: np.ndarray, config: str, lang: str = LANG) -> dict:
    import pytesseract
    from PIL import Image

    return pytesseract.image_to_data(Image.fromarray(img), lang=lang, config=config,
                                     output_type=pytesseract.Output.DICT)


def _join(a: str, b: str) -> str:
    """Tesseract separates CJK characters with spaces; print does not."""
    if not a:
        return b
    if CJK.search(a[-1]) or CJK.search(b[:1]) or not a[-1].isalnum() or not b[:1].isalnum():
        return a + b
    return a + " " + b


class TesseractEngine:
    name = "tesseract"

    def __init__(self, options: EngineOptions | None = None, lang: str = LANG):
        import pytesseract

        from .. import sysdeps

        sysdeps.tool("tesseract")  # E_MISSING_DEPENDENCY, naming the package
        self.lang = lang
        # tesseract's own threads follow OMP_THREAD_LIMIT, which it reads
        # itself (the batch driver sets it per worker); options are accepted
        # for the registry's sake
        self._version = f"tesseract {pytesseract.get_tesseract_version()} {lang}"
        if lang == "chi_sim" and "chi_sim" not in pytesseract.get_languages(config=""):
            raise sysdeps.missing("tesseract's Chinese model chi_sim.traineddata",
                                  sysdeps.TESSDATA_CHI_SIM.package)
        self._lock = threading.Lock()

    # ------------------------------------------------------------ raw calls
    def _words(self, img: np.ndarray, dpi: float, psm: int = 6, extra: str = "") -> list[tuple[str, PxBox, float, tuple]]:
        # tessedit_do_invert=0: no second pass looking for white-on-black text
        d = _data(img, f"--psm {psm} --dpi {int(round(dpi))} -c tessedit_do_invert=0 {extra}".strip(), self.lang)
        out = []
        for i, t in enumerate(d["text"]):
            t = (t or "").strip()
            if not t or float(d["conf"][i]) < 0:
                continue
            x, y, w, h = d["left"][i], d["top"][i], d["width"][i], d["height"][i]
            key = (d["block_num"][i], d["par_num"][i], d["line_num"][i])
            out.append((t, (x, y, x + w, y + h), float(d["conf"][i]) / 100.0, key))
        return out

    def version(self) -> str:
        return self._version

    # ------------------------------------------------------------ interface
    def detect(self, img: np.ndarray, dpi: float) -> list[np.ndarray]:
        """Text lines (tesseract's line boxes) as quads."""
        lines: dict[tuple, list[int]] = {}
        for _, (x0, y0, x1, y1), _, key in self._words(img, dpi):
            b = lines.setdefault(key, [x0, y0, x1, y1])
            b[0], b[1], b[2], b[3] = min(b[0], x0), min(b[1], y0), max(b[2], x1), max(b[3], y1)
        return [box_to_quad(tuple(b)) for b in lines.values()]

    def recognize(self, crops: Sequence[np.ndarray], charset: str | None = None) -> list[Read]:
        """Read single-line crops in one tesseract call: each is scaled to
        REC_H and they are stacked top to bottom on a white sheet, each
        line's words mapped back to its crop by position. charset becomes
        tesseract's character whitelist."""
        res: list[Read] = [Read("", 0.0)] * len(crops)
        if not crops:
            return res
        grays = []
        for c in crops:
            g = c if c.ndim == 2 else cv2.cvtColor(c, cv2.COLOR_BGR2GRAY)
            h, w = g.shape
            if h < 2 or w < 2:
                g = np.full((REC_H, REC_H), 255, np.uint8)
            else:
                f = REC_H / h
                g = cv2.resize(g, (max(1, int(round(w * f))), REC_H),
                               interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC)
            grays.append(g)
        gap = REC_H // 2
        width = max(g.shape[1] for g in grays) + 2 * gap
        height = sum(g.shape[0] + gap for g in grays) + gap
        sheet = np.full((height, width), 255, np.uint8)
        spans = []
        y = gap
        for g in grays:
            sheet[y:y + g.shape[0], gap:gap + g.shape[1]] = g
            spans.append((y, y + g.shape[0]))
            y += g.shape[0] + gap
        extra = f"-c tessedit_char_whitelist={charset}" if charset else ""
        parts: list[list[tuple[int, str, float]]] = [[] for _ in crops]
        for t, (x0, y0, x1, y1), conf, _ in self._words(sheet, REC_DPI, psm=6, extra=extra):
            cy = (y0 + y1) / 2
            for k, (a, b) in enumerate(spans):
                if a - gap / 2 <= cy <= b + gap / 2:
                    parts[k].append((x0, t, conf))
                    break
        for k, ps in enumerate(parts):
            if ps:
                ps.sort()
                text = ""
                for _, t, _ in ps:
                    text = _join(text, t)
                res[k] = Read(text, min(c for _, _, c in ps))
        return res

    def upside_down(self, crops: Sequence[np.ndarray]) -> None:
        """Tesseract has no line-level judge: the image path decides by
        recognition confidence over the turns."""
        return None
