"""Broken and hostile inputs: a clear ShenbaoError (with a code) every time, on
stderr for `shenbao extract` and in manifest.jsonl for `shenbao batch`; never a
traceback, a hang or a half-written output; the rest of a batch goes on.

Every input is made here, in tmp_path. Nothing depends on OCR: the image path is
replaced by a stand-in where a test needs image pages to give text."""

from __future__ import annotations

import copy
import errno
import inspect
import io
import json
import os
import re
import struct
import subprocess
import sys
import textwrap
import time
import types
import zlib
from pathlib import Path

import pytest

from extract import document, errors
from extract.document import Options, open_document
from extract.pipeline import extract_file

ROOT = Path(__file__).resolve().parents[1]
CORPUS = sorted((ROOT / "pipelines" / "samples" / "corpus").glob("*.json"))
PASSWORD = "秘密pw"  # non-ASCII on purpose: pdfminer and pdfium encode passwords differently


# ------------------------------------------------------------------ helpers

from _limits import time_limit  # noqa: E402  (tests/ is on sys.path under pytest)


def error_of(path, options: Options | None = None) -> errors.ShenbaoError:
    """The ShenbaoError extract_file raises on path (and fail on anything else)."""
    with time_limit(60):
        with pytest.raises(errors.ShenbaoError) as info:
            extract_file(path, options)
    return info.value


def corpus_record() -> dict:
    return json.loads(CORPUS[0].read_text(encoding="utf-8"))


def render(path: Path, style=None, password: str | None = None) -> Path:
    """A valid declaration PDF (3 pages: one per part) from a corpus record;
    encrypted (RC4 128) with `password` when given."""
    from reportlab.lib.pdfencrypt import StandardEncryption
    from reportlab.pdfgen import canvas as rl_canvas

    from pipelines.samples.render import render_records

    path.parent.mkdir(parents=True, exist_ok=True)
    plain = rl_canvas.Canvas
    if password:
        class Encrypted(plain):
            def __init__(self, *a, **kw):
                kw["encrypt"] = StandardEncryption(password, ownerPassword="owner-" + password, strength=128)
                super().__init__(*a, **kw)

        rl_canvas.Canvas = Encrypted
    try:
        render_records([corpus_record()], path, style)
    finally:
        rl_canvas.Canvas = plain
    return path


@pytest.fixture(scope="module")
def valid_pdf(tmp_path_factory) -> Path:
    return render(tmp_path_factory.mktemp("valid") / "valid.pdf")


def copy_to(src: Path, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(src.read_bytes())
    return dst


def blank_pdf(path: Path, pages: int) -> Path:
    """Cheap: reportlab blank pages (3000 pages ≈ 1 MB, 0.3 s)."""
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path))
    for _ in range(pages):
        c.showPage()
    c.save()
    return path


def zero_page_pdf(path: Path) -> Path:
    import pypdfium2 as pdfium

    pdfium.PdfDocument.new().save(str(path))
    return path


def prose_pdf(path: Path) -> Path:
    """A PDF with a paragraph of Chinese prose: text, but no form."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    c = canvas.Canvas(str(path))
    c.setFont("STSong-Light", 12)
    prose = ("春江潮水连海平，海上明月共潮生。滟滟随波千万里，何处春江无月明。"
             "江流宛转绕芳甸，月照花林皆似霰。空里流霜不觉飞，汀上白沙看不见。")
    for i, line in enumerate(textwrap.wrap(prose, 32)):
        c.drawString(60, 760 - 20 * i, line)
    c.showPage()
    c.save()
    return path


def png_header_bomb(path: Path, w: int = 100_000, h: int = 100_000) -> Path:
    """A 100-byte PNG whose header claims w×h pixels (its data is garbage: a
    loader that decoded it would fail with E_CORRUPT, not E_TOO_LARGE)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))
    return path


_TIFF_TYPES = {3: ("H", 2), 4: ("I", 4)}


def tiff_ifds(data: bytes) -> tuple[str, list[dict[int, tuple[int, int, int]]]]:
    """(byte order, [{tag: (type, count, position of the value field)} per frame])."""
    bo = "<" if data[:2] == b"II" else ">"
    off = struct.unpack(bo + "I", data[4:8])[0]
    ifds = []
    while off:
        n = struct.unpack(bo + "H", data[off:off + 2])[0]
        tags = {}
        for k in range(n):
            e = off + 2 + 12 * k
            tag, typ, cnt = struct.unpack(bo + "HHI", data[e:e + 8])
            tags[tag] = (typ, cnt, e + 8)
        ifds.append(tags)
        off = struct.unpack(bo + "I", data[off + 2 + 12 * n:off + 6 + 12 * n])[0]
    return bo, ifds


def tiff_values(data: bytes, bo: str, entry: tuple[int, int, int]) -> list[int]:
    typ, cnt, pos = entry
    fmt, size = _TIFF_TYPES[typ]
    base = pos if cnt * size <= 4 else struct.unpack(bo + "I", data[pos:pos + 4])[0]
    return [struct.unpack(bo + fmt, data[base + i * size:base + (i + 1) * size])[0] for i in range(cnt)]


