"""Page image clean-up before grid detection and OCR (OpenCV, pure functions).

Conventions: a *gray* image is uint8, white paper (≈255) and dark ink; an *ink
mask* is uint8 with 255 where there is ink. Nothing here smooths the image: at
200 dpi a ruling line can be one pixel wide and a blur erases it.
"""

from __future__ import annotations

from typing import Callable, Sequence

import cv2
import numpy as np

# ------------------------------------------------------------------ conversion


def to_array(image) -> np.ndarray:
    """PIL image or ndarray → ndarray: gray (H, W) or BGR (H, W, 3)."""
    if isinstance(image, np.ndarray):
        a = image
        if a.dtype == bool:
            a = np.where(a, 255, 0).astype(np.uint8)
        elif a.dtype != np.uint8:
            a = np.clip(a, 0, 255).astype(np.uint8)
        if a.ndim == 3 and a.shape[2] == 4:
            a = cv2.cvtColor(a, cv2.COLOR_BGRA2BGR)
        elif a.ndim == 3 and a.shape[2] == 1:
            a = a[:, :, 0]
        return np.ascontiguousarray(a)
    mode = getattr(image, "mode", None)
    if mode in ("1", "L", "I;16", "I", "F"):
        return np.asarray(image.convert("L"), dtype=np.uint8).copy()
    rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)


