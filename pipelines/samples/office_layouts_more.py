"""Office-route layouts, part 2: ``sh-district-2026``, ``ministry-county`` and
the county form with nested funding rows ``province-county-2021`` (its layout
is described in corpus/README.md for the template writer)."""

from __future__ import annotations

from .office_layouts import (
    Ctx,
    basis_rows,
    indicator_extra_columns,
    indicator_table,
    kv,
    schedule_table,
    sv,
)
from .office_model import Cell, Part, Row, Table
from .office_style import OfficeStyle


def _years(prj: dict) -> tuple[str, str] | None:
    a, b = (prj.get("start_date") or "")[:4], (prj.get("end_date") or "")[:4]
    return (a, b) if a.isdigit() and b.isdigit() and a != b else None


def _group_tables(inds: list[dict]) -> list[tuple[str | None, list[dict]]]:
    out: list[tuple[str | None, list[dict]]] = []
    for it in inds:
        tab = it.get("table")
        if not out or out[-1][0] != tab:
            out.append((tab, []))
        out[-1][1].append(it)
    return out


def _goal_label(ctx: Ctx) -> str:
    yrs = _years(ctx.prj)
    if yrs and ctx.s.label("项目总目标") in ("项目总体目标", "项目总目标"):
        return f"项目总体目标{ctx.bracket(f'{yrs[0]}年-{yrs[1]}年')}"
    return ctx.lab("项目总目标")


# --------------------------------------------------------------------------
# sh-district-2026

def sh_district_2026(rec: dict, s: OfficeStyle) -> list[Part]:
    ctx = Ctx(rec, s)
    form, prj, fund = ctx.form, ctx.prj, ctx.fund
    L = ctx.lab
    year = form.get("year")
    inds = rec.get("indicators") or []
    (xcols,) = indicator_extra_columns(ctx, [inds])
    N = 5 + len(xcols)
    p = Part("绩效目标申报表", ctx.grid([1.25, 1.0, 1.2, 1.05, 1.2] + [1.0] * len(xcols)))
    title = (form.get("title") or "财政项目支出绩效目标申报表") + (f"（{year}年度）" if year is not None else "")
    p.blocks += ctx.title(title)
    fu = form.get("filing_unit")
    p.blocks += ctx.filing_lines("填报单位（盖章）：" + fu if fu is not None else None)
    category = ctx.pop("项目类别")
    rows = [kv(L("项目名称"), sv(prj.get("name")), N),
            Row([Cell(L("项目性质", spell=False), 0, kind="label"), Cell(sv(prj.get("nature")), 1, 2),
                 Cell(L("项目类别", spell=False), 3, kind="label"), Cell(sv(category), 4, N - 4)]),
            Row([Cell(L("主管部门"), 0, kind="label"), Cell(sv(prj.get("department")), 1, 2),
                 Cell(L("实施单位"), 3, kind="label"), Cell(sv(prj.get("implementer")), 4, N - 4)])]
    for key, lab in (("manager", "项目负责人"), ("phone", "联系电话"), ("contact", "联系人")):
        if prj.get(key) is not None:
            rows.append(kv(L(lab), sv(prj.get(key)), N))
    start = L("起始日期") if "起始日期" in s.labels else L("计划开始日期", spell=False)
    end = L("结束日期") if "结束日期" in s.labels else L("计划完成日期", spell=False)
    rows.append(Row([Cell(start, 0, kind="label"), Cell(ctx.date(prj.get("start_date")), 1, 2, align="center"),
                     Cell(end, 3, kind="label"), Cell(ctx.date(prj.get("end_date")), 4, N - 4, align="center")]))
    left = [("项目资金总额", "total_budget"), ("其中：财政资金", "project_fiscal_funds"),
            ("上年结转资金", "carryover"), ("其他资金", "project_other_funds")]
    right = [("年度资金申请总额", "current_year_budget"), ("其中：当年财政拨款", "fiscal_appropriation"),
             ("其他资金", "other_funds"), None]
    al = "right" if s.amount_format == "thousands" else "left"
    for k in range(4):
        cells = [Cell("项目资金" + ctx.bracket("元"), 0, rowspan=4, kind="label")] if k == 0 else []
        cells += [Cell(left[k][0], 1, kind="label"), Cell(ctx.money(fund.get(left[k][1]), "元"), 2, align=al)]
        if right[k]:
            cells += [Cell(right[k][0], 3, kind="label"),
                      Cell(ctx.money(fund.get(right[k][1]), "元"), 4, N - 4, align=al)]
        else:
            cells += [Cell("", 3, N - 3)]
        rows.append(Row(cells))
    rows.append(kv(_goal_label(ctx), sv(prj.get("overall_goal")), N))
    rows.append(kv(L("年度绩效目标") if "年度绩效目标" in s.labels else "年度总体目标",
                   sv(prj.get("annual_goals")), N))
    for key, lab in (("overview", "项目概况"), ("other_issues", "需要说明的其他问题")):
        if prj.get(key) is not None:
            rows.append(kv(L(lab), sv(prj.get(key)), N))
    rows += ctx.leftover_rows(1, N)
    p.blocks.append(Table(rows))
    cols = [(L("一级指标", kv=False), "level1", 1.0), (L("二级指标", kv=False), "level2", 1.2),
            (L("三级指标", kv=False), "level3", 2.4),
            (L("目标值", kv=False) if "目标值" in s.labels else "年度指标值", "target", 1.4)]
    p.blocks.append(indicator_table(ctx, inds, 1 if s.side_label else 0, N, cols, xcols,
                                    side="绩效指标" if s.side_label else None,
                                    heading=None if s.side_label else "绩效指标"))
    foot_rows, foot_lines = ctx.footer(N)
    if foot_rows:
        p.blocks.append(Table(foot_rows))
    p.blocks += foot_lines
    return [p]