def tiff_of(pdf: Path) -> bytes:
    """The PDF's pages as a multi-page TIFF (deflate strips, 36 dpi: small)."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    try:
        frames = [doc[i].render(scale=0.5, grayscale=True).to_pil().convert("L") for i in range(len(doc))]
    finally:
        doc.close()
    buf = io.BytesIO()
    frames[0].save(buf, "TIFF", save_all=True, append_images=frames[1:], compression="tiff_deflate",
                   dpi=(36, 36))
    return buf.getvalue()


def tiff_with_bad_frame(pdf: Path, frame: int = 2) -> bytes:
    """tiff_of(pdf) with the bytes of one frame's strips overwritten."""
    data = bytearray(tiff_of(pdf))
    bo, ifds = tiff_ifds(data)
    for off, cnt in zip(tiff_values(data, bo, ifds[frame - 1][273]), tiff_values(data, bo, ifds[frame - 1][279])):
        data[off:off + cnt] = b"\xff" * cnt
    return bytes(data)


def tiff_with_huge_frame(pdf: Path, frame: int = 2, size: int = 60_000) -> bytes:
    """tiff_of(pdf) with one frame's header claiming size×size pixels."""
    data = bytearray(tiff_of(pdf))
    bo, ifds = tiff_ifds(data)
    for tag in (256, 257):  # ImageWidth, ImageLength
        typ, _, pos = ifds[frame - 1][tag]
        data[pos:pos + 4] = struct.pack(bo + "HH", size, 0) if typ == 3 else struct.pack(bo + "I", size)
    return bytes(data)


@pytest.fixture
def ocr_from_text_layer(monkeypatch, valid_pdf):
    """The image path replaced by the valid PDF's text-layer pages (page n of an
    image → page n of the PDF), so image inputs give records without OCR."""
    layouts = list(open_document(valid_pdf).pages())

    def fake_ocr(image, number, dpi, options, prior_turn=None):
        layout = copy.deepcopy(layouts[(number - 1) % len(layouts)])
        layout.number, layout.kind = number, "image"
        for line in layout.lines:
            line.page = number
        for t in layout.tables:
            t.page = number
            for c in t.cells:
                c.page = number
        return layout, True  # (the page, and that its orientation was sure)

    monkeypatch.setattr(document, "_ocr", fake_ocr)


