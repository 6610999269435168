"""RapidOCR's bundled PP-OCR models as an OcrEngine.

Only the models shipped inside the rapidocr wheel are used (any other choice
makes rapidocr try to download, which fails offline), through public
interfaces only:

- detection: rapidocr's `RapidOCR` pipeline with classification and
  recognition switched off (its DB post-processing is what turns the
  network's map into line boxes);
- recognition and the 0°/180° line classifier: onnxruntime sessions built
  here from the bundled model files, with the character list the
  recognition model carries in its metadata. Reading the network's output
  ourselves gives every character's probability and its runner-up, which
  the image path needs (the weakest digit of an amount, the alternative
  reading of a failed sum) and rapidocr's own decoder does not return.

Threads come from `EngineOptions.threads` (0: onnxruntime's default).
"""

from __future__ import annotations

import logging
import math
import threading
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from ..settings import EngineOptions
from .base import Read, area, intersect

REC_H = 48  # the recognition model's input height (px)
CLS_SHAPE = (48, 192)  # the line classifier's input (px)
MAX_BATCH = 8
#: a recognition batch holds at most this many pixels of (padded) width in
#: all: on one core a batch is no faster per crop than single crops (measured,
#: bench/engine_cost.py: 8 crops 2000 px wide take 1.4-1.7x as long batched as
#: one by one), and the network's working memory grows with the batch's total
#: width (about 36 MB per 1000 px): eight long prose lines in one batch made a
#: worker's peak
BATCH_WIDTH = 1600

#: detection: images larger than this go to the network in bands (memory)
DET_BAND_PIXELS = 480_000
DET_OVERLAP = 96  # px between bands: 22 mm at the 110-dpi detection copy
DET_MIN_SIDE = 736  # a smaller image is enlarged to this before detection

# the models rapidocr ships in its package (it would try to download others)
DET_MODEL = "PP-OCRv6_det_small.onnx"
REC_MODEL = "PP-OCRv6_rec_small.onnx"
CLS_MODEL = "ch_ppocr_mobile_v2.0_cls_mobile.onnx"
BUNDLED_MODELS = (DET_MODEL, REC_MODEL, CLS_MODEL)


def _bgr(img: np.ndarray) -> np.ndarray:
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    return img


def _model_dir() -> Path:
    from .. import sysdeps

    try:
        import rapidocr
    except ImportError as exc:
        raise sysdeps.missing(f"Python package rapidocr ({exc})", "rapidocr (pip)") from None
    models = Path(rapidocr.__file__).parent / "models"
    for name in BUNDLED_MODELS:
        if not (models / name).is_file():
            raise sysdeps.missing(f"RapidOCR model {name}", "rapidocr (pip: reinstall it)")
    return models


def _session(path: Path, threads: int):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.enable_cpu_mem_arena = False  # crops vary in size: an arena only grows
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def _padded(width: int) -> int:
    """A batch's width: its widest crop, at least square, to a multiple of 8."""
    return int(math.ceil(max(width, REC_H) / 8.0) * 8)


def _covers(a, b, share: float = 0.5) -> bool:
    """Two boxes of the same text: their overlap is most of the smaller one."""
    i = intersect(a, b)
    return i is not None and area(i) > share * max(min(area(a), area(b)), 1e-6)


