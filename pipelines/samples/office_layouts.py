"""Office-route layouts, part 1: shared helpers and the Shanghai district 2020
three-part form (``sh-district-2020``).

A layout turns one golden record into :class:`office_model.Part` s, printing
exactly what the record holds: every field with a value, every ``extra``
entry under a label that normalizes to its key (see corpus/README.md), and
nothing else but the form's own boilerplate (titles, headers, 金额单位, empty
approval boxes).  ``office_layouts_more`` has the other variants.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .office_model import Cell, Line, Part, Row, Table, fit_widths
from .office_style import OfficeStyle
from .render import _dec, _fmt_dec

A4_W, A4_H = 595.28, 841.89
CATEGORIES = ("一次性项目", "经常性项目", "中期预算试点项目")
STAGES = (("planning", "立项和计划阶段"), ("implementation", "实施阶段"), ("completion", "收尾和完成阶段"))

# extra keys a layout prints in a place of their own (not as a plain label | value row)
FOOTER_KEYS = ("填表人", "填报人", "单位负责人", "填报日期")
# table columns that no record key has: extra[<header>] = the column's cells
INDICATOR_COLUMNS = ("分值", "评分细则", "参考标准", "上年度实际水平", "本年度计划水平", "指标解释")
SCHEDULE_COLUMNS = ("实施阶段", "实施内容", "开始时间", "完成时间", "责任单位")


def sv(x: Any) -> str:
    return "" if x is None else str(x)


class Ctx:
    """A layout's helpers for one record in one style."""

    def __init__(self, rec: dict, s: OfficeStyle):
        self.rec, self.s = rec, s
        self.form = rec.get("form") or {}
        self.prj = rec.get("project") or {}
        self.fund = rec.get("funding") or {}
        self.extra = dict(rec.get("extra") or {})
        self.unit = self.form.get("amount_unit")

    # ---- page geometry ---------------------------------------------------
    def width(self, landscape: bool = False) -> float:
        w = A4_H if landscape else A4_W
        return w - 2 * self.s.margin_mm * 72 / 25.4 - 2.0

    def grid(self, weights: list[float], landscape: bool = False) -> list[float]:
        j = self.s.width_jitter or [1.0]
        return fit_widths(self.width(landscape), [w * j[i % len(j)] for i, w in enumerate(weights)])

    # ---- labels ----------------------------------------------------------
    def lab(self, canonical: str, kv: bool = True, spell: bool = True) -> str:
        """A printed label: its spelling (``spell``: the label has a record
        key, so any synonym will do), spacing, a line break, the colon."""
        s = self.s
        text = s.label(canonical) if spell else canonical
        core = text
        if s.spaced_labels and 2 <= len(core) <= 4 and all("\u4e00" <= ch <= "\u9fff" for ch in core):
            text = " ".join(core)
        elif s.label_breaks and len(core) >= 6 and "(" not in core and "（" not in core:
            k = (len(core) + 1) // 2
            text = core[:k] + "\n" + core[k:]
        if kv and s.colon:
            text += s.colon
        return text

    def bracket(self, inner: str) -> str:
        return f"({inner})" if self.s.half_brackets else f"（{inner}）"

    # ---- values ----------------------------------------------------------
    def money(self, x: Any, unit: str | None = None) -> str:
        """An amount in 元 as typed in the form's unit."""
        if x is None:
            return ""
        s = self.s
        unit = unit or self.unit or "元"
        d = _dec(x)
        commas = s.amount_format == "thousands"
        if d == 0 and s.zero_bare:
            return "0"
        if unit == "万元":
            d = d / Decimal(10000)
            if s.wan_fixed4:
                return _fmt_dec(d, 4, 4, commas)
            return _fmt_dec(d, 0 if s.amount_format == "plain" else 2, 4, commas)
        return _fmt_dec(d, 0 if s.amount_format == "plain" else 2, 2, commas)

    def date(self, iso: str | None) -> str:
        if not iso:
            return ""
        f = self.s.date_format
        parts = iso.split("-")
        if len(parts) == 3:
            y, m, d = int(parts[0]), int(parts[1]), int(parts[2])
            return {"iso": iso, "slash": f"{y}/{m}/{d}", "cn": f"{y}年{m}月{d}日", "dot": f"{y}.{m}.{d}"}[f]
        if len(parts) == 2:
            y, m = int(parts[0]), int(parts[1])
            return {"iso": iso, "slash": f"{y}/{m}", "cn": f"{y}年{m}月", "dot": f"{y}.{m:02d}"}[f]
        return iso

    def boxes(self, options: list[str], chosen: str | None) -> str:
        on, off, _ = self.s.box
        out = []
        for o in options:
            g = on if o == chosen else off
            out.append(o + g if self.s.box_after else g + o)
        return "    ".join(out)

    def extra_text(self, key: str, val: Any) -> str:
        if isinstance(val, bool):
            raise ValueError(f"extra[{key!r}] is a bool; the corpus writes printed text")
        if isinstance(val, (int, float)):
            return self.money(val)
        if isinstance(val, list):
            raise ValueError(f"extra[{key!r}] is a table column that no table of this layout prints")
        return sv(val)

    def pop(self, key: str) -> Any:
        return self.extra.pop(key, None)

    # ---- free lines ------------------------------------------------------
    def title(self, text: str, sub: str | None = None, pre: str | None = None) -> list[Line]:
        out = [Line(pre)] if pre else []
        out.append(Line(text, size=self.s.title_size, bold=True, align="center"))
        if sub:
            out.append(Line(sub, align="center"))
        return out

    def unit_text(self) -> str | None:
        if not self.unit:
            return None
        return f"{self.s.unit_label}：{self.unit}"

    def filing_lines(self, left: str | None) -> list[Line]:
        u = self.unit_text()
        if left is None and u is None:
            return []
        if self.s.unit_right or left is None:
            return [Line(left or "", right=u)]
        return [Line(left), Line(u or "", align="left")]

    def footer(self, ncols: int, keys: tuple[str, ...] = FOOTER_KEYS) -> tuple[list[Row], list[Line]]:
        """Signature rows (填表人 / 单位负责人 / 填报日期) → a table row or a free line."""
        vals = [(k, self.pop(k)) for k in keys if k in self.extra]
        if not vals:
            return [], []
        if self.s.footer_line or 2 * len(vals) > ncols:  # a line when the grid is too narrow
            c = self.s.colon or "："
            return [], [Line("    ".join(f"{k}{c}{sv(v)}" for k, v in vals))]
        spans = allocate(ncols, [1.0, 1.2] * len(vals))
        cells, x = [], 0
        for j, (k, v) in enumerate(vals):
            cells.append(Cell(self.lab(k, spell=False), x, spans[2 * j], kind="label"))
            x += spans[2 * j]
            cells.append(Cell(sv(v), x, spans[2 * j + 1], align="center"))
            x += spans[2 * j + 1]
        return [Row(cells)], []

    def leftover_rows(self, label_span: int, ncols: int) -> list[Row]:
        """Every extra entry no place of the layout took: label | value rows."""
        rows = []
        for k in list(self.extra):
            v = self.extra.pop(k)
            rows.append(Row([Cell(self.lab(k, spell=False), 0, label_span, kind="label"),
                             Cell(self.extra_text(k, v), label_span, ncols - label_span)]))
        return rows