def hostile_inputs(d: Path, valid: Path) -> dict[str, tuple[str, str]]:
    """Broken and hostile files in d: {file name: (error code, words the message has)}."""
    d.mkdir(parents=True, exist_ok=True)
    data = valid.read_bytes()
    (d / "empty.pdf").write_bytes(b"")
    (d / "truncated.pdf").write_bytes(data[:len(data) // 2])
    (d / "random.pdf").write_bytes(os.urandom(4096).replace(b"%PDF-", b"%PDX-"))
    (d / "saved page.pdf").write_bytes(b"<!DOCTYPE html>\n<html><head><title>404</title></head></html>\n")
    zero_page_pdf(d / "zero-pages.pdf")
    blank_pdf(d / "3000-pages.pdf", 3000)
    render(d / "encrypted.pdf", password=PASSWORD)
    png_header_bomb(d / "bomb.png")
    prose_pdf(d / "春江花月夜.pdf")
    return {
        "empty.pdf": ("E_EMPTY", "0 bytes"),
        "truncated.pdf": ("E_CORRUPT", "not a readable PDF"),
        "random.pdf": ("E_UNSUPPORTED", "not a PDF"),
        "saved page.pdf": ("E_UNSUPPORTED", "HTML page"),
        "zero-pages.pdf": ("E_NO_PAGES", "no pages"),
        "3000-pages.pdf": ("E_TOO_LARGE", "3000 pages"),
        "encrypted.pdf": ("E_ENCRYPTED", "--password"),
        "bomb.png": ("E_TOO_LARGE", "100000×100000"),
        "春江花月夜.pdf": ("E_NOT_DECLARATION", "财政项目支出绩效目标申报表"),
    }


def cli(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`shenbao …` in a fresh process, as a user runs it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, env=env, timeout=timeout)


def no_traceback(text: str) -> None:
    assert "Traceback" not in text, text


def manifest(outdir: Path) -> list[dict]:
    return [json.loads(line) for line in (outdir / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]


def assert_clean_outdir(outdir: Path) -> None:
    """No temp files left; every record file is complete JSON."""
    assert not [p.name for p in outdir.rglob("*.tmp")]
    for p in outdir.glob("*.json"):
        json.loads(p.read_text(encoding="utf-8"))


# ------------------------------------------------------------------ the error classes

def test_error_codes_unique_and_documented():
    from pipelines import batch

    classes = errors.all_errors()
    codes = [c.code for c in classes]
    assert len(codes) == len(set(codes))
    assert all(re.fullmatch(r"E_[A-Z_]+", c) for c in codes)
    assert errors.WorkerDied.code == batch.E_WORKER_DIED == "E_WORKER_DIED"
    assert errors.CODES["E_CORRUPT"] is errors.CorruptFile
    doc = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    for cls in classes:
        assert cls.hint and f"`{cls.code}`" in doc, cls.code
    e = errors.CorruptFile("x.pdf is damaged")
    assert str(e) == "E_CORRUPT: x.pdf is damaged" and e.message == "x.pdf is damaged"


def test_readme_error_table_is_docs_table():
    """The README's table of codes is docs/errors.md's, row for row, and lists every code."""
    def rows(path):
        return [ln for ln in (ROOT / path).read_text(encoding="utf-8").splitlines() if ln.startswith("| `E_")]

    assert rows("README.md") == rows("docs/errors.md")
    assert sorted(r.split("`")[1] for r in rows("README.md")) == sorted(c.code for c in errors.all_errors())


# ------------------------------------------------------------------ each hostile input

def test_empty_file(tmp_path):
    e = error_of(copy_to_bytes(tmp_path / "a.pdf", b""))
    assert e.code == "E_EMPTY" and "0 bytes" in e.message


def copy_to_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("fraction", [0.5, 0.1, 0.95])
def test_truncated_pdf(tmp_path, valid_pdf, fraction):
    data = valid_pdf.read_bytes()
    e = error_of(copy_to_bytes(tmp_path / "cut.pdf", data[:int(len(data) * fraction)]))
    assert e.code == "E_CORRUPT" and "cut.pdf" in e.message


def test_random_bytes_named_pdf(tmp_path):
    e = error_of(copy_to_bytes(tmp_path / "r.pdf", os.urandom(10_000).replace(b"%PDF-", b"%PDX-")))
    assert e.code == "E_UNSUPPORTED" and "named .pdf" in e.message


@pytest.mark.parametrize("head, what", [
    (b"<!DOCTYPE html><html><body>Not Found</body></html>", "HTML page"),
    (b"\xef\xbb\xbf<html lang='zh'>", "HTML page"),
    (b"PK\x03\x04\x14\x00\x06\x00", "ZIP"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00", "Word / Excel"),
    ("项目名称：某某项目\n".encode("gb18030"), "plain text"),
    (b"GIF89a\x01\x00\x01\x00", "GIF image"),
])
def test_other_file_types_named_pdf(tmp_path, head, what):
    e = error_of(copy_to_bytes(tmp_path / "x.pdf", head))
    assert e.code == "E_UNSUPPORTED" and what in e.message


def test_not_a_regular_file(tmp_path):
    """A FIFO or a device behind a .pdf name is refused before any read (no hang)."""
    fifo = tmp_path / "pipe.pdf"
    os.mkfifo(fifo)
    link = tmp_path / "zero.pdf"
    link.symlink_to("/dev/zero")
    for p in (fifo, link, tmp_path):
        e = error_of(p)
        assert e.code == "E_UNSUPPORTED" and "not a regular file" in e.message
    assert error_of(tmp_path / "missing.pdf").code == "E_UNSUPPORTED"


def test_encrypted_pdf(tmp_path):
    pdf = render(tmp_path / "enc.pdf", password=PASSWORD)
    e = error_of(pdf)
    assert e.code == "E_ENCRYPTED" and "--password" in e.message
    e = error_of(pdf, Options(password="nope"))
    assert e.code == "E_ENCRYPTED" and "wrong password" in e.message
    (rec,) = extract_file(pdf, Options(password=PASSWORD))
    assert rec["project"]["name"] == corpus_record()["project"]["name"]
    (rec,) = extract_file(pdf, Options(password="owner-" + PASSWORD))  # the owner password opens it too
    assert rec["project"]["name"] == corpus_record()["project"]["name"]


def test_zero_page_pdf(tmp_path):
    e = error_of(zero_page_pdf(tmp_path / "none.pdf"))
    assert e.code == "E_NO_PAGES"


def test_thousands_of_pages_refused_by_page_limit(tmp_path):
    pdf = blank_pdf(tmp_path / "big.pdf", 3000)
    t0 = time.perf_counter()
    e = error_of(pdf)
    assert e.code == "E_TOO_LARGE" and "3000 pages" in e.message and "--max-pages" in e.message
    assert time.perf_counter() - t0 < 5  # counted, not parsed
    e = error_of(pdf, Options(max_pages=100))
    assert e.code == "E_TOO_LARGE"
    doc = open_document(pdf, Options(max_pages=5000))  # a genuine long file: raise the limit
    assert doc.n_pages == 3000


def test_pages_are_streamed_one_by_one(tmp_path, valid_pdf, monkeypatch):
    """Document.pages() is a generator: a page is parsed when it is asked for, and
    its pdfplumber objects are released (Page.close) before the next one."""
    import pdfplumber.page

    assert inspect.isgeneratorfunction(document.Document.pages)
    events = []
    real_close = pdfplumber.page.Page.close
    monkeypatch.setattr(pdfplumber.page.Page, "close",
                        lambda self: (events.append(("close", self.page_number)), real_close(self))[1])
    doc = open_document(valid_pdf)
    pages = doc.pages()
    assert not doc.info and not events  # nothing read yet
    first = next(pages)
    assert first.number == 1 and [i.number for i in doc.info] == [1] and events == [("close", 1)]
    rest = list(pages)
    assert [p.number for p in rest] == [2, 3]
    assert [e for e in events if e[0] == "close"][:3] == [("close", 1), ("close", 2), ("close", 3)]


MEMORY_SCRIPT = r"""
import resource, sys
from extract import errors
from extract.pipeline import extract_file

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

for path in sys.argv[1:]:
    try:
        extract_file(path)
    except errors.ShenbaoError:
        pass  # prose, not a declaration: the pages were read all the same
    print(f"{peak_mb():.1f}")
"""


def text_pdf(path: Path, pages: int) -> Path:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    c = canvas.Canvas(str(path))
    for p in range(pages):
        c.setFont("STSong-Light", 10)
        for k in range(3):
            c.drawString(40, 800 - 14 * k, f"项目绩效目标申报表的内容说明文字第{p}页第{k}行用于测试内存占用是否平稳不随页数增长")
        c.showPage()
    c.save()
    return path


def test_memory_stays_flat_on_1000_pages(tmp_path):
    """Peak RSS of extract_file on a 1000-page text PDF, over the peak after a
    10-page warm-up (imports, fonts, caches), in a fresh process.

    Why 80 MB: measured growth is ~15 MB (the 1000 small PageLayouts the pipeline
    keeps). Keeping every page's pdfplumber objects instead (no Page.close) grows
    by ~290 MB for these 120-character pages, so the bound tells the two apart
    with room for allocator noise on either side."""
    small, big = text_pdf(tmp_path / "p10.pdf", 10), text_pdf(tmp_path / "p1000.pdf", 1000)
    out = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, str(small), str(big)], capture_output=True,
                         text=True, cwd=ROOT, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    warm, peak = map(float, out.stdout.split())
    assert peak - warm < 80, f"peak RSS grew {peak - warm:.0f} MB over 1000 pages (from {warm:.0f} MB)"


def test_png_bomb_refused_before_decoding(tmp_path, monkeypatch):
    from PIL import Image

    def no_decoding(self, *a, **kw):
        raise AssertionError("the image was decoded")

    monkeypatch.setattr(Image.Image, "load", no_decoding)
    monkeypatch.setattr(Image.Image, "copy", no_decoding)
    monkeypatch.setattr(Image.Image, "convert", no_decoding)
    e = error_of(png_header_bomb(tmp_path / "bomb.png"))
    assert e.code == "E_TOO_LARGE" and "100000×100000" in e.message and "--max-pixels" in e.message


def test_real_small_file_huge_png(tmp_path):
    """A real 15000×15000 bilevel PNG: 225 Mpx in ~60 kB, over the default limit."""
    from PIL import Image

    path = tmp_path / "scan.png"
    Image.new("1", (15_000, 15_000), 1).save(path)
    assert path.stat().st_size < 200_000
    e = error_of(path)
    assert e.code == "E_TOO_LARGE" and "15000×15000" in e.message
    e = error_of(path, Options(max_pixels=100))  # the limit is an option
    assert e.code == "E_TOO_LARGE"


def test_tiff_with_huge_frame_refused(tmp_path, valid_pdf):
    path = copy_to_bytes(tmp_path / "scan.tif", tiff_with_huge_frame(valid_pdf, frame=2))
    e = error_of(path)
    assert e.code == "E_TOO_LARGE" and "frame 2" in e.message and "60000×60000" in e.message


def test_tiff_with_corrupt_frame(tmp_path, valid_pdf, ocr_from_text_layer):
    """The good frames are used; the bad one is a warning and page_kinds["error"]."""
    path = copy_to_bytes(tmp_path / "scan.tif", tiff_with_bad_frame(valid_pdf, frame=2))
    doc = open_document(path)
    assert doc.n_pages == 3
    assert [p.number for p in doc.pages()] == [1, 3]
    (rec,) = extract_file(path)
    assert rec["source"]["page_kinds"] == {"image": [1, 3], "error": [2]}
    assert any(w.startswith("page 2: unreadable") for w in rec["warnings"]), rec["warnings"]
    assert rec["project"]["name"] == corpus_record()["project"]["name"]  # page 1 was read


def test_tiff_every_frame_corrupt(tmp_path, valid_pdf, ocr_from_text_layer):
    data = tiff_of(valid_pdf)
    bo, ifds = tiff_ifds(data)
    for frame in range(1, len(ifds) + 1):
        data = tiff_with_bad_frame_bytes(data, frame)
    e = error_of(copy_to_bytes(tmp_path / "scan.tif", data))
    assert e.code == "E_CORRUPT" and "no page could be read" in e.message


def tiff_with_bad_frame_bytes(data: bytes, frame: int) -> bytes:
    data = bytearray(data)
    bo, ifds = tiff_ifds(data)
    for off, cnt in zip(tiff_values(data, bo, ifds[frame - 1][273]), tiff_values(data, bo, ifds[frame - 1][279])):
        data[off:off + cnt] = b"\xff" * cnt
    return bytes(data)


def test_not_a_declaration(tmp_path):
    e = error_of(prose_pdf(tmp_path / "poem.pdf"))
    assert e.code == "E_NOT_DECLARATION"
    assert "not a 财政项目支出绩效目标申报表" in e.message


@pytest.mark.parametrize("order, missing", [(("a", "b"), "制度保障"), (("b", "c"), "项目总体情况")])
def test_declaration_with_parts_missing(tmp_path, order, missing):
    from pipelines.samples.render import RenderStyle

    pdf = render(tmp_path / "part.pdf", RenderStyle(part_order=order))
    (rec,) = extract_file(pdf)
    assert f"part {missing} not found in this declaration" in rec["warnings"]


def test_declaration_with_pages_dropped(tmp_path, valid_pdf):
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(valid_pdf))
    doc.del_page(1)  # part b (绩效目标)
    doc.save(str(tmp_path / "dropped.pdf"))
    doc.close()
    (rec,) = extract_file(tmp_path / "dropped.pdf")
    assert rec["source"]["page_count"] == 2
    assert "part 绩效目标 not found in this declaration" in rec["warnings"]
    assert rec["project"]["name"] == corpus_record()["project"]["name"]


def test_huge_pdf_page_not_rendered(tmp_path, valid_pdf, monkeypatch):
    """A 200-inch page with a drawing and no text layer (it would go to OCR)
    is 3.6 Gpx at 300 dpi and 400 Mpx even at the lowest dpi the page budget
    goes down to (100): refused by the pixel limit before rendering, as one
    bad page."""
    import pypdfium2 as pdfium
    from _pdfs import add_drawn_page

    doc = pdfium.PdfDocument(str(valid_pdf))
    add_drawn_page(doc, 14_400, 14_400)
    doc.save(str(tmp_path / "poster.pdf"))
    doc.close()
    monkeypatch.setattr(pdfium.PdfPage, "render", lambda *a, **kw: pytest.fail("rendered"))
    (rec,) = extract_file(tmp_path / "poster.pdf")
    assert rec["source"]["page_kinds"] == {"text": [1, 2, 3], "error": [4]}
    assert any(w.startswith("page 4: unreadable") and "20000×20000" in w and "at 100 dpi" in w for w in rec["warnings"])


def test_a_page_with_nothing_drawn_is_not_sent_to_ocr(tmp_path, valid_pdf, monkeypatch):
    """A blank page (a word processor's page break; 第 3 页 alone) holds
    nothing an OCR pass could read: it is taken as the (empty) text page it is."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(valid_pdf))
    doc.new_page(595, 842)
    doc.save(str(tmp_path / "blank.pdf"))
    doc.close()
    monkeypatch.setattr(pdfium.PdfPage, "render", lambda *a, **kw: pytest.fail("rendered"))
    (rec,) = extract_file(tmp_path / "blank.pdf")
    assert rec["source"]["page_kinds"] == {"text": [1, 2, 3, 4]}


# ------------------------------------------------------------------ library exceptions → E_CORRUPT

def _library_errors():
    from pdfminer.pdfparser import PDFSyntaxError
    from pdfminer.psexceptions import PSEOF
    from PIL import Image
    import pypdfium2 as pdfium

    return [PDFSyntaxError("No /Root object! - Is this really a PDF?"), PSEOF("Unexpected EOF"),
            pdfium.PdfiumError("Failed to load page"), Image.DecompressionBombError("bomb"),
            struct.error("unpack requires a buffer of 4 bytes"), ValueError("bad value"), KeyError("Kids"),
            RecursionError("maximum recursion depth exceeded"), TypeError("'NoneType' object"),
            AssertionError(), ZeroDivisionError("division by zero"), IndexError("list index")]


@pytest.mark.parametrize("exc", _library_errors(), ids=lambda e: type(e).__name__)
def test_library_exceptions_become_corrupt(tmp_path, valid_pdf, monkeypatch, exc):
    """Whatever pdfplumber / pdfminer / pypdfium2 / PIL raise, at any step, comes
    out as a ShenbaoError with the library's message (or a page-level warning)."""
    import pdfplumber
    import pypdfium2 as pdfium
    from PIL import Image

    def boom(*a, **kw):
        raise exc

    code = "E_TOO_LARGE" if isinstance(exc, Image.DecompressionBombError) else "E_CORRUPT"

    # 1. opening (page count) fails
    with monkeypatch.context() as m:
        m.setattr(pdfium, "PdfDocument", boom)
        e = error_of(valid_pdf)
        assert e.code == code and type(exc).__name__ in e.message
    # 2. the text-layer parser fails on the whole file
    with monkeypatch.context() as m:
        m.setattr(pdfplumber, "open", boom)
        e = error_of(valid_pdf)
        assert e.code == code and type(exc).__name__ in e.message
    # 3. one page fails: skipped with a warning, the others are read
    real = pdfplumber.page.Page.chars.fget

    def chars(self):
        if self.page_number == 3:
            raise exc
        return real(self)

    with monkeypatch.context() as m:
        m.setattr(pdfplumber.page.Page, "chars", property(chars))
        (rec,) = extract_file(valid_pdf)
        assert rec["source"]["page_kinds"]["error"] == [3]
        assert any(w.startswith("page 3: unreadable") and type(exc).__name__ in w for w in rec["warnings"])
    # 4. an image fails to open
    png = tmp_path / "a.png"
    Image.new("L", (20, 20)).save(png)
    with monkeypatch.context() as m:
        m.setattr(Image, "open", boom)
        e = error_of(png)
        assert e.code == code and type(exc).__name__ in e.message


def test_memory_error_is_e_memory(tmp_path, valid_pdf, monkeypatch):
    import pdfplumber

    def boom(self):
        raise MemoryError()

    monkeypatch.setattr(pdfplumber.page.Page, "chars", property(boom))
    assert error_of(valid_pdf).code == "E_MEMORY"


# ------------------------------------------------------------------ the CLIs, all inputs at once

def test_cli_extract_reports_every_bad_file_and_goes_on(tmp_path, valid_pdf):
    indir = tmp_path / "in"
    expected = hostile_inputs(indir, valid_pdf)
    copy_to(valid_pdf, indir / "good.pdf")
    names = sorted(expected) + ["good.pdf"]
    out = cli("extract", "-o", str(tmp_path / "out"), "--", *names, cwd=indir)
    no_traceback(out.stderr + out.stdout)
    assert out.returncode == 1
    for name, (code, words) in expected.items():
        line = next((x for x in out.stderr.splitlines() if x.startswith(f"{name}: ")), None)
        assert line and f"{name}: {code}: " in line and words in line, (name, out.stderr)
    assert f"{len(expected)} of {len(names)} files failed" in out.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good.json", "manifest.jsonl"]
    entries = {e["file"]: e for e in manifest(tmp_path / "out")}  # extract keeps the same account as batch
    assert {n: e["error_code"] for n, e in entries.items()} == \
        {**{n: code for n, (code, _) in expected.items()}, "good.pdf": None}
    assert entries["good.pdf"]["records"] == ["good.json"] and entries["good.pdf"]["status"] == "ok"
    assert_clean_outdir(tmp_path / "out")


def test_cli_password_end_to_end(tmp_path):
    pdf = render(tmp_path / "in" / "enc.pdf", password=PASSWORD)
    out = cli("extract", "-o", str(tmp_path / "o1"), str(pdf))
    assert out.returncode == 1 and "enc.pdf: E_ENCRYPTED: " in out.stderr and "--password" in out.stderr
    out = cli("extract", "-o", str(tmp_path / "o1"), "--password", "wrong", str(pdf))
    assert out.returncode == 1 and "E_ENCRYPTED" in out.stderr and "wrong password" in out.stderr
    out = cli("extract", "-o", str(tmp_path / "o1"), "--password", PASSWORD, str(pdf))
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "o1" / "enc.json").exists()
    out = cli("batch", str(tmp_path / "in"), "-o", str(tmp_path / "o2"), "-j", "1")
    assert out.returncode == 1 and "E_ENCRYPTED" in out.stderr
    assert manifest(tmp_path / "o2")[0]["error_code"] == "E_ENCRYPTED"
    out = cli("batch", str(tmp_path / "in"), "-o", str(tmp_path / "o2"), "-j", "1", "--password", PASSWORD)
    assert out.returncode == 0, out.stderr
    assert [e["status"] for e in manifest(tmp_path / "o2")] == ["error", "ok"]
    no_traceback(out.stderr)


def test_cli_options_reach_options(monkeypatch, tmp_path):
    """--password, --max-pages, --max-pixels of both commands end up in Options."""
    from typer.testing import CliRunner

    import pipelines.batch
    import pipelines.extracting
    from pipelines.cli import app

    seen = []

    def fake_extract(paths, outdir, options=None, **kw):
        seen.append(options)
        s = pipelines.batch.Summary(found=1)
        s.failed = {"E_NOT_DECLARATION": 1}
        return s

    def fake_batch(indir, outdir, options=None, **kw):
        seen.append(options)
        return pipelines.batch.Summary()

    monkeypatch.setattr(pipelines.extracting, "run_extract", fake_extract)
    monkeypatch.setattr(pipelines.batch, "run_batch", fake_batch)
    (tmp_path / "a.pdf").write_bytes(b"%PDF-1.4")
    flags = ["--password", "pw", "--max-pages", "7", "--max-pixels", "1234"]
    r1 = CliRunner().invoke(app, ["extract", "-o", str(tmp_path / "o"), *flags, str(tmp_path / "a.pdf")])
    r2 = CliRunner().invoke(app, ["batch", str(tmp_path), "-o", str(tmp_path / "o"), *flags])
    assert r1.exit_code == 1 and r2.exit_code == 0, (r1.output, r2.output)
    assert [(o.password, o.max_pages, o.max_pixels) for o in seen] == [("pw", 7, 1234)] * 2


def test_cli_batch_reports_every_bad_file_and_goes_on(tmp_path, valid_pdf):
    indir = tmp_path / "in"
    expected = hostile_inputs(indir, valid_pdf)
    copy_to(valid_pdf, indir / "good.pdf")
    copy_to(valid_pdf, indir / "sub" / "-o.pdf")
    out = cli("batch", str(indir), "-o", str(tmp_path / "out"), "-j", "2", "--timeout", "120")
    no_traceback(out.stderr + out.stdout)
    assert out.returncode == 1
    entries = {e["file"]: e for e in manifest(tmp_path / "out")}
    assert set(entries) == set(expected) | {"good.pdf", "sub/-o.pdf"}
    for name, (code, words) in expected.items():
        assert entries[name]["status"] == "error"
        assert entries[name]["error_code"] == code and words in entries[name]["error_message"], entries[name]
        assert f"{name}: {code}: " in out.stderr
    assert entries["good.pdf"]["status"] == entries["sub/-o.pdf"]["status"] == "ok"
    assert entries["sub/-o.pdf"]["records"] == ["sub__o.json"]
    assert sorted(p.name for p in (tmp_path / "out").glob("*.json")) == ["good.json", "sub__o.json"]
    assert_clean_outdir(tmp_path / "out")


# ------------------------------------------------------------------ output that cannot be written

def test_outdir_is_a_file(tmp_path, valid_pdf):
    outdir = tmp_path / "out"
    outdir.write_text("not a directory")
    out = cli("extract", "-o", str(outdir), str(valid_pdf))
    assert out.returncode == 2 and "E_OUTPUT" in out.stderr and "not a directory" in out.stderr
    no_traceback(out.stderr)
    indir = tmp_path / "in"
    copy_to(valid_pdf, indir / "a.pdf")
    out = cli("batch", str(indir), "-o", str(outdir))
    assert out.returncode == 2 and "E_OUTPUT" in out.stderr
    no_traceback(out.stderr)
    assert outdir.read_text() == "not a directory"


def test_outdir_under_proc(tmp_path, valid_pdf):
    out = cli("extract", "-o", "/proc/self/shenbao-out", str(valid_pdf))
    assert out.returncode == 2 and "E_OUTPUT" in out.stderr
    no_traceback(out.stderr)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through chmod 0o500")
def test_outdir_not_writable_chmod(tmp_path, valid_pdf):
    outdir = tmp_path / "out"
    outdir.mkdir()
    outdir.chmod(0o500)
    try:
        out = cli("extract", "-o", str(outdir), str(valid_pdf))
    finally:
        outdir.chmod(0o700)
    assert out.returncode == 1 and "E_OUTPUT" in out.stderr
    no_traceback(out.stderr)
    assert not list(outdir.iterdir())


def test_outdir_not_writable_simulated(tmp_path, valid_pdf, monkeypatch):
    """EACCES on creating the record file (what chmod 0o500 gives a non-root user)."""
    from typer.testing import CliRunner

    import pipelines.io
    from pipelines.cli import app

    def denied(*a, **kw):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(pipelines.io.tempfile, "mkstemp", denied)
    r = CliRunner().invoke(app, ["extract", "-o", str(tmp_path / "out"), str(valid_pdf)])
    assert r.exit_code == 1
    assert "E_OUTPUT" in r.output and "Permission denied" in r.output
    no_traceback(r.output)


class FullDisk:
    """os.fsync that succeeds `budget` times and then fails with ENOSPC, as a disk
    filling up mid-run looks to a program that fsyncs what it writes."""

    def __init__(self, budget: int):
        self.budget = budget

    def fsync(self, fd):
        if self.budget <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.budget -= 1
        return os.fsync(fd)

    def only_for(self, module):
        """A stand-in for `os` seen by one module only."""
        ns = types.SimpleNamespace(**{k: getattr(os, k) for k in dir(os) if not k.startswith("__")})
        ns.fsync = self.fsync
        return ns


def test_disk_full_during_extract(tmp_path, valid_pdf, monkeypatch):
    from typer.testing import CliRunner

    import pipelines.io
    from pipelines.cli import app

    files = [str(copy_to(valid_pdf, tmp_path / "in" / f"{n}.pdf")) for n in "abc"]
    outdir = tmp_path / "out"
    full = FullDisk(budget=2)  # a.json and OUTDIR; then full
    monkeypatch.setattr(pipelines.io, "os", full.only_for(pipelines.io))
    r = CliRunner().invoke(app, ["extract", "-o", str(outdir), *files])
    assert r.exit_code == 1
    no_traceback(r.output)
    assert r.output.count("E_OUTPUT") == 2 and "No space left on device" in r.output
    assert sorted(p.name for p in outdir.glob("*.json")) == ["a.json"]  # b and c: nothing, not half
    assert_clean_outdir(outdir)
    monkeypatch.undo()  # space again: a rerun completes
    r = CliRunner().invoke(app, ["extract", "-o", str(outdir), *files])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in outdir.glob("*.json")) == ["a.json", "b.json", "c.json"]
    assert_clean_outdir(outdir)


