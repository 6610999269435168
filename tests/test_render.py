"""Tests for the sample renderer (pipelines/samples/render.py): the seed record
rendered in three styles must come back through pdfplumber's text layer with
every string of the record intact, in the expected number of pages, with every
glyph inside its cell, and byte-identical when rendered again.  The same holds
for the corpus records of the other variants (render_variants.py:
sh-district-2026, ministry-county), each variant in three styles."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pdfplumber
import pytest

from pipelines.samples.fonts import fontset
from pipelines.samples.render import (
    RenderStyle,
    capital_amount,
    format_amount,
    format_dates,
    format_quantity,
    render_records,
    style_from_seed,
    wrap_text,
)

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "pipelines" / "samples" / "corpus" / "sh2020-union-gumei.json"


@pytest.fixture(scope="module")
def seed() -> dict:
    return json.loads(SEED.read_text(encoding="utf-8"))


# Three looks of the seed form.  Page counts are what each layout gives:
#   seed_look  a, b, c on one page each (the paper form's look);
#   sans       part (a) runs onto a 2nd page, landscape part (b);
#   droid      12 pt, Latin from the DejaVu fallback: part (a) runs onto a
#              2nd page, parts in the order c, a, b.
# (A row cut by a page break is exercised in test_wan_yuan_form_and_page_breaks.)
STYLES = {
    "seed_look": (RenderStyle(), 3),
    "sans": (RenderStyle(
        font="wqy-zenhei", font_size=11.0, title_size=18.0, line_gap=3.5, padding=4.0, col_scale=1.2,
        box_glyphs=("■", "□"), box_after=True, tick="✓", amount_format="thousands",
        item_amount_format="thousands", amount_align="right", date_format="cn", capital_total=True,
        funding_split_cells=False, header_labels={"一级目标": "一级指标", "二级目标": "二级指标",
                                                 "三级目标": "三级指标", "目标值": "指标值",
                                                 "项目总目标": "项目总体目标"},
        repeat_header=False, landscape_b=True, border_width=0.8, valign="top", margin=56.0), 4),
    "droid": (RenderStyle(
        font="droid", font_size=12.0, title_size=14.0, line_gap=2.0, padding=3.0, col_scale=0.9,
        box_glyphs=("[x]", "[ ]"), tick="☑", stage_box=True, amount_format="fixed2",
        item_amount_format="plain", date_format="year", part_order=("c", "a", "b"),
        repeat_merged=True, margin=52.0, min_row_height=25.0), 4),
}

EXPECT = {  # what the styles must print besides the record's strings
    "seed_look": ["2020-01-01", "2020-12-31", "一、项目总预算：384200", "☑经常性项目", "☐一次性项目",
                  "15000.00", "30.00", "384200.00", "立项和计划阶段√"],
    "sans": ["2020年1月1日", "2020年12月31日", "一、项目总预算：叁拾捌万肆仟贰佰元整", "二、当年预算：384,200.00",
             "经常性项目■", "一次性项目□", "350,000.00", "一级指标", "指标值", "项目总体目标", "收尾和完成阶段✓"],
    "droid": ["2020年度", "[x]经常性项目", "[]一次性项目", "384200.00", "15000", "[x]实施阶段", "[x]收尾和完成阶段"],
}


def nows(s: str | None) -> str:
    return re.sub(r"\s+", "", s or "")


NOT_PRINTED = {"form.variant"}  # the extractor's template id, not on the paper


def printed(rec: dict):
    """(path, value) of every string leaf the form prints verbatim (dates are
    printed per date_format and checked apart)."""
    for k, v in leaves(rec):
        if isinstance(v, str) and k not in NOT_PRINTED and not k.endswith("_date"):
            yield k, v


def leaves(x, path=""):
    if isinstance(x, dict):
        for k, v in x.items():
            yield from leaves(v, f"{path}.{k}" if path else k)
    elif isinstance(x, list):
        for i, v in enumerate(x):
            yield from leaves(v, f"{path}[{i}]")
    else:
        yield path, x


class TextLayer:
    """Page text plus table cells (pdfplumber's ruled-table finder), white
    space removed.  A cell cut by a page break is found by joining the tail of
    a cell in a page's last table row with cells at the top of the next pages."""

    def __init__(self, pdf_path: Path):
        self.pages: list[tuple[str, list[list[str]]]] = []
        with pdfplumber.open(pdf_path) as pdf:
            for page in pdf.pages:
                rows: list[list[str]] = []
                for tb in page.find_tables():
                    rows += [[nows(c) for c in row if c] for row in tb.extract()]
                self.pages.append((nows(page.extract_text()), rows))
        self.blob = "".join(t + "".join("".join(r) for r in rows) for t, rows in self.pages)

    def _rest(self, rest: str, p: int) -> bool:
        if p >= len(self.pages) or not self.pages[p][1]:
            return False
        rows = self.pages[p][1]
        for row in rows[:3]:
            for cell in row:
                if cell and cell.startswith(rest):
                    return True
                if cell and rest.startswith(cell) and cell in rows[-1] and self._rest(rest[len(cell):], p + 1):
                    return True
        return False

    def __contains__(self, value: str) -> bool:
        v = nows(value)
        if v in self.blob:
            return True
        for p, (_, rows) in enumerate(self.pages[:-1]):
            for cell in rows[-1] if rows else []:
                for i in range(1, len(v)):
                    if cell.endswith(v[:i]) and self._rest(v[i:], p + 1):
                        return True
        return False


def cell_violations(pdf_path: Path) -> list[tuple]:
    """Glyphs that stick out of the smallest ruled cell holding their centre."""
    bad = []
    with pdfplumber.open(pdf_path) as pdf:
        for pno, page in enumerate(pdf.pages, 1):
            rects = [(r["x0"], r["top"], r["x1"], r["bottom"]) for r in page.rects]
            for ch in page.chars:
                if ch["text"].isspace():
                    continue
                assert 0 <= ch["x0"] and ch["x1"] <= page.width and ch["bottom"] <= page.height
                cx, cy = (ch["x0"] + ch["x1"]) / 2, (ch["top"] + ch["bottom"]) / 2
                inside = [r for r in rects if r[0] <= cx <= r[2] and r[1] <= cy <= r[3]]
                if not inside:
                    continue
                r = min(inside, key=lambda r: (r[2] - r[0]) * (r[3] - r[1]))
                if ch["x0"] < r[0] - 0.3 or ch["x1"] > r[2] + 0.3 or ch["top"] < r[1] - 0.3 or ch["bottom"] > r[3] + 0.3:
                    bad.append((pno, ch["text"], r))
    return bad


@pytest.mark.parametrize("name", list(STYLES))
def test_seed_record_round_trips_through_text_layer(seed, name, tmp_path):
    style, pages = STYLES[name]
    pdf = tmp_path / f"{name}.pdf"
    assert render_records([seed], pdf, style) == pages
    with pdfplumber.open(pdf) as doc:
        assert len(doc.pages) == pages
        land = [p.width > p.height for p in doc.pages]
    assert any(land) == style.landscape_b

    layer = TextLayer(pdf)
    missing = [(k, v) for k, v in printed(seed) if v not in layer]
    assert not missing, missing
    for s in EXPECT[name]:
        assert s in layer, s
    d0, d1 = format_dates(seed["project"]["start_date"], seed["project"]["end_date"], style.date_format)
    assert d0 in layer and d1 in layer
    # the budget items' amounts as the style prints them
    fmt = style.item_amount_format or style.amount_format
    for it in seed["budget_items"]:
        assert format_amount(it["amount"], fmt) in layer
        assert format_quantity(it["quantity"], fmt) in layer
    assert not cell_violations(pdf)


@pytest.mark.parametrize("name", list(STYLES))
def test_render_is_byte_identical(seed, name, tmp_path):
    style, _ = STYLES[name]
    a, b = tmp_path / "a.pdf", tmp_path / "b.pdf"
    render_records([seed], a, style)
    render_records([seed], tmp_path / "other.pdf", style_from_seed(3))  # state must not leak
    render_records([seed], b, style)
    assert a.read_bytes() == b.read_bytes()


def test_byte_identical_across_processes(seed, tmp_path):
    here = tmp_path / "here.pdf"
    render_records([seed], here, style_from_seed(11))
    code = ("import json,sys; from pipelines.samples.render import render_records, style_from_seed; "
            f"render_records([json.load(open({str(SEED)!r}, encoding='utf-8'))], {str(tmp_path / 'there.pdf')!r}, "
            "style_from_seed(11))")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, env={"PYTHONHASHSEED": "7"})
    assert here.read_bytes() == (tmp_path / "there.pdf").read_bytes()


