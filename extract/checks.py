"""Consistency checks on a record, run from the template's `checks` (data).
A form that contradicts itself is kept as printed; the checks say where, so a
person can look.

  sum      the parts add up to the total; a part with `[]` is every row of a
           list (budget_items[].amount); a list row without a value means the
           sum cannot be verified (a failed check, never a skipped one); a
           scalar part not printed skips the check, unless it is read as 0
  product  in every row of a list, the factors multiply to `equals`
  order    `first` is not after `second` (dates, also month-only)
"""

from __future__ import annotations

import re

from .template import CheckSpec, load_templates

TOL = 0.005  # 元: amounts are compared to the fen
_STEP = re.compile(r"[^.\[\]]+|\[\d+\]")


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= max(TOL, 1e-9 * max(abs(a), abs(b)))


def value_at(rec: dict, path: str):
    """The value at a record path (funding.total_budget, extra.一般公共预算,
    budget_items[2].amount), or None."""
    obj = rec
    for part in _STEP.findall(path):
        if part.startswith("["):
            i = int(part[1:-1])
            obj = obj[i] if isinstance(obj, list) and i < len(obj) else None
        else:
            obj = obj.get(part) if isinstance(obj, dict) else None
        if obj is None:
            return None
    return obj


def _number(v):
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _result(cid: str, name: str, fields: list[str], expected: float, got: float) -> dict:
    ok = _close(expected, got)
    return {"id": cid, "passed": ok, "fields": fields,
            "detail": name if ok else f"{name}：{got:,.2f} ≠ {expected:,.2f}（相差 {got - expected:,.2f}）"}


def _sum(rec: dict, c: CheckSpec) -> dict | None:
    total = _number(value_at(rec, c.total))
    if total is None or any(_number(value_at(rec, w)) is None for w in c.when):
        return None
    fields = list(c.parts) + [c.total]
    values: list[float] = []
    for part in c.parts:
        if "[]" in part:
            head, _, tail = part.partition("[]")
            rows = value_at(rec, head) or []
            if not rows:
                return None
            got = [_number(value_at(r, tail.lstrip("."))) for r in rows]
            missing = [str(n + 1) for n, v in enumerate(got) if v is None]
            if missing:
                return {"id": c.id, "passed": False, "fields": fields,
                        "detail": f"{c.name}：第 {', '.join(missing)} 行没有金额，无法核对"}
            values += got
            continue
        v = _number(value_at(rec, part))
        if v is None:
            if part not in c.zero_if_missing:
                return None
            v = 0.0
        values.append(v)
    return _result(c.id, c.name, fields, total, round(sum(values), 2))


def _product(rec: dict, c: CheckSpec) -> list[dict]:
    out = []
    for i, row in enumerate(value_at(rec, c.each) or []):
        factors = [_number(row.get(f)) for f in c.factors]
        want = _number(row.get(c.equals))
        if want is None or any(f is None for f in factors):
            continue
        got = 1.0
        for f in factors:
            got *= f
        fields = [f"{c.each}[{i}].{f}" for f in c.factors] + [f"{c.each}[{i}].{c.equals}"]
        out.append(_result(f"{c.id}[{i}]", f"第 {i + 1} 行：{c.name}", fields, want, round(got, 2)))
    return out


def _order(rec: dict, c: CheckSpec) -> dict | None:
    s, e = value_at(rec, c.first), value_at(rec, c.second)
    if not (isinstance(s, str) and isinstance(e, str) and s and e):
        return None
    n = min(len(s), len(e))  # a month-only date is compared to the month
    ok = s[:n] <= e[:n]
    return {"id": c.id, "passed": ok, "fields": [c.first, c.second],
            "detail": c.name if ok else f"{c.name}：{s} 晚于 {e}"}


def checks_for(variant: str | None) -> list[CheckSpec]:
    """The checks of a record's template (by form.variant); the shared ones
    when no template of that id is installed."""
    templates = load_templates()
    tpl = next((t for t in templates if t.id == variant), None) or templates[0]
    return tpl.checks


def run_checks(rec: dict, checks: list[CheckSpec] | None = None) -> list[dict]:
    """Every check that applies to the record, with its result."""
    if checks is None:
        checks = checks_for((rec.get("form") or {}).get("variant"))
    out: list[dict] = []
    for c in checks:
        if c.kind == "sum":
            r = _sum(rec, c)
            if r is not None:
                out.append(r)
        elif c.kind == "product":
            out.extend(_product(rec, c))
        elif c.kind == "order":
            r = _order(rec, c)
            if r is not None:
                out.append(r)
    return out