def test_disk_full_during_batch_records(tmp_path, valid_pdf, monkeypatch):
    """Records cannot be written but the manifest can: each document is an
    E_OUTPUT line, the batch goes on, a rerun redoes them."""
    import pipelines.io
    from pipelines.batch import run_batch

    indir = tmp_path / "in"
    for n in "abc":
        copy_to(valid_pdf, indir / f"{n}.pdf").write_bytes(valid_pdf.read_bytes() + f"%{n}\n".encode())
    outdir = tmp_path / "out"
    monkeypatch.setattr(pipelines.io, "os", FullDisk(budget=2).only_for(pipelines.io))  # a.json, OUTDIR
    s = run_batch(indir, outdir, jobs=1, progress=False)
    assert s.ok == 1 and s.failed == {"E_OUTPUT": 2}
    assert [e["error_code"] for e in manifest(outdir)] == [None, "E_OUTPUT", "E_OUTPUT"]
    assert_clean_outdir(outdir)
    monkeypatch.undo()
    s = run_batch(indir, outdir, jobs=1, progress=False)
    assert s.ok == 2 and s.skipped == 1 and not s.failed
    assert sorted(p.name for p in outdir.glob("*.json")) == ["a.json", "b.json", "c.json"]
    assert_clean_outdir(outdir)


