"""Sample renderer: a declaration record → a digital PDF that looks like the
paper form.  This module holds the table engine and the layout of variant
``sh-district-2020`` (the Shanghai district three-part form of the seed
declaration); ``render_variants.py`` holds the layouts of ``sh-district-2026``
and ``ministry-county``, chosen per record by its ``form.variant``.

Everything is drawn with the reportlab canvas: ruled grid (one stroked
rectangle per cell or cell fragment), merged cells, text wrapped inside its
cell, tables broken across pages.  Fonts are embedded TrueType (see
``fonts.py``), so the text layer holds the record's characters verbatim.
Every visual choice is a field of :class:`RenderStyle`; :func:`style_from_seed`
draws one deterministically from a seed.  Output is reproducible: the same
records and style give byte-identical PDFs (``invariant=1``).

    render_records([record], "out.pdf", style_from_seed(7))  # -> page count

CLI: ``python -m pipelines.samples.render record.json [more.json] out.pdf --seed 7``
"""

from __future__ import annotations

import json
import random
import re
import unicodedata
import warnings
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Iterable

from reportlab.lib.pagesizes import A4, landscape
from reportlab.pdfgen import canvas as rl_canvas

from .fonts import MAIN_FONTS, FontSet, fontset

__all__ = [
    "VARIANT",
    "VARIANTS",
    "record_variant",
    "RenderStyle",
    "style_from_seed",
    "render_records",
    "format_amount",
    "format_quantity",
    "format_dates",
    "capital_amount",
    "wrap_text",
]

VARIANT = "sh-district-2020"
VARIANTS = (VARIANT, "sh-district-2026", "ministry-county")  # the layouts render_records prints

AMOUNT_FORMATS = ("plain", "fixed2", "thousands")
DATE_FORMATS = ("iso", "cn", "dot", "slash", "year")
BOX_GLYPHS = (("☑", "☐"), ("■", "□"), ("√", "□"), ("[x]", "[ ]"))
TICKS = ("√", "✓", "☑")
CATEGORIES = ("一次性项目", "经常性项目", "中期预算试点项目")
STAGES = (("planning", "立项和计划阶段"), ("implementation", "实施阶段"), ("completion", "收尾和完成阶段"))

# Printed label -> synonyms other years/regions print (all known to the
# sh-district-2020 template in extract/templates/).  style_from_seed picks
# from these; RenderStyle.header_labels may hold any mapping.
LABEL_SYNONYMS: dict[str, tuple[str, ...]] = {
    "一级目标": ("一级指标",),
    "二级目标": ("二级指标",),
    "三级目标": ("三级指标",),
    "目标值": ("指标值", "年度指标值", "指标目标值"),
    "项目总目标": ("项目总体目标",),
    "年度绩效目标": ("年度总体目标",),
    "起始日期": ("计划开始日期",),
    "结束日期": ("计划完成日期",),
    "项目概况": ("项目基本情况",),
    "需要说明的其他问题": ("其他需要说明的问题",),
}
# Labels a real form renames together.
SYNONYM_GROUPS: tuple[tuple[str, ...], ...] = (
    ("一级目标", "二级目标", "三级目标"), ("目标值",), ("项目总目标",), ("年度绩效目标",),
    ("起始日期", "结束日期"), ("项目概况",), ("需要说明的其他问题",),
)


@dataclass
class RenderStyle:
    """Every visual choice of the renderer.  The defaults reproduce the seed."""

    font: str = "uming"                 # fonts.MAIN_FONTS key
    font_size: float = 10.5             # body text (pt)
    title_size: float = 16.0            # part titles (pt)
    line_gap: float = 3.0               # extra space between wrapped lines (pt)
    padding: float = 3.0                # cell padding (pt)
    col_scale: float = 1.0              # width factor of the label columns
    box_glyphs: tuple[str, str] = ("☑", "☐")  # (checked, unchecked) of 项目类别
    box_after: bool = False             # box after the option name
    tick: str = "√"                     # mark after a ticked 保障阶段
    stage_box: bool = False             # 保障阶段 as box glyph + name instead of name + tick
    amount_format: str = "plain"        # 项目资金 amounts: plain | fixed2 | thousands
    item_amount_format: str | None = "fixed2"  # 项目构成分解 amounts/quantities (None: amount_format)
    amount_align: str = "left"          # 项目资金 value cells: left | center | right
    date_format: str = "iso"            # iso | cn | dot | slash | year
    capital_total: bool = False         # 一、项目总预算 in capital numerals
    funding_split_cells: bool = True    # 项目资金 label and value in separate cells (seed: total in one)
    header_labels: dict[str, str] = field(default_factory=dict)  # default label -> printed synonym
    part_order: tuple[str, ...] = ("a", "b", "c")
    repeat_header: bool = True          # repeat table header rows on continuation pages
    repeat_merged: bool = False         # reprint a merged/split label cell's text after a page break
    landscape_b: bool = False           # part (b) on landscape A4
    border_width: float = 0.6
    valign: str = "center"              # value cells: center | top
    margin: float = 45.0                # page margin (pt)
    min_row_height: float = 20.0        # (pt)
    # used by the other variants' layouts (render_variants.py) only
    compact_header: bool = False        # 2026: 项目性质/项目类别 and 主管部门/实施单位 paired on one row
    table_heading: str = "row"          # ministry: indicator table heading as a full-width row | a left label cell
    level3_label: str = "指标内容"       # ministry: 3rd indicator column (指标内容 | 三级指标)
    range_sep: str = "-"                # ministry 项目起止时间: start + sep + end
    approval: bool = True               # ministry: 审核意见 row at the end

    def label(self, default: str) -> str:
        return self.header_labels.get(default, default)


