"""RapidOCR (PP-OCR ONNX models bundled with the rapidocr wheel) as an OcrEngine.

Only the default bundled models are used (any other choice makes rapidocr try
to download, which fails offline). Detection runs once per page on a reduced
copy (~110 dpi is plenty for body text); the detected lines are cut at cell
borders, checkboxes and wide gaps (base.cut_pieces) and the pieces recognized
in batches of similar width straight through the recognition session — rapidocr's
own batching pads every crop to at least 320 px, which costs more than the text.

Threads: onnxruntime uses SHENBAO_ORT_THREADS intra-op threads when that is
set (1 for measuring one core), else its default (all cores).
"""

from __future__ import annotations

import logging
import math
import os
import threading
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from .base import (PxBox, Word, crop_clean, cut_pieces, is_numeric, quad_to_box, uncovered_lines,
                   zoom_crops)

DET_DPI = 110.0
REC_H = 48
MAX_BATCH = 8


# the models rapidocr ships in its package (it would try to download others)
BUNDLED_MODELS = ("PP-OCRv6_det_small.onnx", "PP-OCRv6_rec_small.onnx", "ch_ppocr_mobile_v2.0_cls_mobile.onnx")


def _bgr(img: np.ndarray) -> np.ndarray:
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    return img


class RapidOcrEngine:
    name = "rapidocr"

    def __init__(self, threads: int | None = None):
        from .. import sysdeps

        try:
            import rapidocr
            from rapidocr import RapidOCR
        except ImportError as exc:
            raise sysdeps.missing(f"Python package rapidocr ({exc})", "rapidocr (pip)") from None
        models = Path(rapidocr.__file__).parent / "models"
        for name in BUNDLED_MODELS:
            if not (models / name).is_file():
                raise sysdeps.missing(f"RapidOCR model {name}", "rapidocr (pip: reinstall it)")

        if threads is None:
            threads = int(os.environ.get("SHENBAO_ORT_THREADS", "-1") or -1)
        params = {
            "Global.log_level": "warning",
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1 if threads == 1 else -1,
        }
        logging.getLogger("RapidOCR").setLevel(logging.WARNING)
        self._ocr = RapidOCR(params=params)
        self._det = self._ocr._load_det_model()
        self._rec = self._ocr._load_rec_model()
        self._cls = None
        self._lock = threading.Lock()  # onnxruntime sessions are thread-safe; our state is not

    # ------------------------------------------------------------ detection
    def detect(self, img: np.ndarray, dpi: float | None = None) -> list[np.ndarray]:
        """Text-line quads in img's pixels. With dpi given, detection runs on a
        copy at ~DET_DPI."""
        f = 1.0
        if dpi and dpi > DET_DPI * 1.15:
            f = DET_DPI / dpi
        small = img if f == 1.0 else cv2.resize(img, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
        out = self._det(_bgr(small))
        if out.boxes is None or len(out.boxes) == 0:
            return []
        return [np.asarray(b, dtype=np.float32) / f for b in out.boxes]

    # ------------------------------------------------------------ recognition
    def recognize(self, crops: Sequence[np.ndarray]) -> list[tuple[str, float]]:
        """Read single-line crops. Each is scaled to the model's 48 px height
        and batched with crops of similar width (little padding)."""
        n = len(crops)
        res: list[tuple[str, float]] = [("", 0.0)] * n
        if n == 0:
            return res
        imgs, widths = [], []
        for c in crops:
            c = _bgr(c)
            h, w = c.shape[:2]
            if h < 2 or w < 2:
                imgs.append(None)
                widths.append(0)
                continue
            nw = max(REC_H // 2, int(math.ceil(REC_H * w / h)))
            r = cv2.resize(c, (nw, REC_H), interpolation=cv2.INTER_AREA if h > REC_H else cv2.INTER_CUBIC)
            x = r.astype(np.float32).transpose(2, 0, 1) / 127.5 - 1.0
            imgs.append(x)
            widths.append(nw)
        order = [i for i in np.argsort(widths, kind="stable") if imgs[i] is not None]
        batches: list[list[int]] = []
        for i in order:
            if batches and len(batches[-1]) < MAX_BATCH and widths[i] <= widths[batches[-1][0]] * 1.25 + 8:
                batches[-1].append(i)
            else:
                batches.append([i])
        dec = self._rec.postprocess_op
        for b in batches:
            wmax = max(widths[i] for i in b)
            wpad = int(math.ceil(max(wmax, REC_H) / 8.0) * 8)
            batch = np.zeros((len(b), 3, REC_H, wpad), dtype=np.float32)
            for k, i in enumerate(b):
                batch[k, :, :, : widths[i]] = imgs[i]
            preds = self._rec.session(batch)
            lines, _ = dec(preds, False, wh_ratio_list=[widths[i] / REC_H for i in b],
                           max_wh_ratio=wpad / REC_H)
            for k, i in enumerate(b):
                t, s = lines[k]
                res[i] = (t, float(s) if t else 0.0)
        return res

    # ------------------------------------------------------------ orientation
    def upside_down(self, crops: Sequence[np.ndarray]) -> list[float]:
        """Probability that each text-line crop is upside down (PP-OCR's line
        direction classifier)."""
        if self._cls is None:
            with self._lock:
                if self._cls is None:
                    self._cls = self._ocr._load_cls_model()
        if not crops:
            return []
        out = self._cls([_bgr(c) for c in crops])
        probs = []
        for label, score in out.cls_res:
            probs.append(float(score) if str(label) == "180" else 1.0 - float(score))
        if 0.25 < float(np.mean(probs)) < 0.75:
            # the classifier is unsure (noisy, faint scan): read the lines both
            # ways up and believe the reading that is surer of itself
            k = min(len(crops), 8)
            up = self.recognize(crops[:k])
            down = self.recognize([np.ascontiguousarray(c[::-1, ::-1]) for c in crops[:k]])
            probs = [float(1.0 / (1.0 + np.exp(-8.0 * (d[1] - u[1])))) for u, d in zip(up, down)]
        return probs

    # ------------------------------------------------------------ page
    def read_page(self, gray: np.ndarray, cells: Sequence[PxBox], holes: Sequence[PxBox],
                  text_ink: np.ndarray, dpi: float) -> list[Word]:
        boxes = [quad_to_box(q) for q in self.detect(gray, dpi)]
        pieces = cut_pieces(boxes, cells, holes, text_ink)
        n_det = len(pieces)
        missed, rest = uncovered_lines(text_ink, cells, [c for _, c in pieces] + list(holes), dpi)
        if missed:
            pieces += cut_pieces(missed, cells, holes, rest)
        crops = [crop_clean(gray, crop, ink, None) for ink, crop in pieces]
        res = self.recognize(crops)
        words = []
        for k, ((ink, crop), (t, c)) in enumerate(zip(pieces, res)):
            t = t.strip()
            if not t:
                continue
            if k >= n_det and (c < 0.85 or len(t) < 2):
                continue  # found by pixels only: keep it only when it reads clearly
            words.append(Word(t, ink, c, crop))
        self._second_pass(gray, words)
        return words

    def _second_pass(self, gray: np.ndarray, words: list[Word]) -> None:
        """Numbers read with low confidence: read again from a tight crop at
        twice the scale; keep whichever reading is surer."""
        weak = [w for w in words if is_numeric(w.text) and w.confidence < 0.95]
        if not weak:
            return
        crops = zoom_crops(gray, [w.bbox for w in weak], pad_share=1 / 8, pad_min=2)
        for w, (t, c) in zip(weak, self.recognize(crops)):
            if t.strip() and c > w.confidence:
                w.text, w.confidence = t.strip(), c


def upside_down_probs(crops: Sequence[np.ndarray]) -> list[float]:
    """Orientation judge for preprocess.orientation, backed by the shared engine."""
    from .base import get_engine

    eng = get_engine("rapidocr")
    return eng.upside_down(crops)  # type: ignore[attr-defined]
