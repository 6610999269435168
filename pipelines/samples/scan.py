"""Deterministic scan simulator: a digital PDF becomes what an archive's scanner makes of it.

The OCR path has to be developed and measured on the defects real archive scans
have (skew, pages fed sideways, faint photocopies, red seals over the text, JPEG
blocks, dust, broken ruling lines, 1-bit thresholding).  This module renders a
digital form with pypdfium2 and applies those defects, driven only by a seed:
same inputs, same pixels, same output bytes.

Order of the defects (fixed, like the physical process):

  1. render at ``style.dpi`` (RGB, white page)
  2. broken / faded ruling lines          (the print itself)
     thin strokes (worn toner, a copy of a copy: ``thin_strokes``)
  3. red seal on page 1                   (stamped on the paper)
     -> the page becomes one gray channel unless ``mode == "color"``
  4. paper tone, uneven illumination, toner black level
  5. contrast (faint photocopy: ink pulled towards the paper)
  6. orientation (exact 90/180/270, the page put on the glass sideways)
  7. skew around the centre (fill = paper, faint shadow along the paper edge)
  8. dust specks                          (on the glass)
  9. optical blur
 10. sensor noise
 11. quantisation; ``bitonal``: the scanner's own auto threshold -> mode "1"
 12. JPEG artefacts (gray/colour only); the JPEG bytes ride along in
     ``image.info["shenbao_jpeg"]`` so :func:`write_image_pdf` embeds exactly them.

Conventions: ``rotation`` > 0 turns the content counter-clockwise (OpenCV's sign);
``orientation`` is how far the content is turned *clockwise* in the output, so
``np.rot90(np.asarray(img), k=orientation // 90)`` puts the page upright again.
Every random draw comes from a ``numpy.random.Generator`` seeded from
``(seed, page, stage)``: changing one defect does not reshuffle the others.

CLI: ``python -m pipelines.samples.scan in.pdf out.pdf|out.tif --seed 7 --profile degraded``
"""

from __future__ import annotations

import io
import math
import re
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Sequence

import cv2
import numpy as np
import pypdfium2 as pdfium
from PIL import Image, ImageDraw, ImageFont

from extract import sysdeps

__all__ = [
    "ScanStyle",
    "PROFILES",
    "style_from_seed",
    "scan_pages",
    "write_image_pdf",
    "write_tiff",
    "scan_pdf",
]

PROFILES = ("normal", "low", "degraded", "bitonal", "faint")
MODES = ("gray", "color", "bitonal")
JPEG_INFO_KEY = "shenbao_jpeg"

_MASK64 = (1 << 64) - 1

# stage ids for the per-stage random streams
_ST_LINES, _ST_SEAL, _ST_PAPER, _ST_CONTRAST, _ST_SKEW, _ST_DUST, _ST_NOISE, _ST_BITONAL = range(1, 9)
_ST_THIN = 9

# Used on the seal when the page does not say which unit filed it.
_FALLBACK_UNITS = (
    "上海市财政局",
    "上海市总工会",
    "上海市民政局",
    "上海市教育委员会",
    "上海市徐汇区总工会",
    "上海市卫生健康委员会",
    "上海市绿化和市容管理局",
    "上海市文化和旅游局",
)
_SEAL_BOTTOM = ("财务专用章", "", "", "业务专用章")


@dataclass
class ScanStyle:
    dpi: int  # 150..300
    mode: str  # "gray" | "color" | "bitonal"
    rotation: float  # small skew in degrees, -3..3 (positive = counter-clockwise)
    orientation: int  # 0, 90, 180, 270: content turned clockwise in the output
    noise: float  # gaussian noise sigma (0..25)
    blur: float  # gaussian blur sigma (0..1.2)
    jpeg_quality: int | None  # JPEG artefacts (35..90); None = lossless
    seal: bool  # red round seal on page 1 near 填报单位 or a table border
    contrast: float  # 1.0 normal; 0.4 faint photocopy
    background: int  # paper gray level 235..255
    speckles: int  # number of dust specks
    line_breaks: float  # amount of broken/faded ruling-line segments (0..1)
    thin_strokes: float = 0.0  # strokes eaten away at their edges (0..1; 1 = one pixel off each side)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {self.mode!r}")
        if self.orientation not in (0, 90, 180, 270):
            raise ValueError(f"orientation must be 0/90/180/270, not {self.orientation!r}")
        if not 30 <= int(self.dpi) <= 1200:
            raise ValueError(f"dpi out of range: {self.dpi}")

    def to_dict(self) -> dict:
        return asdict(self)


# --------------------------------------------------------------------------- seeds


def _rng(*keys: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(k) & _MASK64 for k in keys]))


def _profile_key(profile: str) -> int:
    return zlib.crc32(profile.encode("utf-8"))


