"""Tests for the scan simulator (pipelines/samples/scan.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pdfplumber
import pytest
from PIL import Image

from extract import sysdeps
from pipelines.samples.scan import (
    PROFILES,
    ScanStyle,
    scan_pages,
    scan_pdf,
    style_from_seed,
    write_image_pdf,
    write_tiff,
)

FONT = sysdeps.font_path("wqy-zenhei")


GOALS = [
    ("一级指标", "二级指标", "三级指标", "指标值"),
    ("产出指标", "数量指标", "高温慰问一线职工人数", "≥3000人"),
    ("", "", "帮困慰问人数", "≥450人"),
    ("", "质量指标", "慰问品发放合格率", "100%"),
    ("", "时效指标", "夏季慰问完成时间", "2020年8月底前"),
    ("", "成本指标", "人均慰问标准", "≤300元"),
    ("效果指标", "社会效益", "职工权益维护覆盖面", "逐步提高"),
    ("", "可持续影响", "服务职工长效机制", "基本建立"),
    ("满意度指标", "服务对象满意度", "慰问职工满意度", "≥90%"),
    ("", "", "劳模满意度", "≥95%"),
    ("", "", "企业满意度", "≥85%"),
    ("", "", "", ""),
]


def make_form_pdf(path: Path, pages: int = 2) -> Path:
    """A small 绩效目标申报表 look-alike: title, 填报单位 line, ruled table with Chinese text."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    if "wqy" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("wqy", FONT, subfontIndex=0))
    W, H = A4
    c = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    rows = [
        ("项目名称", "（工会）维护职工权益"),
        ("项目类别", "经常性项目"),
        ("主管部门", "上海市徐汇区总工会"),
        ("项目负责人", "朱怡"),
        ("联系电话", "54145530"),
        ("项目起止时间", "2020-01-01 至 2020-12-31"),
        ("项目总金额（元）", "1,250,000.00"),
        ("其中：财政拨款", "1,100,000.00"),
        ("项目概况", "夏季进行高温慰问，冬春季帮困慰问；关心关怀退休劳模。"),
        ("立项依据", "《关于加强经费保障进一步推进服务职工工作的指导意见》"),
    ]
    for p in range(pages):
        c.setFont("wqy", 16)
        c.drawCentredString(W / 2, H - 60, "财政项目支出绩效目标申报表" if p == 0 else "绩效目标")
        c.setFont("wqy", 10.5)
        if p == 0:
            c.drawString(50, H - 95, "填报单位（盖章）：上海市徐汇区总工会")
            c.drawString(W - 200, H - 95, "填报日期：2020年3月15日")
        top, left, right, rh = H - 110, 50, W - 50, 26
        mid = left + 130
        c.setLineWidth(0.8)
        for i in range(len(rows) + 1):
            c.line(left, top - i * rh, right, top - i * rh)
        bottom = top - len(rows) * rh
        for x in (left, mid, right):
            c.line(x, top, x, bottom)
        for i, (k, v) in enumerate(rows):
            y = top - i * rh - 17
            c.drawString(left + 6, y, k)
            c.drawString(mid + 6, y, v if p == 0 else f"指标{i + 1}：{v[:12]}")
        # performance-target grid: 4 columns, 12 rows
        top2 = bottom - 30
        c.drawString(left, top2 + 8, "项目绩效目标")
        cols = (left, left + 90, left + 200, left + 380, right)
        for i in range(13):
            c.line(left, top2 - i * 22, right, top2 - i * 22)
        for x in cols:
            c.line(x, top2, x, top2 - 12 * 22)
        for i, (a, b, t, v) in enumerate(GOALS):
            y = top2 - i * 22 - 15
            for x, txt in zip(cols, (a, b, t, v)):
                c.drawString(x + 5, y, txt)
        c.drawString(left, 60, "单位负责人：王建国        财务负责人：李敏        填表人：朱怡")
        c.showPage()
    c.save()
    return path


@pytest.fixture(scope="module")
def form_pdf(tmp_path_factory) -> Path:
    return make_form_pdf(tmp_path_factory.mktemp("scan") / "form.pdf")


def _style(**kw) -> ScanStyle:
    base = dict(
        dpi=150, mode="gray", rotation=0.8, orientation=0, noise=6.0, blur=0.6, jpeg_quality=60,
        seal=True, contrast=0.8, background=245, speckles=30, line_breaks=0.3,
    )
    base.update(kw)
    return ScanStyle(**base)


def _arrays(images):
    return [np.asarray(im) for im in images]