def style_from_seed(seed: int) -> RenderStyle:
    """A deterministic random style.  Parts are only reordered, never dropped
    (the sample builder copies the whole golden record beside the PDF)."""
    rng = random.Random(int(seed))

    def pick(seq):
        return seq[rng.randrange(len(seq))]

    def halves(lo: float, hi: float) -> float:
        return round(rng.uniform(lo, hi) * 2) / 2

    font = pick(("wqy-zenhei", "wqy-zenhei", "wqy-microhei", "uming", "uming", "uming", "droid"))
    font_size = pick((9.0, 9.5, 10.0, 10.5, 10.5, 11.0, 12.0))
    title_size = pick((14.0, 15.0, 16.0, 16.0, 18.0))
    line_gap = halves(1.5, 5.0)
    padding = halves(2.0, 5.0)
    col_scale = round(rng.uniform(0.85, 1.3), 2)
    box_glyphs = pick(BOX_GLYPHS)
    box_after = rng.random() < 0.25
    tick = pick(TICKS)
    stage_box = rng.random() < 0.2
    amount_format = pick(AMOUNT_FORMATS)
    item_amount_format = amount_format if rng.random() < 0.5 else pick(AMOUNT_FORMATS)
    amount_align = pick(("left", "left", "center", "right"))
    date_format = pick(DATE_FORMATS)
    capital_total = rng.random() < 0.15
    funding_split_cells = rng.random() < 0.6
    header_labels: dict[str, str] = {}
    for group in SYNONYM_GROUPS:  # fixed order; a group is renamed as a whole
        if rng.random() < 0.3:
            k = rng.randrange(len(LABEL_SYNONYMS[group[0]]))
            for g in group:
                header_labels[g] = LABEL_SYNONYMS[g][min(k, len(LABEL_SYNONYMS[g]) - 1)]
    orders = (("a", "b", "c"),) * 6 + (("a", "c", "b"), ("b", "a", "c"), ("c", "a", "b"))
    part_order = pick(orders)
    repeat_header = rng.random() < 0.6
    repeat_merged = rng.random() < 0.5
    landscape_b = rng.random() < 0.25
    border_width = round(rng.uniform(0.5, 0.8), 2)
    valign = "center" if rng.random() < 0.7 else "top"
    margin = halves(40.0, 64.0)
    min_row_height = halves(max(18.0, font_size + 2 * padding + 2), 26.0)
    # drawn last, so the sh-district-2020 choices above stay what they were
    compact_header = rng.random() < 0.4
    table_heading = pick(("row", "row", "label"))
    level3_label = pick(("指标内容", "指标内容", "三级指标"))
    range_sep = pick(("-", "-", "至", "—"))
    approval = rng.random() < 0.6
    return RenderStyle(
        font=font, font_size=font_size, title_size=title_size, line_gap=line_gap,
        padding=padding, col_scale=col_scale, box_glyphs=box_glyphs, box_after=box_after,
        tick=tick, stage_box=stage_box, amount_format=amount_format,
        item_amount_format=item_amount_format, amount_align=amount_align,
        date_format=date_format, capital_total=capital_total,
        funding_split_cells=funding_split_cells, header_labels=header_labels,
        part_order=part_order, repeat_header=repeat_header, repeat_merged=repeat_merged,
        landscape_b=landscape_b, border_width=border_width, valign=valign, margin=margin,
        min_row_height=min_row_height, compact_header=compact_header, table_heading=table_heading,
        level3_label=level3_label, range_sep=range_sep, approval=approval,
    )


def _check_style(s: RenderStyle) -> None:
    if s.font not in MAIN_FONTS:
        raise ValueError(f"font {s.font!r} not in {MAIN_FONTS}")
    if s.amount_format not in AMOUNT_FORMATS:
        raise ValueError(f"amount_format {s.amount_format!r}")
    if s.item_amount_format not in AMOUNT_FORMATS + (None,):
        raise ValueError(f"item_amount_format {s.item_amount_format!r}")
    if s.date_format not in DATE_FORMATS:
        raise ValueError(f"date_format {s.date_format!r}")
    if s.amount_align not in ("left", "center", "right") or s.valign not in ("center", "top"):
        raise ValueError("amount_align / valign")
    if s.table_heading not in ("row", "label"):
        raise ValueError(f"table_heading {s.table_heading!r}")
    bad = [p for p in s.part_order if p not in ("a", "b", "c")]
    if bad:
        raise ValueError(f"part_order has {bad}")


# --------------------------------------------------------------------------
# Values as printed

def _dec(x: Any) -> Decimal:
    if isinstance(x, bool):
        raise TypeError("bool is not an amount")
    if isinstance(x, int):
        return Decimal(x)
    if isinstance(x, float):
        return Decimal(repr(x))
    return Decimal(str(x))


def _fmt_dec(d: Decimal, min_dec: int, max_dec: int, commas: bool) -> str:
    d = d.quantize(Decimal(1).scaleb(-max_dec), rounding=ROUND_HALF_UP)
    exp = d.normalize().as_tuple().exponent
    places = max(min_dec, -exp if isinstance(exp, int) and exp < 0 else 0)
    if d == 0:
        d = Decimal(0)
    return f"{d:,.{places}f}" if commas else f"{d:.{places}f}"


def format_amount(x: Any, fmt: str = "plain", unit: str | None = "元") -> str:
    """An amount in 元 as printed: plain ``384200``, fixed2 ``384200.00``,
    thousands ``384,200.00``; a 万元 form prints x / 10000 with as many decimals
    as needed to stay exact (``38.42``)."""
    if x is None:
        return ""
    d = _dec(x)
    wan = unit == "万元"
    if wan:
        d = d / Decimal(10000)
    return _fmt_dec(d, 0 if fmt == "plain" else 2, 6 if wan else 2, fmt == "thousands")


def format_quantity(x: Any, fmt: str = "plain") -> str:
    if x is None:
        return ""
    return _fmt_dec(_dec(x), 0 if fmt == "plain" else 2, 4, False)


_ISO_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_ISO_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def _format_date(s: str | None, fmt: str) -> str:
    if s is None:
        return ""
    m = _ISO_DAY.match(s)
    if m:
        y, mo, d = int(m[1]), int(m[2]), int(m[3])
        return {"iso": s, "cn": f"{y}年{mo}月{d}日", "dot": f"{y}.{mo}.{d}",
                "slash": f"{y}/{mo}/{d}"}.get(fmt, f"{y}年{mo}月{d}日")
    m = _ISO_MONTH.match(s)
    if m:
        y, mo = int(m[1]), int(m[2])
        return {"iso": s, "cn": f"{y}年{mo}月", "dot": f"{y}.{mo:02d}",
                "slash": f"{y}/{mo:02d}"}.get(fmt, f"{y}年{mo}月")
    return s


