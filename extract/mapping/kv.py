"""Pass 3a: label / value rows of the grids → fields.

A row holds pairs (label cell, value cells); a label cell spanning several
rows is a group (项目资金, 项目立项情况): its rows hold sub-fields, or the
printed lines of one value. A value cut by a page break goes on in the first
row of the next page."""

from __future__ import annotations

import re
from typing import Callable

from ..layout import Cell, Table
from ..normalize import normalize_label
from ..template import FieldSpec
from .labels import LabelIndex, Match
from .model import Raw
from .state import State, is_ocr, x_overlap

_LABEL_MAX = 20


def kv_rows(st: State, table: Table, r: int) -> int:
    """Row r of a grid as label/value pairs (or the start of a group); returns
    the next row to read."""
    ctx, cur = st.ctx, st.cur
    cells = [c for c in table.row_cells(r) if not _section(st, c)]
    if not cells:
        return r + 1
    first = cells[0]
    m = ctx.top.match(first.text, fuzzy=is_ocr(first), core=True)
    group = cur.last_group if cur.page_start else None
    if group is not None:
        if not first.text.strip() or (m and m.spec is group and not m.rest):
            # a group cut by the page break: its label printed again, or left blank
            return group_rows(st, table, r, first, group, 1.0)
        if not m and _has_sub_label(st, cells, group):
            # the label column is not repeated at all
            _group(st, group, [cells], 1.0)
            return r + 1
    if m and not m.rest and first.row == r and first.row_span > 1:
        return group_rows(st, table, r, first, m.spec, m.score, m)
    cur.last_group = None
    kv_row(st, cells, ctx.top)
    return r + 1


def _section(st: State, c: Cell) -> bool:
    if normalize_label(c.text) in st.ctx.sections:
        st.ledger.claim(c, "section")
        return True
    return False


def group_rows(st: State, table: Table, r: int, first: Cell, spec: FieldSpec, score: float,
               m: Match | None = None) -> int:
    """The rows a group label spans (from row r), without the label cell."""
    st.ledger.claim(first, "label", spec.key)
    if m is not None:
        st.cur.label_cells.append((normalize_label(m.printed), first.bbox))
    span = first.row + first.row_span - r
    inner: list[list[Cell]] = []
    seen: set[int] = {id(first)}
    for rr in range(r, r + span):
        row = [c for c in table.row_cells(rr) if id(c) not in seen and not _section(st, c)]
        seen.update(id(c) for c in row)
        inner.append(row)
    _group(st, spec, inner, score, unit=st.unit_of(first.text), label=first.text.strip())
    return r + span


def _has_sub_label(st: State, cells: list[Cell], spec: FieldSpec) -> bool:
    index = st.ctx.subs.get(id(spec))
    return bool(index) and any(index.match(c.text, fuzzy=is_ocr(c), core=True) for c in cells)


def _group(st: State, spec: FieldSpec, rows: list[list[Cell]], score: float,
           unit: str | None = None, label: str | None = None) -> None:
    """A label spanning several rows: its rows hold sub-fields, or the printed
    lines of one value."""
    cur = st.cur
    if unit is None and cur.page_start and spec is cur.last_group:
        unit = cur.group_unit
    cur.group_unit = unit
    if not spec.subfields:
        cells = [c for row in rows for c in row if c.text.strip()]
        if spec.key and cells:
            raw = Raw.of(cells, label_score=score, label=label, rule="group")
            raw.unit = unit
            st.set(spec, raw)
        elif not spec.key and cells:  # a known label with no record key, over several rows
            st.extra(spec.labels[0], Raw.of(cells, label=label, rule="group"), known=True)
        return
    sub = st.ctx.subs[id(spec)]
    last: FieldSpec | None = None
    cur.last_group = spec
    if cur.page_start and cur.last_spec in spec.subfields:
        last = cur.last_spec  # the group goes on from the previous page
    for row in rows:
        last = kv_row(st, row, sub, parent=spec, carry=last, unit=unit)


def _resolver(st: State, cell: Cell) -> Callable[[list], object]:
    """Pick among fields sharing a printed label by the label printed above in
    the same column (`under` in the template)."""
    def resolve(cands: list):
        for cand in cands:
            under = {normalize_label(u) for u in getattr(cand, "under", [])}
            if under and any(lab in under and x_overlap(bbox, cell.bbox) > 0.5
                             for lab, bbox in st.cur.label_cells if bbox[1] < cell.bbox[1]):
                return cand
        plain = [c for c in cands if not getattr(c, "under", None)]
        return plain[0] if plain else cands[0]
    return resolve


def _waits_value(pairs) -> bool:
    """The last label still has no value: the next cell is its value, even if
    it happens to end with a colon."""
    return bool(pairs) and not pairs[-1][2] and not pairs[-1][4]


_LABELISH = re.compile(r"^[\u3400-\u9fff（）()]{2,12}$")


def looks_like_label(c, waiting: bool, has_next: bool = False) -> bool:
    """An unknown printed label: short text ending with a colon; or, when no
    label is waiting for its value, a short text in the grid's first column,
    or a short name (Chinese only, no digits or marks) with a cell after it —
    the label of the next pair (`主管部门 | 坝塘镇 | 主管部门编码 | 001`)."""
    t = c.text.strip()
    if not t or len(t) > _LABEL_MAX or "\n" in t:
        return False
    if t.endswith(("：", ":")):
        return True
    if waiting:
        return False
    if getattr(c, "col", 1) == 0 and not re.search(r"\d", t):
        return True
    return has_next and bool(_LABELISH.match(t))


