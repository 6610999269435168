"""The quick look (extract/image/triage.py) and how the document reader uses
it: pages that cannot belong to a declaration are set aside before a full
read, and a declaration never loses a page to the look."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from extract import errors
from extract import document as docmod
from extract.document import Options, open_document
from extract.image import triage
from extract.layout import PageLayout, TextLine
from extract.ocr import registry
from extract.ocr.base import Read
from extract.pipeline import extract_file, read_document
from extract.settings import Settings, TriageSettings

ROOT = Path(__file__).resolve().parent.parent
DPI = 200
S = TriageSettings()


def _blank(h=2339, w=1654) -> np.ndarray:  # A4 at 200 dpi
    return np.full((h, w), 255, np.uint8)


def _ruled(rows=8, height_share=0.6) -> np.ndarray:
    """A ruled table: long rules across, shorter rules down."""
    img = _blank()
    h, w = img.shape
    top, bottom = 300, 300 + int(h * height_share)
    for y in np.linspace(top, bottom, rows).astype(int):
        cv2.line(img, (150, int(y)), (w - 150, int(y)), 0, 2)
    for x in (150, 600, w - 150):
        cv2.line(img, (x, top), (x, bottom), 0, 2)
    return img


def _text_like(img: np.ndarray) -> np.ndarray:
    """Rows of short strokes standing for body text (no rule in them)."""
    for y in range(300, 1500, 60):
        for x in range(200, 1400, 40):
            cv2.rectangle(img, (x, y), (x + 25, y + 25), 0, 2)
    return img


class _Engine:
    """Reads every line the same text; counts what it was asked."""

    name = "fake-look"

    def __init__(self, text: str, boxes: int = 3):
        self.text, self.boxes, self.detected, self.read = text, boxes, 0, 0

    def version(self) -> str:
        return "fake-look 1"

    def detect(self, img, dpi):
        self.detected += 1
        h, w = img.shape[:2]
        return [np.array([[10, 10 + 30 * k], [w // 2, 10 + 30 * k], [w // 2, 30 + 30 * k], [10, 30 + 30 * k]],
                         np.float32) for k in range(self.boxes)]

    def recognize(self, crops, charset=None):
        self.read += len(crops)
        return [Read(self.text, 0.9, None) for _ in crops]

    def upside_down(self, crops):
        return None


class _NoRead(_Engine):
    def detect(self, img, dpi):
        raise AssertionError("a ruled page needs no read")


def test_darkest_keeps_a_one_pixel_rule():
    img = _blank(400, 400)
    img[201, :] = 0  # one pixel high, on an odd row
    small = triage.darkest(img, 3)
    assert small.shape == (133, 133)
    assert small[67].max() == 0  # still black all along


def test_a_ruled_page_is_kept_without_reading():
    seen = triage.look(_ruled(), DPI, _NoRead("x"), S)
    assert seen.form and "ruling grid" in seen.why
    assert seen.rules["h"] == 8 and seen.rules["v_short"] == 3


def test_a_table_two_rows_high_is_a_grid():
    seen = triage.look(_ruled(rows=3, height_share=0.05), DPI, _NoRead("x"), S)
    assert seen.form


def test_a_sideways_ruled_page_is_kept():
    seen = triage.look(np.ascontiguousarray(_ruled().T), DPI, _NoRead("x"), S)
    assert seen.form


def test_a_ruled_page_at_poster_size_is_looked_at_reduced():
    big = cv2.resize(_ruled(), None, fx=3, fy=3, interpolation=cv2.INTER_NEAREST)
    seen = triage.look(big, DPI * 3, _NoRead("x"), S)
    assert seen.form


def test_text_without_rules_is_not_a_grid():
    r = triage.rules(_text_like(_blank()), DPI, S)
    assert r["h"] == 0 and r["v"] == 0


def test_a_page_without_grid_is_kept_by_a_form_word():
    eng = _Engine("关于报送2019年项目支出绩效目标的函")
    seen = triage.look(_text_like(_blank()), DPI, eng, S)
    assert seen.form and seen.words in S.form_words
    assert eng.detected == 1 and eng.read == 6  # 3 lines, both turns


def test_a_traditional_form_word_counts():
    seen = triage.look(_text_like(_blank()), DPI, _Engine("績效目標申報表"), S)
    assert seen.form


def test_a_letter_without_form_words_is_set_aside():
    seen = triage.look(_text_like(_blank()), DPI, _Engine("Dear Sir, please find enclosed"), S)
    assert not seen.form
    assert "no form word" in seen.why and "Dear Sir" in seen.why


# ------------------------------------------------------------------ the reader


@pytest.fixture
def fake_reads(monkeypatch):
    """The full read replaced by a stub that names the pages it was asked for."""
    calls: list[int] = []

    def fake_ocr(image, number, dpi, options, prior_turn=None):
        calls.append(number)
        page = PageLayout(number, "image", 595.0, 842.0)
        page.lines.append(TextLine("项目名称", (10, 10, 80, 20), number, 0.99, "ocr:fake"))
        return page, True

    monkeypatch.setattr(docmod, "_ocr", fake_ocr)
    return calls


def _tiff(path: Path, frames: list[np.ndarray]) -> Path:
    ims = [Image.fromarray(f) for f in frames]
    ims[0].save(path, save_all=True, append_images=ims[1:], dpi=(DPI, DPI), compression="tiff_lzw")
    return path


def _engine(text: str):
    registry.register("fake-look", lambda: _Engine(text))
    return Options(ocr_engine="fake-look")


def test_a_document_of_other_pages_ends_without_a_full_read(tmp_path, fake_reads):
    f = _tiff(tmp_path / "letter.tif", [_text_like(_blank()), _text_like(_blank())])
    opts = _engine("Dear Sir")
    with pytest.raises(errors.NotDeclaration) as e:
        extract_file(f, opts)
    assert fake_reads == []
    assert "quick look" in str(e.value) and "2 scanned page(s)" in str(e.value)
    doc = open_document(f, opts)
    list(doc.pages())
    assert [i.kind for i in doc.info] == ["set_aside", "set_aside"]


def test_a_page_set_aside_is_read_once_another_page_passes(tmp_path, fake_reads):
    f = _tiff(tmp_path / "decl.tif", [_text_like(_blank()), _ruled(), _text_like(_blank())])
    doc, pages = read_document(f, _engine("Dear Sir"))
    # page 1 was set aside, page 2 passed (and so page 3 was read without a look),
    # then page 1 was read in full: nothing of a declaration is lost to the look
    assert fake_reads == [2, 3, 1]
    assert [p.number for p in pages] == [1, 2, 3]
    assert sorted(i.kind for i in doc.info) == ["image"] * 3


def test_the_look_can_be_turned_off(tmp_path, fake_reads, monkeypatch):
    monkeypatch.setattr(triage, "look", lambda *a, **k: pytest.fail("looked"))
    f = _tiff(tmp_path / "letter.tif", [_text_like(_blank())])
    opts = _engine("Dear Sir")
    opts.settings = Settings(triage=TriageSettings(enabled=False))
    read_document(f, opts)
    assert fake_reads == [1]


def test_a_failing_look_reads_the_page(tmp_path, fake_reads, monkeypatch):
    def broken(*a, **k):
        raise ValueError("no look today")

    monkeypatch.setattr(triage, "look", broken)
    f = _tiff(tmp_path / "p.tif", [_text_like(_blank())])
    read_document(f, _engine("Dear Sir"))
    assert fake_reads == [1]


def test_a_text_page_with_form_words_keeps_the_scans_after_it():
    page = PageLayout(1, "text", 595.0, 842.0)
    page.lines.append(TextLine("项目支出绩效目标申报表", (0, 0, 10, 10), 1))
    assert docmod._has_form_word(page, Options())
    other = PageLayout(1, "text", 595.0, 842.0)
    other.lines.append(TextLine("Dear Sir", (0, 0, 10, 10), 1))
    assert not docmod._has_form_word(other, Options())


def test_the_look_is_not_part_of_the_cache_key():
    assert Settings().key() == Settings(triage=TriageSettings(enabled=False, read_lines=3)).key()


def test_every_bundled_scanned_page_passes_the_look():
    """The corpus proof (bench/triage_check.py runs it on any set): no page
    of a bundled scanned declaration would be set aside."""
    files = sorted((ROOT / "samples" / "scanned").iterdir())
    assert files
    looked = 0
    for f in files:
        for number, seen in open_document(f).quick_looks():
            looked += 1
            assert seen.form, f"{f.name} page {number}: {seen.why}"
    assert looked >= 30


def test_shenbao_toml_turns_the_look_off(tmp_path):
    """[reading] quick_look = false: every scanned page is read in full (a
    blank-reading engine then finds no text, instead of the look setting
    the page aside)."""
    from test_cli import FAULTS, cli

    scan = tmp_path / "letter.png"
    Image.fromarray(_text_like(_blank())).save(scan, dpi=(DPI, DPI))
    base = 'plugins = ["%s"]\n[ocr]\nengine = "fault-blank"\n' % FAULTS
    (tmp_path / "shenbao.toml").write_text(base)
    p = cli("extract", str(scan), "-o", str(tmp_path / "o"), cwd=tmp_path)
    assert p.returncode == 1 and "E_NOT_DECLARATION" in p.stderr and "quick look" in p.stderr, p.stderr
    (tmp_path / "shenbao.toml").write_text(base + "[reading]\nquick_look = false\n")
    p = cli("extract", str(scan), "-o", str(tmp_path / "o2"), cwd=tmp_path)
    assert p.returncode == 1 and "E_NOT_DECLARATION" in p.stderr and "quick look" not in p.stderr, p.stderr
    (tmp_path / "shenbao.toml").write_text(base + "[reading]\nquick_look = 1\n")
    p = cli("extract", str(scan), "-o", str(tmp_path / "o3"), cwd=tmp_path)
    assert p.returncode != 0 and "[reading] quick_look must be true or false" in p.stderr, p.stderr


# ------------------------------------------------------------------ the page pixel budget


def test_a_poster_page_is_rendered_within_the_pixel_budget(tmp_path, fake_reads):
    """A 2160-pt square page with a drawing and no text (OCRmyPDF's
    multipage.pdf has one): 81 Mpx at 300 dpi, read at the dpi that fits
    20 Mpx instead, with a warning saying so."""
    import pypdfium2 as pdfium
    from _pdfs import add_drawn_page

    doc = pdfium.PdfDocument.new()
    add_drawn_page(doc, 2160, 2160)
    doc.save(str(tmp_path / "poster.pdf"))
    doc.close()
    sizes = []

    def fake_ocr(image, number, dpi, options, prior_turn=None):
        sizes.append((image.size, dpi))
        return PageLayout(number, "image", 2160.0, 2160.0), True

    import extract.document as d

    orig = d._ocr
    d._ocr = fake_ocr
    try:
        opts = Options(settings=Settings(triage=TriageSettings(enabled=False)))
        _, pages = read_document(tmp_path / "poster.pdf", opts)
    finally:
        d._ocr = orig
    ((w, h), dpi), = sizes
    assert w * h <= docmod.PAGE_PIXEL_BUDGET and dpi == 149.0
    assert any("read at 149 dpi, not 300" in x for x in pages[0].warnings)


def test_fitting_dpi_stops_where_print_stops_reading():
    assert docmod.fitting_dpi(2480, 3508, 300, 20_000_000) == 300  # A4 at 300 dpi fits
    assert docmod.fitting_dpi(9000, 9000, 300, 20_000_000) == 149
    assert docmod.fitting_dpi(60_000, 60_000, 300, 20_000_000) == docmod.MIN_FIT_DPI


def test_a_huge_image_frame_is_reduced_to_the_budget():
    big = Image.new("L", (9000, 9000), 255)
    small, dpi = docmod.within_budget(big, 300.0, 20_000_000)
    assert dpi == 149.0 and small.size == (4470, 4470)
    same, dpi2 = docmod.within_budget(Image.new("L", (2480, 3508), 255), 300.0, 20_000_000)
    assert dpi2 == 300.0 and same.size == (2480, 3508)


def test_a_set_aside_page_that_fails_its_full_read_is_a_lost_page(tmp_path, monkeypatch):
    """The late full read of a set-aside page fails like any page: listed
    with its code, the rest of the document kept."""
    calls = []

    def fake_ocr(image, number, dpi, options, prior_turn=None):
        calls.append(number)
        if number == 1:
            raise MemoryError()
        return PageLayout(number, "image", 595.0, 842.0), True

    monkeypatch.setattr(docmod, "_ocr", fake_ocr)
    f = _tiff(tmp_path / "decl.tif", [_text_like(_blank()), _ruled()])
    doc, pages = read_document(f, _engine("Dear Sir"))
    assert calls == [2, 1] and [p.number for p in pages] == [2]
    (lost,) = [i for i in doc.info if i.kind == "error"]
    assert lost.number == 1 and lost.code == "E_MEMORY"