def style_from_seed(seed: int, profile: str = "normal") -> ScanStyle:
    """A plausible scanner setting for one archived document.

    normal:   200-300 dpi, mostly gray JPEG, mild skew and noise, half with a seal.
    low:      150 dpi, cheaper scanner / lower quality JPEG, more dust and skew.
    degraded: faint photocopies, heavy noise/blur, strong JPEG, broken lines,
              almost always a seal, bitonal in about a third, sideways pages more often.
    bitonal:  the archive's common case: 1-bit scans (Group 4) at 150-200 dpi of
              photocopies, the scanner's threshold set more or less well,
              broken rules and thinned strokes, some pages sideways.
    faint:    gray photocopies of photocopies at 150-200 dpi: ink pulled
              towards the paper, thin strokes, broken rules, JPEG.

    The profiles of the first three draw exactly what they always drew (the
    bench set of bench/RESULTS.md stays the same files).
    """
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, not {profile!r}")
    r = _rng(seed, _profile_key(profile))

    def pick(options, weights):
        w = np.asarray(weights, dtype=float)
        return options[int(r.choice(len(options), p=w / w.sum()))]

    if profile == "normal":
        dpi = int(pick((200, 240, 300), (0.55, 0.15, 0.30)))
        mode = pick(MODES, (0.65, 0.25, 0.10))
        rotation = float(r.uniform(-1.0, 1.0))
        orientation = int(pick((0, 90, 180, 270), (0.91, 0.03, 0.03, 0.03)))
        noise = float(r.uniform(0.4, 2.0))
        blur = float(r.uniform(0.3, 0.7))
        jpeg = int(r.integers(65, 86)) if r.random() < 0.9 else None
        seal = bool(r.random() < 0.5)
        contrast = float(r.uniform(0.85, 1.05))
        background = int(r.integers(243, 256))
        speckles = int(r.integers(0, 16))
        line_breaks = float(r.uniform(0.0, 0.08))
    elif profile == "low":
        dpi = 150
        mode = pick(MODES, (0.55, 0.20, 0.25))
        rotation = float(r.uniform(-2.0, 2.0))
        orientation = int(pick((0, 90, 180, 270), (0.85, 0.05, 0.05, 0.05)))
        noise = float(r.uniform(2.0, 8.0))
        blur = float(r.uniform(0.4, 0.9))
        jpeg = int(r.integers(50, 81))
        seal = bool(r.random() < 0.5)
        contrast = float(r.uniform(0.7, 1.0))
        background = int(r.integers(238, 253))
        speckles = int(r.integers(5, 41))
        line_breaks = float(r.uniform(0.05, 0.25))
    elif profile == "bitonal":
        return _bitonal_style(r, pick)
    elif profile == "faint":
        return _faint_style(r, pick)
    else:  # degraded
        dpi = int(pick((150, 200), (0.5, 0.5)))
        mode = pick(MODES, (0.45, 0.20, 0.35))
        rotation = float(r.uniform(-3.0, 3.0))
        orientation = int(pick((0, 90, 180, 270), (0.70, 0.10, 0.10, 0.10)))
        noise = float(8.0 + 17.0 * r.random() ** 2)  # mostly 8-15, now and then up to 25
        blur = float(r.uniform(0.7, 1.2))
        jpeg = int(r.integers(35, 61))
        seal = bool(r.random() < 0.85)
        contrast = float(r.uniform(0.4, 0.75))
        background = int(r.integers(235, 249))
        speckles = int(r.integers(30, 151))
        line_breaks = float(r.uniform(0.2, 0.6))
    if mode == "bitonal":
        # A 1-bit scan is stored G4, never JPEG; the scanner's threshold stage
        # smooths sensor noise, so very high sigmas do not reach a bitonal page.
        jpeg = None
        noise = min(noise, 12.0)
    return ScanStyle(
        dpi=dpi,
        mode=str(mode),
        rotation=round(rotation, 3),
        orientation=orientation,
        noise=round(noise, 2),
        blur=round(blur, 3),
        jpeg_quality=jpeg,
        seal=seal,
        contrast=round(contrast, 3),
        background=background,
        speckles=speckles,
        line_breaks=round(line_breaks, 3),
    )


def _bitonal_style(r: np.random.Generator, pick) -> ScanStyle:
    return ScanStyle(
        dpi=int(pick((150, 200), (0.45, 0.55))),
        mode="bitonal",
        rotation=round(float(r.uniform(-2.0, 2.0)), 3),
        orientation=int(pick((0, 90, 180, 270), (0.85, 0.05, 0.05, 0.05))),
        noise=round(float(r.uniform(2.0, 9.0)), 2),
        blur=round(float(r.uniform(0.4, 0.9)), 3),
        jpeg_quality=None,  # stored Group 4
        seal=bool(r.random() < 0.5),
        contrast=round(float(r.uniform(0.6, 0.95)), 3),
        background=int(r.integers(238, 252)),
        speckles=int(r.integers(10, 61)),
        line_breaks=round(float(r.uniform(0.1, 0.4)), 3),
        # a bitonal threshold thins strokes itself: worn toner on top of it
        # is kept mild (at 0.35 the 1-px strokes of 150-dpi type are gone,
        # which no reader, human or not, brings back)
        thin_strokes=round(float(r.uniform(0.0, 0.2)), 3),
    )


def _faint_style(r: np.random.Generator, pick) -> ScanStyle:
    return ScanStyle(
        dpi=int(pick((150, 200), (0.5, 0.5))),
        mode=str(pick(("gray", "color"), (0.8, 0.2))),
        rotation=round(float(r.uniform(-2.0, 2.0)), 3),
        orientation=int(pick((0, 90, 180, 270), (0.85, 0.05, 0.05, 0.05))),
        noise=round(float(r.uniform(3.0, 10.0)), 2),
        blur=round(float(r.uniform(0.5, 1.0)), 3),
        jpeg_quality=int(r.integers(50, 76)),
        seal=bool(r.random() < 0.6),
        contrast=round(float(r.uniform(0.4, 0.55)), 3),
        background=int(r.integers(236, 250)),
        speckles=int(r.integers(20, 81)),
        line_breaks=round(float(r.uniform(0.2, 0.5)), 3),
        thin_strokes=round(float(r.uniform(0.1, 0.4)), 3),
    )