class RapidOcrEngine:
    name = "rapidocr"
    #: detection runs on a copy at about this resolution: plenty for body
    #: text, and the detector's cost grows with the pixels
    detect_dpi = 110.0

    def __init__(self, options: EngineOptions | None = None):
        options = options or EngineOptions()
        models = _model_dir()
        from rapidocr import RapidOCR

        import rapidocr

        self.threads = options.threads
        params = {
            "Global.log_level": "error",
            "Global.use_cls": False,
            "Global.use_rec": False,
            "Global.model_root_dir": str(models),
            # the detector takes images as given (rapidocr's default would
            # enlarge a band of a page to 736 px on its short side); the
            # enlargement of small images is done in detect(), as before
            "Det.limit_type": "max",
            "Det.limit_side_len": 2000,
            "EngineConfig.onnxruntime.intra_op_num_threads": options.threads or -1,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1 if options.threads else -1,
        }
        logging.getLogger("RapidOCR").setLevel(logging.ERROR)
        self._det = RapidOCR(params=params)
        self._rec = _session(models / REC_MODEL, options.threads)
        meta = self._rec.get_modelmeta().custom_metadata_map
        self._chars = ["\0"] + meta["character"].splitlines() + [" "]  # CTC blank first
        self._rec_in = self._rec.get_inputs()[0].name
        self._cls = None
        self._cls_path = models / CLS_MODEL
        self._lock = threading.Lock()  # the det pipeline keeps per-call state
        # how detection and batching are done changes what is read: in the
        # version, so an OCR cache of another way is not taken for this one
        self._version = (f"rapidocr {getattr(rapidocr, '__version__', '?')} {DET_MODEL} {REC_MODEL}"
                         f" det bands {DET_BAND_PIXELS}/{DET_OVERLAP} batch width {BATCH_WIDTH}")
        self._digit_ids: dict[str, np.ndarray] = {}

    def version(self) -> str:
        return self._version

    # ------------------------------------------------------------ detection
    def detect(self, img: np.ndarray, dpi: float) -> list[np.ndarray]:
        """Text-line quads in img's pixels (the image path gives a copy at
        the detection resolution it chose).

        An image larger than DET_BAND_PIXELS is detected in horizontal bands
        that overlap by DET_OVERLAP px: the network's working memory grows
        with the pixels it is given (about 300 MB for a whole A4 page at
        110 dpi, 120 MB for a third of it), its time hardly changes. A line
        near a seam is found by both bands: of two boxes from different
        bands that cover the same text, the one farther from its band's cut
        edge is kept (the other saw the line cut, or with less around it)."""
        h, w = img.shape[:2]
        if h * w <= DET_BAND_PIXELS or h <= 2 * DET_OVERLAP:
            return self._detect_one(img)
        n = int(math.ceil(h * w / DET_BAND_PIXELS))
        # a band's height is a multiple of 32, as the network takes it:
        # rapidocr would otherwise stretch each band a little differently
        band = int(math.ceil((h + (n - 1) * DET_OVERLAP) / n / 32.0) * 32)
        found: list[tuple[float, int, np.ndarray, tuple[float, float, float, float]]] = []
        for k in range(n):
            y0 = min(k * (band - DET_OVERLAP), max(0, h - band))
            y1 = min(h, y0 + band)
            for q in self._detect_one(img[y0:y1], enlarge=False):
                q = q + np.array([0.0, y0], np.float32)
                box = (float(q[:, 0].min()), float(q[:, 1].min()), float(q[:, 0].max()), float(q[:, 1].max()))
                room = min(box[1] - y0 if k > 0 else math.inf, y1 - box[3] if k < n - 1 else math.inf)
                found.append((room, k, q, box))
        kept: list[tuple[int, tuple[float, float, float, float]]] = []
        quads: list[np.ndarray] = []
        for room, k, q, box in sorted(found, key=lambda f: -f[0]):
            if any(j != k and _covers(box, b) for j, b in kept):
                continue
            kept.append((k, box))
            quads.append(q)
        quads.sort(key=lambda q: (float(q[:, 1].min()), float(q[:, 0].min())))
        return quads

    def _detect_one(self, img: np.ndarray, enlarge: bool = True) -> list[np.ndarray]:
        h, w = img.shape[:2]
        fy = fx = 1.0
        if enlarge and min(h, w) < DET_MIN_SIDE:
            # what rapidocr does with a small image: enlarge its short side
            # to DET_MIN_SIDE, each side to a multiple of 32
            r = DET_MIN_SIDE / min(h, w)
            th = max(32, int(round(int(h * r) / 32) * 32))
            tw = max(32, int(round(int(w * r) / 32) * 32))
            img = cv2.resize(img, (tw, th))
            fy, fx = h / th, w / tw
        with self._lock:
            out = self._det(_bgr(img))
        boxes = getattr(out, "boxes", None)
        if boxes is None or len(boxes) == 0:
            return []
        scale = np.array([fx, fy], np.float32)
        return [np.asarray(b, dtype=np.float32) * scale for b in boxes]

    # ------------------------------------------------------------ recognition
    def recognize(self, crops: Sequence[np.ndarray], charset: str | None = None) -> list[Read]:
        """Read single-line crops. Each is scaled to the model's 48 px height
        and batched with crops of similar width (little padding); the output
        is decoded greedily (CTC), keeping each character's probability and
        the runner-up at its frame. charset limits the classes decoded."""
        n = len(crops)
        res: list[Read] = [Read("", 0.0, [])] * n
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
            imgs.append(r)  # made float per batch: a page's crops as float32 at once cost tens of MB
            widths.append(nw)
        order = [i for i in np.argsort(widths, kind="stable") if imgs[i] is not None]
        batches: list[list[int]] = []
        for i in order:
            last = batches[-1] if batches else None
            if (last and len(last) < MAX_BATCH and widths[i] <= widths[last[0]] * 1.25 + 8
                    and (len(last) + 1) * _padded(widths[i]) <= BATCH_WIDTH):
                last.append(i)
            else:
                batches.append([i])
        allowed = self._allowed(charset) if charset else None
        for b in batches:
            wmax = max(widths[i] for i in b)
            wpad = _padded(wmax)
            batch = np.zeros((len(b), 3, REC_H, wpad), dtype=np.float32)
            for k, i in enumerate(b):
                batch[k, :, :, : widths[i]] = imgs[i].astype(np.float32).transpose(2, 0, 1) / 127.5 - 1.0
            preds = self._rec.run(None, {self._rec_in: batch})[0]
            for k, i in enumerate(b):
                # frames past the crop's own width are padding
                frames = max(1, int(math.ceil(preds.shape[1] * widths[i] / wpad)))
                res[i] = self._decode(preds[k, :frames], allowed)
        return res

    def _allowed(self, charset: str) -> np.ndarray:
        ids = self._digit_ids.get(charset)
        if ids is None:
            want = set(charset)
            ids = np.array([0] + [j for j, ch in enumerate(self._chars) if ch in want], dtype=np.int64)
            self._digit_ids[charset] = ids
        return ids

    def _decode(self, p: np.ndarray, allowed: np.ndarray | None) -> Read:
        if allowed is not None:
            p = p[:, allowed]
        elif not p.flags.writeable:
            p = p.copy()
        # the best and the runner-up class of each frame, without a frame ×
        # class temporary (a long line's output is 250 × 18,000 floats): the
        # best is masked in place for the second argmax, then put back
        rows = np.arange(p.shape[0])
        best = p.argmax(axis=1)
        pb = p[rows, best]
        p[rows, best] = -np.inf
        second = p.argmax(axis=1)
        ps = p[rows, second]
        p[rows, best] = pb
        chars: list[tuple[str, float, str, float]] = []
        prev = -1
        for t in range(p.shape[0]):
            k = int(best[t])
            if k != 0 and k != prev:
                j = int(allowed[k]) if allowed is not None else k
                s = int(second[t])
                js = int(allowed[s]) if allowed is not None else s
                alt = self._chars[js] if s != 0 else ""
                chars.append((self._chars[j], float(pb[t]), alt, float(ps[t])))
            elif k != 0 and chars and pb[t] > chars[-1][1]:
                # the same character over several frames: its surest frame
                s = int(second[t])
                js = int(allowed[s]) if allowed is not None else s
                ch = chars[-1][0]
                chars[-1] = (ch, float(pb[t]), self._chars[js] if s != 0 else "", float(ps[t]))
            prev = k
        text = "".join(c[0] for c in chars)
        score = float(np.mean([c[1] for c in chars])) if chars else 0.0
        return Read(text, score, chars)

    # ------------------------------------------------------------ orientation
    def upside_down(self, crops: Sequence[np.ndarray]) -> list[float]:
        """Probability that each text-line crop is upside down (PP-OCR's line
        direction classifier)."""
        if not crops:
            return []
        if self._cls is None:
            with self._lock:
                if self._cls is None:
                    self._cls = _session(self._cls_path, self.threads)
        h, w = CLS_SHAPE
        batch = np.zeros((len(crops), 3, h, w), np.float32)
        for k, c in enumerate(crops):
            c = _bgr(c)
            ch, cw = c.shape[:2]
            if ch < 2 or cw < 2:
                continue
            nw = min(w, int(math.ceil(h * cw / ch)))
            r = cv2.resize(c, (nw, h), interpolation=cv2.INTER_LINEAR)
            batch[k, :, :, :nw] = r.astype(np.float32).transpose(2, 0, 1) / 127.5 - 1.0
        sess = self._cls
        out = sess.run(None, {sess.get_inputs()[0].name: batch})[0]
        return [float(row[1]) for row in out]  # labels: 0°, 180°