def test_several_declarations_each_on_new_pages(seed, tmp_path):
    other = copy.deepcopy(seed)
    other["project"]["name"] = "第二个项目"
    one = render_records([seed], tmp_path / "one.pdf")
    two = render_records([seed, other], tmp_path / "two.pdf")
    assert two == 2 * one
    with pdfplumber.open(tmp_path / "two.pdf") as pdf:
        first = nows(pdf.pages[one].extract_text())
    assert first.startswith("财政项目支出绩效目标申报表（项目总体情况）")
    assert "第二个项目" in first


def test_rendering_is_fast(seed, tmp_path):
    render_records([seed], tmp_path / "warm.pdf", RenderStyle())  # font loading
    t = time.perf_counter()
    render_records([seed] * 5, tmp_path / "five.pdf", RenderStyle())
    assert (time.perf_counter() - t) / 5 < 0.3


def test_wan_yuan_form_and_page_breaks(seed, tmp_path):
    rec = copy.deepcopy(seed)
    rec["form"]["amount_unit"] = "万元"
    rec["form"]["filing_unit"] = "上海市闵行区古美路街道总工会"
    rec["project"]["basis"] = seed["project"]["basis"] * 6       # one cell over two page breaks
    rec["indicators"] = seed["indicators"] * 8                   # a table over pages
    pdf = tmp_path / "wan.pdf"
    style = replace(RenderStyle(), repeat_header=True, repeat_merged=False)
    n = render_records([rec], pdf, style)
    assert n >= 6
    layer = TextLayer(pdf)
    missing = [(k, v[:20]) for k, v in printed(rec) if v not in layer]
    assert not missing, missing
    for s in ("金额单位：万元", "填报单位（盖章）：上海市闵行区古美路街道总工会", "一、项目总预算：38.42",
              "1.50", "35.00", "1.92", "0.05", "38.42", "30.00"):
        assert s in layer, s
    with pdfplumber.open(pdf) as doc:
        text = "".join(nows(p.extract_text()) for p in doc.pages)
    assert text.count("一级目标") >= 2  # header row repeated on the continuation page
    assert not cell_violations(pdf)