# --------------------------------------------------------------------------
# ministry-county

def ministry_county(rec: dict, s: OfficeStyle) -> list[Part]:
    ctx = Ctx(rec, s)
    form, prj, fund = ctx.form, ctx.prj, ctx.fund
    L = ctx.lab
    year = form.get("year")
    tables = _group_tables(rec.get("indicators") or []) or [("长期绩效指标", []), ("年度绩效指标", [])]
    xcols = indicator_extra_columns(ctx, [items for _, items in tables])
    nx = max(len(x) for x in xcols)
    N = 6 + nx
    p = Part("项目支出绩效目标申报表", ctx.grid([1.2, 0.9, 1.1, 1.0, 0.9, 1.2] + [1.0] * nx))
    p.blocks += ctx.title(form.get("title") or "项目支出绩效目标申报表",
                          f"（{year}年度）" if year is not None else None)
    p.blocks += ctx.filing_lines("填报单位（盖章）：" + sv(form.get("filing_unit")))
    nature = prj.get("nature")
    opts = ["新增项目", "延续项目"] + ([nature] if nature and nature not in ("新增项目", "延续项目") else [])
    rows = [kv(L("项目名称"), sv(prj.get("name")), N),
            kv(L("项目属性", spell=False), ctx.boxes(opts, nature), N),
            Row([Cell(L("主管部门"), 0, kind="label"), Cell(sv(prj.get("department")), 1, 2),
                 Cell(L("项目实施单位", spell=False), 3, kind="label"), Cell(sv(prj.get("implementer")), 4, N - 4)]),
            Row([Cell(L("项目负责人"), 0, kind="label"), Cell(sv(prj.get("manager")), 1, 2),
                 Cell(L("联系电话"), 3, kind="label"), Cell(sv(prj.get("phone")), 4, N - 4)])]
    sep = "至" if s.date_format == "iso" else "-"
    d0, d1 = ctx.date(prj.get("start_date")), ctx.date(prj.get("end_date"))
    rows.append(kv(L("项目起止时间", spell=False), d0 + sep + d1 if (d0 or d1) else "", N))
    money = [("资金总额", fund.get("total_budget")), ("财政拨款", fund.get("fiscal_appropriation")),
             ("自有资金", ctx.pop("自有资金")), ("其他", fund.get("other_funds"))]
    mlabel = "项目资金申请" + ctx.bracket(ctx.unit or "万元")
    for k, (lbl, val) in enumerate(money):
        cells = [Cell(mlabel, 0, rowspan=4, kind="label")] if k == 0 else []
        cells += [Cell(lbl, 1, 2, kind="label"), Cell(ctx.money(val), 3, N - 3)]
        rows.append(Row(cells))
    rows.append(kv(L("项目概况"), sv(prj.get("overview")), N))
    rows += basis_rows(ctx, N, ("basis", "feasibility", "necessity"))
    plan = ctx.pop("项目实施进度计划")
    if plan is not None:
        rows.append(kv(L("项目实施进度计划", spell=False), sv(plan), N))
    rows += schedule_table(ctx, N, "项目实施进度")
    rows.append(kv(L("长期目标", spell=False) if "项目总目标" not in s.labels else L("项目总目标"),
                   sv(prj.get("overall_goal")), N))
    rows.append(kv(L("年度目标", spell=False) if "年度绩效目标" not in s.labels else L("年度绩效目标"),
                   sv(prj.get("annual_goals")), N))
    footer_rows, footer_lines = ctx.footer(N)
    rows += ctx.leftover_rows(1, N)
    p.blocks.append(Table(rows))
    cols = [(L("一级指标", kv=False), "level1", 1.0), (L("二级指标", kv=False), "level2", 1.1),
            (L("三级指标", kv=False), "level3", 2.3), (L("目标值", kv=False), "target", 1.3), ("备注", "note", 0.9)]
    for (tab, items), xc in zip(tables, xcols):
        name = tab if tab is not None else "绩效指标"
        use_side = s.side_label and not s.repeat_header
        p.blocks.append(indicator_table(ctx, items, 1 if use_side else 0, N, cols, xc,
                                        side=name if use_side else None, heading=None if use_side else name))
    tail = [kv(L("需要说明的其他问题"), sv(prj.get("other_issues")), N)] + footer_rows
    if s.approval:
        box = "\n\n（盖章）\n年    月    日"
        tail.append(Row([Cell("审核意见", 0, kind="label"), Cell("主管部门审核意见：" + box, 1, 2),
                         Cell("财政部门审核意见：" + box, 3, N - 3)]))
    p.blocks.append(Table(tail))
    p.blocks += footer_lines
    return [p]