def allocate(n: int, weights: list[float]) -> list[int]:
    """Split ``n`` grid columns into len(weights) spans ≥ 1, roughly by weight."""
    k = len(weights)
    if k > n:
        raise ValueError(f"{k} columns do not fit a {n}-column grid")
    spans = [1] * k
    tot = sum(weights)
    for _ in range(n - k):
        # give the next column to the one furthest below its share
        i = max(range(k), key=lambda j: weights[j] / tot * n - spans[j])
        spans[i] += 1
    return spans


def kv(label: str, value: str, ncols: int, label_span: int = 1, **kw) -> Row:
    return Row([Cell(label, 0, label_span, kind="label"), Cell(value, label_span, ncols - label_span, **kw)])


def stage_header_and_rows(ctx: Ctx, safeguards: list[dict], x0: int, spans: list[int]) -> list[Row]:
    """The 制度保障 table: [制度保障 | 文件名称 | 具体措施 | 保障阶段 ×3], marks in the
    stage cells (立项和计划阶段 √) or three mark columns under a two-row header."""
    s = ctx.s
    tick, tick_font = s.tick
    heads = [ctx.lab("制度保障", kv=False, spell=False), ctx.lab("文件名称", kv=False),
             ctx.lab("具体措施", kv=False)]
    names = [ctx.s.label(n) if n in ctx.s.labels else n for _, n in STAGES]
    xs = [x0]
    for w in spans:
        xs.append(xs[-1] + w)
    rows: list[Row] = []
    if s.stage_columns:
        rows.append(Row([Cell(heads[j], xs[j], spans[j], rowspan=2, kind="head", align="center") for j in range(3)]
                        + [Cell("保障阶段", xs[3], xs[6] - xs[3], kind="head", align="center")], header=True))
        rows.append(Row([Cell(names[j], xs[3 + j], spans[3 + j], kind="head", align="center") for j in range(3)],
                        header=True))
    else:
        rows.append(Row([Cell(heads[j], xs[j], spans[j], kind="head", align="center") for j in range(3)]
                        + [Cell("保障阶段", xs[3], xs[6] - xs[3], kind="head", align="center")], header=True))
    for g in safeguards:
        st = g.get("stages") or {}
        cells = [Cell(sv(g.get("category")), xs[0], spans[0], align="center"),
                 Cell(sv(g.get("documents")), xs[1], spans[1]), Cell(sv(g.get("measures")), xs[2], spans[2])]
        for j, (key, _) in enumerate(STAGES):
            on = bool(st.get(key))
            if s.stage_columns:
                cells.append(Cell(tick if on else "", xs[3 + j], spans[3 + j], align="center",
                                  font=tick_font if on else None))
            else:
                cells.append(Cell(f"{names[j]} {tick}" if on else names[j], xs[3 + j], spans[3 + j],
                                  align="center"))
        rows.append(Row(cells))
    return rows