def test_disk_full_during_batch_stops_cleanly(tmp_path, valid_pdf, monkeypatch):
    """The whole disk is full (the manifest cannot be written either): the batch
    stops with E_OUTPUT on stderr, leaves no half file, and a rerun completes."""
    from typer.testing import CliRunner

    from pipelines.cli import app

    indir = tmp_path / "in"
    for n in "abcd":
        copy_to(valid_pdf, indir / f"{n}.pdf").write_bytes(valid_pdf.read_bytes() + f"%{n}\n".encode())
    outdir = tmp_path / "out"
    full = FullDisk(budget=3)  # a.json, OUTDIR, manifest line of a; then full
    monkeypatch.setattr(os, "fsync", full.fsync)
    r = CliRunner().invoke(app, ["batch", str(indir), "-o", str(outdir), "-j", "1"])
    assert r.exit_code == 2, r.output
    assert "E_OUTPUT" in r.output and "No space left on device" in r.output
    no_traceback(r.output)
    assert_clean_outdir(outdir)
    monkeypatch.undo()
    r = CliRunner().invoke(app, ["batch", str(indir), "-o", str(outdir), "-j", "1"])
    assert r.exit_code == 0, r.output
    ok = {e["file"] for e in manifest(outdir) if e["status"] == "ok"}
    assert ok == {"a.pdf", "b.pdf", "c.pdf", "d.pdf"}
    assert sorted(p.name for p in outdir.glob("*.json")) == ["a.json", "b.json", "c.json", "d.json"]
    assert_clean_outdir(outdir)