def test_style_from_seed_deterministic_and_in_range():
    for profile in PROFILES:
        styles = [style_from_seed(s, profile) for s in range(40)]
        assert styles == [style_from_seed(s, profile) for s in range(40)]
        assert len({repr(s) for s in styles}) > 30
        for s in styles:
            assert 150 <= s.dpi <= 300
            assert s.mode in ("gray", "color", "bitonal")
            assert -3 <= s.rotation <= 3 and s.orientation in (0, 90, 180, 270)
            assert 0 <= s.noise <= 25 and 0 <= s.blur <= 1.2
            assert 235 <= s.background <= 255 and 0.4 <= s.contrast <= 1.05
            assert s.jpeg_quality is None or 35 <= s.jpeg_quality <= 90
            if s.mode == "bitonal":
                assert s.jpeg_quality is None
    assert all(style_from_seed(s, "low").dpi == 150 for s in range(20))
    assert all(style_from_seed(s, "normal").dpi >= 200 for s in range(20))
    with pytest.raises(ValueError):
        style_from_seed(1, "nope")


def test_same_seed_same_pixels_different_seed_different(form_pdf):
    style = _style()
    a = _arrays(scan_pages(form_pdf, style, seed=11))
    b = _arrays(scan_pages(form_pdf, style, seed=11))
    c = _arrays(scan_pages(form_pdf, style, seed=12))
    assert len(a) == 2
    for x, y in zip(a, b):
        assert x.dtype == y.dtype and np.array_equal(x, y)
    assert any(not np.array_equal(x, z) for x, z in zip(a, c))


def test_gray_page_geometry_and_defects(form_pdf):
    style = _style(jpeg_quality=None, rotation=0.0, seal=False, speckles=0, line_breaks=0.0, noise=0.0)
    (page,) = scan_pages(form_pdf, style, seed=1)[:1]
    assert page.mode == "L"
    assert page.size == (round(595.2756 * 150 / 72), round(841.8898 * 150 / 72))
    a = np.asarray(page)
    # paper near its gray level, ink lifted towards it by the contrast
    assert 238 <= np.median(a) <= 250
    assert a.min() > 15


def _red(a: np.ndarray) -> np.ndarray:
    a = a.astype(int)
    return (a[..., 0] > 150) & (a[..., 0] - a[..., 1] > 80) & (a[..., 0] - a[..., 2] > 70)


def test_seal_is_red_on_page_one_near_the_filing_unit(form_pdf):
    style = _style(mode="color", noise=0.0, jpeg_quality=None, contrast=1.0, rotation=0.0, speckles=0)
    with pdfplumber.open(form_pdf) as pdf:
        words = pdf.pages[0].search("填报单位")
    label_x, label_y = words[0]["x1"] * 150 / 72, (words[0]["top"] + words[0]["bottom"]) / 2 * 150 / 72
    hits = 0
    for seed in range(6):
        p1, p2 = scan_pages(form_pdf, style, seed=seed)
        red = _red(np.asarray(p1))
        assert red.sum() > 300
        assert _red(np.asarray(p2)).sum() == 0  # only page 1 is stamped
        ys, xs = np.nonzero(red)
        d = 150 / 200 * 160  # largest seal diameter at 150 dpi
        if abs(xs.mean() - label_x) < 2.2 * d and abs(ys.mean() - label_y) < 0.8 * d:
            hits += 1
    assert hits >= 3  # mostly at 填报单位, sometimes on a table border
    plain = scan_pages(form_pdf, _style(mode="color", noise=0.0, jpeg_quality=None, seal=False), seed=0)[0]
    assert _red(np.asarray(plain)).sum() == 0


def test_seal_is_gray_in_gray_mode(form_pdf):
    style = _style(noise=0.0, jpeg_quality=None, contrast=1.0, speckles=0, line_breaks=0.0)
    with_seal = np.asarray(scan_pages(form_pdf, style, seed=3)[0]).astype(int)
    without = np.asarray(scan_pages(form_pdf, _style(**{**style.to_dict(), "seal": False}), seed=3)[0]).astype(int)
    assert with_seal.ndim == 2
    diff = (without - with_seal) > 40  # the stamp darkens the paper to a mid gray
    assert diff.sum() > 300
    assert 60 < np.median(with_seal[diff]) < 200


def test_orientation_90_swaps_width_and_height(form_pdf):
    upright = scan_pages(form_pdf, _style(orientation=0), seed=5)[0]
    turned = scan_pages(form_pdf, _style(orientation=90), seed=5)[0]
    assert turned.size == (upright.size[1], upright.size[0])
    flipped = scan_pages(form_pdf, _style(orientation=180), seed=5)[0]
    assert flipped.size == upright.size


def test_bitonal_pages_are_1_bit(form_pdf, tmp_path):
    style = _style(mode="bitonal", jpeg_quality=None)
    pages = scan_pages(form_pdf, style, seed=7)
    assert all(p.mode == "1" for p in pages)
    frac_black = 1 - np.asarray(pages[0]).mean()
    assert 0.005 < frac_black < 0.2
    out = tmp_path / "b.tif"
    write_tiff(pages, out, style.dpi)
    with Image.open(out) as t:
        assert t.n_frames == 2
        assert t.mode == "1"
        assert t.info.get("compression") == "group4"
        assert tuple(round(v) for v in t.info["dpi"]) == (150, 150)
        assert np.array_equal(np.asarray(t), np.asarray(pages[0]))