def indicator_table(ctx: Ctx, items: list[dict], x0: int, ncols: int, columns: list[tuple[str, str, float]],
                    extra_cols: list[tuple[str, list]], side: str | None = None,
                    heading: str | None = None) -> Table:
    """An indicator table on grid columns x0..ncols-1: ``columns`` (printed
    header, record key, weight) then the extra columns (header, cell texts);
    level-1/level-2 cells merged down or repeated; an optional side label
    (a merged cell at the left, on column x0-1) or heading row."""
    s = ctx.s
    # specs: (header, record key or None, extra column values or None, weight); the
    # extra columns go before 备注 where the table has one (as published forms print them)
    specs = [(h, key, None, w) for h, key, w in columns]
    at = next((j for j, c in enumerate(specs) if c[1] == "note"), len(specs))
    specs[at:at] = [(h, None, vals, 1.0) for h, vals in extra_cols]
    spans = allocate(ncols - x0, [c[3] for c in specs])
    xs = [x0]
    for w in spans:
        xs.append(xs[-1] + w)
    n = len(items)
    rows: list[Row] = []
    if heading is not None:
        rows.append(Row([Cell(heading, 0, ncols, kind="label", align="center")], header=True))
    head_cells = [Cell(c[0], xs[j], spans[j], kind="head", align="center") for j, c in enumerate(specs)]
    if side is not None:
        head_cells.insert(0, Cell(side, x0 - 1, 1, rowspan=1 + max(1, n), kind="label", align="center"))
    rows.append(Row(head_cells, header=True))
    if not items:
        rows.append(Row([Cell("", xs[j], spans[j]) for j in range(len(specs))]))
    for k, it in enumerate(items):
        cells = []
        for j, (_, key, vals, _) in enumerate(specs):
            val = sv(vals[k]) if vals is not None else sv(it.get(key))
            if key in ("level1", "level2") and s.merge_levels:
                upto = ("level1",) if key == "level1" else ("level1", "level2")
                same = lambda a, b: all(sv(a.get(q)) == sv(b.get(q)) for q in upto)  # noqa: E731
                if k and same(items[k - 1], it):
                    continue
                span = 1
                while k + span < n and same(items[k + span], it):
                    span += 1
                cells.append(Cell(val, xs[j], spans[j], rowspan=span, align="center"))
                continue
            cells.append(Cell(val, xs[j], spans[j], align="center" if len(val) <= 12 else "left"))
        rows.append(Row(cells))
    if s.break_in_table and n >= 6:
        rows[len(rows) - n + n // 2].break_before = True
        # a break inside merged cells would cut them: only where no merged cell runs over it
        _drop_break_inside_merges(rows)
    return Table(rows, repeat_header=s.repeat_header)


def _drop_break_inside_merges(rows: list[Row]) -> None:
    for i, r in enumerate(rows):
        if not r.break_before:
            continue
        for j in range(i):
            if any(c.rowspan > 1 and j + c.rowspan > i for c in rows[j].cells):
                # move the break to the first row after the merged block
                r.break_before = False
                end = max(j + c.rowspan for c in rows[j].cells if c.rowspan > 1)
                if end < len(rows) and not rows[end].header:
                    rows[end].break_before = True
                return


def indicator_extra_columns(ctx: Ctx, tables: list[list[dict]]) -> list[list[tuple[str, list]]]:
    """Take each table's extra columns out of ``extra``: a header printed by
    two tables has the key ``分值`` in the first, ``分值 (2)`` in the second."""
    seen: dict[str, int] = {}
    out = []
    for items in tables:
        cols = []
        for h in INDICATOR_COLUMNS:
            k = h if not seen.get(h) else f"{h} ({seen[h] + 1})"
            vals = ctx.extra.get(k)
            if isinstance(vals, list) and len(vals) != len(items) and not any(
                    isinstance(v, list) and len(v) == len(items) for v in ctx.extra.values()):
                raise ValueError(f"extra[{k!r}] has {len(vals)} cells, its table {len(items)} rows")
            if isinstance(vals, list) and len(vals) == len(items):
                ctx.extra.pop(k)
                seen[h] = seen.get(h, 0) + 1
                cols.append((h, vals))
        out.append(cols)
    return out


def schedule_table(ctx: Ctx, ncols: int, label: str | None) -> list[Row]:
    """A 实施进度 table: the extra lists of SCHEDULE_COLUMNS, one printed row per entry."""
    cols = [(h, ctx.extra[h]) for h in SCHEDULE_COLUMNS if isinstance(ctx.extra.get(h), list)]
    if not cols:
        return []
    n = len(cols[0][1])
    if any(len(v) != n for _, v in cols):
        raise ValueError(f"the 实施进度 columns have different lengths: {[(h, len(v)) for h, v in cols]}")
    for h, _ in cols:
        ctx.extra.pop(h)
    x0 = 1 if label else 0
    spans = allocate(ncols - x0, [2.2 if h == "实施内容" else 1.0 for h, _ in cols])
    xs = [x0]
    for w in spans:
        xs.append(xs[-1] + w)
    rows = []
    head = [Cell(h, xs[j], spans[j], kind="head", align="center") for j, (h, _) in enumerate(cols)]
    if label:
        head.insert(0, Cell(label, 0, 1, rowspan=1 + n, kind="label", align="center"))
    rows.append(Row(head, header=True))
    for i in range(n):
        rows.append(Row([Cell(sv(v[i]), xs[j], spans[j], align="center" if len(sv(v[i])) <= 12 else "left")
                         for j, (_, v) in enumerate(cols)]))
    return rows


def basis_rows(ctx: Ctx, ncols: int, order: tuple[str, ...] = ("basis", "necessity", "feasibility")) -> list[Row]:
    """项目立项情况: sub-rows 依据：… (one per part), sub-labels 依据 | …, or one cell."""
    names = {"basis": "依据", "necessity": "必要性", "feasibility": "可行性"}
    parts = [(ctx.s.label(names[k]), sv(ctx.prj.get(k))) for k in order]
    head = ctx.lab("项目立项情况")
    lay = ctx.s.basis_layout
    c = "：" if not ctx.s.colon else ctx.s.colon
    if lay == "one_cell":
        return [kv(head, "\n".join(f"{n}{c}{v}" for n, v in parts), ncols)]
    rows = []
    for k, (n, v) in enumerate(parts):
        cells = [Cell(head, 0, 1, rowspan=3, kind="label")] if k == 0 else []
        if lay == "sublabels":
            cells += [Cell(n, 1, 1, kind="label"), Cell(v, 2, ncols - 2)]
        else:
            cells += [Cell(f"{n}{c}{v}", 1, ncols - 1)]
        rows.append(Row(cells))
    return rows


# --------------------------------------------------------------------------
# sh-district-2020

def sh_district_2020(rec: dict, s: OfficeStyle) -> list[Part]:
    ctx = Ctx(rec, s)
    form, prj, fund = ctx.form, ctx.prj, ctx.fund
    title = form.get("title") or "财政项目支出绩效目标申报表"
    year = form.get("year")
    sub = f"({year}年)" if year is not None else None
    L = ctx.lab

    # ---- part (a) 项目总体情况
    N = 7
    a = Part("项目总体情况", ctx.grid([1.3, 1.0, 0.8, 1.0, 0.8, 1.0, 1.1]))
    left = "填报单位（盖章）：" + sv(form.get("filing_unit"))
    a.blocks += ctx.title(f"{title}（项目总体情况）", sub) + ctx.filing_lines(left)
    rows = [kv(L("项目名称"), sv(prj.get("name")), N)]
    if prj.get("department") is not None or prj.get("implementer") is not None:
        rows.append(Row([Cell(L("主管部门"), 0, kind="label"), Cell(sv(prj.get("department")), 1, 2),
                         Cell(L("实施单位"), 3, kind="label"), Cell(sv(prj.get("implementer")), 4, 3)]))
    if prj.get("nature") is not None:
        rows.append(kv(L("项目性质", spell=False), sv(prj.get("nature")), N))
    cat = prj.get("category")
    opts = list(CATEGORIES) + ([cat] if cat is not None and cat not in CATEGORIES else [])
    rows.append(kv(L("项目类别"), ctx.boxes(opts, cat), N))
    rows.append(Row([Cell(L("项目负责人"), 0, kind="label"), Cell(sv(prj.get("manager")), 1),
                     Cell(L("联系人", spell=False), 2, kind="label"), Cell(sv(prj.get("contact")), 3),
                     Cell(L("联系电话"), 4, kind="label"), Cell(sv(prj.get("phone")), 5, 2)]))
    rows.append(Row([Cell(L("起始日期"), 0, kind="label"), Cell(ctx.date(prj.get("start_date")), 1, 2),
                     Cell(L("结束日期"), 3, kind="label"), Cell(ctx.date(prj.get("end_date")), 4, 3)]))
    rows.append(kv(L("项目概况"), sv(prj.get("overview")), N))
    rows += basis_rows(ctx, N)
    items = [("一、", "项目总预算", "total_budget", 0)]
    items += [("其中：", lbl, key, 1) for lbl, key in (("财政资金", "project_fiscal_funds"),
                                                   ("上年结转资金", "carryover"), ("其他资金", "project_other_funds"))
              if fund.get(key) is not None]
    items += [("二、", "当年预算", "current_year_budget", 0), ("(一)", "财政拨款", "fiscal_appropriation", 1),
              ("1.", "上级财政拨款", "superior_appropriation", 2), ("2.", "本级财政安排", "own_level_appropriation", 2),
              ("3.", "下级财政配套", "subordinate_matching", 2), ("(二)", "其他资金", "other_funds", 1)]
    for k, (num, lbl, key, lvl) in enumerate(items):
        cells = [Cell(L("项目资金", kv=False, spell=False), 0, rowspan=len(items), kind="label")] if k == 0 else []
        shown = s.label(lbl) if lbl in s.labels else lbl
        cells += [Cell("　" * lvl + num + shown + "：", 1, 3), Cell(ctx.money(fund.get(key)), 4, 3,
                                                                  align="right" if s.amount_format == "thousands" else "left")]
        rows.append(Row(cells))
    rows.append(kv(L("项目相关资源投入和制度建设情况"), sv(prj.get("resources")), N))
    rows.append(kv(L("项目总目标"), sv(prj.get("overall_goal")), N))
    rows.append(kv(L("年度绩效目标"), sv(prj.get("annual_goals")), N))
    rows.append(kv(L("需要说明的其他问题"), sv(prj.get("other_issues")), N))
    foot_rows, foot_lines = ctx.footer(N)
    rows += ctx.leftover_rows(1, N) + foot_rows
    a.blocks.append(Table(rows))
    a.blocks += foot_lines

    # ---- part (b) 绩效目标 with 项目构成分解
    N = 10
    land = s.landscape_targets
    b = Part("绩效目标", ctx.grid([0.9, 1.1, 1.2, 1.6, 1.1, 1.0, 0.9, 0.8, 0.8, 0.9], land), landscape=land)
    b.blocks += ctx.title(f"{title}（绩效目标）", sub) + [Line("项目名称：" + sv(prj.get("name")), right=ctx.unit_text())]
    b.blocks.append(Table([Row([Cell("项目构成", 0, kind="label"),
                                Cell("主体活动(作业、任务)和对应产出的详细描述", 1, 2, kind="label"),
                                Cell(sv(rec.get("composition")), 3, N - 3)])]))
    inds = rec.get("indicators") or []
    (xcols,) = indicator_extra_columns(ctx, [inds])
    cols = [(L("一级指标", kv=False) if "一级指标" in s.labels else "一级目标", "level1", 1.0),
            (L("二级指标", kv=False) if "二级指标" in s.labels else "二级目标", "level2", 1.0),
            (L("三级指标", kv=False) if "三级指标" in s.labels else "三级目标", "level3", 2.2),
            (L("目标值", kv=False), "target", 1.6), ("备注", "note", 1.4)]
    b.blocks.append(indicator_table(ctx, inds, 1, N, cols, xcols, side="绩效目标"))
    items_ = rec.get("budget_items") or []
    heads = ["项目名称", "项目内容", L("项目明细", kv=False), L("明细金额", kv=False), "单价", "依据", "数量",
             "依据", "备注"]
    brow = [Row([Cell("项目构成分解", 0, rowspan=2 + max(1, len(items_)), kind="label")]
                + [Cell(h, 1 + j, kind="head", align="center") for j, h in enumerate(heads)], header=True)]
    for it in items_ or [{}]:
        vals = [sv(it.get("project")), sv(it.get("content")), sv(it.get("detail")), ctx.money(it.get("amount")),
                ctx.money(it.get("unit_price")), sv(it.get("price_basis")), qty(it.get("quantity")),
                sv(it.get("quantity_basis")), sv(it.get("note"))]
        brow.append(Row([Cell(v, 1 + j, align="right" if j in (3, 4, 6) else "left") for j, v in enumerate(vals)]))
    brow.append(Row([Cell("金额合计", 1, 3, kind="label"), Cell(ctx.money(rec.get("budget_total")), 4, align="right"),
                     Cell("", 5, 5)]))
    b.blocks.append(Table(brow, repeat_header=s.repeat_header))

    # ---- part (c) 制度保障
    N = 6
    c = Part("制度保障", ctx.grid([1.1, 1.6, 2.2, 1.15, 0.9, 1.15]))
    c.blocks += ctx.title("项目支出绩效目标申报表(制度保障)", sub, pre="附件1-3")
    c.blocks.append(Line("项目名称：" + sv(prj.get("name"))))
    c.blocks.append(Table(stage_header_and_rows(ctx, rec.get("safeguards") or [], 0, [1] * 6),
                          repeat_header=s.repeat_header))
    return [a, b, c]


def qty(x: Any) -> str:
    if x is None:
        return ""
    d = _dec(x)
    return _fmt_dec(d, 0, 4, False)