# --------------------------------------------------------------------------- helpers


def _thin(rgb: np.ndarray, amount: float, rng: np.random.Generator) -> np.ndarray:
    """Strokes eaten away at their edges, unevenly (worn toner, a copy of a
    copy): the page blended towards its 3×3 maximum (paper grows into ink)."""
    if amount <= 0:
        return rgb
    h, w = rgb.shape[:2]
    eaten = cv2.dilate(rgb, np.ones((3, 3), np.uint8))
    k = np.clip(amount * (1.0 + 0.5 * _lowfreq(rng, h, w, 6)), 0.0, 1.0)[..., None]
    out = rgb.astype(np.float32) + (eaten.astype(np.float32) - rgb) * k
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _lowfreq(rng: np.random.Generator, h: int, w: int, cells: int = 4) -> np.ndarray:
    """Smooth random field in about [-1, 1] (paper tone, illumination, ink density)."""
    gy = max(2, int(round(cells * h / max(h, w))) + 1)
    gx = max(2, int(round(cells * w / max(h, w))) + 1)
    g = rng.standard_normal((gy, gx)).astype(np.float32)
    f = cv2.resize(g, (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(f / 2.0, -1.0, 1.0)


def _render(page: pdfium.PdfPage, dpi: int) -> np.ndarray:
    bitmap = page.render(scale=dpi / 72.0, fill_color=(255, 255, 255, 255), may_draw_forms=True)
    try:
        a = np.array(bitmap.to_pil().convert("RGB"), dtype=np.uint8)
    finally:
        bitmap.close()
    # pdfium rounds the pixel size up; keep round(points * dpi / 72) so the page
    # size written back from the dpi matches the original within half a pixel
    w_pt, h_pt = page.get_size()
    w, h = max(1, int(round(w_pt * dpi / 72.0))), max(1, int(round(h_pt * dpi / 72.0)))
    return np.ascontiguousarray(a[:h, :w])


# --------------------------------------------------------------------------- ruling lines


def _ruling_masks(gray: np.ndarray, dpi: int) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal and vertical long dark runs (table rules) as uint8 masks."""
    dark = (gray < 170).astype(np.uint8)
    klen = max(25, int(round(dpi * 0.35)))  # longer than any character stroke
    hk = cv2.getStructuringElement(cv2.MORPH_RECT, (klen, 1))
    vk = cv2.getStructuringElement(cv2.MORPH_RECT, (1, klen))
    return cv2.morphologyEx(dark, cv2.MORPH_OPEN, hk), cv2.morphologyEx(dark, cv2.MORPH_OPEN, vk)


def _break_lines(rgb: np.ndarray, amount: float, dpi: int, rng: np.random.Generator) -> np.ndarray:
    """Erase (or fade) short gaps at random points along the ruling lines."""
    if amount <= 0:
        return rgb
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    hmask, vmask = _ruling_masks(gray, dpi)
    h, w = gray.shape
    erase = np.zeros((h, w), np.float32)
    spacing = dpi * 0.3  # one gap per ~0.3 inch of rule at amount == 1
    scale = dpi / 200.0
    k3 = np.ones((3, 3), np.uint8)
    for mask, horizontal in ((hmask, True), (vmask, False)):
        ys, xs = np.nonzero(mask)
        if len(ys) == 0:
            continue
        grown = cv2.dilate(mask, k3).astype(np.float32)  # include the anti-aliased fringe
        n = int(min(rng.poisson(amount * len(ys) / (2.0 * spacing)), 20000))
        if n == 0:
            continue
        idx = rng.integers(0, len(ys), size=n)
        gaps = np.maximum(2, np.round(rng.integers(2, 9, size=n) * scale)).astype(int)
        # mostly fully broken, some only faded (worn toner)
        strength = np.where(rng.random(n) < 0.7, rng.uniform(0.85, 1.0, n), rng.uniform(0.35, 0.7, n))
        half_t = max(3, int(round(4 * scale)))
        for i in range(n):
            y, x, g, s = int(ys[idx[i]]), int(xs[idx[i]]), int(gaps[i]), float(strength[i])
            if horizontal:
                y0, y1, x0, x1 = y - half_t, y + half_t + 1, x - g // 2, x - g // 2 + g
            else:
                y0, y1, x0, x1 = y - g // 2, y - g // 2 + g, x - half_t, x + half_t + 1
            y0, x0 = max(0, y0), max(0, x0)
            y1, x1 = min(h, y1), min(w, x1)
            if y1 <= y0 or x1 <= x0:
                continue
            np.maximum(erase[y0:y1, x0:x1], s * grown[y0:y1, x0:x1], out=erase[y0:y1, x0:x1])
    if not erase.any():
        return rgb
    erase = cv2.GaussianBlur(erase, (0, 0), 0.6 * scale)
    out = rgb.astype(np.float32)
    out += (255.0 - out) * erase[..., None]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- seal


def _seal_mask(diameter: float, name: str, bottom: str, rng: np.random.Generator) -> np.ndarray:
    """Ink coverage (float32 0..1) of a round official seal: ring, star, arc text."""
    ss = 3  # supersampling
    D = diameter * ss
    size = int(math.ceil(D * 1.12)) + 4
    c = size / 2.0
    R = D / 2.0
    im = Image.new("L", (size, size), 0)
    d = ImageDraw.Draw(im)
    ring = max(2 * ss, int(round(D * rng.uniform(0.03, 0.042))))
    d.ellipse([c - R, c - R, c + R, c + R], outline=255, width=ring)
    # five-pointed star in the centre
    rs = R * rng.uniform(0.3, 0.36)
    ri = rs * 0.382
    pts = []
    for k in range(10):
        r = rs if k % 2 == 0 else ri
        a = k * math.pi / 5
        pts.append((c + r * math.sin(a), c - r * math.cos(a)))
    d.polygon(pts, fill=255)
    # unit name along the upper arc, characters standing outward
    name = name[:18] or "财政局"
    n = len(name)
    fs = R * 0.34
    r_text = R - ring - fs * 0.62
    span_max = 250.0
    if n > 1:
        step = math.degrees(fs * 1.08 / r_text)
        if step * (n - 1) > span_max:  # long names: smaller characters, closer together
            fs = fs * max(0.62, span_max / (step * (n - 1)))
            r_text = R - ring - fs * 0.62
            step = min(math.degrees(fs * 1.08 / r_text), span_max / (n - 1))
        span = step * (n - 1)
    else:
        span = 0.0
    font = ImageFont.truetype(sysdeps.font_path("wqy-zenhei"), max(6, int(round(fs))), index=0)
    layer = np.zeros((size, size), np.uint8)
    gsz = int(math.ceil(fs * 1.6))
    for i, ch in enumerate(name):
        theta = -span / 2 + (span * i / (n - 1) if n > 1 else 0.0)
        glyph = Image.new("L", (gsz, gsz), 0)
        ImageDraw.Draw(glyph).text((gsz / 2, gsz / 2), ch, fill=255, font=font, anchor="mm")
        rot = glyph.rotate(-theta, resample=Image.BICUBIC, expand=True)
        t = math.radians(theta)
        cx, cy = c + r_text * math.sin(t), c - r_text * math.cos(t)
        x0, y0 = int(round(cx - rot.width / 2)), int(round(cy - rot.height / 2))
        g = np.asarray(rot)
        gx0, gy0 = max(0, -x0), max(0, -y0)
        x0c, y0c = max(0, x0), max(0, y0)
        x1c, y1c = min(size, x0 + rot.width), min(size, y0 + rot.height)
        if x1c > x0c and y1c > y0c:
            sub = g[gy0 : gy0 + (y1c - y0c), gx0 : gx0 + (x1c - x0c)]
            np.maximum(layer[y0c:y1c, x0c:x1c], sub, out=layer[y0c:y1c, x0c:x1c])
    if bottom:
        bf = ImageFont.truetype(sysdeps.font_path("wqy-zenhei"), max(6, int(round(R * 0.2))), index=0)
        d.text((c, c + R * 0.56), bottom, fill=255, font=bf, anchor="mm")
    # seal characters are cut bold; the sans font is thin, so fatten its strokes
    k = max(3, int(round(fs * 0.07)) | 1)
    layer = cv2.dilate(layer, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    m = np.maximum(np.asarray(im), layer)
    # stamped at an angle, never quite straight
    im = Image.fromarray(m).rotate(float(rng.uniform(-30, 30)), resample=Image.BICUBIC)
    out_size = max(8, int(round(size / ss)))
    m = np.asarray(im.resize((out_size, out_size), Image.BOX), dtype=np.float32) / 255.0
    # uneven ink: pressure gradient, blotchy density, spots where no ink transferred
    h = w = out_size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a = rng.uniform(0, 2 * math.pi)
    grad = ((xx - w / 2) * math.cos(a) + (yy - h / 2) * math.sin(a)) / (w / 2)
    density = rng.uniform(0.72, 0.95) + 0.15 * _lowfreq(rng, h, w, 3) + rng.uniform(0.1, 0.28) * grad
    fine = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), 1.3)
    holes = fine > np.quantile(fine, 1.0 - rng.uniform(0.04, 0.12))
    density = np.where(holes, density * rng.uniform(0.15, 0.45), density)
    m = m * np.clip(density, 0.12, 1.0)
    return cv2.GaussianBlur(m, (0, 0), 0.45).astype(np.float32)


def _unit_and_anchor(page: pdfium.PdfPage, dpi: int) -> tuple[str | None, tuple[float, float, float, float] | None]:
    """The filing unit's name and the pixel box of the 填报单位 label, from the text layer."""
    try:
        tp = page.get_textpage()
    except Exception:  # noqa: BLE001 - an image-only page simply has no label
        return None, None
    try:
        text = tp.get_text_range() or ""
        name = None
        m = re.search(r"填报单位\s*[（(]?\s*(?:盖\s*章|公\s*章)?\s*[)）]?\s*[:：][ \t\u3000]*([^\s:：（(]{2,30})", text)
        if m and not re.search(r"填报|日期|时间", m.group(1)):
            name = m.group(1).strip()
        box = None
        if page.get_rotation() == 0:
            searcher = tp.search("填报单位")
            hit = searcher.get_next()
            searcher.close()
            if hit:
                idx, count = hit
                boxes = [tp.get_charbox(i) for i in range(idx, idx + count)]
                _, page_h = page.get_size()
                s = dpi / 72.0
                l, r = min(b[0] for b in boxes), max(b[2] for b in boxes)
                bottom, top = min(b[1] for b in boxes), max(b[3] for b in boxes)
                box = (l * s, (page_h - top) * s, r * s, (page_h - bottom) * s)
        return name, box
    finally:
        tp.close()


def _seal_centre(
    rgb: np.ndarray, anchor, diameter: float, dpi: int, rng: np.random.Generator
) -> tuple[float, float]:
    h, w = rgb.shape[:2]
    if anchor is not None and rng.random() < 0.8:  # now and then stamped on the table instead
        x0, y0, x1, y1 = anchor
        # over the unit's name, just right of the label, half on the line's text
        cx = x1 + diameter * rng.uniform(0.5, 1.7)
        cy = (y0 + y1) / 2 + diameter * rng.uniform(-0.25, 0.25)
    else:
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        hmask, vmask = _ruling_masks(gray, dpi)
        lines = cv2.bitwise_or(hmask, vmask)
        ys, xs = np.nonzero(lines[: int(h * 0.75)])
        if len(ys):
            i = int(rng.integers(0, len(ys)))
            cx = xs[i] + diameter * rng.uniform(-0.2, 0.2)
            cy = ys[i] + diameter * rng.uniform(-0.2, 0.2)
        else:
            cx = w * rng.uniform(0.3, 0.7)
            cy = h * rng.uniform(0.1, 0.4)
    r = diameter / 2
    return float(np.clip(cx, r, w - r)), float(np.clip(cy, r, h - r))


def _apply_seal(rgb: np.ndarray, page: pdfium.PdfPage, dpi: int, rng: np.random.Generator) -> np.ndarray:
    name, anchor = _unit_and_anchor(page, dpi)
    if not name or len(name) < 2:
        name = _FALLBACK_UNITS[int(rng.integers(0, len(_FALLBACK_UNITS)))]
    name = re.sub(r"[（(].*$", "", name) or name
    bottom = _SEAL_BOTTOM[int(rng.integers(0, len(_SEAL_BOTTOM)))]
    diameter = rng.uniform(120, 160) * dpi / 200.0
    mask = _seal_mask(diameter, name, bottom, rng)
    cx, cy = _seal_centre(rgb, anchor, diameter, dpi, rng)
    h, w = rgb.shape[:2]
    sz = mask.shape[0]
    x0, y0 = int(round(cx - sz / 2)), int(round(cy - sz / 2))
    mx0, my0 = max(0, -x0), max(0, -y0)
    x0c, y0c, x1c, y1c = max(0, x0), max(0, y0), min(w, x0 + sz), min(h, y0 + sz)
    if x1c <= x0c or y1c <= y0c:
        return rgb
    a = mask[my0 : my0 + (y1c - y0c), mx0 : mx0 + (x1c - x0c)][..., None]
    # red stamp ink as a filter over paper and toner (multiply: toner stays black)
    ink = np.array([rng.uniform(205, 232), rng.uniform(28, 55), rng.uniform(35, 62)], np.float32) / 255.0
    out = rgb.astype(np.float32)
    region = out[y0c:y1c, x0c:x1c]
    region *= 1.0 - a * (1.0 - ink)
    return out


# --------------------------------------------------------------------------- the page


def _scan_page(page: pdfium.PdfPage, index: int, style: ScanStyle, seed: int) -> Image.Image:
    dpi = int(style.dpi)
    rgb = _render(page, dpi)  # uint8 HxWx3, white paper
    # 2. broken ruling lines
    if style.line_breaks > 0:
        rgb = _break_lines(rgb, float(style.line_breaks), dpi, _rng(seed, index, _ST_LINES))
    if style.thin_strokes > 0:
        rgb = _thin(rgb, float(style.thin_strokes), _rng(seed, index, _ST_THIN))
    # 3. seal on the first page
    img = rgb.astype(np.float32)
    if style.seal and index == 0:
        img = _apply_seal(rgb, page, dpi, _rng(seed, index, _ST_SEAL))
    color = style.mode == "color"
    if not color:
        img = img @ np.array([0.299, 0.587, 0.114], np.float32)  # luminance, like a gray CCD
    h, w = img.shape[:2]
    # 4. paper tone, illumination, toner black
    pr = _rng(seed, index, _ST_PAPER)
    bg = float(np.clip(style.background, 0, 255))
    paper = bg + pr.uniform(1.0, 3.0) * _lowfreq(pr, h, w, 4)
    # darker towards one long edge (lid shading / book curvature), a few levels
    side = np.linspace(0.0, 1.0, w, dtype=np.float32) ** 6
    if pr.random() < 0.5:
        side = side[::-1]
    paper = paper - pr.uniform(0.0, 5.0) * side[None, :]
    black = float(pr.uniform(16.0, 38.0))
    tint = np.array([0.0, pr.uniform(0.5, 2.0), pr.uniform(2.0, 6.0)], np.float32)  # warm paper
    if color:
        paper3 = paper[..., None] - tint
        img = black + (paper3 - black) * (img / 255.0)
    else:
        img = black + (paper - black) * (img / 255.0)
    # 5. contrast: ink pulled towards the paper (faint photocopy), a bit uneven
    if abs(style.contrast - 1.0) > 1e-6:
        cr = _rng(seed, index, _ST_CONTRAST)
        k = float(style.contrast)
        if k < 1.0:
            k = k * (1.0 + 0.1 * (1.0 - k) * _lowfreq(cr, h, w, 5))
        ref = paper[..., None] - tint if color else paper
        if not np.isscalar(k) and color:
            k = k[..., None]
        img = ref - (ref - img) * k
    # 6. orientation: exact quarter turns, clockwise
    if style.orientation:
        img = np.ascontiguousarray(np.rot90(img, k=-(style.orientation // 90)))
        h, w = img.shape[:2]
    # 7. skew around the centre, paper colour outside; faint shadow along the paper edge
    if abs(style.rotation) > 1e-3:
        sr = _rng(seed, index, _ST_SKEW)
        M = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), float(style.rotation), 1.0)
        fill = (bg - tint).tolist() if color else bg
        if color:
            img = cv2.warpAffine(img, M, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                                 borderValue=tuple(float(v) for v in fill))
        else:
            img = cv2.warpAffine(img, M, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                                 borderValue=float(fill))
        inside = cv2.warpAffine(np.ones((h, w), np.float32), M, (w, h), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
        outside = (inside < 0.5).astype(np.uint8)
        rim = cv2.dilate(outside, np.ones((3, 3), np.uint8)) - outside  # paper pixels on the edge
        shadow = cv2.GaussianBlur(rim.astype(np.float32), (0, 0), 0.9) * float(sr.uniform(10.0, 30.0))
        img = img - (shadow[..., None] if color else shadow)
    # 8. dust on the glass
    if style.speckles > 0:
        img = _dust(img, int(style.speckles), dpi, _rng(seed, index, _ST_DUST))
    # 9. optics
    if style.blur > 0.05:
        img = cv2.GaussianBlur(img, (0, 0), float(style.blur))
    # 10. sensor noise: grain of 1-2 px (scanner electronics and paper fibre are not
    # pixel-white), luminance plus a little chroma; ``noise`` is the total sigma
    if style.noise > 0:
        nr = _rng(seed, index, _ST_NOISE)
        sig = np.float32(style.noise)
        n = _grain(nr, (h, w), dpi) * sig
        if color:
            chroma = nr.standard_normal((h, w, 3), dtype=np.float32) * (sig * np.float32(0.3))
            img = img + n[..., None] + chroma
        else:
            img = img + n
    # 11. quantise
    u8 = np.clip(img + 0.5, 0, 255).astype(np.uint8)
    if style.mode == "bitonal":
        out = _bitonal(u8, dpi, _rng(seed, index, _ST_BITONAL), min(1.0, float(style.contrast)))
    else:
        out = Image.fromarray(u8, "RGB" if color else "L")
        # 12. JPEG
        if style.jpeg_quality is not None:
            out = _jpeg(out, int(style.jpeg_quality), dpi)
    out.info["dpi"] = (dpi, dpi)
    return out


def _grain(rng: np.random.Generator, shape: tuple[int, int], dpi: int) -> np.ndarray:
    """Unit-variance noise, part pixel-white and part correlated over ~1 px at 200 dpi."""
    white = rng.standard_normal(shape, dtype=np.float32)
    s = max(0.5, 0.7 * dpi / 200.0)
    corr = cv2.GaussianBlur(rng.standard_normal(shape, dtype=np.float32), (0, 0), s)
    corr *= np.float32(2.0 * math.sqrt(math.pi) * s)  # back to unit variance
    return np.float32(0.85) * white + np.float32(0.527) * corr


def _dust(img: np.ndarray, count: int, dpi: int, rng: np.random.Generator) -> np.ndarray:
    """Dark specks and the odd hair/fibre, antialiased, on the scanner glass."""
    img = np.array(img, dtype=np.float32, copy=True)
    h, w = img.shape[:2]
    scale = dpi / 200.0
    sub = 4  # subpixel bits for cv2 drawing
    one = 1 << sub
    for _ in range(count):
        x, y = float(rng.uniform(0, w)), float(rng.uniform(0, h))
        if rng.random() < 0.93:  # speck: mostly tiny, a few bigger blobs
            level = float(rng.uniform(20, 150))
            r = min((0.5 + rng.pareto(2.5) * 0.9) * scale, 5.0 * scale)
            ry = r * rng.uniform(0.5, 1.0)
            ang = float(rng.uniform(0, 180))
            pad = int(math.ceil(r)) + 2
            x0, y0 = int(x) - pad, int(y) - pad
            patch = np.zeros((2 * pad + 1, 2 * pad + 1), np.uint8)
            cv2.ellipse(patch, (int((x - x0) * one), int((y - y0) * one)),
                        (max(1, int(round(r * one))), max(1, int(round(ry * one)))), ang,
                        0, 360, 255, -1, cv2.LINE_AA, sub)
        else:  # hair / fibre: a thin, curling, lighter stroke
            level = float(rng.uniform(80, 170))
            length = rng.uniform(20, 80) * scale
            a0 = rng.uniform(0, 2 * math.pi)
            bend = rng.uniform(-2.5, 2.5)
            wiggle = rng.uniform(-0.6, 0.6)
            t = np.linspace(0.0, 1.0, 24)
            ang = a0 + bend * t + wiggle * np.sin(t * math.pi * 2)
            step = length / (len(t) - 1)
            px = x + np.concatenate([[0.0], np.cumsum(np.cos(ang[:-1]) * step)])
            py = y + np.concatenate([[0.0], np.cumsum(np.sin(ang[:-1]) * step)])
            x0, y0 = int(px.min()) - 2, int(py.min()) - 2
            patch = np.zeros((int(py.max()) - y0 + 3, int(px.max()) - x0 + 3), np.uint8)
            pts = np.stack([(px - x0) * one, (py - y0) * one], axis=1).astype(np.int32)
            cv2.polylines(patch, [pts], False, 255, 1, cv2.LINE_AA, sub)
        # clip the patch to the page and composite: dust only darkens
        ph, pw = patch.shape
        cx0, cy0 = max(0, x0), max(0, y0)
        cx1, cy1 = min(w, x0 + pw), min(h, y0 + ph)
        if cx1 <= cx0 or cy1 <= cy0:
            continue
        a = patch[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0].astype(np.float32) / 255.0
        region = img[cy0:cy1, cx0:cx1]
        if img.ndim == 3:
            a = a[..., None]
        region += (np.minimum(region, level) - region) * a
    return img


def _bitonal(u8: np.ndarray, dpi: int, rng: np.random.Generator, faintness: float = 1.0) -> Image.Image:
    """A scanner's 1-bit mode: smooth a little, auto threshold between paper and ink."""
    g = cv2.GaussianBlur(u8, (0, 0), 0.6 * dpi / 200.0)
    probe = g[::3, ::3]
    paper = float(np.percentile(probe, 60))
    ink = float(np.percentile(probe, 0.4))
    if paper - ink < 30:  # blank page
        thr = paper - 40
    else:
        # a well-set scanner cuts half-way; on faint originals the setting is
        # often off: too low breaks strokes, too high bloats them and keeps grime
        spread = 0.06 + 0.35 * max(0.0, 1.0 - faintness)
        thr = ink + (paper - ink) * float(np.clip(0.52 + rng.uniform(-spread, spread), 0.2, 0.8))
    return Image.fromarray(g > thr)  # True = white; mode "1"


def _jpeg(im: Image.Image, quality: int, dpi: int) -> Image.Image:
    buf = io.BytesIO()
    kw = {"subsampling": 2} if im.mode == "RGB" else {}
    im.save(buf, "JPEG", quality=int(quality), dpi=(dpi, dpi), **kw)
    data = buf.getvalue()
    out = Image.open(io.BytesIO(data))
    out.load()
    out.info[JPEG_INFO_KEY] = data
    return out


# --------------------------------------------------------------------------- API


def scan_pages(pdf_path, style: ScanStyle, seed: int) -> list[Image.Image]:
    """Render every page of ``pdf_path`` at ``style.dpi`` and scan it with ``style``'s defects.

    Returns PIL images: mode "L" (gray), "RGB" (color) or "1" (bitonal), with
    ``info["dpi"]`` set and, for JPEG-degraded pages, the JPEG bytes in
    ``info["shenbao_jpeg"]``.
    """
    pdf = pdfium.PdfDocument(str(pdf_path))
    try:
        pages = []
        for i in range(len(pdf)):
            page = pdf[i]
            try:
                pages.append(_scan_page(page, i, style, int(seed)))
            finally:
                page.close()
        return pages
    finally:
        pdf.close()


def _pdf_obj(num: int, body: bytes) -> bytes:
    return b"%d 0 obj\n" % num + body + b"\nendobj\n"


def _g4_strip(im: Image.Image) -> bytes:
    """CCITT Group 4 data of a mode "1" image (the single strip of a G4 TIFF)."""
    buf = io.BytesIO()
    w, h = im.size
    im.save(buf, "TIFF", compression="group4", strip_size=math.ceil(w / 8) * h)
    tif = Image.open(io.BytesIO(buf.getvalue()))
    offsets, counts = tif.tag_v2[273], tif.tag_v2[279]
    if isinstance(offsets, int):
        offsets, counts = (offsets,), (counts,)
    if len(offsets) != 1:
        raise RuntimeError("expected a single G4 strip")
    data = buf.getvalue()
    return data[offsets[0] : offsets[0] + counts[0]]


def _png_up(arr: np.ndarray) -> bytes:
    """Rows with PNG 'Up' filter bytes, for /FlateDecode /Predictor 12."""
    a = arr.reshape(arr.shape[0], -1)
    diff = a.copy()
    diff[1:] = a[1:] - a[:-1]  # uint8 wraps like PNG
    rows = np.empty((a.shape[0], a.shape[1] + 1), np.uint8)
    rows[:, 0] = 2
    rows[:, 1:] = diff
    return rows.tobytes()


def _image_xobject(im: Image.Image) -> tuple[bytes, bytes]:
    """(dictionary entries, stream data) for one page image."""
    w, h = im.size
    if im.mode == "1":
        data = _g4_strip(im)
        d = (
            b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 1 "
            b"/Filter /CCITTFaxDecode /DecodeParms << /K -1 /Columns %d /Rows %d /BlackIs1 true >>" % (w, h, w, h)
        )
        return d, data
    if im.mode not in ("L", "RGB"):
        im = im.convert("RGB" if im.mode in ("RGBA", "P", "CMYK", "LA") else "L")
    cs = b"/DeviceRGB" if im.mode == "RGB" else b"/DeviceGray"
    jpeg = im.info.get(JPEG_INFO_KEY)
    if jpeg is not None:
        try:
            probe = Image.open(io.BytesIO(jpeg))
            ok = probe.size == im.size and probe.mode == im.mode
        except Exception:  # noqa: BLE001
            ok = False
        if ok:
            d = b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace %s /BitsPerComponent 8 " \
                b"/Filter /DCTDecode" % (w, h, cs)
            return d, jpeg
    colors = 3 if im.mode == "RGB" else 1
    data = zlib.compress(_png_up(np.asarray(im, dtype=np.uint8)), 6)
    d = (
        b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace %s /BitsPerComponent 8 "
        b"/Filter /FlateDecode /DecodeParms << /Predictor 12 /Colors %d /BitsPerComponent 8 /Columns %d >>"
        % (w, h, cs, colors, w)
    )
    return d, data


def write_image_pdf(images: Sequence[Image.Image], out_path, dpi) -> None:
    """An image-only PDF (no text layer), one image per page, page size = pixels / dpi.

    Bitonal pages are stored 1-bit CCITT G4; pages carrying their scan JPEG embed
    exactly those bytes; other gray/colour pages are Flate (lossless).  No dates
    or ids: the bytes depend only on the images.
    """
    images = list(images)
    if not images:
        raise ValueError("no pages")
    dpi = float(dpi)
    n = len(images)
    objs: list[bytes] = []
    # 1 catalog, 2 pages, 3 info, then per page: page, content, image
    kids = b" ".join(b"%d 0 R" % (4 + 3 * i) for i in range(n))
    objs.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objs.append(b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, n))
    objs.append(b"<< /Producer (shenbao scan simulator) >>")
    for i, im in enumerate(images):
        w, h = im.size
        pw, ph = w * 72.0 / dpi, h * 72.0 / dpi
        pnum = 4 + 3 * i
        fw, fh = (b"%.4f" % pw).rstrip(b"0").rstrip(b"."), (b"%.4f" % ph).rstrip(b"0").rstrip(b".")
        content = b"q %s 0 0 %s 0 0 cm /Im0 Do Q" % (fw, fh)
        objs.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %s %s] /Resources << /XObject << /Im0 %d 0 R >> "
            b"/ProcSet [/PDF /ImageB /ImageC] >> /Contents %d 0 R >>" % (fw, fh, pnum + 2, pnum + 1)
        )
        objs.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        d, data = _image_xobject(im)
        objs.append(b"<< " + d + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for k, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += _pdf_obj(k, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 3 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    Path(out_path).write_bytes(bytes(out))


def write_tiff(images: Sequence[Image.Image], out_path, dpi) -> None:
    """Multi-page TIFF: Group 4 when every page is bitonal, otherwise Deflate; dpi tags set."""
    images = list(images)
    if not images:
        raise ValueError("no pages")
    ims = []
    for im in images:
        if im.mode not in ("1", "L", "RGB"):
            im = im.convert("RGB" if im.mode in ("RGBA", "P", "CMYK", "LA") else "L")
        ims.append(im)
    d = int(round(float(dpi)))
    if all(im.mode == "1" for im in ims):
        kw = {"compression": "group4"}
    elif all(JPEG_INFO_KEY in im.info for im in images):
        # pages that went through JPEG stay JPEG-compressed, as scanners write them
        kw = {"compression": "jpeg", "quality": 90}
    else:  # Deflate with horizontal differencing (TIFF predictor 2)
        kw = {"compression": "tiff_adobe_deflate", "tiffinfo": {317: 2}}
    ims[0].save(str(out_path), "TIFF", save_all=True, append_images=ims[1:], dpi=(d, d), **kw)


def scan_pdf(pdf_path, out_path, style: ScanStyle, seed: int) -> None:
    """Scan ``pdf_path`` and write an image-only ``.pdf`` or a multi-page ``.tif``/``.tiff``."""
    ext = Path(out_path).suffix.lower()
    if ext not in (".pdf", ".tif", ".tiff"):
        raise ValueError(f"output must be .pdf, .tif or .tiff, not {ext!r}")
    images = scan_pages(pdf_path, style, seed)
    if ext == ".pdf":
        write_image_pdf(images, out_path, style.dpi)
    else:
        write_tiff(images, out_path, style.dpi)


def main(argv: Iterable[str] | None = None) -> int:
    import argparse
    import json

    ap = argparse.ArgumentParser(description="Simulate an archive scan of a digital PDF.")
    ap.add_argument("pdf")
    ap.add_argument("out", help=".pdf or .tif/.tiff")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--profile", choices=PROFILES, default="normal")
    a = ap.parse_args(list(argv) if argv is not None else None)
    style = style_from_seed(a.seed, a.profile)
    scan_pdf(a.pdf, a.out, style, a.seed)
    print(json.dumps(style.to_dict(), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
