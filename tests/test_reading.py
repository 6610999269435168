"""The image path's reading layer: settings, the engine registry, second
reads of numbers, calibrated confidence, orientation you can trust, and
the page cache (extract/settings.py, extract/ocr/*, extract/image/reading.py,
orientation.py, cache.py).

Engines here are small fakes with a known behaviour, registered through the
one registry the way OCRmyPDF's test plugins are; the real RapidOCR models
are used where a test is about them (a few crops, no full pages).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from extract import settings as st
from extract.image import cache as cache_mod
from extract.image import orientation as orient
from extract.image import reading
from extract.image.page import PageRead, read_image, to_layout
from extract.layout import Fragment
from extract.ocr import registry
from extract.ocr.base import Read, Word, quad_to_box
from extract.review import Flag

# ------------------------------------------------------------------ settings


def test_settings_validate_and_convert_millimetres():
    assert st.px(25.4, 200) == 200 and st.px(1.0, 300) == 12
    assert st.px(0.01, 150) == 1  # never zero pixels
    with pytest.raises(ValueError, match="GridSettings.min_cover"):
        st.GridSettings(min_cover=1.5)
    with pytest.raises(ValueError, match="ReadSettings.second_read"):
        st.ReadSettings(second_read="twice")
    with pytest.raises(ValueError, match="Calibration.text"):
        st.Calibration(text=((0.0, 0.5), (1.0, 0.2)))  # not increasing
    with pytest.raises(ValueError, match="EngineOptions.threads"):
        st.EngineOptions(threads=-1)


def test_settings_key_changes_with_what_changes_a_read():
    a = st.Settings()
    b = st.Settings(read=st.ReadSettings(second_scale=2.0))
    c = st.Settings(review=st.ReviewSettings(review_below=0.5))
    assert a.key() != b.key()
    assert a.key() == c.key()  # review thresholds do not change what a page reads as


def test_calibration_curves_are_monotone_interpolations():
    cal = st.Calibration(text=((0.0, 0.0), (0.5, 0.2), (1.0, 0.9)))
    assert cal.apply("text", 0.25) == pytest.approx(0.1)
    assert cal.apply("text", 2.0) == pytest.approx(0.9)
    vals = [cal.apply("agreed", x / 20) for x in range(21)]
    assert vals == sorted(vals)


# ------------------------------------------------------------------ registry


class _Fixed:
    """An engine that reads every crop as the next text of a script."""

    name = "fixed"
    detect_dpi = None

    def __init__(self, script=("846000",), score=0.99):
        self.script, self.score, self.calls = list(script), score, []

    def version(self):
        return "fixed 1"

    def detect(self, img, dpi):
        return []

    def recognize(self, crops, charset=None):
        self.calls.append((len(crops), charset))
        out = []
        for _ in crops:
            t = self.script.pop(0) if len(self.script) > 1 else self.script[0]
            out.append(Read(t, self.score, [(ch, self.score, "", 0.0) for ch in t]))
        return out

    def upside_down(self, crops):
        return None


def test_registry_one_engine_per_name_and_options():
    made = []
    registry.register("fake-opts", lambda options: made.append(options) or _Fixed())
    registry.register("fake-plain", lambda: _Fixed())  # a factory without options still works
    try:
        a = registry.get("fake-opts", st.EngineOptions(threads=1))
        assert registry.get("ocr:fake-opts", st.EngineOptions(threads=1)) is a
        b = registry.get("fake-opts", st.EngineOptions(threads=2))
        assert a is not b and [m.threads for m in made] == [1, 2]
        assert isinstance(registry.get("fake-plain"), _Fixed)
        assert "fake-opts" in registry.names()
        with pytest.raises(ValueError, match="unknown OCR engine"):
            registry.get("nope")
    finally:
        registry._FACTORIES.pop("fake-opts")
        registry._FACTORIES.pop("fake-plain")


# ------------------------------------------------------------------ numbers read twice


def test_numeric_by_its_own_text():
    for t in ("846000", "384,200.00", "2020年1月1日", "021-54145530", "≥3000人", "2020-12-31"):
        assert reading.is_numeric(t), t
    for t in ("项目名称", "第1项", "A", "5", "（一）财政拨款"):
        assert not reading.is_numeric(t), t
    assert reading.number_key("1,250,000.00") == reading.number_key("1250000.00")
    assert reading.number_key("846000") != reading.number_key("346000")
    assert reading.number_key("2O2O") == "2020"


def _word(text, score=0.9):
    r = Read(text, score, [(ch, score, "3" if ch == "8" else "", 0.3 if ch == "8" else 0.0) for ch in text])
    return Word(text, (10, 10, 90, 30), score, (8, 8, 92, 32), score=score, read=r,
                reads=[{"text": text, "source": "fixed", "confidence": score}])


def _gray():
    return np.full((60, 120), 255, np.uint8)


def test_two_reads_agree_confidence_rises_and_runner_ups_are_kept():
    s = st.Settings()
    w = _word("846000", 0.93)
    text_only = s.calibration.apply("text", 0.93)
    eng = _Fixed(("846000",))
    reading.second_reads(eng, _gray(), [w], s)
    reading.calibrate([w], s)
    assert w.agreement == "agreed" and not w.flags
    assert w.confidence > text_only
    # the recognizer's runner-up at the weakest digit, for the accounting pass
    assert {"text": "346000", "source": "fixed runner-up", "confidence": 0.3} in w.reads


def test_two_reads_differ_third_decides_and_the_piece_is_flagged():
    s = st.Settings()
    w = _word("346000", 0.97)
    eng = _Fixed(("846000", "846000"))  # second and third read: 846000
    reading.second_reads(eng, _gray(), [w], s)
    reading.calibrate([w], s)
    assert w.text == "846000" and w.agreement == "disagreed"
    (flag,) = w.flags
    assert flag.reason == "disagreement" and "346000" in flag.detail and "846000" in flag.detail
    assert [r["text"] for r in flag.reads][:2] == ["346000", "846000"]
    assert w.confidence <= s.calibration.apply("disagreed", 1.0) < s.review.review_below


def test_text_is_read_once():
    s = st.Settings()
    w = _word("项目名称", 0.99)
    eng = _Fixed(("x",))
    reading.second_reads(eng, _gray(), [w], s)
    assert eng.calls == [] and w.agreement is None


def test_second_read_off_reads_once():
    s = st.Settings(read=st.ReadSettings(second_read="off"))
    w = _word("846000")
    eng = _Fixed(("346000",))
    reading.second_reads(eng, _gray(), [w], s)
    assert eng.calls == [] and w.agreement is None


# ------------------------------------------------------------------ the real recognizer


def _number_crop(text: str, h: int = 40) -> np.ndarray:
    img = np.full((h + 20, 30 * len(text) + 20), 255, np.uint8)
    cv2.putText(img, text, (10, h + 5), cv2.FONT_HERSHEY_SIMPLEX, h / 30, 0, 2, cv2.LINE_AA)
    return img


def test_rapidocr_reads_with_character_probabilities_and_digits_only():
    eng = registry.get("rapidocr")
    (r,) = eng.recognize([_number_crop("846000")])
    assert r.text == "846000"
    assert len(r.chars) == 6 and all(0 < c[1] <= 1 for c in r.chars)
    assert r.weakest <= r.score
    (d,) = eng.recognize([_number_crop("846000")], charset="0123456789")
    assert d.text == "846000"


def _tall_page(h: int = 1300, w: int = 900, centres=(60, 200, 464, 470, 700, 880, 884, 1100, 1250)):
    """A page at the detector's resolution with a line of digits centred on
    each of the rows given (464 and 880 are the seams of its three bands)."""
    img = np.full((h, w), 255, np.uint8)
    for k, cy in enumerate(centres):
        x = 40 if k % 2 == 0 else 480
        cv2.putText(img, f"{k}0{k}4{k}6.00", (x, cy + 9), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 0, 2, cv2.LINE_AA)
    return img, centres


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    i = ix * iy
    return i / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - i)


def test_rapidocr_detects_a_large_image_in_bands_and_loses_or_doubles_no_line(monkeypatch):
    from extract.ocr import rapidocr as rmod

    eng = registry.get("rapidocr")
    img, centres = _tall_page()
    shapes = []
    one = eng._detect_one

    def spy(band, enlarge=True):
        shapes.append(band.shape)
        return one(band, enlarge)

    monkeypatch.setattr(eng, "_detect_one", spy)
    banded = [quad_to_box(q) for q in eng.detect(img, 110)]
    assert len(shapes) == 3 and all(h * w <= rmod.DET_BAND_PIXELS * 1.1 for h, w in shapes)
    monkeypatch.setattr(rmod, "DET_BAND_PIXELS", 10 ** 9)
    shapes.clear()
    whole = [quad_to_box(q) for q in eng.detect(img, 110)]
    assert shapes == [img.shape]
    # every printed line once, lines on a seam included, where the whole page has it
    assert len(banded) == len(whole) == len(centres)
    for b in banded:
        assert max(_iou(b, o) for o in whole) > 0.7
    assert sorted(round((b[1] + b[3]) / 2) for b in banded) == pytest.approx(sorted(centres), abs=4)


def test_rapidocr_batches_hold_a_bounded_width(monkeypatch):
    from extract.ocr import rapidocr as rmod

    eng = registry.get("rapidocr")
    seen = []
    rec = eng._rec

    class Spy:
        def run(self, names, feed):
            seen.append(next(iter(feed.values())).shape)
            return rec.run(names, feed)

    monkeypatch.setattr(eng, "_rec", Spy())
    wide = [_number_crop("12345678901234567890", h=30)] * 3  # about 900 px at the model's height
    small = [_number_crop("846000")] * 20
    reads = eng.recognize(wide + small)
    assert [r.text for r in reads] == ["12345678901234567890"] * 3 + ["846000"] * 20
    assert sum(s[0] for s in seen) == 23
    for n, _, _, width in seen:
        assert n == 1 or n * width <= rmod.BATCH_WIDTH
        assert n <= rmod.MAX_BATCH
    assert len(seen) < 23  # small crops still share batches


# ------------------------------------------------------------------ orientation


class _Turns(_Fixed):
    """Reads lines well only in one turn: recognition is the judge."""

    def __init__(self, good_turn_shape):
        super().__init__(("x",))
        self.good = good_turn_shape

    def detect(self, img, dpi):
        # the lines of glyphs, found the way a detector would box them
        from extract.image.preprocess import line_blobs

        hor, ver, f = line_blobs(img)
        return [np.array([[x / f, y / f], [(x + w) / f, y / f], [(x + w) / f, (y + h) / f], [x / f, (y + h) / f]],
                         np.float32) for x, y, w, h in hor + ver]

    def recognize(self, crops, charset=None):
        out = []
        for c in crops:
            wide = c.shape[1] > c.shape[0]
            ok = wide and self.good(c)
            out.append(Read("项目名称" if ok else "口", 0.95 if ok else 0.3))
        return out


def _lines_page(turn: int) -> np.ndarray:
    """Lines of top-heavy glyphs (a bar over a stem, like T): their ink says
    which way is up."""
    img = np.full((800, 600), 255, np.uint8)
    for k in range(12):
        y = 80 + k * 50
        for j in range(12 + (k % 3) * 3):
            x = 60 + j * 20
            cv2.rectangle(img, (x, y), (x + 14, y + 4), 0, -1)
            cv2.rectangle(img, (x + 5, y), (x + 9, y + 16), 0, -1)
    from extract.image.preprocess import rotate_quadrant

    return rotate_quadrant(img, turn)


def _upright(c):
    h = c.shape[0]
    return c[: h // 2].mean() < c[h // 2:].mean()


def test_orientation_vote_decides_when_the_judge_cannot():
    s = st.OrientationSettings()
    eng = _Turns(_upright)
    got = orient.decide(_lines_page(90), eng, s)  # content turned clockwise by 90
    assert got.how == "vote" and got.sure and got.rotation == 270
    got = orient.decide(_lines_page(0), eng, s)
    assert got.sure and got.rotation == 0


def test_orientation_still_unsure_is_not_sure():
    eng = _Turns(lambda c: True)  # reads alike both ways up: no way to tell
    got = orient.decide(_lines_page(0), eng, st.OrientationSettings())
    assert not got.sure
    blank = orient.decide(np.full((400, 300), 255, np.uint8), eng, st.OrientationSettings())
    assert blank.how == "blank"


def test_an_unsure_page_flags_every_piece():
    class _Page(_Turns):
        name = "fake-page"

        def detect(self, img, dpi):
            return [np.array([[50, 70], [480, 70], [480, 110], [50, 110]], np.float32)]

    registry.register("fake-page", lambda: _Page(lambda c: True))
    try:
        read = read_image(_lines_page(0), 1, 100.0, engine="fake-page")
    finally:
        registry._FACTORIES.pop("fake-page")
    assert read.fragments
    assert all(any(f.reason == "low_confidence" and "orientation uncertain" in f.detail for f in fr.flags)
               for fr in read.fragments)
    assert any("orientation uncertain" in w for w in read.warnings)


# ------------------------------------------------------------------ cache


def test_page_cache_round_trip(tmp_path):
    frag = Fragment("846000", (1.0, 2.0, 30.0, 9.0), 0.6, "ocr:x",
                    flags=[Flag("disagreement", "reads differ: 846000 / 346000",
                                reads=[{"text": "846000", "source": "a", "confidence": 0.9}])],
                    reads=[{"text": "846000", "source": "a", "confidence": 0.9}])
    read = PageRead(3, 595.0, 842.0, 200.0, 90, [[(0.0, 0.0, 50.0, 20.0)]], [frag],
                    ["page 3: orientation uncertain"], "ocr:x", [{"score": 0.9}])
    pix = np.zeros((20, 10), np.uint8)
    k = cache_mod.page_key(pix, 200, "x 1", st.DEFAULT)
    assert k != cache_mod.page_key(pix + 1, 200, "x 1", st.DEFAULT)
    assert k != cache_mod.page_key(pix, 200, "x 2", st.DEFAULT)
    assert k != cache_mod.page_key(pix, 200, "x 1", st.Settings(read=st.ReadSettings(second_read="off")))
    store = cache_mod.PageCache(tmp_path)
    assert store.get(k, 1) is None
    store.put(k, read)
    back = store.get(k, 5)  # the same page image, fifth in another file
    assert back.number == 5 and back.warnings == ["page 5: orientation uncertain"]
    assert back.fragments[0].flags[0].reads == frag.flags[0].reads
    assert back.fragments[0].reads == frag.reads and back.tables == read.tables
    layout = to_layout(back)
    assert layout.rotation == 90 and layout.tables[0].cells[0].text == "846000"
    assert layout.tables[0].cells[0].reads == frag.reads
    (tmp_path / k[:2] / f"{k}.json").write_text("{broken")
    assert store.get(k, 1) is None  # a damaged entry is a miss, not a crash


# ------------------------------------------------------------------ no grid


def test_a_table_without_rules_is_rebuilt_from_text_positions_and_flagged():
    from extract.image import textgrid

    def w(text, x, y, width):
        return Word(text, (x, y, x + width, y + 20), 0.95)

    rows = [("一级指标", "二级指标", "指标值"), ("产出指标", "数量指标", "≥3000人"),
            ("效果指标", "社会效益", "逐步提高"), ("满意度指标", "服务对象满意度", "≥90%")]
    words = [w("财政项目支出绩效目标申报表", 100, 20, 400)]  # a title: one piece, not a table
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            words.append(w(text, 50 + c * 200, 100 + r * 40, 20 * len(text)))
    ruled = [(40, 400, 700, 460)]  # a ruled cell elsewhere on the page
    words.append(w("在表格里", 60, 420, 80))
    tables = textgrid.rebuild(words, ruled)
    assert len(tables) == 1
    xs = sorted({b[0] for b in tables[0]})
    ys = sorted({b[1] for b in tables[0]})
    assert len(xs) == 3 and len(ys) == 4  # three columns, four rows
    flagged = [x for x in words if x.flags]
    assert len(flagged) == 12 and all(f.flags[0].detail == textgrid.REBUILT for f in flagged)
    assert not words[0].flags and not words[-1].flags  # the title and the ruled cell's text
    # every word lies in the cell of its row and column
    for x in flagged:
        cx, cy = (x.bbox[0] + x.bbox[2]) / 2, (x.bbox[1] + x.bbox[3]) / 2
        assert sum(b[0] <= cx <= b[2] and b[1] <= cy <= b[3] for b in tables[0]) == 1


# ------------------------------------------------------------------ scans at their own resolution


def test_a_scanned_pdf_page_is_read_at_the_scans_own_resolution(tmp_path):
    from PIL import Image

    from extract.document import _PdfRenderer
    from pipelines.samples.scan import write_image_pdf

    bits = np.full((1754, 1240), 255, np.uint8)
    bits[200:210, 100:1100] = 0
    page = Image.fromarray(bits).convert("1")
    gray = Image.fromarray(np.full((1169, 827), 240, np.uint8))
    write_image_pdf([page], tmp_path / "g4.pdf", 150)
    write_image_pdf([gray], tmp_path / "low.pdf", 70)  # too coarse to read as is: rendered
    r = _PdfRenderer(tmp_path / "g4.pdf", None)
    try:
        img, dpi = r.native(1, 10 ** 9)
        assert abs(dpi - 150) < 0.5 and img.size == (1240, 1754)
        a = np.asarray(img.convert("L"))
        assert set(np.unique(a)) <= {0, 255} and a[205, 500] == 0  # the bits as scanned
    finally:
        r.close()
    r = _PdfRenderer(tmp_path / "low.pdf", None)
    try:
        assert r.native(1, 10 ** 9) is None
    finally:
        r.close()


def test_a_page_with_more_than_one_image_is_rendered(tmp_path):
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas
    from PIL import Image

    from extract.document import _PdfRenderer

    path = tmp_path / "two.pdf"
    c = canvas.Canvas(str(path), pagesize=(595, 842))
    im = ImageReader(Image.fromarray(np.full((200, 200), 128, np.uint8)))
    c.drawImage(im, 0, 0, 595, 842)
    c.drawString(100, 100, "a stamp added later")
    c.showPage()
    c.save()
    r = _PdfRenderer(path, None)
    try:
        assert r.native(1, 10 ** 9) is None
    finally:
        r.close()


def test_an_unsure_page_takes_the_turn_of_the_documents_earlier_pages():
    eng = _Turns(lambda c: True)  # reads alike every way: unsure by itself
    got = orient.decide(_lines_page(0), eng, st.OrientationSettings(), prior=180)
    assert got.sure and got.rotation == 180 and got.how == "prior"
    # a clear vote is not overruled by the earlier pages
    got = orient.decide(_lines_page(0), _Turns(_upright), st.OrientationSettings(), prior=180)
    assert got.rotation == 0 and got.how == "vote"


def test_a_thousands_comma_read_as_a_dot_is_the_same_number():
    assert reading.number_key("15.000.00") == reading.number_key("15,000.00") == "15000.00"
    assert reading.number_key("0371·26991306") == reading.number_key("0371.26991306")
    assert reading.number_key(". ≥90%") == reading.number_key("≥90%")
