"""Sample renderer, the other form variants: a declaration record → the pages
of its form, drawn with the same table engine and :class:`RenderStyle` as the
Shanghai 2020 layout in ``render.py`` (which dispatches here per record on
``form.variant``).

* ``sh-district-2026`` — Shanghai district form, 2026 layout: one grid titled
  财政项目支出绩效目标申报表（2026年度）: 项目性质 / 项目类别 as text, 主管部门,
  实施单位, 计划开始/完成日期, the two-column 项目资金（元） block, 项目总目标 (项目总体
  目标（2024年-2026年） for a multi-year project), 年度总体目标, and the 绩效指标 table
  (一级指标 / 二级指标 / 三级指标 / 年度指标值, no 备注).
* ``ministry-county`` — ministry-style county form 项目支出绩效目标申报表（YYYY年度）:
  项目属性 boxes, 项目起止时间 as one range, 项目资金申请(万元) with 资金总额 / 财政拨款 /
  自有资金 / 其他, 项目立项情况 (依据 / 可行性 / 必要性), 项目实施进度计划, 长期目标 /
  年度目标, two indicator tables (长期绩效指标, 年度绩效指标), the footer (其他说明的问题,
  填报人 / 单位负责人 / 填报日期) and an optional 审核意见 row.

Each layout is a function ``(renderer, record) -> None`` in :data:`LAYOUTS`.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from .render import (
    Cell,
    Row,
    _dec,
    _edges,
    _fit_columns,
    _format_date,
    _longest_unit,
    format_amount,
    wrap_text,
)

SH2026 = "sh-district-2026"
MINISTRY = "ministry-county"

# 2026 forms print dates as 2026/1/1 or 2024-01-01: the style's date_format maps onto those two
DATE_2026 = {"iso": "iso", "dot": "iso", "slash": "slash", "cn": "slash", "year": "slash"}
NATURE_OPTIONS = ("新增项目", "延续项目")
MINISTRY_EXTRA = ("自有资金", "项目实施进度计划", "填报人", "单位负责人", "填报日期")


def _sv(x: Any) -> str:
    return "" if x is None else str(x)


def _heading(r, title: str, sub: str | None, left: str | None) -> float:
    """Title (bold, centred), an optional line under it, an optional line at
    the left (填报单位); returns where the table starts."""
    s = r.s
    m = s.margin
    t = m + s.title_size
    r.centered(t, title, s.title_size, bold=True)
    t += s.title_size * 0.45
    if sub:
        ys = r.size + 1
        t += ys + 2
        r.centered(t, sub, ys)
        t += ys * 0.4
    if left:
        t += 4
        for k, line in enumerate(wrap_text(left, r.W, r.fs, r.size) or [""]):
            t += r.lead if k else r.size + 2
            r.text(m, t, line)
        t += r.size * 0.5
    return t + 4


def _extra_text(val: Any, fmt: Callable[[Any], str]) -> str:
    if isinstance(val, (int, float)) and not isinstance(val, bool):
        return fmt(val)
    if val is None:
        return ""
    if isinstance(val, str):
        return val
    return json.dumps(val, ensure_ascii=False)


def _indicator_rows(inds: list[dict], xs: list[float], keys: tuple[str, ...], section: int,
                    lead: list[Cell] | None = None) -> list[Row]:
    """One row per indicator, level1/level2 merged down over equal neighbours;
    ``lead`` cells go first into the first row (a section label)."""
    rows: list[Row] = []
    n = len(inds)

    def key(it: dict, upto: int) -> tuple:
        return tuple(_sv(it.get(q)) for q in ("level1", "level2")[:upto + 1])

    for k, it in enumerate(inds):
        cells = list(lead or []) if k == 0 else []
        for lvl in (0, 1):
            kk = key(it, lvl)
            if k and key(inds[k - 1], lvl) == kk:
                continue  # covered by the merged cell above
            span = 1
            while k + span < n and key(inds[k + span], lvl) == kk:
                span += 1
            cells.append(Cell(xs[lvl], xs[lvl + 1], kk[-1], rowspan=span, align="center"))
        for j, q in enumerate(keys[2:], start=2):
            cells.append(Cell(xs[j], xs[j + 1], _sv(it.get(q)), align="auto"))
        rows.append(Row(cells, section=section))
    return rows


# --------------------------------------------------------------------------
# sh-district-2026

def amount_2026(x: Any) -> str:
    """``771,325,800.00``; zero as a bare ``0`` (as the 2026 forms print it)."""
    if x is None:
        return ""
    if _dec(x) == 0:
        return "0"
    return format_amount(x, "thousands", "元")


def dates_2026(start: str | None, end: str | None, fmt: str) -> tuple[str, str]:
    f = DATE_2026.get(fmt, "iso")
    return _format_date(start, f), _format_date(end, f)


def _years(prj: dict) -> tuple[str, str] | None:
    a, b = (prj.get("start_date") or "")[:4], (prj.get("end_date") or "")[:4]
    if a.isdigit() and b.isdigit() and a != b:
        return a, b
    return None


def render_sh_district_2026(r, rec: dict) -> None:
    s = r.s
    form, prj = rec.get("form") or {}, rec.get("project") or {}
    fund = rec.get("funding") or {}
    extra = dict(rec.get("extra") or {})
    unit = form.get("amount_unit") or "元"
    r.new_page()
    year = form.get("year")
    title = (form.get("title") or "财政项目支出绩效目标申报表") + (f"（{year}年度）" if year is not None else "")
    fu = form.get("filing_unit")
    t = _heading(r, title, None, "填报单位（盖章）：" + fu if fu is not None else None)

    W, fs, size, pad = r.W, r.fs, r.size, r.pad
    cjk = r.width("国")
    lab = min(max(84.0 * s.col_scale, 4 * cjk + 2 * pad + 1), W * 0.3)

    def amt(key: str) -> str:
        return amount_2026(fund.get(key))

    # money block columns: label | value | label | value
    left = [("项目资金总额", "total_budget"), ("其中：财政资金", "project_fiscal_funds"),
            ("上年结转资金", "carryover"), ("其他资金", "project_other_funds")]
    right = [("年度资金申请总额", "current_year_budget"), ("其中：当年财政拨款", "fiscal_appropriation"),
             ("其他资金", "other_funds"), None]
    d0, d1 = dates_2026(prj.get("start_date"), prj.get("end_date"), s.date_format)
    vals = [amt(k) for _, k in left] + [amt(x[1]) for x in right if x] + [d0, d1]
    vmin = _longest_unit(vals, fs, size) + 2 * pad + 1
    lmin = 4 * cjk + 2 * pad + 1
    xs = _edges(lab, _fit_columns(W - lab, [1.05, 1.0, 1.2, 1.0], [lmin, vmin, lmin, vmin]))

    def full(label: str, text: str) -> Row:
        return Row([Cell(0, lab, label, label=True), Cell(lab, W, text)])

    def pair(l1: str, v1: str, l2: str, v2: str) -> Row:
        return Row([Cell(0, lab, l1, label=True), Cell(lab, xs[2], v1),
                    Cell(xs[2], xs[3], l2, label=True), Cell(xs[3], W, v2)])

    category = extra.pop("项目类别", None)
    rows = [full("项目名称", _sv(prj.get("name")))]
    if s.compact_header:
        rows.append(pair("项目性质", _sv(prj.get("nature")), "项目类别", _sv(category)))
        rows.append(pair("主管部门", _sv(prj.get("department")), "实施单位", _sv(prj.get("implementer"))))
    else:
        rows += [full("项目性质", _sv(prj.get("nature"))), full("项目类别", _sv(category)),
                 full("主管部门", _sv(prj.get("department"))), full("实施单位", _sv(prj.get("implementer")))]
    rows.append(Row([Cell(0, lab, "计划开始日期", label=True), Cell(lab, xs[2], d0, align="auto"),
                     Cell(xs[2], xs[3], "计划完成日期", label=True), Cell(xs[3], W, d1, align="auto")]))
    for k in range(4):
        cells = [Cell(0, lab, f"项目资金（{unit}）", rowspan=4, label=True)] if k == 0 else []
        ll, lk = left[k]
        cells += [Cell(xs[0], xs[1], ll, label=True), Cell(xs[1], xs[2], amt(lk), align=s.amount_align)]
        if right[k]:
            rl, rk = right[k]
            cells += [Cell(xs[2], xs[3], rl, label=True), Cell(xs[3], xs[4], amt(rk), align=s.amount_align)]
        else:
            cells += [Cell(xs[2], xs[3], ""), Cell(xs[3], xs[4], "")]
        rows.append(Row(cells))
    yrs = _years(prj)
    rows.append(full(f"项目总体目标（{yrs[0]}年-{yrs[1]}年）" if yrs else "项目总目标", _sv(prj.get("overall_goal"))))
    rows.append(full("年度总体目标", _sv(prj.get("annual_goals"))))
    for k, val in extra.items():
        rows.append(full(str(k), _extra_text(val, amount_2026)))

    # 绩效指标
    inds = rec.get("indicators") or []
    heads = ["一级指标", "二级指标", "三级指标", "年度指标值"]
    keys = ("level1", "level2", "level3", "target")
    cols = [[h] + [_sv(it.get(q)) for it in inds] for h, q in zip(heads, keys)]
    mins = [max(_longest_unit(c_, fs, size), 2 * cjk) + 2 * pad + 1 for c_ in cols]
    ix = _edges(lab, _fit_columns(W - lab, [1.0, 1.2, 2.5, 1.35], mins))
    n = max(1, len(inds))
    rows.append(Row([Cell(0, lab, "绩效指标", rowspan=1 + n, label=True)] +
                    [Cell(ix[j], ix[j + 1], heads[j], label=True) for j in range(4)], header=True, section=1))
    if inds:
        rows += _indicator_rows(inds, ix, keys, 1)
    else:
        rows.append(Row([Cell(ix[j], ix[j + 1], "") for j in range(4)], section=1))
    r.table(rows, t)


# --------------------------------------------------------------------------
# ministry-county

def date_range(start: str | None, end: str | None, fmt: str, sep: str = "-") -> str:
    """项目起止时间 as one cell: ``2023.07-2024.01``, ``2022年1月-2022年12月``,
    ``2021年1月1日至2021年12月31日``."""
    f = "cn" if fmt == "year" else fmt
    a, b = _format_date(start, f), _format_date(end, f)
    if f == "iso" and sep == "-":
        sep = "至"  # 2021-01-01-2021-12-31 is not how anyone writes it
    if not a and not b:
        return ""
    return a + sep + b


def amount_wan(x: Any, fmt: str, unit: str) -> str:
    return format_amount(x, fmt, unit)


def render_ministry_county(r, rec: dict) -> None:
    s = r.s
    form, prj = rec.get("form") or {}, rec.get("project") or {}
    fund = rec.get("funding") or {}
    extra = dict(rec.get("extra") or {})
    unit = form.get("amount_unit") or "万元"
    r.new_page()
    year = form.get("year")
    t = _heading(r, form.get("title") or "项目支出绩效目标申报表", f"（{year}年度）" if year is not None else None,
                 "填报单位（盖章）：" + _sv(form.get("filing_unit")))

    W, fs, size, pad = r.W, r.fs, r.size, r.pad
    cjk = r.width("国")
    lab = min(max(84.0 * s.col_scale, 4 * cjk + 2 * pad + 1), W * 0.3)
    fmt = s.amount_format

    def money(x: Any) -> str:
        return amount_wan(x, fmt, unit)

    def full(label: str, text: str, **kw) -> Row:
        return Row([Cell(0, lab, label, label=True), Cell(lab, W, text, **kw)])

    vals = [_sv(prj.get(k)) for k in ("department", "implementer", "manager", "phone")]
    vmin = min(_longest_unit(vals, fs, size) + 2 * pad + 1, (W - lab) * 0.3)
    lmin = max(r.width("项目实施单位"), r.width("单位负责人")) + 2 * pad + 1
    xs = _edges(lab, _fit_columns(W - lab, [1.0, 0.6, 1.0], [vmin, min(lmin, (W - lab) * 0.3), vmin]))

    def pair(l1: str, v1: str, l2: str, v2: str) -> Row:
        return Row([Cell(0, lab, l1, label=True), Cell(xs[0], xs[1], v1),
                    Cell(xs[1], xs[2], l2, label=True), Cell(xs[2], W, v2)])

    on, off = s.box_glyphs
    nature = prj.get("nature")
    opts = list(NATURE_OPTIONS) + ([nature] if nature is not None and nature not in NATURE_OPTIONS else [])
    boxes = "    ".join((o + (on if o == nature else off)) if s.box_after else ((on if o == nature else off) + o)
                        for o in opts)
    rows = [full("项目名称", _sv(prj.get("name"))), full("项目属性", boxes),
            pair("主管部门", _sv(prj.get("department")), "项目实施单位", _sv(prj.get("implementer"))),
            pair("项目负责人", _sv(prj.get("manager")), "联系电话", _sv(prj.get("phone"))),
            full("项目起止时间", date_range(prj.get("start_date"), prj.get("end_date"), s.date_format, s.range_sep))]
    mx = lab + (W - lab) * 0.32
    mlabel = f"项目资金申请({unit})"
    if r.width(mlabel) > lab - 2 * pad:  # the unit on a line of its own, as a typed line break
        mlabel = f"项目资金申请\n({unit})"
    money_rows = [("资金总额", fund.get("total_budget")), ("财政拨款", fund.get("fiscal_appropriation")),
                  ("自有资金", extra.pop("自有资金", None)), ("其他", fund.get("other_funds"))]
    for k, (lbl, val) in enumerate(money_rows):
        cells = [Cell(0, lab, mlabel, rowspan=4, label=True)] if k == 0 else []
        cells += [Cell(lab, mx, lbl, label=True), Cell(mx, W, money(val), align=s.amount_align)]
        rows.append(Row(cells))
    rows.append(full("项目概况", _sv(prj.get("overview"))))
    rows.append(Row([Cell(0, lab, "项目立项情况", rowspan=3, label=True),
                     Cell(lab, W, "依据：" + _sv(prj.get("basis")))]))
    rows.append(Row([Cell(lab, W, "可行性：" + _sv(prj.get("feasibility")))]))
    rows.append(Row([Cell(lab, W, "必要性：" + _sv(prj.get("necessity")))]))
    rows.append(full("项目实施进度计划", _sv(extra.pop("项目实施进度计划", None))))
    rows.append(full("长期目标", _sv(prj.get("overall_goal"))))
    rows.append(full("年度目标", _sv(prj.get("annual_goals"))))
    footer = {k: extra.pop(k, None) for k in ("填报人", "单位负责人", "填报日期")}
    for k, val in extra.items():
        rows.append(full(str(k), _extra_text(val, money)))

    # the indicator tables, in printed order
    inds = rec.get("indicators") or []
    tables: list[tuple[str | None, list[dict]]] = []
    for it in inds:
        tab = it.get("table")
        if not tables or tables[-1][0] != tab:
            tables.append((tab, []))
        tables[-1][1].append(it)
    if not tables:
        tables = [("长期绩效指标", []), ("年度绩效指标", [])]
    heads = ["一级指标", "二级指标", s.level3_label, "指标值", "备注"]
    keys = ("level1", "level2", "level3", "target", "note")
    cols = [[h] + [_sv(it.get(q)) for it in inds] for h, q in zip(heads, keys)]
    mins = [max(_longest_unit(c_, fs, size), 2 * cjk) + 2 * pad + 1 for c_ in cols]
    x0 = lab if s.table_heading == "label" else 0.0
    ix = _edges(x0, _fit_columns(W - x0, [1.0, 1.1, 2.3, 1.25, 0.9], mins))
    for sec, (tab, items) in enumerate(tables, start=1):
        name = tab if tab is not None else "绩效指标"
        n = max(1, len(items))
        head = [Cell(ix[j], ix[j + 1], heads[j], label=True) for j in range(5)]
        if s.table_heading == "label":
            rows.append(Row([Cell(0, lab, name, rowspan=1 + n, label=True)] + head, header=True, section=sec))
        else:
            rows.append(Row([Cell(0, W, name, label=True)], header=True, section=sec))
            rows.append(Row(head, header=True, section=sec))
        if items:
            rows += _indicator_rows(items, ix, keys, sec)
        else:
            rows.append(Row([Cell(ix[j], ix[j + 1], "") for j in range(5)], section=sec))

    # footer
    sec = len(tables) + 1
    rows.append(Row(full("其他说明的问题", _sv(prj.get("other_issues"))).cells, section=sec))
    fv = [_sv(footer[k]) for k in ("填报人", "单位负责人", "填报日期")]
    flabels = ["填报人", "单位负责人", "填报日期"]
    fmins = []
    for lbl, v in zip(flabels, fv):
        fmins += [r.width(lbl) + 2 * pad + 1, _longest_unit([v], fs, size) + 2 * pad + 1]
    fx = _edges(0.0, _fit_columns(W, [0.8, 1.0, 0.9, 1.0, 0.8, 1.3], fmins))
    cells = []
    for j, (lbl, v) in enumerate(zip(flabels, fv)):
        cells += [Cell(fx[2 * j], fx[2 * j + 1], lbl, label=True), Cell(fx[2 * j + 1], fx[2 * j + 2], v, align="auto")]
    rows.append(Row(cells, section=sec))
    if s.approval:
        mid = lab + (W - lab) / 2
        box = "\n\n\n（盖章）\n年    月    日"
        rows.append(Row([Cell(0, lab, "审核意见", label=True),
                         Cell(lab, mid, "主管部门审核意见：" + box, valign="top"),
                         Cell(mid, W, "财政部门审核意见：" + box, valign="top")], section=sec))
    r.table(rows, t)


LAYOUTS: dict[str, Callable[[Any, dict], None]] = {
    SH2026: render_sh_district_2026,
    MINISTRY: render_ministry_county,
}

# the title a PDF of these forms carries in its metadata
TITLES = {SH2026: "财政项目支出绩效目标申报表", MINISTRY: "项目支出绩效目标申报表"}

__all__ = ["LAYOUTS", "TITLES", "SH2026", "MINISTRY", "amount_2026", "dates_2026", "date_range"]