def test_glyphs_come_back_identical(seed, tmp_path):
    """☑ ☐ ✓ are missing from some fonts: the fallback font must print them and
    the text layer must give back the same characters."""
    combos = ((("☑", "☐"), "✓"), (("■", "□"), "√"), (("√", "□"), "☑"))
    for font in ("wqy-zenhei", "wqy-microhei", "uming", "droid"):
        for boxes, tick in combos:
            pdf = tmp_path / "g.pdf"
            style = replace(RenderStyle(), font=font, box_glyphs=boxes, tick=tick, part_order=("a", "c"))
            render_records([seed], pdf, style)
            with pdfplumber.open(pdf) as doc:
                chars = "".join(c["text"] for p in doc.pages for c in p.chars)
            assert chars.count(boxes[0]) >= 1 and chars.count(boxes[1]) >= 2, (font, boxes)
            assert chars.count(tick) >= 9, (font, tick)
            assert "（工会）维护职工权益" in chars


@pytest.mark.parametrize("seed_no", range(8))
def test_random_styles_keep_every_string(seed, seed_no, tmp_path):
    style = style_from_seed(seed_no)
    assert style == style_from_seed(seed_no)
    pdf = tmp_path / "s.pdf"
    render_records([seed], pdf, style)
    layer = TextLayer(pdf)
    missing = [k for k, v in printed(seed) if v not in layer]
    assert not missing, (style, missing)