def test_atomic_write_leaves_nothing_on_failure(tmp_path, monkeypatch):
    from pipelines import io as pio

    target = tmp_path / "r.json"
    pio.atomic_write_json(target, {"v": 1})
    monkeypatch.setattr(pio, "os", FullDisk(budget=0).only_for(pio))
    with pytest.raises(errors.OutputError) as info:
        pio.atomic_write_json(target, {"v": 2})
    assert info.value.code == "E_OUTPUT" and "No space left" in info.value.message
    assert json.loads(target.read_text()) == {"v": 1}  # the old complete file, untouched
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]
    umask = os.umask(0o022)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600


# ------------------------------------------------------------------ file names

@pytest.mark.parametrize("name, stem", [
    ("a.pdf", "a"), ("空 格 申报表.pdf", "空 格 申报表"), ("-o.pdf", "o"), ("--help.pdf", "help"),
    ("..", "document"), ("..json", "document"), (".pdf", "pdf"), ("../../etc/passwd.pdf", "passwd"),
    ("a/../../b.pdf", "b"), ("..\\..\\evil.pdf", "_.._evil"), (".hidden.pdf", "hidden"),
    ("tab\there\n.pdf", "tab_here_"), ("- -.pdf", "document"),
])
def test_safe_stem(name, stem):
    from pipelines.io import safe_stem

    assert safe_stem(name) == stem


