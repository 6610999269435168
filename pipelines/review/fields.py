"""What a field of a record is, and how a value a person types becomes the
value the record stores: the way extraction would have normalized it.

The field's type, its printed labels and its date role come from the form
template of the record's variant (extract/templates/*.yaml), so the review
station knows no form by heart; paths the templates do not name fall back to
the record contract (record-spec.md): funding.* and budget_total are amounts,
safeguards[].stages.* are booleans, the rest is text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any

from extract.normalize import (
    clean_text,
    parse_amount,
    parse_amount_unit,
    parse_date,
    parse_number,
    parse_phone,
    parse_year,
)

# the fields a golden record holds (record-spec.md); everything else is bookkeeping
GOLDEN_KEYS = ("schema_version", "form", "project", "funding", "composition", "indicators",
               "budget_items", "budget_total", "safeguards", "extra")
NOT_CORRECTABLE = {"schema_version", "form.title", "form.variant"}
CATEGORY_OPTIONS = ["一次性项目", "经常性项目", "中期预算试点项目"]  # schema enum of project.category
_TRUE = {"true", "1", "yes", "y", "是", "√", "✓", "✔", "☑", "x", "checked", "ticked"}
_FALSE = {"false", "0", "no", "n", "否", "□", "☐", "unchecked"}

_PART = re.compile(r"[^.\[\]]+|\[\d+\]")
_ROW = re.compile(r"^(indicators|budget_items|safeguards)\[(\d+)\]\.(\w+)(?:\.(\w+))?$")


class FieldError(ValueError):
    """The path names no correctable field, or the value is not one of its kind."""


@dataclass(frozen=True)
class Kind:
    type: str  # amount | number | date | phone | year | unit | choice | bool | text | string
    labels: tuple[str, ...] = ()
    role: str = "start"
    options: tuple[str, ...] = ()
    lines: bool = False


@dataclass
class _TemplateKinds:
    fields: dict[str, Kind] = field(default_factory=dict)
    columns: dict[tuple[str, str], Kind] = field(default_factory=dict)
    amount_unit: str | None = None


@lru_cache(maxsize=16)
def _template_kinds(variant: str) -> _TemplateKinds:
    from extract.template import load_templates

    out = _TemplateKinds()
    tpl = next((t for t in load_templates() if t.id == variant), None)
    if tpl is None:
        return out
    out.amount_unit = tpl.amount_unit

    def walk(specs):
        for s in specs:
            if s.key:
                t = "date" if s.type == "daterange" else s.type
                out.fields[s.key] = Kind(t, tuple(s.labels), s.role, tuple(s.options), s.lines)
                if s.type == "daterange" and s.end_key:
                    out.fields[s.end_key] = Kind("date", tuple(s.labels), "end")
            walk(s.subfields)

    walk(tpl.fields)
    for tb in tpl.tables:
        for c in tb.columns:
            out.columns[(tb.key, c.key)] = Kind(c.type, tuple(c.labels))
            for st in c.stages:
                out.columns[(tb.key, f"stages.{st.key}")] = Kind("bool", tuple(st.labels))
        if tb.total:
            out.fields[tb.total.key] = Kind("amount", tuple(tb.total.labels))
    return out


def amount_unit(rec: dict) -> str:
    """The unit a bare number typed for an amount of this record is read in:
    the form's printed 金额单位, else its template's default (as extraction)."""
    unit = (rec.get("form") or {}).get("amount_unit")
    if unit:
        return unit
    return _template_kinds((rec.get("form") or {}).get("variant") or "").amount_unit or "元"


def kind_of(rec: dict, path: str) -> Kind:
    """The kind of the field at path (raises FieldError for what is no field)."""
    variant = (rec.get("form") or {}).get("variant") or ""
    tk = _template_kinds(variant)
    if path in tk.fields:
        k = tk.fields[path]
        if path == "project.category" and not k.options:
            return Kind("choice", k.labels, options=tuple(CATEGORY_OPTIONS))
        return k
    if path.startswith("extra."):
        label = path[len("extra."):]
        value = (rec.get("extra") or {}).get(label)
        return Kind("amount" if isinstance(value, (int, float)) and not isinstance(value, bool)
                    else "string", (label,))
    m = _ROW.match(path)
    if m:
        table, _, col, sub = m.groups()
        key = f"{col}.{sub}" if sub else col
        if (table, key) in tk.columns:
            return tk.columns[(table, key)]
        if col == "stages":
            return Kind("bool")
        if table == "budget_items" and col in ("amount", "unit_price"):
            return Kind("amount")
        if table == "budget_items" and col == "quantity":
            return Kind("number")
        return Kind("string")
    fixed = {"form.year": Kind("year"), "form.amount_unit": Kind("unit", ("金额单位",)),
             "form.filing_unit": Kind("string", ("填报单位",)),
             "project.category": Kind("choice", ("项目类别",), options=tuple(CATEGORY_OPTIONS)),
             "project.phone": Kind("phone"), "project.start_date": Kind("date"),
             "project.end_date": Kind("date", role="end"), "project.annual_goals": Kind("text", lines=True),
             "budget_total": Kind("amount")}
    if path in fixed:
        return fixed[path]
    if path.startswith("funding."):
        return Kind("amount")
    if path.startswith("project.") or path == "composition":
        return Kind("text")
    return Kind("string")


# ------------------------------------------------------------------ paths


_MISSING = object()


def parts(path: str) -> list[str | int]:
    """`budget_items[2].amount` → ["budget_items", 2, "amount"]; `extra.<label>`
    keeps the label whole (printed labels may hold dots or brackets)."""
    if path.startswith("extra.") and len(path) > 6:
        return ["extra", path[6:]]
    out: list[str | int] = []
    for p in _PART.findall(path):
        out.append(int(p[1:-1]) if p.startswith("[") else p)
    if not out or "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in out).lstrip(".") != path:
        raise FieldError(f"not a field path: {path!r}")
    return out


def get(rec: Any, path: str, default: Any = _MISSING) -> Any:
    obj = rec
    for p in parts(path):
        if isinstance(p, int):
            if not isinstance(obj, list) or p >= len(obj):
                return default
        elif not isinstance(obj, dict) or p not in obj:
            return default
        obj = obj[p]
    return obj


def exists(rec: dict, path: str) -> bool:
    try:
        return get(rec, path) is not _MISSING
    except FieldError:
        return False


def set_value(rec: dict, path: str, value: Any) -> None:
    ps = parts(path)
    obj = rec
    for p in ps[:-1]:
        obj = obj[p]
    obj[ps[-1]] = value


def correctable(rec: dict, path: str | None) -> bool:
    """A leaf of the golden fields a person may change (not the schema version,
    the form title or the variant; not a whole list or object)."""
    if not path or path in NOT_CORRECTABLE:
        return False
    try:
        ps = parts(path)
    except FieldError:
        return False
    if ps[0] not in GOLDEN_KEYS:
        return False
    v = get(rec, path)
    if v is _MISSING:
        return False
    return not isinstance(v, (dict, list))


def leaves(rec: dict) -> list[str]:
    """Every correctable leaf path of the golden fields, in record order."""
    out: list[str] = []

    def walk(obj, prefix):
        if isinstance(obj, dict) and obj:
            for k, v in obj.items():
                walk(v, f"{prefix}.{k}" if prefix else k)
        elif isinstance(obj, list) and obj:
            for i, v in enumerate(obj):
                walk(v, f"{prefix}[{i}]")
        elif not isinstance(obj, (dict, list)):
            out.append(prefix)

    for key in GOLDEN_KEYS:
        if key == "extra":
            for label, v in (rec.get("extra") or {}).items():
                if not isinstance(v, (dict, list)):
                    out.append(f"extra.{label}")
        elif key in rec:
            walk(rec[key], key)
    return [p for p in out if p not in NOT_CORRECTABLE]


# ------------------------------------------------------------------ values


def normalize(rec: dict, path: str, value: Any) -> Any:
    """The value to store for what a person typed, normalized as extraction
    would: a string is read as printed (an amount in the form's unit unless it
    names one: `38.42万元` → 384200.0), a JSON number for an amount is taken
    as 元, an empty string clears the field (null). Raises FieldError."""
    if not correctable(rec, path):
        raise FieldError(f"{path!r} is not a field that can be corrected")
    k = kind_of(rec, path)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if k.type == "bool":
        if isinstance(value, bool):
            return value
        s = clean_text(str(value)).lower()
        if s in _TRUE:
            return True
        if s in _FALSE:
            return False
        raise FieldError(f"{path}: '{value}' is not ticked / not ticked (true / false)")
    if isinstance(value, bool) or isinstance(value, (dict, list)):
        raise FieldError(f"{path}: expected text or a number, not {type(value).__name__}")
    if k.type in ("amount", "number"):
        if isinstance(value, (int, float)):
            v = float(value)
        elif k.type == "amount":
            v = parse_amount(str(value), amount_unit(rec))
        else:
            v = parse_number(str(value))
        if v is None or v != v or v in (float("inf"), float("-inf")):
            raise FieldError(f"{path}: '{value}' is not readable as {'an amount' if k.type == 'amount' else 'a number'}")
        return v + 0.0
    s = str(value)
    if k.type == "date":
        v = parse_date(s, role=k.role)
        if v is None:
            raise FieldError(f"{path}: '{s}' is not readable as a date")
        return v
    if k.type == "phone":
        v = parse_phone(s)
        if v is None:
            raise FieldError(f"{path}: '{s}' is not readable as a phone number")
        return v
    if k.type == "year":
        v = parse_year(s)
        if v is None:
            raise FieldError(f"{path}: '{s}' is not readable as a year")
        return v
    if k.type == "unit":
        v = parse_amount_unit(s)
        if v is None:
            raise FieldError(f"{path}: '{s}' is not 元 or 万元")
        return v
    if k.type == "choice":
        text = clean_text(s)
        options = list(k.options)
        if text in options:
            return text
        hits = [o for o in options if text and text in o]
        if len(hits) == 1:
            return hits[0]
        raise FieldError(f"{path}: '{text}' is not one of {' / '.join(options)}")
    if k.type == "text":
        return clean_text(s, keep_newlines=k.lines) or None
    return clean_text(s) or None


def display(rec: dict, path: str | None, value: Any) -> str:
    """The value as a person types it: an amount in the form's printed unit
    (384200.0 in a 万元 form → `38.42`), a box as true/false, text as is."""
    if value is None or value is _MISSING:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)) and path:
        try:
            k = kind_of(rec, path)
        except FieldError:
            k = Kind("string")
        if k.type == "amount":
            d = Decimal(repr(float(value)))
            if amount_unit(rec) == "万元":
                d = d / Decimal(10000)
            return _plain(d)
        return _plain(Decimal(repr(float(value))))
    if isinstance(value, (dict, list)):
        return ""
    return str(value)


def _plain(d: Decimal) -> str:
    s = format(d.normalize(), "f")
    return s if "." not in s else s.rstrip("0").rstrip(".")


def as_yuan(value: Any) -> str:
    """384200.0 → `384,200.00 元`, for showing beside an amount typed in 万元."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:,.2f} 元"
    return ""