def test_formats():
    assert format_amount(384200, "plain") == "384200"
    assert format_amount(384200, "fixed2") == "384200.00"
    assert format_amount(384200.0, "thousands") == "384,200.00"
    assert format_amount(384200, "plain", "万元") == "38.42"
    assert format_amount(384200, "fixed2", "万元") == "38.42"
    assert format_amount(15000, "fixed2", "万元") == "1.50"
    assert format_amount(15000, "plain", "万元") == "1.5"
    assert format_amount(384201.5, "plain", "万元") == "38.42015"
    assert format_amount(0.1 + 0.2, "plain") == "0.3"
    assert format_amount(12345678.9, "thousands", "万元") == "1,234.56789"
    assert format_quantity(30, "fixed2") == "30.00" and format_quantity(1.0, "plain") == "1"
    assert format_dates("2020-01-01", "2020-12-31", "iso") == ("2020-01-01", "2020-12-31")
    assert format_dates("2020-01-01", "2020-12-31", "cn") == ("2020年1月1日", "2020年12月31日")
    assert format_dates("2020-01-01", "2020-12-31", "dot") == ("2020.1.1", "2020.12.31")
    assert format_dates("2020-01-01", "2020-12-31", "slash") == ("2020/1/1", "2020/12/31")
    assert format_dates("2020-01-01", "2020-12-31", "year") == ("2020年度", "2020年度")
    assert format_dates("2020-03-01", "2020-12-31", "year") == ("2020年3月1日", "2020年12月31日")
    assert format_dates("2020-07", None, "cn") == ("2020年7月", "")
    assert format_dates("2020-07", "2021-06", "dot") == ("2020.07", "2021.06")
    assert capital_amount(384200) == "叁拾捌万肆仟贰佰元整"
    assert capital_amount(10005) == "壹万零伍元整"
    assert capital_amount(100000000) == "壹亿元整"
    assert capital_amount(1010.5) == "壹仟零壹拾元伍角整"
    assert capital_amount(0.07) == "柒分"
    assert capital_amount(0) == "零元整"


def test_wrap_keeps_text_and_width():
    fs = fontset("uming")
    text = "环卫一线、建筑工地等一线职工高温慰问(约2500人，人均100元计算)，见《2014-2018年规划》。"
    for width in (30.0, 45.0, 60.0, 100.0, 200.0):
        lines = wrap_text(text, width, fs, 10.5)
        assert "".join(lines) == text
        for ln in lines:
            assert fs.width(ln.rstrip(), 10.5) <= width + 1e-6 or len(ln) == 1
        if width >= 45:  # (narrower than 划》。: no way to keep the kinsoku rule)
            for ln in lines[1:]:
                assert ln[0] not in "，。、）》"  # no closing punctuation at a line start
    lines = wrap_text(text, 100.0, fs, 10.5)
    assert any("2500" in ln for ln in lines) and any("2014-2018" in ln for ln in lines)
    assert wrap_text("甲\n乙", 100.0, fs, 10.5) == ["甲", "乙"]


def test_missing_parts_and_order(seed, tmp_path):
    pdf = tmp_path / "parts.pdf"
    assert render_records([seed], pdf, replace(RenderStyle(), part_order=("c", "a"))) == 2
    with pdfplumber.open(pdf) as doc:
        first, second = (nows(p.extract_text()) for p in doc.pages)
    assert first.startswith("附件1-3项目支出绩效目标申报表(制度保障)")
    assert "（项目总体情况）" in second and "项目构成分解" not in first + second


# --------------------------------------------------------------------------
# The other form variants (render_variants.py): sh-district-2026, ministry-county

from pipelines.samples.render import VARIANTS, Cell, _Renderer  # noqa: E402
from pipelines.samples.render_variants import amount_2026, date_range, dates_2026  # noqa: E402

CORPUS = ROOT / "pipelines" / "samples" / "corpus"


def variant_records(variant: str) -> list[tuple[str, dict]]:
    out = []
    for p in sorted(CORPUS.glob("*.json")):
        rec = json.loads(p.read_text(encoding="utf-8"))
        if (rec.get("form") or {}).get("variant") == variant:
            out.append((p.stem, rec))
    return out


# Three looks per variant: the defaults; a sans look (paired 2026 header rows,
# indicator tables headed by a left label cell, 三级指标, 至, boxes after the
# option, no repeated header, merged labels reprinted, no 审核意见 row); a
# Droid look (12 pt, DejaVu digits, dot dates, taller rows).
VARIANT_STYLES = {
    "plain": RenderStyle(),
    "sans": RenderStyle(
        font="wqy-zenhei", font_size=11.0, title_size=18.0, line_gap=3.5, padding=4.0, col_scale=1.2,
        box_glyphs=("■", "□"), box_after=True, amount_format="thousands", amount_align="right",
        date_format="cn", repeat_header=False, repeat_merged=True, valign="top", margin=56.0,
        compact_header=True, table_heading="label", level3_label="三级指标", range_sep="至", approval=False),
    "droid": RenderStyle(
        font="droid", font_size=12.0, title_size=14.0, line_gap=2.0, padding=4.0, col_scale=0.9,
        box_glyphs=("[x]", "[ ]"), amount_format="fixed2", date_format="dot", margin=52.0,
        min_row_height=25.0, range_sep="—"),
}


