"""Fuzzing: the file loaders and the normalizers never fail with anything but a
ShenbaoError, and never hang.

* Loaders: `open_document` + iterating every page, on mutated bytes (bit flips,
  truncations, insertions, deletions, overwrites) of a small valid PDF, PNG and
  TIFF. The OCR step is replaced by a stand-in (OCR is not what is fuzzed, and
  may not be installed); rendering a page for it still runs, at low dpi.
* Normalizers: every public function of extract/normalize.py on arbitrary text.

Bounded for CI: derandomized, `max_examples` and `deadline` per test, a hard
per-example alarm; the whole file runs in well under 60 s. For a longer,
random hunt: SHENBAO_FUZZ_EXAMPLES=5000 .venv/bin/python -m pytest tests/test_fuzz.py

A crashing input is saved under tests/fuzz_regressions/ (crash-<sha>.<ext>);
test_regressions replays every file there forever after: fix the code, keep
the file.
"""

from __future__ import annotations

from _limits import time_limit
import hashlib
import inspect
import io
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extract import document, errors, normalize
from extract.document import Options, open_document
from extract.layout import PageLayout

HERE = Path(__file__).resolve().parent
REGRESSIONS = HERE / "fuzz_regressions"
EXAMPLES = int(os.environ.get("SHENBAO_FUZZ_EXAMPLES", "0"))
HARD_LIMIT_S = 10  # one example (open + every page) may not take longer than this

# broken inputs make PIL and pdfminer warn (to stderr, via logging): expected here
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")


def fuzz_settings(examples: int, deadline_ms: int):
    return settings(max_examples=EXAMPLES or examples, deadline=deadline_ms,
                    derandomize=not EXAMPLES, database=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


# ------------------------------------------------------------------ seeds

def seed_pdf() -> bytes:
    """A small text PDF (uncompressed, so mutations hit operators and objects):
    Chinese text in a CID font, a ruled table, a second page with an image only."""
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas
    from PIL import Image

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pageCompression=0, pagesize=(300, 200))
    c.setFont("STSong-Light", 10)
    c.drawString(20, 170, "财政项目支出绩效目标申报表（2020年度）")
    for k, (label, value) in enumerate([("项目名称", "某某项目"), ("项目资金", "384200元")]):
        y = 140 - 20 * k
        c.rect(20, y - 5, 80, 20)
        c.rect(100, y - 5, 160, 20)
        c.drawString(25, y, label)
        c.drawString(105, y, value)
    c.showPage()
    c.drawImage(ImageReader(Image.new("L", (8, 8), 200)), 10, 10, 50, 50)
    c.showPage()
    c.save()
    return buf.getvalue()


def seed_png() -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("L", (40, 24), 255)
    ImageDraw.Draw(img).rectangle((2, 2, 37, 21), outline=0)
    buf = io.BytesIO()
    img.save(buf, "PNG", dpi=(72, 72))
    return buf.getvalue()


def seed_tiff() -> bytes:
    """Two frames: one deflate, one uncompressed (different decoders)."""
    from PIL import Image

    a, b = Image.new("L", (32, 20), 255), Image.new("1", (24, 16), 1)
    buf = io.BytesIO()
    a.save(buf, "TIFF", save_all=True, append_images=[b], compression="tiff_deflate", dpi=(72, 72))
    return buf.getvalue()


SEEDS = {}


def seed(kind: str) -> bytes:
    if kind not in SEEDS:
        SEEDS[kind] = {"pdf": seed_pdf, "png": seed_png, "tiff": seed_tiff}[kind]()
    return SEEDS[kind]


# ------------------------------------------------------------------ mutations

def mutations(size_hint: int):
    last = max(size_hint - 1, 0)
    body = st.integers(min_value=min(16, last), max_value=last)  # past the magic bytes, mostly
    pos = st.one_of(body, body, body, st.integers(min_value=0, max_value=last))
    return st.lists(st.one_of(
        st.tuples(st.just("flip"), pos, st.integers(0, 7)),
        st.tuples(st.just("truncate"), pos),
        st.tuples(st.just("insert"), pos, st.binary(min_size=1, max_size=64)),
        st.tuples(st.just("delete"), pos, st.integers(1, 256)),
        st.tuples(st.just("overwrite"), pos, st.binary(min_size=1, max_size=16)),
        st.tuples(st.just("digits"), pos, st.sampled_from([b"0", b"9", b"99999999", b"-1", b"4294967295"])),
    ), min_size=1, max_size=8)


def mutate(data: bytes, ops) -> bytes:
    b = bytearray(data)
    for op in ops:
        if not b:
            break
        kind, at = op[0], op[1] % len(b)
        if kind == "flip":
            b[at] ^= 1 << op[2]
        elif kind == "truncate":
            del b[at:]
        elif kind == "insert":
            b[at:at] = op[2]
        elif kind == "delete":
            del b[at:at + op[2]]
        elif kind == "overwrite":
            b[at:at + len(op[2])] = op[2]
        elif kind == "digits":  # numbers are what PDF xrefs, lengths and TIFF tags are made of
            b[at:at + len(op[2])] = op[2]
    return bytes(b)


# ------------------------------------------------------------------ the property

def hard_limit(seconds: int):
    return time_limit(seconds, "one example ran too long: a hang")


def fake_ocr(image, number, dpi, options, prior_turn=None):
    image.getbbox()  # touch the pixels: the image must really be decoded
    w, h = image.size
    return PageLayout(number=number, kind="image", width=w * 72 / dpi, height=h * 72 / dpi), True