def format_dates(start: str | None, end: str | None, fmt: str = "iso") -> tuple[str, str]:
    """(起始日期, 结束日期) as printed.  ``year`` prints ``2020年度`` in both cells
    when the dates cover exactly one calendar year, else falls back to ``cn``."""
    if fmt == "year":
        ms, me = _ISO_DAY.match(start or ""), _ISO_DAY.match(end or "")
        if ms and me and ms[1] == me[1] and ms.groups()[1:] == ("01", "01") and me.groups()[1:] == ("12", "31"):
            return f"{ms[1]}年度", f"{me[1]}年度"
        fmt = "cn"
    return _format_date(start, fmt), _format_date(end, fmt)


_CN_DIGITS = "零壹贰叁肆伍陆柒捌玖"


def _cn_group(g: int) -> str:
    out, zero = "", False
    for unit, div in (("仟", 1000), ("佰", 100), ("拾", 10), ("", 1)):
        q = g // div % 10
        if q == 0:
            zero = bool(out)
            continue
        if zero:
            out += "零"
            zero = False
        out += _CN_DIGITS[q] + unit
    return out


def capital_amount(x: Any) -> str:
    """384200 -> 叁拾捌万肆仟贰佰元整 (an amount in 元, to the 分)."""
    d = _dec(x)
    neg = d < 0
    cents = int((abs(d) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    yuan, rem = divmod(cents, 100)
    jiao, fen = divmod(rem, 10)
    groups = []
    y = yuan
    while y:
        groups.append(y % 10000)
        y //= 10000
    s, pending_zero = "", False
    units = ("", "万", "亿", "万")
    for i in range(len(groups) - 1, -1, -1):
        g = groups[i]
        if g == 0:
            pending_zero = bool(s)
            continue
        if s and (pending_zero or g < 1000):
            s += "零"
        s += _cn_group(g) + units[i % 4] + ("亿" if i == 3 else "")
        pending_zero = False
    if yuan:
        s += "元"
    if jiao == 0 and fen == 0:
        s = (s or "零元") + "整"
    else:
        if jiao:
            s += _CN_DIGITS[jiao] + "角"
        elif yuan:
            s += "零"
        s += (_CN_DIGITS[fen] + "分") if fen else "整"
    return ("负" if neg else "") + s


# --------------------------------------------------------------------------
# Line breaking

NO_START = set("，。、；：？！）】》」』”’〕〉〗｝…—～·%‰℃,.;:?!)]}>")
NO_END = set("（【《「『“‘〔〈〖｛([{<")


def _latin(ch: str) -> bool:
    if ch.isspace():
        return False
    if ch.isascii():
        return True
    return unicodedata.east_asian_width(ch) in ("Na", "H", "N") and unicodedata.category(ch)[0] in "LNM"


def _units(text: str) -> list[str]:
    """Break units: a CJK character, a Latin/number token, a space, a newline;
    closing punctuation is glued to the unit before it, opening to the unit after."""
    raw: list[str] = []
    buf = ""
    for ch in text:
        if _latin(ch):
            buf += ch
            continue
        if buf:
            raw.append(buf)
            buf = ""
        raw.append(ch)
    if buf:
        raw.append(buf)
    out: list[str] = []
    glue_next = False
    for u in raw:
        if u == "\n" or u.isspace():
            out.append(u)
            glue_next = False
            continue
        if out and not out[-1].isspace() and (glue_next or u[0] in NO_START):
            out[-1] += u
        else:
            out.append(u)
        glue_next = u[-1] in NO_END
    return out


def wrap_text(text: str, width: float, fs: FontSet, size: float) -> list[str]:
    """Greedy wrap; the lines concatenated give back ``text`` minus its
    newlines.  Spaces at a break hang past the edge (invisible); a token wider
    than the line is split between characters."""
    if not text:
        return []
    lines: list[str] = []
    cur, curw = "", 0.0
    eps = 1e-6
    for u in _units(text):
        if u == "\n":
            lines.append(cur)
            cur, curw = "", 0.0
            continue
        w = fs.width(u, size)
        if u.isspace():
            cur += u
            curw += w
            continue
        if curw + w <= width + eps:
            cur += u
            curw += w
            continue
        if cur.strip():
            lines.append(cur)
            cur, curw = "", 0.0
        if curw + w <= width + eps:
            cur += u
            curw += w
            continue
        for ch in u:  # too wide for any line: split between characters
            cw = fs.width(ch, size)
            if curw + cw > width + eps and cur.strip():
                carry = ""
                if ch in NO_START:  # take the character(s) before it along
                    k = len(cur) - 1
                    while k > 0 and cur[k] in NO_START:
                        k -= 1
                    if k > 0:
                        cur, carry = cur[:k], cur[k:]
                lines.append(cur)
                cur, curw = carry, fs.width(carry, size)
            cur += ch
            curw += cw
    lines.append(cur)
    return lines


def _longest_unit(texts: Iterable[str], fs: FontSet, size: float) -> float:
    best = 0.0
    for t in texts:
        for u in _units(t or ""):
            if not u.isspace():
                best = max(best, fs.width(u, size))
    return best


def _fit_columns(total: float, weights: list[float], mins: list[float]) -> list[float]:
    """Widths proportional to ``weights`` summing to ``total``, none below its min."""
    n = len(weights)
    fixed: set[int] = set()
    w = [0.0] * n
    for _ in range(n + 1):
        free = total - sum(mins[i] for i in fixed)
        wsum = sum(weights[i] for i in range(n) if i not in fixed)
        changed = False
        for i in range(n):
            if i in fixed:
                w[i] = mins[i]
                continue
            w[i] = free * weights[i] / wsum if wsum else 0.0
            if w[i] < mins[i] - 1e-9:
                fixed.add(i)
                changed = True
        if not changed or len(fixed) == n:
            break
    if len(fixed) == n:
        for i in range(n):
            w[i] = mins[i]
    s = sum(w)
    if s > total + 1e-6:  # mins do not fit: shrink everything alike
        w = [x * total / s for x in w]
    return w


def _edges(x0: float, widths: list[float]) -> list[float]:
    xs = [x0]
    for w in widths:
        xs.append(xs[-1] + w)
    return xs


# --------------------------------------------------------------------------
# Table model and layout

@dataclass
class Cell:
    x0: float
    x1: float
    text: str = ""
    rowspan: int = 1
    align: str = "left"          # left | center | right | auto (center if one line)
    valign: str | None = None    # None: style.valign; labels are centred
    label: bool = False          # a label: centred, reprinted after a break when repeat_merged
    indent: float = 0.0
    lines: list[str] = field(default_factory=list)
    need: float = 0.0


@dataclass
class Row:
    cells: list[Cell]
    header: bool = False
    section: int = 0


@dataclass
class Placed:
    page: int
    top: float
    height: float
    row: int
    start: int = 0               # first line shown of the row's cells
    end: int | None = None       # one past the last (None: all)
    repeat: bool = False         # a repeated header row
    cont: bool = False           # continuation of a row split by a page break


class _Renderer:
    def __init__(self, out: str | Path, style: RenderStyle, title: str = "财政项目支出绩效目标申报表",
                 subject: str = VARIANT):
        self.s = style
        self.fs = fontset(style.font)
        self.c = rl_canvas.Canvas(str(out), pagesize=A4, invariant=1, pageCompression=1)
        self.c.setTitle(title)
        self.c.setCreator("shenbao pipelines.samples.render")
        self.c.setAuthor("")
        self.c.setSubject(subject)
        self.pages = 0
        self.size = style.font_size
        self.lead = style.font_size + style.line_gap
        self.pad = style.padding
        self.min_h = max(style.min_row_height, self.lead + 2 * self.pad)
        self.pagesize = A4
        self.unknown: set[str] = set()

    # ---- pages -----------------------------------------------------------
    def new_page(self, land: bool = False) -> None:
        if self.pages:
            self.c.showPage()
        self.pagesize = landscape(A4) if land else A4
        self.c.setPageSize(self.pagesize)
        self.c.setLineWidth(self.s.border_width)
        self.c.setStrokeColorRGB(0, 0, 0)
        self.c.setFillColorRGB(0, 0, 0)
        self.pages += 1

    def finish(self) -> int:
        if not self.pages:
            self.new_page()
        self.c.showPage()
        self.c.save()
        return self.pages

    @property
    def W(self) -> float:
        return self.pagesize[0] - 2 * self.s.margin

    @property
    def H(self) -> float:
        return self.pagesize[1]

    # ---- text ------------------------------------------------------------
    def text(self, x: float, top: float, s: str, size: float | None = None, bold: bool = False) -> None:
        """Draw ``s`` with its baseline at distance ``top`` below the page top."""
        size = size or self.size
        if not s:
            return
        c = self.c
        t = c.beginText(x, self.H - top)
        if bold:
            c.saveState()
            c.setLineWidth(size * 0.03)
            t.setTextRenderMode(2)
        for name, run in self.fs.runs(s):
            t.setFont(name, size)
            t.textOut(run)
        if self.fs.unknown:
            self.unknown.update(ch for ch in s if ch in self.fs.unknown)
        c.drawText(t)
        if bold:
            c.restoreState()

    def width(self, s: str, size: float | None = None) -> float:
        return self.fs.width(s, size or self.size)

    def centered(self, top: float, s: str, size: float, bold: bool = False) -> None:
        x0 = self.s.margin
        self.text(x0 + (self.W - self.width(s, size)) / 2, top, s, size, bold)

    def baseline(self, line_top: float, size: float | None = None) -> float:
        size = size or self.size
        return line_top + self.lead / 2 + 0.36 * size

    # ---- tables ----------------------------------------------------------
    def _layout(self, rows: list[Row]) -> list[float]:
        pad = self.pad
        for r in rows:
            for c in r.cells:
                c.lines = wrap_text(c.text, c.x1 - c.x0 - 2 * pad - c.indent, self.fs, self.size)
                c.need = max(1, len(c.lines)) * self.lead + 2 * pad
        n = len(rows)
        h = []
        for r in rows:
            h.append(max([self.min_h] + [c.need for c in r.cells if c.rowspan == 1]))
        for i, r in enumerate(rows):
            for c in r.cells:
                c.rowspan = max(1, min(c.rowspan, n - i))
                if c.rowspan > 1:
                    tot = sum(h[i:i + c.rowspan])
                    if c.need > tot:
                        extra = (c.need - tot) / c.rowspan
                        for j in range(i, i + c.rowspan):
                            h[j] += extra
        return h

    def _keep(self, rows: list[Row], h: list[float], i: int) -> float:
        """Extra room row i wants on its page for what must follow it."""
        keep = 0.0
        r = rows[i]
        if r.header and i + 1 < len(rows) and rows[i + 1].section == r.section:
            keep = min(h[i + 1], 2 * self.lead + 2 * self.pad)
        for c in r.cells:
            if c.rowspan > 1:
                keep = max(keep, min(c.need, sum(h[i:i + c.rowspan])) - h[i])
        return keep

    def _paginate(self, rows: list[Row], h: list[float], t0: float) -> list[Placed]:
        s, pad, lead = self.s, self.pad, self.lead
        page_top, bottom = s.margin, self.H - s.margin
        placed: list[Placed] = []
        headers: dict[int, list[int]] = {}
        page, t, at_top = 0, t0, True
        i, start = 0, 0
        n = len(rows)

        def text_lines(r: Row) -> int:
            return max([len(c.lines) for c in r.cells if c.rowspan == 1 and not c.label] or [0])

        def break_page(before: int) -> None:
            nonlocal page, t, at_top
            page += 1
            t = page_top
            at_top = True
            r = rows[before]
            if s.repeat_header and not r.header and r.section in headers:
                for hi in headers[r.section]:
                    placed.append(Placed(page, t, h[hi], hi, repeat=True))
                    t += h[hi]

        while i < n:
            r = rows[i]
            if r.header and start == 0 and i not in headers.get(r.section, []):
                headers.setdefault(r.section, []).append(i)
            avail = bottom - t
            if start == 0:
                need, keep = h[i], self._keep(rows, h, i)
            else:
                need, keep = max(self.min_h, (text_lines(r) - start) * lead + 2 * pad), 0.0
            if need + keep <= avail + 1e-6 or (at_top and need <= avail + 1e-6):
                placed.append(Placed(page, t, need, i, start, None, cont=start > 0))
                t += need
                i, start, at_top = i + 1, 0, False
                continue
            left = text_lines(r) - start
            k = int((avail - 2 * pad + 1e-6) // lead)
            fresh = bottom - page_top - (sum(h[x] for x in headers.get(r.section, []))
                                         if s.repeat_header and not r.header else 0.0)
            # split a row only when it is tall: at least two lines on either side
            # (or when it would not fit on a fresh page either)
            may_split = at_top or need > fresh or (k >= 2 and left - k >= 2)
            if not r.header and 1 <= k < left and may_split:
                placed.append(Placed(page, t, avail, i, start, start + k, cont=start > 0))
                start += k
                break_page(i)
                continue
            if at_top:  # cannot split, cannot fit: let it run over the margin
                placed.append(Placed(page, t, need, i, start, None, cont=start > 0))
                t += need
                i, start, at_top = i + 1, 0, False
                continue
            break_page(i)
        return placed

    def table(self, rows: list[Row], t0: float, land: bool = False) -> float:
        """Lay out, paginate and draw; the first page is the current one.
        Returns the distance from the page top to the table's end."""
        h = self._layout(rows)
        placed = self._paginate(rows, h, t0)
        last = placed[-1].page if placed else 0
        # merged (rowspan) cells: their fragments, one per page
        spans: list[tuple[Cell, list[tuple[int, float, float]]]] = []
        for i, r in enumerate(rows):
            for c in r.cells:
                if c.rowspan > 1:
                    frags: dict[int, list[float]] = {}
                    for p in placed:
                        if i <= p.row < i + c.rowspan:
                            f = frags.setdefault(p.page, [p.top, p.top + p.height])
                            f[0] = min(f[0], p.top)
                            f[1] = max(f[1], p.top + p.height)
                    spans.append((c, [(pg, a, b) for pg, (a, b) in sorted(frags.items())]))
        # rows cut by a page break: their fragments, for label cells that must fit
        row_frags: dict[int, list[tuple[int, float, float]]] = {}
        for p in placed:
            if not p.repeat:
                row_frags.setdefault(p.row, []).append((p.page, p.top, p.top + p.height))
        span_plans = [self._fragment_lines(c, frags) for c, frags in spans]
        end = t0
        for pg in range(last + 1):
            if pg > 0:
                self.new_page(land)
            for p in placed:
                if p.page != pg:
                    continue
                end = p.top + p.height
                for c in rows[p.row].cells:
                    if c.rowspan != 1:
                        continue
                    split = p.cont or p.end is not None
                    if c.label:
                        lines = c.lines if (not p.cont or (self.s.repeat_merged
                                                           and c.need <= p.height + 1e-6)) else []
                        valign = "center"
                        frags = row_frags.get(p.row, [])
                        if not p.repeat and len(frags) > 1 and c.need > frags[0][2] - frags[0][1] + 1e-6:
                            # the label does not fit the row's first fragment
                            k = next(j for j, f in enumerate(frags) if f[0] == p.page and abs(f[1] - p.top) < 1e-6)
                            lines, valign = self._fragment_lines(c, frags)[k]
                    else:
                        lines = c.lines[p.start:p.end]
                        valign = "top" if split else (c.valign or self.s.valign)
                    self.cell(c, p.top, p.top + p.height, lines, valign)
            for (c, frags), plan in zip(spans, span_plans):
                for k, (fpg, a, b) in enumerate(frags):
                    if fpg != pg:
                        continue
                    lines, valign = plan[k]
                    self.cell(c, a, b, lines, valign)
        return end

    def _fragment_lines(self, c: Cell, frags: list[tuple[int, float, float]]) -> list[tuple[list[str], str]]:
        """(lines, valign) to draw in each fragment of a cell cut by page breaks.
        The text goes whole into the first fragment that holds it (and, with
        repeat_merged, again into every later one that does); when none does,
        it is spread over the fragments in order, a fragment taking the lines
        it has room for, so that no line is drawn outside its fragment."""
        own = "center" if c.label else (c.valign or self.s.valign)
        fit = [b - a >= c.need - 1e-6 for _, a, b in frags]
        if any(fit):
            text_at = 0 if fit[0] else fit.index(True)
            return [(c.lines if (k == text_at or (k > text_at and self.s.repeat_merged and fit[k])) else [], own)
                    for k in range(len(frags))]
        pad, lead = self.pad, self.lead
        room = [max(0, int((b - a - 2 * pad + 1e-6) // lead)) for _, a, b in frags]
        n = len(c.lines)
        if sum(room) < n:  # not even spread out: the tallest fragments take the rest
            order = sorted(range(len(frags)), key=lambda k: -(frags[k][2] - frags[k][1]))
            short = n - sum(room)
            for k in order:
                if short <= 0:
                    break
                room[k] += short
                short = 0
        out: list[tuple[list[str], str]] = []
        at = 0
        used = [k for k in range(len(frags)) if room[k]]
        for k in range(len(frags)):
            take = c.lines[at:at + room[k]]
            at += len(take)
            if not take:
                out.append(([], own))
            elif len(used) == 1:
                out.append((take, own))
            else:  # the text runs on over the break: down to the first break, up from the next
                out.append((take, "bottom" if k == used[0] else "top"))
        return out

    def cell(self, c: Cell, top: float, bottom: float, lines: list[str], valign: str) -> None:
        m = self.s.margin
        x0, x1 = m + c.x0, m + c.x1
        self.c.rect(x0, self.H - bottom, x1 - x0, bottom - top, stroke=1, fill=0)
        if not lines:
            return
        pad, lead = self.pad, self.lead
        block = len(lines) * lead
        if valign == "center":
            ty = max(top + pad, top + (bottom - top - block) / 2)
        elif valign == "bottom":
            ty = max(top + pad, bottom - pad - block)
        else:
            ty = top + pad
        inner0, inner1 = x0 + pad + c.indent, x1 - pad
        align = c.align
        if c.label:
            align = "center"
        elif align == "auto":
            align = "center" if len(lines) == 1 else "left"
        for k, line in enumerate(lines):
            w = self.width(line.rstrip())
            if align == "center":
                x = inner0 + (inner1 - inner0 - w) / 2
            elif align == "right":
                x = inner1 - w
            else:
                x = inner0
            self.text(x, self.baseline(ty + k * lead), line)

    # ---- headings --------------------------------------------------------
    def heading(self, title: str, year: Any, pre: str | None = None,
                left: str | None = None, right: str | None = None) -> float:
        s = self.s
        m = s.margin
        t = m
        if pre:
            t += self.size
            self.text(m, t, pre)
            t += self.size * 0.6
        t += s.title_size
        self.centered(t, title, s.title_size, bold=True)
        t += s.title_size * 0.45
        if year is not None:
            ys = self.size + 1
            t += ys + 2
            self.centered(t, f"({year}年)", ys)
            t += ys * 0.4
        if left or right:
            t += 4
            rw = self.width(right) if right else 0.0
            lines = wrap_text(left or "", self.W - rw - 2 * self.size, self.fs, self.size) or [""]
            for k, line in enumerate(lines):
                t += self.lead if k else self.size + 2
                self.text(m, t, line)
                if k == 0 and right:
                    self.text(m + self.W - rw, t, right)
            t += self.size * 0.5
        return t + 4

    def unit_text(self, rec: dict) -> str | None:
        u = (rec.get("form") or {}).get("amount_unit")
        return f"金额单位：{u}" if u else None

    # ---- part (a) 项目总体情况 ------------------------------------------
    def part_a(self, rec: dict) -> None:
        s, L = self.s, self.s.label
        form, prj = rec.get("form") or {}, rec.get("project") or {}
        fund = rec.get("funding") or {}
        unit = form.get("amount_unit")
        self.new_page()
        left = L("填报单位（盖章）")
        if form.get("filing_unit") is not None:
            left += "：" + form["filing_unit"]
        t = self.heading(f"{form.get('title') or '财政项目支出绩效目标申报表'}（项目总体情况）",
                         form.get("year"), left=left, right=self.unit_text(rec))
        W, fs, size, pad = self.W, self.fs, self.size, self.pad
        lab = min(max(84.0 * s.col_scale, 3 * size + 2 * pad), W * 0.3)
        V = W - lab

        def v(key: str) -> str:
            x = prj.get(key)
            return "" if x is None else str(x)

        d0, d1 = format_dates(prj.get("start_date"), prj.get("end_date"), s.date_format)
        mins = [_longest_unit([t_], fs, size) + 2 * pad + 1 for t_ in
                (v("manager"), L("联系人") + ":", v("contact"), L("联系电话") + ":", v("phone"))]
        xs = [0.0] + _edges(lab, _fit_columns(V, [0.2, 0.16, 0.2, 0.19, 0.25], mins))

        def full(label: str, text: str, **kw) -> Row:
            return Row([Cell(0, lab, label, label=True), Cell(lab, W, text, **kw)])

        rows = [full(L("项目名称"), v("name"))]
        if prj.get("department") is not None or prj.get("implementer") is not None:
            mid = lab + V / 2
            rows.append(Row([Cell(0, lab, L("主管部门"), label=True), Cell(lab, mid - 60, v("department")),
                             Cell(mid - 60, mid + 10, L("实施单位"), label=True), Cell(mid + 10, W, v("implementer"))]))
        if prj.get("nature") is not None:
            rows.append(full(L("项目性质"), v("nature")))
        cat = prj.get("category")
        opts = list(CATEGORIES) + ([cat] if cat is not None and cat not in CATEGORIES else [])
        on, off = s.box_glyphs
        pieces = [(o + (on if o == cat else off)) if s.box_after else ((on if o == cat else off) + o) for o in opts]
        rows.append(full(L("项目类别"), "    ".join(pieces)))
        rows.append(Row([Cell(0, lab, L("项目负责人") + ":", label=True), Cell(xs[1], xs[2], v("manager")),
                         Cell(xs[2], xs[3], L("联系人") + ":", label=True), Cell(xs[3], xs[4], v("contact")),
                         Cell(xs[4], xs[5], L("联系电话") + ":", label=True), Cell(xs[5], xs[6], v("phone"))]))
        rows.append(Row([Cell(0, lab, L("起始日期") + ":", label=True), Cell(xs[1], xs[3], d0),
                         Cell(xs[3], xs[4], L("结束日期") + ":", label=True), Cell(xs[4], xs[6], d1)]))
        rows.append(full(L("项目概况"), v("overview")))
        rows.append(Row([Cell(0, lab, L("项目立项情况"), rowspan=3, label=True), Cell(lab, W, "依据：" + v("basis"))]))
        rows.append(Row([Cell(lab, W, "必要性：" + v("necessity"))]))
        rows.append(Row([Cell(lab, W, "可行性：" + v("feasibility"))]))

        fmt = s.amount_format
        em = size
        items = [("一、项目总预算：", "total_budget", 0)]
        extra_split = [("其中：财政资金：", "project_fiscal_funds"), ("其中：上年结转资金：", "carryover"),
                       ("其中：其他资金：", "project_other_funds")]
        items += [(lbl, key, 1) for lbl, key in extra_split if fund.get(key) is not None]
        items += [("二、当年预算：", "current_year_budget", 0), ("(一) 财政拨款：", "fiscal_appropriation", 1),
                  ("1. 上级财政拨款：", "superior_appropriation", 2), ("2. 本级财政安排：", "own_level_appropriation", 2),
                  ("3. 下级财政配套：", "subordinate_matching", 2), ("(二) 其他资金：", "other_funds", 1)]
        split_x = lab + V * 0.5
        for k, (lbl, key, lvl) in enumerate(items):
            amt = fund.get(key)
            if key == "total_budget" and s.capital_total and amt is not None:
                val = capital_amount(amt)
            else:
                val = format_amount(amt, fmt, unit)
            cells = [Cell(0, lab, L("项目资金"), rowspan=len(items), label=True)] if k == 0 else []
            if s.funding_split_cells and key != "total_budget":
                cells += [Cell(lab, split_x, lbl, indent=lvl * em),
                          Cell(split_x, W, val, align=s.amount_align)]
            else:
                cells += [Cell(lab, W, lbl + val, indent=lvl * em)]
            rows.append(Row(cells))
        rows.append(full(L("项目相关资源投入和制度建设情况"), v("resources")))
        rows.append(full(L("项目总目标"), v("overall_goal")))
        rows.append(full(L("年度绩效目标"), v("annual_goals")))
        rows.append(full(L("需要说明的其他问题"), v("other_issues")))
        for k, val in (rec.get("extra") or {}).items():
            if isinstance(val, (int, float)) and not isinstance(val, bool):
                txt = format_amount(val, fmt, unit)
            elif val is None:
                txt = ""
            elif isinstance(val, str):
                txt = val
            else:
                txt = json.dumps(val, ensure_ascii=False)
            rows.append(full(str(k), txt))
        self.table(rows, t)

    # ---- part (b) 绩效目标 ----------------------------------------------
    def part_b(self, rec: dict) -> None:
        s, L = self.s, self.s.label
        form, prj = rec.get("form") or {}, rec.get("project") or {}
        unit = form.get("amount_unit")
        land = s.landscape_b
        self.new_page(land)
        t = self.heading(f"{form.get('title') or '财政项目支出绩效目标申报表'}（绩效目标）", form.get("year"),
                         left="项目名称：" + str(prj.get("name") or ""), right=self.unit_text(rec))
        W, fs, size, pad = self.W, self.fs, self.size, self.pad
        cjk = self.width("国")
        lab = max(46.0 * s.col_scale, 2 * cjk + 2 * pad + 1)

        def m(texts, chars=2):
            return max(_longest_unit(texts, fs, size), chars * cjk) + 2 * pad + 1

        rows: list[Row] = []
        # section 0: 项目构成
        desc = L("主体活动(作业、任务)和对应产出的详细描述")
        dw = max(W * 0.22, 5 * cjk + 2 * pad)
        rows.append(Row([Cell(0, lab, L("项目构成"), label=True), Cell(lab, lab + dw, desc, label=True),
                         Cell(lab + dw, W, str(rec.get("composition") or ""))], section=0))
        # section 1: indicators
        inds = rec.get("indicators") or []

        def sv(x) -> str:
            return "" if x is None else str(x)

        heads = [L("一级目标"), L("二级目标"), L("三级目标"), L("目标值"), L("备注")]
        cols = [[h] for h in heads]
        for it in inds:
            for j, k in enumerate(("level1", "level2", "level3", "target", "note")):
                cols[j].append(sv(it.get(k)))
        ws = _fit_columns(W - lab, [1.15, 1.15, 2.6, 1.4, 1.2], [m(c_) for c_ in cols])
        xs = _edges(lab, ws)
        # table headings (a form with 长期/年度 tables) as full-width rows
        seq: list[tuple[str, Any]] = []
        prev_tab = object()
        for it in inds:
            tab = it.get("table")
            if tab is not None and tab != prev_tab:
                seq.append(("table", tab))
            prev_tab = tab
            seq.append(("ind", it))
        nrows = 1 + len(seq) if seq else 2
        rows.append(Row([Cell(0, lab, L("绩效目标"), rowspan=nrows, label=True)] +
                        [Cell(xs[j], xs[j + 1], heads[j], label=True) for j in range(5)], header=True, section=1))
        if not seq:
            rows.append(Row([Cell(xs[j], xs[j + 1], "") for j in range(5)], section=1))
        for k, (kind, it) in enumerate(seq):
            if kind == "table":
                rows.append(Row([Cell(xs[0], xs[5], str(it), align="left")], section=1))
                continue
            cells = []
            for lvl, keys in ((0, ("level1",)), (1, ("level1", "level2"))):
                key = tuple(sv(it.get(q)) for q in keys) + (it.get("table"),)
                prev = seq[k - 1] if k else None
                if prev and prev[0] == "ind" and tuple(sv(prev[1].get(q)) for q in keys) + (prev[1].get("table"),) == key:
                    continue  # covered by the merged cell above
                span = 1
                while k + span < len(seq) and seq[k + span][0] == "ind" and \
                        tuple(sv(seq[k + span][1].get(q)) for q in keys) + (seq[k + span][1].get("table"),) == key:
                    span += 1
                cells.append(Cell(xs[lvl], xs[lvl + 1], sv(it.get(keys[-1])), rowspan=span, align="center"))
            cells += [Cell(xs[2], xs[3], sv(it.get("level3")), align="auto"),
                      Cell(xs[3], xs[4], sv(it.get("target")), align="auto"),
                      Cell(xs[4], xs[5], sv(it.get("note")), align="auto")]
            rows.append(Row(cells, section=1))
        # section 2: 项目构成分解
        items = rec.get("budget_items") or []
        ifmt = s.item_amount_format or s.amount_format
        bheads = [L(x) for x in ("项目名称", "项目内容", "项目明细", "明细金额", "单价", "依据", "数量", "依据", "备注")]
        table = []
        for it in items:
            table.append([sv(it.get("project")), sv(it.get("content")), sv(it.get("detail")),
                          format_amount(it.get("amount"), ifmt, unit) if it.get("amount") is not None else "",
                          format_amount(it.get("unit_price"), ifmt, unit) if it.get("unit_price") is not None else "",
                          sv(it.get("price_basis")),
                          format_quantity(it.get("quantity"), ifmt),
                          sv(it.get("quantity_basis")), sv(it.get("note"))])
        total = rec.get("budget_total")
        total_s = format_amount(total, ifmt, unit) if total is not None else ""
        bcols = [[h] + [r_[j] for r_ in table] for j, h in enumerate(bheads)]
        bcols[3].append(total_s)
        mins = [m(c_, 2 if j in (0, 1, 2) else 1) for j, c_ in enumerate(bcols)]
        mins = [max(x, m(["----"], 1)) for x in mins]
        bw = _fit_columns(W - lab, [1.5, 1.2, 2.2, 1.15, 1.05, 0.95, 0.8, 0.8, 0.95], mins)
        bx = _edges(lab, bw)
        rows.append(Row([Cell(0, lab, L("项目构成分解"), rowspan=1 + max(1, len(table)), label=True)] +
                        [Cell(bx[j], bx[j + 1], bheads[j], label=True) for j in range(9)], header=True, section=2))
        num_align = "right" if s.amount_align == "right" else "auto"
        for r_ in (table or [[""] * 9]):
            rows.append(Row([Cell(bx[j], bx[j + 1], r_[j], align=num_align if j in (3, 4, 6) else "auto")
                             for j in range(9)], section=2))
        rows.append(Row([Cell(0, bx[3], L("金额合计"), label=True), Cell(bx[3], bx[4], total_s, align=num_align)] +
                        [Cell(bx[j], bx[j + 1], "----", align="center") for j in range(4, 9)], section=2))
        self.table(rows, t, land)

    # ---- part (c) 制度保障 ----------------------------------------------
    def part_c(self, rec: dict) -> None:
        s, L = self.s, self.s.label
        prj = rec.get("project") or {}
        form = rec.get("form") or {}
        self.new_page()
        t = self.heading("项目支出绩效目标申报表(制度保障)", form.get("year"), pre="附件1-3",
                         left="项目名称：" + str(prj.get("name") or ""))
        W, fs, size, pad = self.W, self.fs, self.size, self.pad
        cjk = self.width("国")
        on, off = s.box_glyphs
        rows_data = []
        for g in rec.get("safeguards") or []:
            st = g.get("stages") or {}
            marks = []
            for key, name in STAGES:
                ticked = bool(st.get(key))
                if s.stage_box:
                    marks.append((on if ticked else off) + name)
                else:
                    marks.append(f"{name} {s.tick}" if ticked else name)
            rows_data.append([str(g.get("category") or ""), str(g.get("documents") or ""),
                              str(g.get("measures") or "")] + marks)
        heads = [L("制度保障"), L("文件名称"), L("具体措施")]
        cols = [[h] + [r_[j] for r_ in rows_data] for j, h in enumerate(heads)] + \
               [[r_[j] for r_ in rows_data] for j in range(3, 6)]
        mins = [max(_longest_unit(c_, fs, size), 2 * cjk) + 2 * pad + 1 for c_ in cols]
        for j in range(3, 6):  # a stage and its mark on one line when the page allows
            mins[j] = max([mins[j]] + [self.width(x) + 2 * pad + 1 for x in cols[j]])
        if sum(mins) > W * 0.8:
            mins = [max(_longest_unit(c_, fs, size), 2 * cjk) + 2 * pad + 1 for c_ in cols]
        ws = _fit_columns(W, [1.1 * s.col_scale, 1.6, 2.0, 1.15, 0.9, 1.15], mins)
        xs = _edges(0.0, ws)
        rows = [Row([Cell(xs[j], xs[j + 1], heads[j], label=True) for j in range(3)] +
                    [Cell(xs[3], xs[6], L("保障阶段"), label=True)], header=True, section=0)]
        for r_ in rows_data or [[""] * 6]:
            rows.append(Row([Cell(xs[j], xs[j + 1], r_[j], align="auto") for j in range(6)], section=0))
        self.table(rows, t)


def record_variant(rec: dict) -> str:
    """The layout a record is printed in: its ``form.variant`` (the seed
    record, which has none, is a ``sh-district-2020`` form)."""
    return (rec.get("form") or {}).get("variant") or VARIANT


def render_records(records: list[dict], out_pdf: str | Path, style: RenderStyle | None = None) -> int:
    """Render declarations into one PDF, each in the layout of its
    ``form.variant`` (see :data:`VARIANTS`) and starting on a new page (a
    sh-district-2020 form: each part on its own page(s)); return the page count."""
    from .render_variants import LAYOUTS, TITLES

    style = style or RenderStyle()
    _check_style(style)
    variants = [record_variant(rec) for rec in records]
    unknown = sorted({v for v in variants if v != VARIANT and v not in LAYOUTS})
    if unknown:
        raise ValueError(f"no layout for form.variant {unknown}; known: {VARIANTS}")
    out_pdf = Path(out_pdf)
    out_pdf.parent.mkdir(parents=True, exist_ok=True)
    first = variants[0] if variants else VARIANT
    r = _Renderer(out_pdf, style, TITLES.get(first, "财政项目支出绩效目标申报表"), first)
    parts = {"a": r.part_a, "b": r.part_b, "c": r.part_c}
    for rec, variant in zip(records, variants):
        if variant != VARIANT:
            LAYOUTS[variant](r, rec)
            continue
        for p in style.part_order:
            parts[p](rec)
    if r.unknown:
        warnings.warn(f"{out_pdf.name}: no font of {style.font!r}'s chain has "
                      f"{''.join(sorted(r.unknown))!r}; they print as blanks/boxes", stacklevel=2)
    return r.finish()


def main(argv: list[str] | None = None) -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("records", nargs="+", help="record JSON files, then the output PDF")
    ap.add_argument("--seed", type=int, default=None, help="style seed (default: the seed's look)")
    a = ap.parse_args(argv)
    *ins, out = a.records
    recs = [json.loads(Path(p).read_text(encoding="utf-8")) for p in ins]
    style = style_from_seed(a.seed) if a.seed is not None else RenderStyle()
    n = render_records(recs, out, style)
    print(json.dumps({"pages": n, "style": asdict(style)}, ensure_ascii=False))


if __name__ == "__main__":
    main()