def stray_glyphs(pdf_path: Path) -> list[tuple]:
    """Glyphs below the top of a page's first ruled cell that lie in no cell
    at all (text run out of its cell, e.g. under the table's bottom border)."""
    bad = []
    with pdfplumber.open(pdf_path) as pdf:
        for pno, page in enumerate(pdf.pages, 1):
            rects = [(r["x0"], r["top"], r["x1"], r["bottom"]) for r in page.rects]
            if not rects:
                continue
            top = min(r[1] for r in rects)
            for ch in page.chars:
                cx, cy = (ch["x0"] + ch["x1"]) / 2, (ch["top"] + ch["bottom"]) / 2
                if ch["text"].isspace() or cy < top:
                    continue
                if not any(r[0] <= cx <= r[2] and r[1] <= cy <= r[3] for r in rects):
                    bad.append((pno, ch["text"], round(ch["top"], 1)))
    return bad


def _variant_expect(rec: dict, style: RenderStyle) -> list[str]:
    """What a variant's form prints besides the record's strings."""
    form, prj, fund = rec["form"], rec["project"], rec["funding"]
    out = []
    if form["variant"] == "sh-district-2026":
        out += [f"财政项目支出绩效目标申报表（{form['year']}年度）", "项目资金（元）", "项目资金总额", "其中：财政资金",
                "上年结转资金", "年度资金申请总额", "其中：当年财政拨款", "计划开始日期", "计划完成日期",
                "年度总体目标", "绩效指标", "三级指标", "年度指标值"]
        out += [amount_2026(v) for v in fund.values() if v is not None]
        out += list(dates_2026(prj["start_date"], prj["end_date"], style.date_format))
        y0, y1 = prj["start_date"][:4], prj["end_date"][:4]
        out.append(f"项目总体目标（{y0}年-{y1}年）" if y0 != y1 else "项目总目标")
        if form["filing_unit"]:
            out.append("填报单位（盖章）：" + form["filing_unit"])
    else:
        unit = form["amount_unit"]
        out += [form["title"], f"（{form['year']}年度）", f"项目资金申请({unit})", "资金总额", "财政拨款", "自有资金",
                "项目实施单位", "项目起止时间", "项目实施进度计划", "长期目标", "年度目标", "长期绩效指标",
                "年度绩效指标", style.level3_label, "指标值", "备注", "其他说明的问题", "填报人", "单位负责人",
                "填报日期", "填报单位（盖章）：" + (form["filing_unit"] or "")]
        out += [format_amount(v, style.amount_format, unit) for v in fund.values() if v is not None]
        out.append(format_amount(rec["extra"]["自有资金"], style.amount_format, unit))
        out.append(date_range(prj["start_date"], prj["end_date"], style.date_format, style.range_sep))
        on, off = style.box_glyphs
        other = "延续项目" if prj["nature"] == "新增项目" else "新增项目"
        out += [prj["nature"] + on, other + off] if style.box_after else [on + prj["nature"], off + other]
        if style.approval:
            out += ["审核意见", "主管部门审核意见"]
    return out


@pytest.mark.parametrize("variant", ["sh-district-2026", "ministry-county"])
@pytest.mark.parametrize("name", list(VARIANT_STYLES))
def test_variant_records_round_trip_through_text_layer(variant, name, tmp_path):
    recs = variant_records(variant)
    assert len(recs) >= 4, variant
    style = VARIANT_STYLES[name]
    pdf = tmp_path / f"{variant}-{name}.pdf"
    pages = render_records([r for _, r in recs], pdf, style)
    assert pages >= len(recs)
    layer = TextLayer(pdf)
    for stem, rec in recs:
        missing = [(k, v[:20]) for k, v in printed(rec) if v not in layer]
        assert not missing, (stem, missing)
        for s in _variant_expect(rec, style):
            assert s and s in layer, (stem, s)
    if variant == "ministry-county":
        with pdfplumber.open(pdf) as doc:
            text = "".join(nows(p.extract_text()) for p in doc.pages)
        assert ("审核意见" in text) == style.approval
        assert ("指标内容" in text) == (style.level3_label == "指标内容")
    assert not cell_violations(pdf)
    assert not stray_glyphs(pdf)


