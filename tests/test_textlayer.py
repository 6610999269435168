"""Page triage of text layers and the digital path on a real rendered page."""

import json
from pathlib import Path

import pdfplumber
import pytest

from extract.textlayer import page_layout, triage
from extract import sysdeps

CORPUS = Path(__file__).resolve().parent.parent / "pipelines" / "samples" / "corpus"


def chars(text):
    return [{"text": ch} for ch in text]


def test_triage_usable_text_layer():
    assert triage(chars("财政项目支出绩效目标申报表项目名称"))[0] == "text"


def test_triage_too_few_characters_is_an_image_page():
    assert triage(chars("12"))[0] == "image"


def test_triage_cid_glyphs_without_unicode_map():
    kind, why = triage([{"text": f"(cid:{i})"} for i in range(40)])
    assert kind == "garbled" and "Unicode" in why


def test_triage_private_use_characters():
    assert triage(chars("".join(chr(0xE000 + i) for i in range(30)) + "项目"))[0] == "garbled"


def test_triage_mojibake():
    # UTF-8 bytes of Chinese read as Latin-1
    moj = "财政项目支出绩效目标申报表".encode("utf-8").decode("latin-1")
    assert triage(chars(moj))[0] == "garbled"


def test_digital_page_cells_have_spans_and_text(tmp_path):
    from pipelines.samples.render import render_records

    rec = json.loads((CORPUS / "sh2020-union-gumei.json").read_text(encoding="utf-8"))
    pdf = tmp_path / "seed.pdf"
    render_records([rec], pdf)
    with pdfplumber.open(pdf) as doc:
        page = page_layout(doc.pages[0], 1)
    assert page.kind == "text"
    assert any("财政项目支出绩效目标申报表" in line.text for line in page.lines)
    cells = [c for t in page.tables for c in t.cells]
    label = next(c for c in cells if c.text == "项目立项情况")
    assert label.row_span == 3  # 依据 / 必要性 / 可行性
    assert any(c.text == "朱怡" for c in cells)


def test_garbled_page_is_detected_and_reported(tmp_path):
    """A text layer of private-use code points (a font without a Unicode map)
    must not be read as text: the page is marked garbled and goes to OCR."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    from extract.pipeline import extract_file
    from extract import errors

    pdfmetrics.registerFont(TTFont("zh", sysdeps.font_path("wqy-zenhei"),
                                   subfontIndex=0))
    pdf = tmp_path / "garbled.pdf"
    c = canvas.Canvas(str(pdf))
    c.setFont("zh", 12)
    for i in range(20):
        c.drawString(50, 800 - 20 * i, "".join(chr(0xE000 + (i * 7 + k) % 200) for k in range(20)))
    c.save()
    with pytest.raises(errors.NotDeclaration) as exc:
        extract_file(pdf)
    assert "not a 财政项目支出绩效目标申报表" in str(exc.value) or "no text" in str(exc.value)
    from extract.document import open_document

    doc = open_document(pdf)
    list(doc.pages())
    assert [i.kind for i in doc.info] == ["garbled"]
