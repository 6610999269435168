"""Load a file (PDF, TIFF, PNG, JPEG) into pages, one at a time.

Each page becomes a PageLayout through the path its content calls for: a usable
text layer goes through pdfplumber; an image page, or a page whose text layer is
garbled, goes through the image path (OCR). Pages are yielded one by one so a
long document never sits in memory whole.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from . import errors, memory
from .layout import PageLayout
from .settings import DEFAULT as DEFAULT_SETTINGS, EngineOptions, Settings
from .textlayer import page_layout, triage

log = logging.getLogger(__name__)

OCR_DPI = 300
#: a page to OCR with more pixels than this is read at the resolution that
#: fits (as OCRmyPDF does): an A3 sheet at 300 dpi (17.4 Mpx) fits; a
#: 2160-pt poster at 300 dpi (81 Mpx) is read at about 150 dpi instead of
#: running out of memory
PAGE_PIXEL_BUDGET = 20_000_000
MIN_FIT_DPI = 100
DEFAULT_MAX_PIXELS = 200_000_000  # a 300-dpi A0 sheet is ~140 Mpx
DEFAULT_MAX_PAGES = 2000
# A dense A4 page of 6-pt CJK holds ~12 000 characters; a text layer with more is
# hostile or broken, and text assembly grows faster than linearly with it.
MAX_PAGE_CHARS = 20_000


@dataclass
class Options:
    password: str | None = None
    ocr_engine: str = "rapidocr"
    ocr_dpi: int = OCR_DPI
    max_pages: int = DEFAULT_MAX_PAGES
    max_pixels: int = DEFAULT_MAX_PIXELS
    force_ocr: bool = False  # OCR every page even when it has a text layer
    templates_dir: str | None = None  # a folder of form templates instead of the shipped ones
    #: a PDF page that is one scanned image is read at the image's own
    #: resolution (its pixels as scanned, as OCRmyPDF does), not re-rendered
    #: at ocr_dpi; pages with anything else on them are rendered
    native_images: bool = True
    #: threads of the OCR runtime (0: its default, all cores); the batch
    #: driver gives each worker cores // jobs
    threads: int = 0
    settings: Settings = field(default_factory=lambda: DEFAULT_SETTINGS)  # image path and review
    ocr_cache: str | None = None  # directory of cached page reads (extract/image/cache.py)
    page_pixel_budget: int = PAGE_PIXEL_BUDGET  # pages to OCR are read within it (see above)
    look_dir: str | None = None  # debug: write what the page reader saw, one PNG per page

    @property
    def engine_options(self) -> EngineOptions:
        return EngineOptions(threads=self.threads)


@dataclass
class PageInfo:
    number: int
    kind: str  # text | image | garbled | error | set_aside (the quick look: not a form page)
    note: str = ""
    code: str | None = None  # kind "error": why the page was lost (E_MEMORY, E_TOO_LARGE, E_CORRUPT)


# Called with ("start" | "done", page number, page count) around every page a
# Document reads: progress bars, and tests that need to know the page.
PageHook = Callable[[str, int, int], None]
_PAGE_HOOKS: list[PageHook] = []


def add_page_hook(hook: PageHook) -> Callable[[], None]:
    """Call hook around every page read in this process; returns its remover."""
    _PAGE_HOOKS.append(hook)
    return lambda: _PAGE_HOOKS.remove(hook) if hook in _PAGE_HOOKS else None


def _notify(event: str, number: int, total: int) -> None:
    for hook in list(_PAGE_HOOKS):
        try:
            hook(event, number, total)
        except Exception:  # a progress display must never cost a page
            log.debug("page hook failed", exc_info=True)


@dataclass
class Document:
    path: Path
    sha256: str
    filetype: str  # pdf | tiff | png | jpeg
    n_pages: int
    options: Options = field(default_factory=Options)
    info: list[PageInfo] = field(default_factory=list)

    def pages(self) -> Iterator[PageLayout]:
        """The pages in order, one at a time (a generator: only the current page's
        parser objects are alive). A page that cannot be read is skipped and listed
        in `info` with kind "error" and the code of why (a page that ran out of
        memory is E_MEMORY: the document is then partial, never silently short);
        a document that cannot be read at all raises a ShenbaoError (never a
        library's own exception), the pages' own code when they agree (every
        page too large: E_TOO_LARGE)."""
        self.info = []
        self._turn: int | None = None  # how the pages read so far surely stood
        self._kept = False  # a page of this document passed the quick look (or had a text layer)
        self._aside: list[tuple[int, Callable[[], PageLayout | None], str]] = []
        self._last_look = ""
        if self.filetype == "pdf":
            yield from self._pdf_pages()
        else:
            yield from self._image_pages()
        if self.info and all(i.kind == "error" for i in self.info):
            codes = {i.code for i in self.info}
            cls = errors.CODES.get(codes.pop()) if len(codes) == 1 else None
            raise (cls or errors.CorruptFile)(f"{self.path.name}: no page could be read ({self.info[0].note})")

    def _page_error(self, number: int, exc: BaseException) -> None:
        code, note = _page_failure(exc)
        log.info("%s page %d: %s", self.path.name, number, note)
        self.info.append(PageInfo(number, "error", note, code))

    def _read_image(self, image, number: int, dpi: float, look: bool = True) -> PageLayout | None:
        """OCR one page; the turn the document's earlier pages surely stood
        in settles a page whose own orientation is unsure (a scanner feeds
        a stack the same way). None: the quick look set the page aside
        (`_looks_unlike_a_form`); the caller keeps a way to read it later.
        look=False: a page that is read whatever it looks like."""
        if look and self._looks_unlike_a_form(image, number, dpi):
            return None
        layout, sure = _ocr(image, number, dpi, self.options, self._turn)
        if sure:
            self._turn = layout.rotation
        return layout

    def _looks_unlike_a_form(self, image, number: int, dpi: float) -> bool:
        """The quick look (image/triage.py), until a page of this document
        passes it: from then on every page is read in full."""
        if self._kept or not self.options.settings.triage.enabled:
            return False
        why = _quick_look(image, number, dpi, self.options)
        if why is None:
            self._kept = True
            return False
        self._last_look = why
        return True

    def _set_aside(self, number: int, read_later: Callable[[], PageLayout | None]) -> None:
        self._aside.append((number, read_later, self._last_look))

    def _aside_pages(self) -> Iterator[PageLayout]:
        """The pages the quick look set aside: read in full when another page
        of the document passed it (a declaration never loses a page to the
        look); else listed in `info` as "set_aside", with what the look
        found, and given as empty pages that carry the reason."""
        aside, self._aside = self._aside, []
        for number, read_later, why in aside:
            if self._kept:
                layout = self._guarded(number, read_later)
                if layout is None:  # lost (in info), or set aside (cannot be: a page passed)
                    continue
                self.info.append(PageInfo(number, layout.kind, "; ".join(layout.warnings)))
                yield layout
            else:
                note = f"page {number}: set aside by the quick look, not read in full ({why})"
                self.info.append(PageInfo(number, "set_aside", note))
                empty = PageLayout(number, "image", 0.0, 0.0)
                empty.warnings.append(note)
                yield empty

    def _guarded(self, number: int, read: Callable[[], PageLayout | None]) -> PageLayout | None:
        """read(), or None when the page is lost: recorded in `info` with its
        code, as the page loops do (a ShenbaoError of the document goes up)."""
        try:
            return read()
        except _PAGE_LEVEL as exc:
            self._page_error(number, exc)
        except errors.ShenbaoError:
            raise
        except Exception as exc:
            self._page_error(number, exc)
        return None

    def quick_looks(self) -> Iterator[tuple[int, object]]:
        """(page number, triage.Look) of every page as the image path would
        get it (PDF pages rendered or taken at their own resolution, image
        frames as they are), whatever its text layer: what bench/triage_check.py
        proves the quick look on."""
        from .image import triage
        from .ocr.base import get_engine

        eng = get_engine(self.options.ocr_engine, self.options.engine_options)
        s = self.options.settings.triage
        if self.filetype == "pdf":
            renderer = _PdfRenderer(self.path, self.options.password)
            try:
                for i in range(1, self.n_pages + 1):
                    image, dpi, _ = self._page_image(renderer, i)
                    yield i, triage.look(image, dpi, eng, s)
            finally:
                renderer.close()
        else:
            from PIL import Image

            with Image.open(self.path) as img:
                for i in range(1, self.n_pages + 1):
                    frame, dpi, _ = self._frame(img, i)
                    yield i, triage.look(frame, dpi, eng, s)

    # ------------------------------------------------------------------ PDF
    def _pdf_pages(self) -> Iterator[PageLayout]:
        pdf = self._open_pdfplumber()
        renderer = _PdfRenderer(self.path, self.options.password)
        try:
            try:
                plumber_pages = pdf.pages  # light Page objects; content is parsed per page
            except Exception as exc:
                raise _corrupt(self.path, exc, "PDF") from exc
            for i in range(1, self.n_pages + 1):
                if i > len(plumber_pages):
                    self.info.append(PageInfo(i, "error", "E_CORRUPT: the text-layer reader (pdfminer) does "
                                                          "not find this page: damaged page tree", "E_CORRUPT"))
                    continue
                page = plumber_pages[i - 1]
                _notify("start", i, self.n_pages)
                try:
                    chars = page.chars
                    if len(chars) > MAX_PAGE_CHARS:
                        raise errors.TooLarge(f"{len(chars):,} characters in the text layer, more than "
                                              f"a form page holds ({MAX_PAGE_CHARS:,}); page skipped")
                    kind, why = ("image", "OCR forced") if self.options.force_ocr else triage(chars)
                    if kind == "image" and not self.options.force_ocr and _nothing_drawn(page):
                        kind = "text"  # (nearly) no text and nothing else on it: no OCR can find more
                    if kind == "text":
                        layout = page_layout(page, i)
                        self._kept = self._kept or _has_form_word(layout, self.options)
                    else:
                        layout = self._ocr_pdf_page(renderer, i, kind, why)
                        if layout is None:
                            self._set_aside(i, lambda i=i, kind=kind, why=why:
                                            self._ocr_pdf_page(renderer, i, kind, why))
                            _notify("done", i, self.n_pages)
                            continue
                except _PAGE_LEVEL as exc:  # one bad page must not sink the document
                    self._page_error(i, exc)
                    continue
                except errors.ShenbaoError:
                    raise
                except Exception as exc:
                    self._page_error(i, exc)
                    continue
                finally:
                    _quietly(page.close)  # pdfplumber caches layout objects per page
                self.info.append(PageInfo(i, layout.kind, "; ".join(layout.warnings)))
                _notify("done", i, self.n_pages)
                yield layout
            yield from self._aside_pages()
        finally:
            renderer.close()
            _quietly(pdf.close)

    def _open_pdfplumber(self):
        import pdfplumber

        refused = None
        for password in _password_forms(self.options.password):
            try:
                return pdfplumber.open(self.path, password=password)
            except Exception as exc:
                cause = _unwrap(exc)
                if type(cause).__name__ == "PDFPasswordIncorrect" or isinstance(cause, UnicodeError):
                    refused = exc
                    continue
                raise _corrupt(self.path, exc, "PDF") from exc
        raise _encrypted(self.path, self.options.password) from refused

    def _page_image(self, renderer: "_PdfRenderer", number: int):
        """(image, dpi, native): a PDF page as the image path reads it — its
        own scanned image when it is one, else rendered (within the budget)."""
        o = self.options
        native = renderer.native(number, o.max_pixels, o.page_pixel_budget) if o.native_images else None
        if native is not None:
            return native[0], native[1], True
        image, dpi = renderer.render(number, o.ocr_dpi, o.max_pixels, o.page_pixel_budget)
        return image, dpi, False

    def _ocr_pdf_page(self, renderer: "_PdfRenderer", number: int, kind: str, why: str) -> PageLayout | None:
        o = self.options
        image, dpi, native = self._page_image(renderer, number)
        # a garbled text layer is a program's own page (a form with a broken
        # font, say), not a scan of unknown paper: it is read, not looked at
        layout = self._read_image(image, number, dpi, look=kind != "garbled")
        del image
        memory.release()
        if layout is None:
            return None
        layout.kind = kind
        if not native and dpi < o.ocr_dpi:
            layout.warnings.append(f"page {number}: read at {dpi:g} dpi, not {o.ocr_dpi}, to fit the page pixel "
                                   f"budget ({o.page_pixel_budget:,} px): small print may read worse")
        if kind == "garbled":
            layout.warnings.insert(0, f"page {number}: garbled text layer ({why}); read by OCR")
        return layout

    # ------------------------------------------------------------------ images
    def _image_pages(self) -> Iterator[PageLayout]:
        from PIL import Image

        try:
            img = Image.open(self.path)
        except Exception as exc:
            raise _corrupt(self.path, exc, "image") from exc
        with img:
            for i in range(1, self.n_pages + 1):
                _notify("start", i, self.n_pages)
                try:
                    layout = self._read_frame(img, i)
                    if layout is None:
                        self._set_aside(i, lambda i=i: self._read_frame(img, i))
                        _notify("done", i, self.n_pages)
                        continue
                except _PAGE_LEVEL as exc:  # a corrupt frame among good ones
                    self._page_error(i, exc)
                    continue
                except errors.ShenbaoError:
                    raise
                except Exception as exc:
                    self._page_error(i, exc)
                    continue
                self.info.append(PageInfo(i, "image", "; ".join(layout.warnings)))
                _notify("done", i, self.n_pages)
                yield layout
            yield from self._aside_pages()

    def _frame(self, img, number: int):
        """(frame, dpi, its own dpi): an image file's frame as the image path
        reads it (within the budget)."""
        img.seek(number - 1)
        _check_pixels(img.size, self.options.max_pixels)  # before decoding
        frame = img.convert("RGB") if img.mode not in ("1", "L", "RGB") else img.copy()
        own = _image_dpi(img)
        frame, dpi = within_budget(frame, own, self.options.page_pixel_budget)
        return frame, dpi, own

    def _read_frame(self, img, number: int) -> PageLayout | None:
        frame, dpi, own = self._frame(img, number)
        layout = self._read_image(frame, number, dpi)
        del frame
        memory.release()
        if layout is not None and dpi < own:
            layout.warnings.append(f"page {number}: read at {dpi:g} dpi, not its own {own:g}, to fit the page "
                                   f"pixel budget ({self.options.page_pixel_budget:,} px)")
        return layout


def _nothing_drawn(page) -> bool:
    """A PDF page with no image and no vector graphics (rules, curves, boxes):
    what its text layer holds is all it prints (a blank page, 第 3 页 alone)."""
    try:
        return not (page.images or page.rects or page.lines or page.curves)
    except Exception:
        return False


# a ShenbaoError about one page only: that page is skipped, the rest is read
_PAGE_LEVEL = (errors.TooLarge, errors.CorruptFile, errors.OutOfMemory)


def _page_failure(exc: BaseException) -> tuple[str, str]:
    """(code, note) of a lost page: E_MEMORY for every way of running out of
    memory (MemoryError, onnxruntime's std::bad_alloc), the code of a
    ShenbaoError, else E_CORRUPT with the library's one-line message."""
    exc = _unwrap(exc)
    if isinstance(exc, errors.ShenbaoError):
        return exc.code, f"{exc.code}: {exc.message}"
    if errors.is_memory_error(exc):
        return errors.OutOfMemory.code, (f"{errors.OutOfMemory.code}: out of memory on this page "
                                         f"({errors.one_line(exc, 160)}); raise --max-memory or lower --jobs")
    if _from_ocr_engine(exc):  # not the file's fault: the engine failed on it
        return "E_INTERNAL", f"E_INTERNAL: the OCR engine failed on this page ({errors.one_line(exc, 160)})"
    return errors.CorruptFile.code, f"{errors.CorruptFile.code}: {_describe(exc)}"


def _from_ocr_engine(exc: BaseException) -> bool:
    kind = type(exc)
    return kind.__module__.split(".")[0] in ("rapidocr", "onnxruntime") or "ONNXRuntime" in kind.__name__ \
        or "[ONNXRuntimeError]" in str(exc)


class _PdfRenderer:
    """pypdfium2, opened on the first page that needs rendering (OCR) and kept
    open for the rest of the document."""

    def __init__(self, path: Path, password: str | None):
        self.path, self.password, self.pdf = path, password, None

    def render(self, number: int, dpi: float, max_pixels: int, budget: int = PAGE_PIXEL_BUDGET):
        """(image, dpi): the page at dpi, or at the lower dpi that fits the
        pixel budget (the pixels are never made only to be thrown away)."""
        import pypdfium2 as pdfium

        if self.pdf is None:
            self.pdf = pdfium.PdfDocument(str(self.path), password=self.password)
        page = self.pdf[number - 1]
        try:
            w, h = page.get_size()
            dpi = fitting_dpi(w / 72 * dpi, h / 72 * dpi, dpi, budget)
            scale = dpi / 72
            _check_pixels((round(w * scale), round(h * scale)), max_pixels,
                          what=f"page {number} ({w:.0f}×{h:.0f} pt) at {dpi:g} dpi")
            return page.render(scale=scale, grayscale=False).to_pil(), dpi
        finally:
            page.close()

    #: a scan's own resolution is used within these bounds (outside them the
    #: page is rendered at ocr_dpi: a 600-dpi scan costs 4× the work for nothing)
    NATIVE_DPI = (100.0, 400.0)

    def native(self, number: int, max_pixels: int, budget: int = PAGE_PIXEL_BUDGET):
        """(image, dpi) of a page that is one upright image covering it —
        what a scanner wrote — decoded at its own resolution; else None."""
        import pypdfium2 as pdfium
        import pypdfium2.raw as pdfium_c

        if self.pdf is None:
            self.pdf = pdfium.PdfDocument(str(self.path), password=self.password)
        page = self.pdf[number - 1]
        try:
            if page.get_rotation() % 360:
                return None
            objs = list(page.get_objects(max_depth=1))
            if len(objs) != 1 or objs[0].type != pdfium_c.FPDF_PAGEOBJ_IMAGE:
                return None
            img = objs[0]
            w_pt, h_pt = page.get_size()
            x0, y0, x1, y1 = img.get_bounds()
            m = img.get_matrix()
            if abs(m.b) > 1e-6 or abs(m.c) > 1e-6 or m.a <= 0 or m.d <= 0:
                return None  # turned or mirrored in the page: render it
            if (x1 - x0) < 0.97 * w_pt or (y1 - y0) < 0.97 * h_pt:
                return None
            pw, ph = img.get_px_size()
            dx, dy = pw * 72.0 / (x1 - x0), ph * 72.0 / (y1 - y0)
            lo, hi = self.NATIVE_DPI
            if abs(dx - dy) > 0.02 * dx or not lo <= dx <= hi:
                return None
            _check_pixels((pw, ph), max_pixels, what=f"page {number} image ({pw}×{ph} px)")
            if pw * ph > budget:
                return None  # rendered within the budget instead
            pil = img.get_bitmap(render=False).to_pil()
            if pil.mode not in ("1", "L", "RGB"):
                pil = pil.convert("RGB")
            return pil, round(dx, 2)
        except errors.ShenbaoError:
            raise
        except Exception:  # an image pdfium cannot hand out raw: render the page instead
            return None
        finally:
            page.close()

    def close(self) -> None:
        if self.pdf is not None:
            _quietly(self.pdf.close)
            self.pdf = None


def _password_forms(password: str | None) -> list[str]:
    """The password as pdfminer should be given it. pdfminer encodes RC4-era
    (R2-R4) passwords as Latin-1 and so cannot take Chinese ones; pdfium (which
    checked the password first) uses their UTF-8 bytes, which the second form
    reproduces through pdfminer's Latin-1."""
    if not password:
        return [""]
    forms = [password]
    if not password.isascii():
        forms.append(password.encode("utf-8").decode("latin-1"))
    return forms


def _quietly(fn) -> None:
    try:
        fn()
    except Exception:  # cleanup of a broken document must not hide the real error
        pass


def _unwrap(exc: BaseException) -> BaseException:
    """pdfplumber wraps pdfminer's exceptions in PdfminerException(original)."""
    while type(exc).__name__ == "PdfminerException" and exc.args and isinstance(exc.args[0], BaseException):
        exc = exc.args[0]
    return exc


def _describe(exc: BaseException) -> str:
    exc = _unwrap(exc)
    if isinstance(exc, errors.ShenbaoError):
        return exc.message
    return errors.one_line(exc, 200)


def _corrupt(path: Path, exc: BaseException, what: str) -> errors.ShenbaoError:
    if isinstance(exc, errors.ShenbaoError):
        return exc
    if isinstance(exc, MemoryError):
        return errors.OutOfMemory(f"{path.name}: out of memory while reading the {what}")
    if type(exc).__name__ == "DecompressionBombError":  # PIL's own pixel limit
        return errors.TooLarge(f"{path.name}: too many pixels ({_describe(exc)}); see --max-pixels")
    if isinstance(exc, RecursionError):
        return errors.CorruptFile(f"{path.name} is not a readable {what} "
                                  "(RecursionError: its structure is nested too deeply or loops)")
    return errors.CorruptFile(f"{path.name} is not a readable {what} ({_describe(exc)})")


def _encrypted(path: Path, password: str | None) -> errors.ShenbaoError:
    if password:
        return errors.EncryptedFile(f"{path.name}: wrong password (the PDF is encrypted and "
                                    "the --password given does not open it)")
    return errors.EncryptedFile(f"{path.name} is encrypted: give its password with --password")


def _ocr(image, number: int, dpi: float, options: Options,
         prior_turn: int | None = None) -> tuple[PageLayout, bool]:
    """The page read by the image path (through the OCR cache when one is
    set), and whether its orientation was sure."""
    try:
        from .image import page as image_page
    except ImportError as exc:
        # under an address-space limit (--max-memory) a native library (cv2,
        # onnxruntime) may not even map: that page ran out of memory
        if errors.is_memory_error(exc):
            raise errors.OutOfMemory(f"the OCR libraries cannot be loaded within the memory limit "
                                     f"({errors.one_line(exc, 160)})") from exc
        raise errors.MissingDependency(f"the OCR path cannot be loaded ({errors.one_line(exc, 160)}); "
                                       "run ./setup.sh") from exc
    if options.threads:  # one core means OpenCV's too
        import cv2

        cv2.setNumThreads(options.threads)
    args = (number, dpi, options.ocr_engine, options.settings, options.engine_options, options.look_dir,
            prior_turn)
    if not options.ocr_cache:
        read = image_page.read_image(image, *args)
    else:
        from .image import cache, preprocess
        from .ocr.base import get_engine

        pixels = preprocess.to_array(image)
        eng = get_engine(options.ocr_engine, options.engine_options)
        key = cache.page_key(pixels, dpi, eng.version(), options.settings, prior_turn)
        store = cache.PageCache(options.ocr_cache)
        read = store.get(key, number)
        if read is None:
            read = image_page.read_image(pixels, *args)
            store.put(key, read)
    layout = image_page.to_layout(read, options.settings)
    layout.dpi = float(dpi)
    return layout, read.orientation_sure


def _has_form_word(layout: PageLayout, options: Options) -> bool:
    """A text-layer page that may be part of a declaration: it holds one of
    the form words the quick look keeps a scanned page for."""
    from .ocr.textfix import to_simplified

    text = to_simplified("".join(line.text for line in layout.lines)
                         + "".join(c.text or "" for t in layout.tables for c in t.cells))
    return options.settings.triage.form_word(text) is not None


def fitting_dpi(w_px: float, h_px: float, dpi: float, budget: int) -> float:
    """dpi, or the lower resolution at which a w_px × h_px page (at dpi)
    holds at most `budget` pixels (whole dpi, rounded down) — never below
    MIN_FIT_DPI, where print no longer reads: a page that does not fit even
    there is left to the --max-pixels refusal."""
    if budget <= 0 or w_px * h_px <= budget or dpi <= MIN_FIT_DPI:
        return dpi
    return float(max(MIN_FIT_DPI, int(dpi * (budget / (w_px * h_px)) ** 0.5)))


def within_budget(frame, dpi: float, budget: int):
    """An image frame reduced to the pixel budget: (frame, its dpi)."""
    w, h = frame.size
    new = fitting_dpi(w, h, dpi, budget)
    if new == dpi:
        return frame, dpi
    from PIL import Image

    f = new / dpi
    size = (max(1, int(w * f)), max(1, int(h * f)))
    mode = frame.mode
    small = (frame.convert("L") if mode == "1" else frame).resize(size, Image.Resampling.BOX)
    log.info("image frame of %d×%d px read at %g dpi to fit %d px", w, h, new, budget)
    return small, new


def _quick_look(image, number: int, dpi: float, options: Options) -> str | None:
    """None when the page may belong to a declaration (read it in full),
    else what the quick look found. A look that fails reads the page."""
    try:
        from .image import triage
        from .ocr.base import get_engine

        eng = get_engine(options.ocr_engine, options.engine_options)
        seen = triage.look(image, dpi, eng, options.settings.triage)
    except Exception as exc:
        if errors.is_memory_error(exc):
            raise
        log.info("page %d: the quick look failed (%s); reading it in full", number, errors.one_line(exc, 160))
        return None
    log.debug("page %d: quick look: %s", number, seen.why)
    return None if seen.form else seen.why


def _image_dpi(img) -> float:
    dpi = img.info.get("dpi")
    try:
        if dpi and dpi[0] and 50 < float(dpi[0]) < 10_000:
            return float(dpi[0])
    except (TypeError, ValueError, IndexError):
        pass
    # no (sane) resolution recorded: assume an A4 sheet
    return max(max(img.size) / 11.69, 1.0)


def _check_pixels(size: tuple[int, int], limit: int, what: str = "image") -> None:
    w, h = size
    if w <= 0 or h <= 0:
        raise errors.CorruptFile(f"{what} has an impossible size {w}×{h}")
    if w * h > limit:
        raise errors.TooLarge(f"{what} of {w}×{h} pixels exceeds the limit of {limit:,} pixels "
                              "(--max-pixels)")


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


_KNOWN = [  # what a file that is none of ours most often is, by its first bytes
    ((b"PK\x03\x04",), "a ZIP archive (or a .docx / .xlsx / .ofd file)"),
    ((b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",), "an old Word / Excel document (.doc / .xls)"),
    ((b"GIF87a", b"GIF89a"), "a GIF image"),
    ((b"{\\rtf",), "an RTF document"),
    ((b"Rar!", b"7z\xbc\xaf", b"\x1f\x8b"), "a compressed archive"),
]


def describe_unknown(head: bytes) -> str:
    """What a file sniff() does not know looks like, for the error message."""
    for magics, what in _KNOWN:
        if head.startswith(magics):
            return what
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "a WebP image"
    if head.startswith(b"BM") and head[6:10] == b"\0\0\0\0":
        return "a BMP image"
    lower = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if lower.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<meta")):
        return "an HTML page"
    if lower.startswith(b"<?xml") or lower.startswith(b"<"):
        return "an XML / HTML document"
    if not any(b < 0x20 and b not in b"\t\n\r\x0c" or b == 0x7F for b in head):  # no control bytes
        for encoding in ("utf-8", "gb18030"):
            for cut in range(4):  # the 2048-byte head may end inside a character
                try:
                    text = head[:len(head) - cut].decode(encoding)
                except UnicodeDecodeError:
                    continue
                if all(c.isprintable() or c.isspace() for c in text):
                    return "a plain text file"
                break
    return "unknown data"


def sha256_of(path: Path) -> str:
    """The file's sha256. Raises OSError for what is not a regular file (a FIFO,
    a device, /dev/zero behind a symlink…), which would block or never end."""
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise OSError(errno.EINVAL, "not a regular file" + (" (a directory)" if stat.S_ISDIR(st.st_mode) else
                                                            " (a device, FIFO or socket)"))
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def open_document(path: str | Path, options: Options | None = None) -> Document:
    """Check the file and count its pages; raise a ShenbaoError a user can act on
    (never a library's own exception)."""
    path = Path(path)
    options = options or Options()
    try:
        digest = sha256_of(path)  # first: refuses FIFOs and devices before any read
        with open(path, "rb") as f:
            head = f.read(2048)
        size = path.stat().st_size
    except OSError as exc:
        raise errors.UnsupportedFile(f"cannot read {path.name}: {exc.strerror or exc}") from exc
    if size == 0:
        raise errors.EmptyFile(f"{path.name} is empty (0 bytes)")
    filetype = sniff(head)
    if filetype is None:
        named = path.suffix.lower().lstrip(".")
        said = f" (named .{named})" if named else ""
        raise errors.UnsupportedFile(f"{path.name} is {describe_unknown(head)}{said}, "
                                     "not a PDF, TIFF, PNG or JPEG")
    try:
        if filetype == "pdf":
            n = _count_pdf_pages(path, options)
        else:
            n = _count_image_frames(path, options)
    except errors.ShenbaoError:
        raise
    except (Exception, MemoryError) as exc:
        raise _corrupt(path, exc, "PDF" if filetype == "pdf" else "image") from exc
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
        # pdfium's reason is its thread's *last* error, which can be stale (a PDF
        # with no pages fails with "Success", or with the password error of the
        # file before): ask pdfminer what the file is
        n, why = _pdfminer_page_count(path, options)
        if why == "password" or (why is not None and "password" in str(exc).lower()):
            raise _encrypted(path, options.password) from exc
        if n == 0:
            raise errors.NoPages(f"{path.name} has no pages") from exc
        raise errors.CorruptFile(f"{path.name} is not a readable PDF ({_describe(exc)})") from exc
    try:
        return len(pdf)
    finally:
        _quietly(pdf.close)


def _pdfminer_page_count(path: Path, options: Options) -> tuple[int | None, str | None]:
    """(pages pdfminer finds, None) or (None, "password" | "error")."""
    import pdfplumber

    why = "error"
    for password in _password_forms(options.password):
        try:
            with pdfplumber.open(path, password=password) as pdf:
                return len(pdf.pages), None
        except Exception as exc:
            cause = _unwrap(exc)
            if type(cause).__name__ in ("PDFPasswordIncorrect", "PDFEncryptionError") or \
                    isinstance(cause, UnicodeError):
                why = "password"
    return None, why


def _count_image_frames(path: Path, options: Options) -> int:
    """Frames of the image; every frame's size is checked against max_pixels
    here, from its header, before anything is decoded."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None  # we check the size ourselves, before decoding
    with Image.open(path) as img:
        _check_pixels(img.size, options.max_pixels, what=f"{path.name}: image")
        n = getattr(img, "n_frames", 1)
        if n > options.max_pages:
            return n  # refused by the caller; do not walk thousands of frames
        for i in range(1, n):
            try:
                img.seek(i)
            except Exception:
                continue  # a broken frame: reported when the pages are read
            _check_pixels(img.size, options.max_pixels, what=f"{path.name}: frame {i + 1}")
        return n