@pytest.mark.parametrize("variant", ["sh-district-2026", "ministry-county"])
def test_variant_render_is_byte_identical(variant, tmp_path):
    recs = [r for _, r in variant_records(variant)][:2]
    a, b = tmp_path / "a.pdf", tmp_path / "b.pdf"
    render_records(recs, a, style_from_seed(14))
    render_records(recs, tmp_path / "other.pdf", style_from_seed(3))
    render_records(recs, b, style_from_seed(14))
    assert a.read_bytes() == b.read_bytes()


def test_variants_dispatch_per_record(seed, tmp_path):
    r26 = variant_records("sh-district-2026")[0][1]
    rmc = variant_records("ministry-county")[0][1]
    alone = [render_records([r], tmp_path / f"{k}.pdf") for k, r in enumerate((seed, r26, rmc))]
    pdf = tmp_path / "mixed.pdf"
    assert render_records([seed, r26, rmc], pdf) == sum(alone)
    with pdfplumber.open(pdf) as doc:
        firsts = [nows(doc.pages[i].extract_text()) for i in (0, alone[0], alone[0] + alone[1])]
    assert firsts[0].startswith("财政项目支出绩效目标申报表（项目总体情况）")
    assert firsts[1].startswith(f"财政项目支出绩效目标申报表（{r26['form']['year']}年度）")
    assert firsts[2].startswith("项目支出绩效目标申报表")
    bad = copy.deepcopy(r26)
    bad["form"]["variant"] = "no-such-form"
    with pytest.raises(ValueError):
        render_records([bad], tmp_path / "bad.pdf")
    assert set(VARIANTS) == {"sh-district-2020", "sh-district-2026", "ministry-county"}


def test_variant_formats():
    assert amount_2026(771325800) == "771,325,800.00"
    assert amount_2026(123000.0) == "123,000.00"
    assert amount_2026(0) == "0" and amount_2026(None) == ""
    assert dates_2026("2026-01-01", "2026-12-31", "slash") == ("2026/1/1", "2026/12/31")
    assert dates_2026("2024-01-01", "2026-12-31", "iso") == ("2024-01-01", "2026-12-31")
    assert date_range("2023-07", "2024-01", "dot") == "2023.07-2024.01"
    assert date_range("2022-01", "2022-12", "cn") == "2022年1月-2022年12月"
    assert date_range("2021-01-01", "2021-12-31", "cn", "至") == "2021年1月1日至2021年12月31日"
    assert date_range("2021-01-01", "2021-12-31", "iso") == "2021-01-01至2021-12-31"
    assert format_amount(675600, "plain", "万元") == "67.56"
    assert format_amount(2500000, "plain", "万元") == "250"
    assert format_amount(674326, "fixed2", "万元") == "67.4326"


def test_text_of_a_merged_cell_cut_by_a_page_break_stays_in_its_cell(tmp_path):
    """A merged cell whose text fits none of its parts on the pages is spread
    over them; text that fits a later part goes there whole."""
    r = _Renderer(tmp_path / "x.pdf", RenderStyle())
    lead, pad = r.lead, r.pad
    c = Cell(0, 60, "服务对象满意度指标", rowspan=2)
    c.lines = ["服务对象满", "意度指标"]
    c.need = 2 * lead + 2 * pad
    one = lead + 2 * pad + 2
    plan = r._fragment_lines(c, [(0, 700.0, 700.0 + one), (1, 45.0, 45.0 + one)])
    assert [p[0] for p in plan] == [["服务对象满"], ["意度指标"]]
    assert plan[0][1] == "bottom" and plan[1][1] == "top"
    plan = r._fragment_lines(c, [(0, 700.0, 700.0 + one), (1, 45.0, 45.0 + 3 * one)])
    assert [p[0] for p in plan] == [[], c.lines]


@pytest.mark.parametrize("render_seed", [54, 108])
def test_corpus_cell_cut_by_page_break_regression(render_seed, tmp_path):
    """sh-songjiang-2022-rural-revitalization in these styles cuts the merged
    服务对象满意度指标 cell so that each page has one row of it: its second line
    used to land under the table's bottom border."""
    path = CORPUS / "sh-songjiang-2022-rural-revitalization.json"
    if not path.exists():
        pytest.skip("corpus record gone")
    pdf = tmp_path / "sj.pdf"
    render_records([json.loads(path.read_text(encoding="utf-8"))], pdf, style_from_seed(render_seed))
    assert not cell_violations(pdf)
    assert not stray_glyphs(pdf)
    assert "服务对象满意度指标" in TextLayer(pdf)