def test_long_names_fit(tmp_path):
    """A 250-byte Chinese file name (the longest a file system allows) still gives
    an output file, and two that differ only at the end stay apart."""
    from pipelines.io import output_names, safe_stem, write_records

    a, b = "关于" * 41 + "甲.pdf", "关于" * 41 + "乙.pdf"  # 249 bytes + .pdf
    assert len(a.encode()) <= 255
    sa, sb = safe_stem(a), safe_stem(b)
    assert sa != sb and len(sa.encode()) <= 180
    assert all(len(n.encode()) <= 200 for n in output_names(sa, 12))
    for name in (a, b):
        write_records(tmp_path, name, [{"x": 1}, {"x": 2}])
    assert len(list(tmp_path.glob("*.json"))) == 4


def test_outputs_stay_inside_outdir(tmp_path, valid_pdf):
    """Names with `..`, dashes, spaces and Chinese; a symlinked input pointing
    outside (named on the command line: read); a symlink already in OUTDIR
    pointing outside: every write lands in OUTDIR, the link is neither
    followed nor taken over (its name is someone else's: link_2.json), and
    the outside file is never touched."""
    outside = tmp_path / "outside"
    copy_to(valid_pdf, outside / "real.pdf")
    secret = outside / "secret.json"
    secret.write_text("keep")
    work = tmp_path / "work"
    for name in ["-o.pdf", "--help.pdf", "空 格 申报.pdf", "..json.pdf", "...pdf"]:
        copy_to(valid_pdf, work / name)
    (work / "link.pdf").symlink_to(outside / "real.pdf")
    outdir = tmp_path / "out"
    outdir.mkdir()
    (outdir / "link.json").symlink_to(secret)
    names = ["-o.pdf", "--help.pdf", "空 格 申报.pdf", "..json.pdf", "...pdf", "link.pdf",
             "../outside/real.pdf"]
    out = cli("extract", "-o", str(outdir), "--", *names, cwd=work)
    assert out.returncode == 0, out.stderr
    assert secret.read_text() == "keep" and sorted(p.name for p in outside.iterdir()) == ["real.pdf", "secret.json"]
    got = sorted(p.name for p in outdir.iterdir())
    assert got == sorted(["o.json", "help.json", "空 格 申报.json", "json.json", "document.json",
                          "link.json", "link_2.json", "real.json", "manifest.jsonl"]), got
    assert (outdir / "link.json").is_symlink() and secret.read_text() == "keep"  # left alone
    assert all(p.resolve().parent == outdir.resolve() for p in outdir.iterdir() if p.name != "link.json")


