"""Load a file (PDF, TIFF, PNG, JPEG) into pages, one at a time.

Each page becomes a PageLayout through the path its content calls for: a usable
text layer goes through pdfplumber; an image page, or a page whose text layer is
garbled, goes through the image path (OCR). Pages are yielded one by one so a
long document never sits in memory whole.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from . import errors
from .layout import PageLayout
from .textlayer import page_layout, triage

log = logging.getLogger(__name__)

OCR_DPI = 300
DEFAULT_MAX_PIXELS = 200_000_000  # a 300-dpi A0 sheet is ~140 Mpx
DEFAULT_MAX_PAGES = 2000


@dataclass
class Options:
    password: str | None = None
    ocr_engine: str = "rapidocr"
    ocr_dpi: int = OCR_DPI
    max_pages: int = DEFAULT_MAX_PAGES
    max_pixels: int = DEFAULT_MAX_PIXELS
    force_ocr: bool = False  # OCR every page even when it has a text layer


@dataclass
class PageInfo:
    number: int
    kind: str  # text | image | garbled | error
    note: str = ""


@dataclass
class Document:
    path: Path
    sha256: str
    filetype: str  # pdf | tiff | png | jpeg
    n_pages: int
    options: Options = field(default_factory=Options)
    info: list[PageInfo] = field(default_factory=list)

    def pages(self) -> Iterator[PageLayout]:
        if self.filetype == "pdf":
            yield from self._pdf_pages()
        else:
            yield from self._image_pages()

    # ------------------------------------------------------------------ PDF
    def _pdf_pages(self) -> Iterator[PageLayout]:
        import pdfplumber

        with pdfplumber.open(self.path, password=self.options.password or "") as pdf:
            for i, page in enumerate(pdf.pages, start=1):
                try:
                    chars = page.chars
                    kind, why = ("image", "OCR forced") if self.options.force_ocr else triage(chars)
                    if kind == "text":
                        layout = page_layout(page, i)
                    else:
                        layout = self._ocr_pdf_page(i, kind, why)
                except errors.ShenbaoError:
                    raise
                except Exception as exc:  # one bad page must not sink the document
                    log.warning("page %d: %s", i, exc)
                    self.info.append(PageInfo(i, "error", f"{type(exc).__name__}: {exc}"))
                    continue
                finally:
                    page.close()  # pdfplumber caches layout objects per page
                self.info.append(PageInfo(i, layout.kind, "; ".join(layout.warnings)))
                yield layout

    def _ocr_pdf_page(self, number: int, kind: str, why: str) -> PageLayout:
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(str(self.path), password=self.options.password)
        try:
            scale = self.options.ocr_dpi / 72
            image = pdf[number - 1].render(scale=scale, grayscale=False).to_pil()
        finally:
            pdf.close()
        layout = _ocr(image, number, self.options.ocr_dpi, self.options.ocr_engine)
        layout.kind = kind
        if kind == "garbled":
            layout.warnings.insert(0, f"page {number}: garbled text layer ({why}); read by OCR")
        return layout

    # ------------------------------------------------------------------ images
    def _image_pages(self) -> Iterator[PageLayout]:
        from PIL import Image

        with Image.open(self.path) as img:
            for i in range(self.n_pages):
                try:
                    img.seek(i)
                    _check_pixels(img.size, self.options.max_pixels)
                    frame = img.convert("RGB") if img.mode not in ("1", "L", "RGB") else img.copy()
                    dpi = _image_dpi(img)
                    layout = _ocr(frame, i + 1, dpi, self.options.ocr_engine)
                except errors.ShenbaoError:
                    raise
                except Exception as exc:  # a corrupt frame among good ones
                    self.info.append(PageInfo(i + 1, "error", f"{type(exc).__name__}: {exc}"))
                    continue
                self.info.append(PageInfo(i + 1, "image", "; ".join(layout.warnings)))
                yield layout


def _ocr(image, number: int, dpi: float, engine: str) -> PageLayout:
    try:
        from .image.page import image_to_layout
    except ImportError as exc:  # the scanned path is optional until installed
        from .layout import PageLayout as _P

        w, h = image.size
        page = _P(number=number, kind="image", width=w * 72 / dpi, height=h * 72 / dpi)
        page.warnings.append(f"page {number}: image page, but the OCR path is unavailable ({exc})")
        return page
    return image_to_layout(image, number=number, dpi=dpi, engine=engine)


def _image_dpi(img) -> float:
    dpi = img.info.get("dpi")
    if dpi and dpi[0] and float(dpi[0]) > 50:
        return float(dpi[0])
    # no resolution recorded: assume an A4 sheet
    return max(img.size) / 11.69


def _check_pixels(size: tuple[int, int], limit: int) -> None:
    if size[0] * size[1] > limit:
        raise errors.TooLarge(f"image of {size[0]}×{size[1]} pixels exceeds the limit of {limit} pixels")


def sniff(head: bytes) -> str | None:
    """The file type by its first bytes, whatever its name says."""
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    return None


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def open_document(path: str | Path, options: Options | None = None) -> Document:
    """Check the file and count its pages; raise a ShenbaoError a user can act on."""
    path = Path(path)
    options = options or Options()
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(2048)
    except OSError as exc:
        raise errors.UnsupportedFile(f"cannot read {path.name}: {exc.strerror}") from exc
    if size == 0:
        raise errors.EmptyFile(f"{path.name} is empty (0 bytes)")
    filetype = sniff(head)
    if filetype is None:
        lower = head.lstrip().lower()
        what = "an HTML page" if lower.startswith((b"<!doctype html", b"<html")) else "unknown data"
        raise errors.UnsupportedFile(f"{path.name} is {what}, not a PDF or image")
    digest = sha256_of(path)
    if filetype == "pdf":
        n = _count_pdf_pages(path, options)
    else:
        n = _count_image_frames(path, options)
    if n == 0:
        raise errors.NoPages(f"{path.name} has no pages")
    if n > options.max_pages:
        raise errors.TooLarge(f"{path.name} has {n} pages, more than --max-pages {options.max_pages}")
    return Document(path=path, sha256=digest, filetype=filetype, n_pages=n, options=options)


def _count_pdf_pages(path: Path, options: Options) -> int:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path), password=options.password)
    except pdfium.PdfiumError as exc:
        msg = str(exc).lower()
        if "password" in msg:
            if options.password:
                raise errors.EncryptedFile(f"{path.name}: the password given is wrong") from exc
            raise errors.EncryptedFile(f"{path.name} is encrypted") from exc
        raise errors.CorruptFile(f"{path.name} is not a readable PDF ({exc})") from exc
    try:
        return len(pdf)
    finally:
        pdf.close()


def _count_image_frames(path: Path, options: Options) -> int:
    from PIL import Image, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = None  # we check the size ourselves, before decoding
    try:
        with Image.open(path) as img:
            _check_pixels(img.size, options.max_pixels)
            return getattr(img, "n_frames", 1)
    except errors.ShenbaoError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise errors.CorruptFile(f"{path.name} is not a readable image ({exc})") from exc
