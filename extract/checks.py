"""Consistency checks on a record. A form that contradicts itself is kept as
printed; the checks say where, so a person can look. Check ids are stable
(scripts match them); details are Chinese sentences for the people who read
the forms, and CHECK_NAMES gives each id its Chinese name (exports show it)."""

from __future__ import annotations

TOL = 0.005  # 元: amounts are compared to the fen

# check id (without a row index) → its name in Chinese
CHECK_NAMES = {
    "items_sum_to_total": "明细金额之和 = 金额合计",
    "total_equals_budget": "金额合计 = 项目总预算",
    "appropriation_parts": "上级财政拨款 + 本级财政安排 + 下级财政配套 = 财政拨款",
    "current_year_parts": "财政拨款 + 其他资金 = 当年预算",
    "project_fund_parts": "财政资金 + 上年结转资金 + 其他资金 = 项目资金总额",
    "price_times_quantity": "单价 × 数量 = 明细金额",
    "dates_ordered": "起始日期不晚于结束日期",
}


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= max(TOL, 1e-9 * max(abs(a), abs(b)))


def _check(out: list, cid: str, fields: list[str], expected: float | None, got: float | None,
           what: str) -> None:
    if expected is None or got is None:
        return
    ok = _close(expected, got)
    out.append({
        "id": cid,
        "passed": ok,
        "fields": fields,
        "detail": what if ok else f"{what}：{got:,.2f} ≠ {expected:,.2f}（相差 {got - expected:,.2f}）",
    })


def _sum(values: list[float | None]) -> float | None:
    if not values or any(v is None for v in values):
        return None
    return round(sum(values), 2)


def run_checks(rec: dict) -> list[dict]:
    out: list[dict] = []
    f = rec.get("funding", {})
    items = rec.get("budget_items", [])
    total = rec.get("budget_total")
    amounts = [i.get("amount") for i in items]
    if total is not None and items and None in amounts:
        # the sum cannot be verified: say so, rather than skip the check
        rows = [str(n + 1) for n, a in enumerate(amounts) if a is None]
        out.append({"id": "items_sum_to_total", "passed": False,
                    "fields": ["budget_items[].amount", "budget_total"],
                    "detail": f"明细金额无法相加：第 {'、'.join(rows)} 行没有明细金额"})
    else:
        _check(out, "items_sum_to_total", ["budget_items[].amount", "budget_total"],
               total, _sum(amounts), "明细金额之和 = 金额合计")
    _check(out, "total_equals_budget", ["budget_total", "funding.total_budget"],
           f.get("total_budget"), total, "金额合计 = 项目总预算")
    parts = [f.get("superior_appropriation"), f.get("own_level_appropriation"),
             f.get("subordinate_matching")]
    _check(out, "appropriation_parts", ["funding.superior_appropriation",
                                        "funding.own_level_appropriation",
                                        "funding.subordinate_matching",
                                        "funding.fiscal_appropriation"],
           f.get("fiscal_appropriation"), _sum(parts), "上级财政拨款 + 本级财政安排 + 下级财政配套 = 财政拨款")
    if f.get("fiscal_appropriation") is not None and f.get("other_funds") is not None:
        _check(out, "current_year_parts", ["funding.fiscal_appropriation", "funding.other_funds",
                                           "funding.current_year_budget"],
               f.get("current_year_budget"),
               _sum([f.get("fiscal_appropriation"), f.get("other_funds")]),
               "财政拨款 + 其他资金 = 当年预算")
    if f.get("project_fiscal_funds") is not None:
        _check(out, "project_fund_parts", ["funding.project_fiscal_funds", "funding.carryover",
                                           "funding.project_other_funds", "funding.total_budget"],
               f.get("total_budget"),
               _sum([f.get("project_fiscal_funds"), f.get("carryover") or 0.0,
                     f.get("project_other_funds") or 0.0]),
               "财政资金 + 上年结转资金 + 其他资金 = 项目资金总额")
    for i, it in enumerate(items):
        p, q, a = it.get("unit_price"), it.get("quantity"), it.get("amount")
        if p is not None and q is not None:
            _check(out, f"price_times_quantity[{i}]",
                   [f"budget_items[{i}].unit_price", f"budget_items[{i}].quantity",
                    f"budget_items[{i}].amount"],
                   a, round(p * q, 2), f"第 {i + 1} 行：单价 × 数量 = 明细金额")
    proj = rec.get("project", {})
    s, e = proj.get("start_date"), proj.get("end_date")
    if s and e:
        ok = s[:len(min(s, e, key=len))] <= e[:len(min(s, e, key=len))]
        out.append({"id": "dates_ordered", "passed": ok, "fields": ["project.start_date",
                                                                    "project.end_date"],
                    "detail": "起始日期不晚于结束日期" if ok else f"起始日期 {s} 晚于结束日期 {e}"})
    return out