def test_dash_names_need_double_dash(tmp_path, valid_pdf):
    """Without `--`, `--help.pdf` is taken for an option: a usage error, not a
    traceback (docs/errors.md says to put `--` before such names)."""
    copy_to(valid_pdf, tmp_path / "--help.pdf")
    out = cli("extract", "-o", str(tmp_path / "out"), "--help.pdf", cwd=tmp_path)
    assert out.returncode == 2 and "No such option" in out.stderr
    no_traceback(out.stderr)
    out = cli("extract", "-o", str(tmp_path / "out"), "./--help.pdf", cwd=tmp_path)
    assert out.returncode == 0, out.stderr


def test_same_stem_twice_in_one_run(tmp_path, valid_pdf):
    """Two inputs with one stem do not overwrite each other."""
    from typer.testing import CliRunner

    from pipelines.cli import app

    a = copy_to(valid_pdf, tmp_path / "x" / "a.pdf")
    b = copy_to(valid_pdf, tmp_path / "y" / "a.pdf")
    r = CliRunner().invoke(app, ["extract", "-o", str(tmp_path / "out"), str(a), str(b)])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp_path / "out").glob("*.json")) == ["a.json", "a_2.json"]
    r = CliRunner().invoke(app, ["extract", "-o", str(tmp_path / "out"), str(a)])  # a rerun replaces its own
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp_path / "out").glob("*.json")) == ["a.json", "a_2.json"]


def test_batch_fifo_and_device_inputs(tmp_path, valid_pdf):
    """A FIFO and a symlink to /dev/zero named .pdf in INDIR: reported, no hang
    (the link is not followed at all unless --follow-symlinks)."""
    from pipelines.batch import run_batch

    indir = tmp_path / "in"
    copy_to(valid_pdf, indir / "good.pdf")
    os.mkfifo(indir / "pipe.pdf")
    (indir / "zero.pdf").symlink_to("/dev/zero")
    with time_limit(120):
        s = run_batch(indir, tmp_path / "out0", jobs=1, progress=False)
    assert s.ok == 1 and s.failed == {"E_UNSUPPORTED": 1} and s.not_followed == ["zero.pdf"]
    with time_limit(120):
        s = run_batch(indir, tmp_path / "out", jobs=1, progress=False, follow_symlinks=True)
    assert s.ok == 1 and s.failed == {"E_UNSUPPORTED": 2}
    msgs = {e["file"]: e["error_message"] for e in manifest(tmp_path / "out") if e["status"] == "error"}
    assert set(msgs) == {"pipe.pdf", "zero.pdf"} and all("not a regular file" in m for m in msgs.values())
