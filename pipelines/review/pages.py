"""Page images for the station, rendered from the source file on demand and
kept in memory (least recently used first out).

Boxes in a record are in PDF points of the page as it was read (top-left
origin). A text page is the PDF page itself; an image page (a scan, or a PDF
page read by OCR) was turned upright by `rotation` and levelled by a small
deskew before it was read, so the image shown is turned and levelled the same
way (extract.image.preprocess) and scaled to the page's size in points: a box
then lands where the value was read.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from extract.document import sniff

ZOOM = 2.0  # image pixels per PDF point (144 dpi): sharp enough to read a zoomed cell
MAX_PIXELS = 40_000_000  # a page image is never larger than this, whatever its size in points
MAX_SOURCE_PIXELS = 200_000_000  # as extraction's --max-pixels default
CROP_PAD = 6.0  # points around a box in a group-view crop


class RenderError(Exception):
    pass


def _zoom(width: float, height: float) -> float:
    z = ZOOM
    if width * height * z * z > MAX_PIXELS:
        z = (MAX_PIXELS / (width * height)) ** 0.5
    return z


def render_page(path: Path, size: dict, zoom: float | None = None):
    """The page `size["page"]` of the file as a PIL image of the page's size in
    points × zoom, in the frame its boxes were measured in."""
    from PIL import Image

    from extract.image import preprocess as pp

    number = int(size["page"])
    w_pt, h_pt = float(size["width"]), float(size["height"])
    if not (0 < w_pt < 20_000 and 0 < h_pt < 20_000):
        raise RenderError(f"page {number} has an impossible size {w_pt}×{h_pt} pt")
    z = zoom or _zoom(w_pt, h_pt)
    target = (max(1, round(w_pt * z)), max(1, round(h_pt * z)))
    rotation = int(size.get("rotation") or 0) % 360
    image_page = size.get("kind") != "text"
    with open(path, "rb") as f:
        kind = sniff(f.read(2048))
    if kind == "pdf":
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(str(path))
        try:
            if not 1 <= number <= len(pdf):
                raise RenderError(f"the file has no page {number}")
            page = pdf[number - 1]
            try:
                pw, ph = page.get_size()
                upright = (ph, pw) if rotation in (90, 270) else (pw, ph)
                scale = min(target[0] / max(upright[0], 1), target[1] / max(upright[1], 1)) \
                    if image_page else z
                img = page.render(scale=scale, grayscale=False).to_pil()
            finally:
                page.close()
        finally:
            pdf.close()
    elif kind in ("tiff", "png", "jpeg"):
        Image.MAX_IMAGE_PIXELS = None  # checked here, from the header, before decoding
        with Image.open(path) as src:
            n = getattr(src, "n_frames", 1)
            if not 1 <= number <= n:
                raise RenderError(f"the file has no page {number}")
            src.seek(number - 1)
            if src.size[0] * src.size[1] > MAX_SOURCE_PIXELS:
                raise RenderError(f"page {number} has too many pixels ({src.size[0]}×{src.size[1]})")
            frame = src.convert("RGB") if src.mode not in ("1", "L", "RGB") else src.copy()
        if frame.mode == "1":
            frame = frame.convert("L")
        pre = (target[1], target[0]) if rotation in (90, 270) else target
        img = frame.resize(pre, Image.Resampling.LANCZOS) if frame.size != pre else frame
        image_page = True
    else:
        raise RenderError("the source is not a PDF, TIFF, PNG or JPEG")
    if not image_page:
        img = img.convert("RGB")
        return img.resize(target, Image.Resampling.LANCZOS) if img.size != target else img
    arr = pp.to_array(img)
    arr = pp.rotate_quadrant(arr, rotation)
    gray = pp.remove_red(arr) if arr.ndim == 3 else arr
    angle = pp.skew_angle(gray)
    if abs(angle) >= 0.06:  # as pp.deskew: nearly level pages are left as they are
        arr = pp.rotate_small(arr, angle)
    if arr.ndim == 3 and not pp.is_colour(arr):
        arr = pp.to_gray(arr)
    out = Image.fromarray(arr if arr.ndim == 2 else arr[:, :, ::-1].copy())
    return out.resize(target, Image.Resampling.LANCZOS) if out.size != target else out


def to_png(img) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", compress_level=1)
    return buf.getvalue()


class Pages:
    """Rendered pages (PNG bytes and a few decoded images), keyed by the
    input's sha256 and the page number."""

    def __init__(self, sources, max_bytes: int = 384 << 20, max_images: int = 6):
        self.sources = sources
        self.max_bytes, self.max_images = max_bytes, max_images
        self._png: OrderedDict = OrderedDict()
        self._img: OrderedDict = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._render_lock = threading.Lock()  # pdfium is not thread-safe; one render at a time
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="station-warm")
        self.renders = 0  # pages rendered (not served from the cache)

    def _get(self, cache: OrderedDict, key):
        with self._lock:
            if key in cache:
                cache.move_to_end(key)
                return cache[key]
        return None

    def _put_png(self, key, data: bytes) -> None:
        with self._lock:
            if key in self._png:
                return
            self._png[key] = data
            self._bytes += len(data)
            while self._bytes > self.max_bytes and len(self._png) > 1:
                _, old = self._png.popitem(last=False)
                self._bytes -= len(old)

    def cached(self, summary, page: int) -> bool:
        return self._get(self._png, (summary.source.get("sha256"), page)) is not None

    def image(self, summary, page: int):
        key = (summary.source.get("sha256"), page)
        img = self._get(self._img, key)
        if img is not None:
            return img
        size = summary.page_size(page)
        if size is None:
            raise RenderError(f"the record has no page {page}")
        path = self.sources.resolve(summary.source)
        with self._render_lock:
            img = self._get(self._img, key)  # rendered while this one waited
            if img is not None:
                return img
            try:
                img = render_page(path, size)
            except RenderError:
                raise
            except Exception as exc:  # a damaged file: an error for this page only
                raise RenderError(f"page {page} cannot be rendered ({type(exc).__name__}: {exc})") from exc
            self.renders += 1
            with self._lock:
                self._img[key] = img
                while len(self._img) > self.max_images:
                    self._img.popitem(last=False)
        return img

    def png(self, summary, page: int) -> bytes:
        key = (summary.source.get("sha256"), page)
        data = self._get(self._png, key)
        if data is None:
            data = to_png(self.image(summary, page))
            self._put_png(key, data)
        return data

    def crop(self, summary, page: int, bbox: list[float], pad: float = CROP_PAD) -> bytes:
        """A PNG of the box (and a margin) on the page, at the page image's scale."""
        key = (summary.source.get("sha256"), page, tuple(round(float(v), 1) for v in bbox))
        data = self._get(self._png, key)
        if data is not None:
            return data
        img = self.image(summary, page)
        size = summary.page_size(page)
        sx, sy = img.size[0] / float(size["width"]), img.size[1] / float(size["height"])
        x0, y0, x1, y1 = (float(v) for v in bbox)
        box = (max(0, int((x0 - pad) * sx)), max(0, int((y0 - pad) * sy)),
               min(img.size[0], int((x1 + pad) * sx) + 1), min(img.size[1], int((y1 + pad) * sy) + 1))
        if box[2] <= box[0] or box[3] <= box[1]:
            raise RenderError("the box lies outside the page")
        data = to_png(img.crop(box))
        self._put_png(key, data)
        return data

    def warm(self, summary, page: int | None) -> None:
        """Render a page in the background (the next field's), if not cached."""
        if not page or summary.page_size(page) is None or self.cached(summary, page):
            return

        def job():
            try:
                self.png(summary, page)
            except Exception:  # shown (with its reason) when the page is asked for
                pass

        self._pool.submit(job)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