FUZZ_OPTIONS = Options(ocr_dpi=36, max_pixels=4_000_000, max_pages=50)


def load_all(path: Path) -> None:
    """What must hold for any bytes: open + every page, only ShenbaoError out."""
    try:
        doc = open_document(path, FUZZ_OPTIONS)
        for page in doc.pages():
            assert isinstance(page, PageLayout)
        assert len(doc.info) == doc.n_pages or doc.filetype == "pdf"
    except errors.ShenbaoError as exc:
        assert exc.code.startswith("E_") and exc.message


def check_bytes(data: bytes, suffix: str, tmp: Path) -> None:
    path = tmp / f"input{suffix}"
    path.write_bytes(data)
    try:
        with hard_limit(HARD_LIMIT_S):
            load_all(path)
    except BaseException:
        save_crash(data, suffix)
        raise


def save_crash(data: bytes, suffix: str) -> None:
    REGRESSIONS.mkdir(exist_ok=True)
    name = f"crash-{hashlib.sha256(data).hexdigest()[:12]}{suffix}"
    (REGRESSIONS / name).write_bytes(data)


@pytest.fixture
def no_ocr(monkeypatch):
    monkeypatch.setattr(document, "_ocr", fake_ocr)


@pytest.mark.parametrize("kind, suffix, examples", [("pdf", ".pdf", 300), ("png", ".png", 300),
                                                     ("tiff", ".tif", 300)])
def test_loaders_on_mutated_bytes(kind, suffix, examples, tmp_path, no_ocr):
    data = seed(kind)
    load_all_ok = tmp_path / f"seed{suffix}"
    load_all_ok.write_bytes(data)
    doc = open_document(load_all_ok, FUZZ_OPTIONS)  # the seed itself is valid
    assert len(list(doc.pages())) == doc.n_pages

    @fuzz_settings(examples, deadline_ms=3000)
    @given(mutations(len(data)))
    def run(ops):
        check_bytes(mutate(data, ops), suffix, tmp_path)

    run()


@fuzz_settings(100, deadline_ms=3000)
@given(st.binary(max_size=2048), st.sampled_from([b"%PDF-1.4\n", b"\x89PNG\r\n\x1a\n", b"II*\x00",
                                                  b"MM\x00*", b"\xff\xd8\xff\xe0", b""]))
def test_loaders_on_random_bytes_with_magic(tmp_path_factory, body, magic):
    """Random bodies behind each format's magic bytes."""
    import extract.document as d

    real = d._ocr
    d._ocr = fake_ocr
    try:
        check_bytes(magic + body, ".bin", tmp_path_factory.mktemp("fz"))
    finally:
        d._ocr = real


def test_regressions(tmp_path, no_ocr):
    """Every input fuzzing ever crashed on loads cleanly now."""
    files = sorted(p for p in REGRESSIONS.iterdir() if p.is_file() and p.suffix != ".md")
    for p in files:
        path = tmp_path / ("input" + p.suffix)
        path.write_bytes(p.read_bytes())
        with hard_limit(3 * HARD_LIMIT_S):  # generous: CI machines are slow and busy
            load_all(path)


# ------------------------------------------------------------------ normalizers

DOMAIN = list("0123456789,.-+()（）%万元亿千角分整零〇壹贰叁肆伍陆柒捌玖拾佰仟一二三四五六七八九十百年月日度至到~～/"
              "☑☒■✓✔√▣☐□[]xX 　\t\n:：;；、①②⑴1.一、（一）ⅠⅡ电话手机+86-021E e0０１２３４５６７８９")
TEXT = st.one_of(st.none(), st.text(max_size=80),
                 st.text(alphabet=st.one_of(st.sampled_from(DOMAIN), st.characters()), max_size=80))
TEXTS = st.lists(st.text(alphabet=st.one_of(st.sampled_from(DOMAIN), st.characters()), max_size=20), max_size=5)


def public_normalizers():
    return [f for name, f in inspect.getmembers(normalize, inspect.isfunction)
            if f.__module__ == normalize.__name__ and not name.startswith("_")]


def arguments(fn):
    """A strategy for fn's arguments, by its annotations."""
    args = {}
    for name, p in inspect.signature(fn).parameters.items():
        ann = str(p.annotation)
        if name == "role":
            args[name] = st.sampled_from(["start", "end"])
        elif "list" in ann:
            args[name] = TEXTS
        elif ann == "bool":
            args[name] = st.booleans()
        elif ann == "float":
            args[name] = st.floats(0, 100)
        elif "str" in ann:
            args[name] = TEXT if "None" in ann else TEXT.map(lambda s: s or "")
        else:
            raise AssertionError(f"{fn.__name__}: no strategy for {name}: {ann}")
    return st.fixed_dictionaries(args)


def test_every_normalizer_is_fuzzed():
    names = {f.__name__ for f in public_normalizers()}
    assert {"parse_amount", "parse_date", "clean_text", "snap", "parse_options"} <= names
    for fn in public_normalizers():
        arguments(fn)  # each has a strategy


@pytest.mark.parametrize("fn", public_normalizers(), ids=lambda f: f.__name__)
def test_normalizers_never_raise(fn):
    @fuzz_settings(150, deadline_ms=1000)
    @given(arguments(fn))
    def run(kwargs):
        fn(**kwargs)

    run()