@pytest.mark.parametrize("mode", ["gray", "bitonal", "color"])
def test_pdf_output_pages_dpi_no_text(form_pdf, tmp_path, mode):
    style = _style(mode=mode, jpeg_quality=None if mode == "bitonal" else 60)
    out = tmp_path / f"{mode}.pdf"
    scan_pdf(form_pdf, out, style, seed=9)
    with pdfplumber.open(out) as pdf:
        assert len(pdf.pages) == 2
        for page in pdf.pages:
            assert page.chars == []
            assert abs(page.width - 595.2756) < 0.6 and abs(page.height - 841.8898) < 0.6
            (img,) = page.images
            assert img["srcsize"] == (1240, 1754)
            assert abs(img["srcsize"][0] * 72 / page.width - 150) < 0.2  # 150 dpi
    # deterministic bytes
    out2 = tmp_path / f"{mode}2.pdf"
    scan_pdf(form_pdf, out2, style, seed=9)
    assert out.read_bytes() == out2.read_bytes()


def test_pdf_embeds_the_scanned_pixels(form_pdf, tmp_path):
    """The 1-bit G4 image decodes to exactly the scanned page, ink black (right polarity)."""
    import pypdfium2 as pdfium

    style = _style(mode="bitonal", jpeg_quality=None)
    pages = scan_pages(form_pdf, style, seed=4)
    out = tmp_path / "b.pdf"
    write_image_pdf(pages, out, style.dpi)
    doc = pdfium.PdfDocument(str(out))
    try:
        (obj,) = list(doc[0].get_objects())
        back = np.asarray(obj.get_bitmap(render=False).to_pil().convert("L")) > 127
    finally:
        doc.close()
    assert np.array_equal(back, np.asarray(pages[0]))


def test_tiff_gray_pages_and_dpi(form_pdf, tmp_path):
    style = _style(dpi=150, jpeg_quality=None)
    out = tmp_path / "g.tiff"
    scan_pdf(form_pdf, out, style, seed=2)
    with Image.open(out) as t:
        assert t.n_frames == 2 and t.mode == "L"
        assert tuple(round(v) for v in t.info["dpi"]) == (150, 150)
        assert t.info.get("compression") in ("tiff_adobe_deflate", "tiff_lzw")


def test_bad_output_extension(form_pdf, tmp_path):
    with pytest.raises(ValueError):
        scan_pdf(form_pdf, tmp_path / "x.png", _style(), seed=1)


def test_old_profiles_draw_what_they_always_drew():
    # the bench set of bench/RESULTS.md is rebuilt from these draws; recorded
    # from the simulator before the bitonal and faint profiles were added
    assert style_from_seed(3, "normal") == ScanStyle(
        dpi=200, mode="gray", rotation=0.626, orientation=0, noise=1.41, blur=0.524, jpeg_quality=82,
        seal=True, contrast=0.933, background=250, speckles=5, line_breaks=0.005)
    assert style_from_seed(11, "low") == ScanStyle(
        dpi=150, mode="color", rotation=-0.177, orientation=0, noise=7.05, blur=0.535, jpeg_quality=72,
        seal=True, contrast=0.894, background=243, speckles=12, line_breaks=0.107)
    assert style_from_seed(11, "degraded") == ScanStyle(
        dpi=200, mode="gray", rotation=-1.412, orientation=0, noise=19.4, blur=0.705, jpeg_quality=58,
        seal=True, contrast=0.478, background=246, speckles=91, line_breaks=0.49)
    assert all(style_from_seed(s, p).thin_strokes == 0 for p in ("normal", "low", "degraded") for s in range(20))


def test_bitonal_profile_is_group4_at_150_to_200_dpi(form_pdf, tmp_path):
    styles = [style_from_seed(s, "bitonal") for s in range(30)]
    assert all(s.mode == "bitonal" and s.jpeg_quality is None and 150 <= s.dpi <= 200 for s in styles)
    assert any(s.thin_strokes > 0.1 for s in styles) and any(s.line_breaks > 0.25 for s in styles)
    style = styles[0]
    out = tmp_path / "b.tif"
    scan_pdf(form_pdf, out, style, seed=0)
    with Image.open(out) as im:
        assert im.mode == "1" and im.info.get("compression") == "group4"
    faint = [style_from_seed(s, "faint") for s in range(30)]
    assert all(s.mode in ("gray", "color") and s.contrast <= 0.55 and s.thin_strokes >= 0.1 for s in faint)


def test_thin_strokes_eat_ink(form_pdf):
    plain = _style(jpeg_quality=None, rotation=0.0, seal=False, speckles=0, line_breaks=0.0, noise=0.0,
                   contrast=1.0)
    thin = ScanStyle(**{**plain.to_dict(), "thin_strokes": 0.3})
    a = np.asarray(scan_pages(form_pdf, plain, seed=2)[0]).astype(int)
    b = np.asarray(scan_pages(form_pdf, thin, seed=2)[0]).astype(int)
    ink_a, ink_b = (a < 128).sum(), (b < 128).sum()
    assert 0.2 * ink_a < ink_b < 0.85 * ink_a  # thinner, not gone
