"""What the region passes share: the template's indexes (built once), the
cursor of the walk through the stream (what is being read now), and the
results (the raw fields and the ledger of claimed text)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..layout import Cell, TextLine
from ..normalize import label_unit, normalize_label
from ..template import ColumnSpec, FieldSpec, TableSpec, Template
from .labels import LabelIndex
from .ledger import Ledger
from .model import Mapped, Raw


@dataclass
class Context:
    """The template, indexed for matching."""

    t: Template
    top: LabelIndex  # every field label, sub-fields and known `extra` labels included
    subs: dict[int, LabelIndex]  # id(group spec) → the index of its sub-fields
    ignore: set[str]
    headings: dict[str, tuple[str, str]]  # normalized heading → (table key, printed heading)
    sections: set[str]
    boilerplate: re.Pattern | None
    extra_labels: set[str]
    group_of: dict[int, FieldSpec]  # id(sub-field spec) → its group

    @classmethod
    def of(cls, t: Template) -> "Context":
        extra = [FieldSpec(labels=[lab]) for lab in t.extra_labels]
        specs = [s for f in t.fields for s in f.walk()]
        subs, group_of = {}, {}
        for f in t.fields:
            for g in f.walk():
                if g.subfields:
                    subs[id(g)] = LabelIndex(g.subfields, suffixes=t.label_suffixes)
                    for s in g.subfields:
                        group_of[id(s)] = g
        headings = {normalize_label(h): (spec.key, h) for spec in t.tables for h in spec.heading}
        rx = re.compile("|".join(f"(?:{p})" for p in t.boilerplate)) if t.boilerplate else None
        return cls(
            t=t, top=LabelIndex(specs + extra, suffixes=t.label_suffixes), subs=subs,
            ignore={normalize_label(x) for x in t.ignore_rows},
            headings=headings,
            sections={normalize_label(s) for s in t.section_labels} | set(headings),
            boilerplate=rx, extra_labels={normalize_label(x) for x in t.extra_labels},
            group_of=group_of,
        )

    def is_boilerplate(self, text: str) -> bool:
        flat = re.sub(r"\s+", "", text)
        return bool(flat) and self.boilerplate is not None and self.boilerplate.search(flat) is not None


@dataclass
class ActiveTable:
    """The table whose rows are being read: its spec, its columns as found in
    the header row (spec, x0, x1), the x left of which cells only name the
    section, the page it was last read on, and which printed table (heading)
    its rows belong to."""

    spec: TableSpec
    columns: list[tuple[ColumnSpec, float, float]]
    left: float
    page: int = 0
    unknown: list[tuple[str, float, float]] = field(default_factory=list)  # headers no column has
    block: int = 0  # which printed table (a new heading starts another): merged cells never carry across
    stage_ranges: dict[str, tuple[float, float]] | None = None  # stage marks in columns of their own
    printed: dict[str, str] = field(default_factory=dict)  # column key → its header as printed
    first_row: int = 0  # index of the first row read under this header
    overprinted: dict = field(default_factory=dict)  # column key → a value printed under a repeated header


@dataclass
class Cursor:
    active: ActiveTable | None = None
    heading: dict[str, Raw] = field(default_factory=dict)  # table key → heading over its rows
    heading_fresh: bool = False  # a heading was read since the last header row
    block: int = 0  # counts the headings read
    last_block: dict[str, int] = field(default_factory=dict)  # table key → block of its last row
    block_start: dict[tuple, int] = field(default_factory=dict)  # (table, block) → its first row index
    headers: dict[str, ActiveTable] = field(default_factory=dict)  # table key → its header read last
    extra_keys: dict[tuple, str] = field(default_factory=dict)  # (table, block, header) → extra key
    # the field set last, the group it belongs to and the group's unit: where a
    # value cut by a page break goes on
    last_spec: FieldSpec | None = None
    last_group: FieldSpec | None = None
    group_unit: str | None = None
    label_cells: list[tuple[str, tuple]] = field(default_factory=list)  # (label, bbox) read so far
    last_page: int = 0
    page_start: bool = False  # the row being read is the first of a new page


@dataclass
class State:
    ctx: Context
    out: Mapped
    ledger: Ledger
    cur: Cursor = field(default_factory=Cursor)

    # ------------------------------------------------------------ storing
    def set(self, spec: FieldSpec, raw: Raw) -> None:
        """A field's value; the first one printed stands (a second, different
        one is flagged), except the rest of a value the page break cut."""
        key = spec.key
        if key is None:
            return
        out, cur = self.out, self.cur
        out.found_labels.add(key)
        self.ledger.claim_all(raw.sources, "value", key)
        old = out.fields.get(key)
        if old is not None and cur.page_start and spec is cur.last_spec:
            old.extend(raw)  # the label printed again on the next page: the value goes on
            return
        if old is not None and old.text.strip():
            if raw.text.strip() and normalize_label(raw.text) != normalize_label(old.text):
                out.findings.flag(key, "suspect_value",
                                  f"printed twice with different values ('{old.text.strip()[:40]}', "
                                  f"'{raw.text.strip()[:40]}'); kept the first", where=old)
            return
        out.fields[key] = raw
        out.specs[key] = spec
        cur.last_spec = spec
        cur.last_page = raw.page or cur.last_page

    def get(self, spec: FieldSpec) -> Raw | None:
        return self.out.fields.get(spec.key) if spec.key else None

    def extra(self, label: str, raw: Raw, known: bool) -> None:
        """A printed label no record key has, with its value: into `extra` (under
        the label's normalized spelling); one the template does not know is also
        named for review."""
        key = normalize_label(label) or label.strip()
        self.ledger.claim_all(raw.sources, "extra", f"extra.{key}")
        if key in self.out.extra:
            return
        self.out.extra[key] = raw
        if not known:
            self.out.findings.flag(f"extra.{key}", "low_confidence",
                                   f"label '{label.strip()[:30]}' is not in the template; its value is "
                                   "kept in extra", where=raw)

    def unit_of(self, printed_label: str) -> str | None:
        """An amount unit printed in a label (项目资金申请（万元）); the first one
        also stands for the form's unit when no 金额单位 line is printed."""
        unit = label_unit(printed_label) if printed_label else None
        if unit and self.out.label_unit is None:
            self.out.label_unit = unit
        return unit


def is_ocr(cell: Cell | TextLine) -> bool:
    return cell.method.startswith("ocr")


def x_overlap(a: tuple, b: tuple) -> float:
    """Share of the narrower box's width that the two boxes share."""
    w = min(a[2] - a[0], b[2] - b[0])
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) / w if w > 0 else 0.0


def overlap(c: Cell, x0: float, x1: float) -> float:
    """Share of the cell's width inside [x0, x1]."""
    w = c.bbox[2] - c.bbox[0]
    if w <= 0:
        return 0.0
    return max(0.0, min(c.bbox[2], x1) - max(c.bbox[0], x0)) / w


def center_in(c: Cell, x0: float, x1: float) -> bool:
    return x0 <= (c.bbox[0] + c.bbox[2]) / 2 <= x1
