"""Office-route layout of the Shanghai municipal form, 2019 (``sh-municipal-2019``):
上海市财政支出项目绩效目标申报表, one grid with 申报单位名称, 项目类型 and 资金用途 option
lists (the tick after the option), 开始时间 / 结束时间, 项目概况, 立项依据, 项目设立的必要性,
保证项目实施的制度、措施, the 项目资金 rows, 项目绩效目标 (总目标 / 年度目标) and the 绩效指标
table.  corpus/README.md describes it for the template writer."""

from __future__ import annotations

from .office_layouts import Ctx, indicator_extra_columns, indicator_table, kv, sv
from .office_model import Cell, Part, Row, Table
from .office_style import OfficeStyle

PROJECT_TYPES = ("市委市政府已确定的新增项目", "结转项目", "其他一次性项目", "经常性专项业务费", "其他经常性项目")
FUND_USES = ("基本建设工程类", "信息化建设类", "政策补贴类", "政府购买服务", "资产购置类", "其他事业专业类")


def _options(ctx: Ctx, options: tuple[str, ...], chosen: str | None) -> str:
    """The published form prints the mark after each option (其他一次性项目√ 结转项目□)."""
    on, off, _ = ctx.s.box
    on = "√" if on in ("þ", "R") else on  # this form was typed, not made with a symbol font
    off = "□" if off in ("¨", "£") else off
    opts = list(options) + ([chosen] if chosen and chosen not in options else [])
    return "  ".join(o + (on if o == chosen else off) for o in opts)


def sh_municipal_2019(rec: dict, s: OfficeStyle) -> list[Part]:
    ctx = Ctx(rec, s)
    form, prj, fund = ctx.form, ctx.prj, ctx.fund
    L = ctx.lab
    year = form.get("year")
    inds = rec.get("indicators") or []
    (xcols,) = indicator_extra_columns(ctx, [inds])
    N = 6 + max(0, len(xcols) - 1)
    p = Part("绩效目标申报表", ctx.grid([1.3, 1.0, 1.0, 1.0, 1.0, 1.1] + [1.0] * (N - 6)))
    p.blocks += ctx.title(form.get("title") or "上海市财政支出项目绩效目标申报表",
                          f"（{year}年度）" if year is not None else None)
    p.blocks += ctx.filing_lines(None)
    rows = [kv(L("申报单位名称", spell=False), sv(form.get("filing_unit")), N),
            kv(L("项目名称"), sv(prj.get("name")), N),
            kv(L("项目类型", spell=False), _options(ctx, PROJECT_TYPES, ctx.pop("项目类型")), N),
            kv(L("资金用途", spell=False), _options(ctx, FUND_USES, ctx.pop("资金用途")), N)]
    for key, lab in (("manager", "项目负责人"), ("phone", "联系电话")):
        if prj.get(key) is not None:
            rows.append(kv(L(lab), sv(prj.get(key)), N))
    rows.append(Row([Cell(L("开始时间", spell=False), 0, kind="label"), Cell(ctx.date(prj.get("start_date")), 1, 2),
                     Cell(L("结束时间", spell=False), 3, kind="label"), Cell(ctx.date(prj.get("end_date")), 4, N - 4)]))
    money = [(lbl, fund.get(k)) for lbl, k in (("项目总预算", "total_budget"), ("本年度预算", "current_year_budget"),
                                               ("其中：财政拨款", "fiscal_appropriation"), ("其他资金", "other_funds"))
             if fund.get(k) is not None]
    for k, (lbl, val) in enumerate(money):
        cells = [Cell("项目资金" + ctx.bracket(ctx.unit or "万元"), 0, rowspan=len(money), kind="label")] if k == 0 else []
        cells += [Cell(lbl, 1, 2, kind="label"), Cell(ctx.money(val), 3, N - 3)]
        rows.append(Row(cells))
    rows.append(kv(L("项目概况"), sv(prj.get("overview")), N))
    rows.append(kv(L("立项依据", spell=False), sv(prj.get("basis")), N))
    rows.append(kv(L("项目设立的必要性", spell=False), sv(prj.get("necessity")), N))
    measures = ctx.pop("保证项目实施的制度、措施")
    if measures is not None:
        rows.append(kv(L("保证项目实施的制度、措施", spell=False), sv(measures), N))
    rows.append(Row([Cell("项目绩效目标", 0, rowspan=2, kind="label"), Cell("总目标", 1, kind="label"),
                     Cell(sv(prj.get("overall_goal")), 2, N - 2)]))
    rows.append(Row([Cell("年度目标", 1, kind="label"), Cell(sv(prj.get("annual_goals")), 2, N - 2)]))
    foot_rows, foot_lines = ctx.footer(N)
    rows += ctx.leftover_rows(1, N)
    p.blocks.append(Table(rows))
    cols = [(L("一级指标", kv=False), "level1", 1.0), (L("二级指标", kv=False), "level2", 1.1),
            (L("三级指标", kv=False), "level3", 2.2), (L("目标值", kv=False) if "目标值" in s.labels else "指标值",
                                                    "target", 1.3)]
    p.blocks.append(indicator_table(ctx, inds, 1 if s.side_label else 0, N, cols, xcols,
                                    side="绩效指标" if s.side_label else None,
                                    heading=None if s.side_label else "绩效指标"))
    if foot_rows:
        p.blocks.append(Table(foot_rows))
    p.blocks += foot_lines
    return [p]