def is_colour(img: np.ndarray, tol: int = 12) -> bool:
    """True when a 3-channel image really carries colour (not gray stored as RGB)."""
    if img.ndim != 3:
        return False
    small = img[:: max(1, img.shape[0] // 400), :: max(1, img.shape[1] // 300)].astype(np.int16)
    spread = small.max(axis=2) - small.min(axis=2)
    return bool((spread > tol).mean() > 0.0005)


def is_bitonal(img: np.ndarray) -> bool:
    """True for a 1-bit scan (Group 4, JBIG2): two gray levels only."""
    if img.ndim != 2:
        return False
    small = img[:: max(1, img.shape[0] // 500), :: max(1, img.shape[1] // 400)]
    return bool(((small > 0) & (small < 255)).mean() < 0.001)


def to_gray(img: np.ndarray) -> np.ndarray:
    return img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)


# ------------------------------------------------------------------ red seal


def remove_red(bgr: np.ndarray, min_chroma: int = 40) -> np.ndarray:
    """Colour page → gray with red/pink ink (seals, red stamps) turned to paper.

    A pixel whose red exceeds its green and blue by min_chroma is seal ink: it
    takes the value of its red channel (bright for red ink, dark only where
    black print lies under the seal), so black text and ruling lines under a
    seal survive. A gray image is returned unchanged."""
    if bgr.ndim == 2:
        return bgr
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    if not is_colour(bgr):
        return gray
    b, g, r = cv2.split(bgr)
    chroma = cv2.subtract(r, cv2.max(g, b))
    red = chroma > min_chroma
    # the pale fringe around seal strokes: moderately red and light
    red |= (chroma > min_chroma // 2) & (r > 180)
    out = gray.copy()
    lifted = cv2.max(r, gray)
    # whatever stays of seal ink after the lift is pale: push it to paper
    lifted = np.where(lifted > 150, 255, lifted).astype(np.uint8)
    out[red] = lifted[red]
    return out


def suppress_light_ink(gray: np.ndarray, ink: np.ndarray | None = None, dpi: float = 200.0,
                       min_mm: float = 3.0, max_share: float = 0.3) -> np.ndarray:
    """Gray page → gray page without large ink shapes that are nowhere dark.

    On a gray scan a red seal turns mid-gray while print stays near black:
    ink with no dark core within a stroke's width, forming a shape of at
    least min_mm across both ways (a seal's ring, its star), is painted
    paper-white. Small light bits stay (a thin 。, a faint checkbox, the
    fringes of print), as do thin light rules (too narrow one way). The dark
    level is the Otsu split of the ink's own gray values (60..110). Nothing
    is removed when the light ink is more than max_share of all ink (a faint
    page whose print itself is light)."""
    if ink is None:
        ink = binarize(gray)
    vals = gray[ink > 0]
    if vals.size < 100:
        return gray
    t, _ = cv2.threshold(vals.reshape(-1, 1), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    t = float(min(110.0, max(60.0, t)))
    core = cv2.compare(gray, t, cv2.CMP_LT)
    r = max(1, int(round(dpi / 100.0)))
    near = cv2.dilate(core, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    light = cv2.bitwise_and(ink, cv2.bitwise_not(near))
    n_light = int(np.count_nonzero(light))
    if n_light == 0 or n_light > max_share * vals.size:
        return gray
    n, lab, stats, _ = cv2.connectedComponentsWithStats(light, connectivity=8)
    size = min_mm / 25.4 * dpi
    big = np.zeros(n, bool)
    big[1:] = (stats[1:, 2] >= size) & (stats[1:, 3] >= size)
    if not big.any():
        return gray
    out = gray.copy()
    out[big[lab]] = 255
    return out


# ------------------------------------------------------------------ contrast


def normalize_contrast(gray: np.ndarray) -> np.ndarray:
    """Flatten uneven paper (shadows, yellowing) and stretch ink to black.

    The paper level is estimated at 1/8 scale with a max filter (ink removed)
    and divided out; the darkest ink is then mapped to 0."""
    h, w = gray.shape
    f = 8
    small = cv2.resize(gray, (max(1, w // f), max(1, h // f)), interpolation=cv2.INTER_AREA)
    bg = cv2.dilate(small, cv2.getStructuringElement(cv2.MORPH_RECT, (7, 7)))
    bg = cv2.medianBlur(bg, 5)
    bg = cv2.resize(bg, (w, h), interpolation=cv2.INTER_LINEAR)
    bg = np.maximum(bg, 1).astype(np.float32)
    norm = gray.astype(np.float32) / bg * 255.0
    lo = float(np.percentile(norm[:: 4, :: 4], 0.2))
    lo = min(lo, 120.0)
    out = (norm - lo) * (255.0 / max(255.0 - lo, 1.0))
    return np.clip(out, 0, 255).astype(np.uint8)


# ------------------------------------------------------------------ binarize


def binarize(gray: np.ndarray, window: int | None = None, k: float = 0.2,
             r: float = 128.0) -> np.ndarray:
    """Sauvola thresholding → ink mask (255 = ink).

    window defaults to ~1/70 of the page's short side (≈ 3 mm). The local mean
    and deviation are smooth, so they are computed on a 1/4 copy and the
    threshold surface is scaled back; the comparison itself is per pixel, so a
    one-pixel rule keeps its pixels."""
    if window is None:
        window = max(15, min(gray.shape) // 70)
    f = 4 if min(gray.shape) >= 400 else 1
    small = gray if f == 1 else cv2.resize(gray, (gray.shape[1] // f, gray.shape[0] // f),
                                           interpolation=cv2.INTER_AREA)
    g = small.astype(np.float32)
    win = max(3, window // f) | 1
    mean = cv2.boxFilter(g, -1, (win, win), borderType=cv2.BORDER_REFLECT)
    sq = cv2.boxFilter(g * g, -1, (win, win), borderType=cv2.BORDER_REFLECT)
    std = cv2.sqrt(cv2.max(sq - mean * mean, 0))
    thr = mean * (1.0 + k * (std / r - 1.0))
    if f > 1:
        # the 1/4 copy averages thin ink away: its mean is close to the paper's
        thr = cv2.resize(thr, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_LINEAR)
    thr = np.minimum(thr, 225).astype(np.uint8)
    return cv2.compare(gray, thr, cv2.CMP_LT)


# ------------------------------------------------------------------ rotation


def rotate_quadrant(img: np.ndarray, degrees: int) -> np.ndarray:
    """Turn an image clockwise by 0/90/180/270 degrees."""
    d = degrees % 360
    if d == 0:
        return img
    code = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180,
            270: cv2.ROTATE_90_COUNTERCLOCKWISE}[d]
    return cv2.rotate(img, code)


def _small(gray: np.ndarray, long_side: int) -> tuple[np.ndarray, float]:
    f = min(1.0, long_side / max(gray.shape))
    if f >= 1.0:
        return gray, 1.0
    return cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA), f


def _text_ink(ink: np.ndarray, line_len: int) -> np.ndarray:
    """Ink mask without long ruling lines (what is left is mostly text)."""
    hk = cv2.getStructuringElement(cv2.MORPH_RECT, (line_len, 1))
    vk = cv2.getStructuringElement(cv2.MORPH_RECT, (1, line_len))
    lines = cv2.morphologyEx(ink, cv2.MORPH_OPEN, hk) | cv2.morphologyEx(ink, cv2.MORPH_OPEN, vk)
    lines = cv2.dilate(lines, np.ones((3, 3), np.uint8))
    return cv2.subtract(ink, lines)


def _char_size(text: np.ndarray) -> float:
    n, _, stats, _ = cv2.connectedComponentsWithStats(text, connectivity=8)
    if n <= 1:
        return 0.0
    wh = stats[1:, 2:4]
    size = wh.max(axis=1)
    ok = (size >= 4) & (size <= 80) & (stats[1:, 4] >= 6)
    if ok.sum() < 5:
        return 0.0
    return float(np.percentile(size[ok], 75))


def _line_blobs(text: np.ndarray, char: float, axis: int) -> list[tuple[int, int, int, int]]:
    """Smear text along axis (0 = horizontal) with gaps < 0.6 char; return the
    bboxes of blobs elongated along that axis (likely text lines)."""
    g = max(3, int(round(char * 0.6)))
    ksize = (g, 1) if axis == 0 else (1, g)
    sm = cv2.morphologyEx(text, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, ksize))
    n, _, stats, _ = cv2.connectedComponentsWithStats(sm, connectivity=8)
    out = []
    for x, y, w, h, a in stats[1:]:
        along, across = (w, h) if axis == 0 else (h, w)
        if across < char * 0.5 or across > char * 1.8:
            continue
        if along >= 3 * across and along >= 2.5 * char:
            out.append((int(x), int(y), int(w), int(h)))
    return out


Blob = tuple[int, int, int, int]  # x, y, w, h


def line_blobs(gray: np.ndarray) -> tuple[list[Blob], list[Blob], float]:
    """Text-line blobs running along rows and along columns of the image,
    in the coordinates of a ~1600 px copy, and that copy's scale."""
    small, f = _small(gray, 1600)
    ink = binarize(small)
    text = _text_ink(ink, max(25, int(max(small.shape) / 40)))
    char = _char_size(text)
    if char <= 0:
        return [], [], f
    return _line_blobs(text, char, 0), _line_blobs(text, char, 1), f


def text_axis(gray: np.ndarray) -> tuple[int, list[Blob], float]:
    """Whether text runs along rows (0) or columns (90) of the image, with the
    line blobs found (in the coordinates of a ~1600 px copy) and that copy's
    scale."""
    hor, ver, f = line_blobs(gray)
    hs = sum(w for _, _, w, _ in hor)
    vs = sum(h for _, _, _, h in ver)
    if vs > hs * 1.3:
        return 90, ver, f
    return 0, hor, f


UpsideDown = Callable[[Sequence[np.ndarray]], Sequence[float]]


def _default_judge() -> UpsideDown | None:
    try:
        from ..ocr.base import get_engine

        return get_engine("rapidocr").upside_down
    except Exception:  # pragma: no cover - rapidocr missing
        return None


def _osd(gray: np.ndarray) -> int | None:
    """Tesseract OSD (psm 0): clockwise degrees to turn the page, or None."""
    try:
        import pytesseract
        from PIL import Image

        out = pytesseract.image_to_osd(Image.fromarray(gray), config="--psm 0 --dpi 200")
    except Exception:
        return None
    for line in out.splitlines():
        if line.startswith("Rotate:"):
            return int(line.split(":")[1]) % 360
    return None


def orientation(gray: np.ndarray, judge: UpsideDown | None = None,
                max_lines: int = 12) -> int:
    """Clockwise rotation (0/90/180/270) that makes the page upright (see
    orientation_detail)."""
    return orientation_detail(gray, judge, max_lines)[0]


def orientation_detail(gray: np.ndarray, judge: UpsideDown | None = None,
                       max_lines: int = 12) -> tuple[int, float]:
    """Clockwise rotation (0/90/180/270) that makes the page upright.

    The axis comes from the pixels: text lines (smeared characters) run along
    rows on an upright or upside-down page and along columns on a sideways
    one. Upright versus upside-down is asked of an orientation judge on a few
    text-line crops (default: RapidOCR's 0°/180° line classifier, backed by
    reading the lines both ways when it is unsure; tesseract OSD when
    RapidOCR is unavailable). Returns (rotation, confidence 0..1)."""
    axis, blobs, f = text_axis(gray)
    base = gray if axis == 0 else rotate_quadrant(gray, 90)
    if axis == 90:
        # blob coordinates → the turned copy: (x, y, w, h) → (H-y-h, x, h, w)
        hs = gray.shape[0] * f
        blobs = [(int(hs - y - h), x, h, w) for x, y, w, h in blobs]
    judge = judge or _default_judge()
    if judge is None:
        osd = _osd(gray)
        return (osd, 0.5) if osd is not None else (axis, 0.0)
    blobs = sorted(blobs, key=lambda b: -b[2])[:max_lines]
    crops = []
    for x, y, w, h in blobs:
        pad = h * 0.3
        x0, y0 = int((x - pad) / f), int((y - pad) / f)
        x1, y1 = int((x + w + pad) / f), int((y + h + pad) / f)
        crop = base[max(0, y0):y1, max(0, x0):x1]
        if crop.size:
            crops.append(crop)
    if not crops:
        return axis, 0.0
    probs = list(judge(crops))
    p = float(np.mean(probs)) if probs else 0.5
    flipped = p > 0.5
    # confidence: how far the judges' verdict is from a coin toss
    return (axis + (180 if flipped else 0)) % 360, abs(p - 0.5) * 2


# ------------------------------------------------------------------ deskew


def _profile_score(ink: np.ndarray, angle: float) -> float:
    h, w = ink.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    rot = cv2.warpAffine(ink, m, (w, h), flags=cv2.INTER_NEAREST, borderValue=0)
    prof = rot.sum(axis=1, dtype=np.float64)
    return float(np.sum(np.diff(prof) ** 2))


def _plateau(cands: np.ndarray, scores: list[float]) -> float:
    """The middle of the best-scoring run of angles (angles too close to move a
    pixel score the same)."""
    s = np.asarray(scores)
    top = np.flatnonzero(s >= s.max() * (1 - 1e-9))
    return float(np.round(np.mean(cands[top]), 4))


def skew_angle(gray: np.ndarray, max_angle: float = 5.0) -> float:
    """Skew in degrees (counter-clockwise positive, as cv2.getRotationMatrix2D
    takes it) that levels rows of ink: ruling lines and text lines alike.
    Projection-profile search, coarse then fine."""
    small, f = _small(gray, 1000)
    ink = binarize(small)
    best, step = 0.0, 0.2
    cands = np.arange(-max_angle, max_angle + 1e-6, step)
    best = _plateau(cands, [_profile_score(ink, a) for a in cands])
    # fine search at higher resolution where it matters
    small2, _ = _small(gray, 1800)
    ink2 = binarize(small2) if small2 is not small else ink
    for step in (0.05, 0.02):
        cands = np.arange(best - 5 * step, best + 5 * step + 1e-9, step)
        best = _plateau(cands, [_profile_score(ink2, a) for a in cands])
    return best


def rotate_small(img: np.ndarray, angle: float, border: int | tuple = 255) -> np.ndarray:
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    if img.ndim == 3 and not isinstance(border, tuple):
        border = (border, border, border)
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_CUBIC,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=border)


def deskew(gray: np.ndarray, max_angle: float = 5.0) -> tuple[np.ndarray, float]:
    """Level a page skewed by up to ±max_angle degrees. Returns the levelled
    image and the angle it was turned by (counter-clockwise positive); an image
    within 0.06° of level comes back as it was (at most 2.5 px of drift across
    an A4 page at 300 dpi, which grid detection absorbs)."""
    angle = skew_angle(gray, max_angle)
    if abs(angle) < 0.06:
        return gray, 0.0
    return rotate_small(gray, angle), angle