#: the enumeration a sub-label may carry (1、 （二） 3.)
ENUMERATION = r"(?:[（(]?[一二三四五六七八九十\d]{1,2}[)）、.．]?)?"


def split_sub_labels(text: str, index: LabelIndex) -> list[Match]:
    """A cell holding several of a group's sub-fields, each after its label and
    a colon at the start of a line (`依据：…\n必要性：…\n可行性：…`): one match
    per sub-field, its value the text up to the next label; [] when the cell
    holds fewer than two."""
    labels = sorted({lab for specs in index.exact.values() for s in specs for lab in s.labels}, key=len,
                    reverse=True)
    if len(labels) < 2 or text.count("：") + text.count(":") < 2:
        return []
    alt = "|".join(r"\s*".join(map(re.escape, lab)) for lab in labels)
    rx = re.compile(rf"(?:^|\n)\s*{ENUMERATION}\s*({alt})\s*[：:]")
    hits = list(rx.finditer(text))
    if len(hits) < 2:
        return []
    out = []
    for n, h in enumerate(hits):
        end = hits[n + 1].start() if n + 1 < len(hits) else len(text)
        m = index.match(h.group(1))
        if m is None:
            return []
        out.append(Match(m.spec, 1.0, text[h.end():end].strip(), h.group(1), "inline-split"))
    head = text[:hits[0].start()].strip()
    return out if not head else []


def kv_row(st: State, cells: list[Cell], index: LabelIndex, parent: FieldSpec | None = None,
           carry: FieldSpec | None = None, unit: str | None = None) -> FieldSpec | None:
    """Pairs of (label cell, value cells) in one row. Text before any label
    continues the previous sub-field (a paragraph printed in its own row)."""
    cur, ledger = st.cur, st.ledger
    pairs: list[tuple[object, str, list[Cell], float, str, str]] = []  # spec, label, cells, score, inline, rule
    pending: list[Cell] = []
    for c in cells:
        parts = split_sub_labels(c.text, index) if parent is not None else []
        if parts:  # several sub-fields printed in one cell (依据：… 必要性：… 可行性：…)
            cur.label_cells.append((normalize_label(parts[0].printed), c.bbox))
            ledger.claim(c, "label")
            for m in parts:
                pairs.append((m.spec, m.printed, [c], m.score, m.rest, m.rule))
            continue
        if _waits_value(pairs) and pairs[-1][0] is not None and pairs[-1][0].subfields:
            pairs[-1][2].append(c)  # a group's value cell: its sub-fields are read from it
            continue
        at_label = not pairs and not pending or not _waits_value(pairs)
        m = index.match(c.text, fuzzy=is_ocr(c), resolve=_resolver(st, c), core=at_label)
        if m:
            cur.label_cells.append((normalize_label(m.printed), c.bbox))
            ledger.claim(c, "label", getattr(m.spec, "key", None))
            pairs.append((m.spec, m.printed, [c] if m.rest else [], m.score, m.rest, m.rule))
        elif parent is None and looks_like_label(c, waiting=_waits_value(pairs),
                                                 has_next=c is not cells[-1]):
            ledger.claim(c, "label")
            pairs.append((None, c.text.strip().rstrip("：:"), [], 1.0, "", "unknown"))
        elif pairs:
            pairs[-1][2].append(c)
        else:
            pending.append(c)
    if pending and carry is None and cur.page_start:
        carry = cur.last_spec  # the rest of a value the page break cut
    if pending and carry is not None:
        prev = st.get(carry)
        rest = [c for c in pending if c.text.strip()]
        if prev is not None and rest:
            prev.extend(Raw.of(rest, rule="continued"))
            ledger.claim_all(rest, "value", carry.key)
    last = carry
    for spec, printed, vcells, score, rest, rule in pairs:
        if spec is None or (spec.key is None and not spec.subfields):
            # a label no record key has: its value goes to `extra`, under the
            # template's spelling of the label when it knows the label
            vals = [c for c in vcells if c.text.strip()]
            if vals or rest:
                raw = Raw.of(vals, text=rest or None, label=printed, rule="extra")
                raw.unit = st.unit_of(printed) or unit
                raw.amount = (spec is not None and spec.type == "amount") or \
                    (parent is not None and parent.type == "amount")
                if spec is not None and spec.type == "choice":
                    raw.options = list(spec.options)
                st.extra(spec.labels[0] if spec is not None else printed, raw, known=spec is not None)
            continue
        if spec.subfields and not spec.key:
            # label with its sub-fields in the value cells ("项目资金 | 一、项目总预算：…")
            kv_row(st, vcells, st.ctx.subs[id(spec)], parent=spec, unit=st.unit_of(printed))
            last = spec
            continue
        text = rest if rest else "\n".join(c.text for c in vcells if c.text.strip())
        if rest and len(vcells) > 1:
            text = "\n".join([rest] + [c.text for c in vcells[1:] if c.text.strip()])
        raw = Raw.of(vcells, text=text, label_score=score, label=printed, rule=rule)
        raw.unit = st.unit_of(printed) or unit
        st.set(spec, raw)
        last = spec
    return last