# --------------------------------------------------------------------------
# province-county-2021: nested funding rows, 实施进度 table, signature footer

NESTED = (  # (printed label, where the value is, indent level)
    ("资金总额", ("funding", "total_budget"), 0),
    ("（一）财政拨款小计", ("funding", "fiscal_appropriation"), 1),
    ("1、一般公共预算", ("extra", "一般公共预算"), 2),
    ("2、政府性基金", ("extra", "政府性基金"), 2),
    ("3、国有资本经营预算", ("extra", "国有资本经营预算"), 2),
    ("（二）自有资金小计", ("extra", "自有资金小计"), 1),
    ("1、事业收入", ("extra", "事业收入"), 2),
    ("2、经营性收入", ("extra", "经营性收入"), 2),
    ("（三）其他收入", ("funding", "other_funds"), 1),
)


def province_county_2021(rec: dict, s: OfficeStyle) -> list[Part]:
    ctx = Ctx(rec, s)
    form, prj, fund = ctx.form, ctx.prj, ctx.fund
    L = ctx.lab
    year = form.get("year")
    tables = _group_tables(rec.get("indicators") or [])
    xcols = indicator_extra_columns(ctx, [items for _, items in tables])
    nx = max([len(x) for x in xcols] + [0])
    N = 6 + max(0, nx - 2)
    p = Part("绩效目标申报表", ctx.grid([1.25, 1.0, 1.0, 1.0, 1.0, 1.2] + [1.0] * (N - 6)))
    p.blocks += ctx.title(form.get("title") or "项目支出绩效目标申报表",
                          f"（{year}年度）" if year is not None else None)
    fu = form.get("filing_unit")
    p.blocks += ctx.filing_lines("填报单位（盖章）：" + sv(fu))
    rows = [kv(L("项目名称"), sv(prj.get("name")), N)]
    code = ctx.pop("主管部门编码")
    if code is not None:
        rows.append(Row([Cell(L("主管部门"), 0, kind="label"), Cell(sv(prj.get("department")), 1, 3),
                         Cell(L("主管部门编码", spell=False), 4, kind="label"), Cell(sv(code), 5, N - 5)]))
    else:
        rows.append(kv(L("主管部门"), sv(prj.get("department")), N))
    rows.append(kv(L("实施单位"), sv(prj.get("implementer")), N))
    rows.append(Row([Cell(L("项目负责人"), 0, kind="label"), Cell(sv(prj.get("manager")), 1),
                     Cell(L("联系人", spell=False), 2, kind="label"), Cell(sv(prj.get("contact")), 3),
                     Cell(L("联系电话"), 4, kind="label"), Cell(sv(prj.get("phone")), 5, N - 5)]))
    nature = prj.get("nature")
    opts = ["新增项目", "延续项目"] + ([nature] if nature and nature not in ("新增项目", "延续项目") else [])
    rows.append(kv(L("项目属性", spell=False), ctx.boxes(opts, nature), N))
    for k in [k for k in ctx.extra if k.startswith("是否") and ctx.extra[k] in ("是", "否")]:
        rows.append(kv(L(k, spell=False), ctx.boxes(["是", "否"], ctx.pop(k)), N))
    start = L("起始日期") if "起始日期" in s.labels else L("计划开始日期", spell=False)
    end = L("结束日期") if "结束日期" in s.labels else L("计划完成日期", spell=False)
    rows.append(Row([Cell(start, 0, kind="label"), Cell(ctx.date(prj.get("start_date")), 1, 2, align="center"),
                     Cell(end, 3, kind="label"), Cell(ctx.date(prj.get("end_date")), 4, N - 4, align="center")]))
    money = []
    for lbl, (where, key), lvl in NESTED:
        val = fund.get(key) if where == "funding" else ctx.pop(key)
        if val is None:
            continue
        if s.half_brackets:
            lbl = lbl.replace("（", "(").replace("）", ")")
        money.append(("　" * lvl + lbl, val))
    mlabel = "项目资金" + ctx.bracket(ctx.unit or "万元")
    for k, (lbl, val) in enumerate(money):
        cells = [Cell(mlabel, 0, rowspan=len(money), kind="label")] if k == 0 else []
        cells += [Cell(lbl + (s.colon or ""), 1, 2), Cell(ctx.money(val), 3, N - 3,
                                                          align="right" if s.amount_format == "thousands" else "left")]
        rows.append(Row(cells))
    rows.append(kv(L("项目概况"), sv(prj.get("overview")), N))
    rows += basis_rows(ctx, N)
    rows += schedule_table(ctx, N, "项目实施进度")
    rows.append(kv(_goal_label(ctx), sv(prj.get("overall_goal")), N))
    rows.append(kv(L("年度绩效目标"), sv(prj.get("annual_goals")), N))
    footer_rows, footer_lines = ctx.footer(N)
    other = prj.get("other_issues")
    rows += ctx.leftover_rows(1, N)
    p.blocks.append(Table(rows))
    cols = [(L("一级指标", kv=False), "level1", 1.0), (L("二级指标", kv=False), "level2", 1.1),
            (L("三级指标", kv=False), "level3", 2.2), (L("目标值", kv=False), "target", 1.3)]
    for (tab, items), xc in zip(tables, xcols):
        name = tab if tab is not None else "绩效指标"
        p.blocks.append(indicator_table(ctx, items, 0, N, cols, xc, heading=name))
    tail = [kv(L("需要说明的其他问题"), sv(other), N)] if other is not None else []
    tail += footer_rows
    if tail:
        p.blocks.append(Table(tail))
    p.blocks += footer_lines
    return [p]
