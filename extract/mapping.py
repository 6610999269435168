"""Cells + template → raw fields.

The engine reads a declaration as a stream of free text lines and ruled tables
(PageLayout objects from either path) and assigns printed values to record keys
using only what the template says: which labels name which field, which header
rows start which table, which cells only name a section. Values stay raw text
here, each with where it came from; record.py normalizes them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Callable, Iterable

from rapidfuzz import fuzz, process

from .layout import Cell, PageLayout, Table, TextLine
from .normalize import label_unit, normalize_label, parse_amount_unit, parse_year
from .review import Findings, Flag
from .template import ColumnSpec, FieldSpec, TableSpec, Template

FUZZY_LABEL = 88  # rapidfuzz ratio for OCR'd labels
# one character in four may be misread when no other label comes close
FUZZY_LOOSE, FUZZY_MARGIN = 75, 15
TITLE_RE = re.compile(r"绩效目标申报表|项目申报表|绩效目标表")
TITLE_WORDS = "绩效目标申报表"
YEAR_LINE_RE = re.compile(r"^[（(]?\s*\d{4}\s*年度?\s*[)）]?$")
_COLON_RE = re.compile(r"^(.{1,40}?)[：:]\s*(.*)$", re.S)
_TRAILING_NOTE = re.compile(r"[（(][^（）()]*[)）]$")
_SEAL_NOTE = re.compile(r"^[（(《〔【]\s*([^\s）)》】〕：:]{0,4})\s*[)）》】〕1lI|]?")


@dataclass
class Raw:
    """A printed value and where it was found."""

    text: str
    page: int
    bbox: tuple[float, float, float, float] | None
    confidence: float = 1.0
    method: str = "text"
    label_score: float = 1.0
    unit: str | None = None  # amount unit printed in the value's label: 项目资金申请（万元）
    flags: list[Flag] = field(default_factory=list)  # doubts raised where it was read

    @classmethod
    def of(cls, cells: list[Cell], text: str | None = None, label_score: float = 1.0) -> "Raw":
        if not cells:
            return cls(text or "", 0, None)
        bbox = (min(c.bbox[0] for c in cells), min(c.bbox[1] for c in cells),
                max(c.bbox[2] for c in cells), max(c.bbox[3] for c in cells))
        methods = sorted({c.method for c in cells})
        return cls(
            text=text if text is not None else "\n".join(c.text for c in cells if c.text),
            page=cells[0].page, bbox=bbox,
            confidence=min(c.confidence for c in cells),
            method="+".join(methods), label_score=label_score,
            flags=[f for c in cells for f in c.flags],
        )

    @classmethod
    def of_line(cls, line: TextLine, text: str) -> "Raw":
        return cls(text, line.page, line.bbox, line.confidence, line.method, flags=list(line.flags))


@dataclass
class Mapped:
    """Raw fields of one declaration, before normalization."""

    template: Template
    fields: dict[str, Raw] = field(default_factory=dict)
    rows: dict[str, list[dict[str, Raw]]] = field(default_factory=dict)
    totals: dict[str, Raw] = field(default_factory=dict)
    header: dict[str, Raw] = field(default_factory=dict)
    extra: dict[str, Raw] = field(default_factory=dict)
    findings: Findings = field(default_factory=Findings)
    specs: dict[str, FieldSpec] = field(default_factory=dict)  # field key → the spec that set it
    label_unit: str | None = None  # the first amount unit printed in a label
    pages: list[int] = field(default_factory=list)


# ------------------------------------------------------------------ labels

_EDGE_JUNK = re.compile(r"^(?:[^\w(\u3400-\u9fff]|_)+|(?:[^\w)\u3400-\u9fff]|_)+$")
_DASH_FOR_ONE = re.compile(r"^[-‐‑–—_·•.~](?=[\u3400-\u9fff])")


def ocr_label_keys(norm: str) -> list[str]:
    """A normalized label as OCR may have marred it, cleaned, in the ways it
    may have been marred: 一 read as a dash or a dot where a label starts
    (·级目标), or a stray mark there (_数量); stray marks at its end
    (满意度·); brackets whose ordinal was lost (（）财政拨款)."""
    s = re.sub(r"^\([^\w\u3400-\u9fff]*\)", "", norm)
    keys = [_EDGE_JUNK.sub("", _DASH_FOR_ONE.sub("一", s)), _EDGE_JUNK.sub("", s)]
    return [k for i, k in enumerate(keys) if k and k not in keys[:i]]


def fuzzy_pick(text: str, choices: list[str]) -> tuple[str, float] | None:
    """The choice a (recognized) label most likely prints: close enough
    (FUZZY_LABEL), or, for a label of four characters or more, one misread
    character away while every other choice is far off (一级目标 never
    passes for 二级目标: both are as close)."""
    if len(text) < 2 or not choices:
        return None
    found = process.extract(text, choices, scorer=fuzz.ratio, limit=2)
    if not found:
        return None
    best, score = found[0][0], found[0][1]
    second = found[1][1] if len(found) > 1 else 0.0
    if score >= FUZZY_LABEL or (len(text) >= 4 and score >= FUZZY_LOOSE and score - second >= FUZZY_MARGIN):
        return best, score
    return None


class LabelIndex:
    """Match printed text against a set of specs' labels: exactly after
    normalization, then as `label：value` in one cell, then (OCR) fuzzily."""

    def __init__(self, specs: Iterable):
        self.exact: dict[str, list] = {}
        for s in specs:
            for lab in s.norm_labels:
                self.exact.setdefault(lab, []).append(s)
        self.keys = list(self.exact)

    def match(self, text: str, fuzzy: bool = False,
              resolve: Callable[[list], object] | None = None) -> tuple[object, float, str, str] | None:
        """→ (spec, score, value text after the label, printed label) or None.
        When one label names several fields (其他资金 in two columns), `resolve`
        picks among them by position."""
        t = text.strip()
        if not t:
            return None

        def pick(key: str):
            cands = self.exact[key]
            return cands[0] if len(cands) == 1 or resolve is None else resolve(cands)

        m = _COLON_RE.match(t)
        tries = [(normalize_label(t), "", t)]
        if m:
            tries.append((normalize_label(m.group(1)), m.group(2).strip(), m.group(1)))
        for n, rest, printed in tries:
            if n in self.exact:
                return pick(n), 1.0, rest, printed
        for n, rest, printed in tries:  # a label with a note in brackets: 项目总体目标（2024年-2026年）
            bare = _TRAILING_NOTE.sub("", n)
            if bare != n and bare in self.exact:
                return pick(bare), 1.0, rest, printed
        if fuzzy:
            cleaned = [(ocr_label_keys(n), rest, printed) for n, rest, printed in tries]
            for keys, rest, printed in cleaned:  # (the uncleaned forms missed above)
                for key in keys:
                    if key in self.exact:
                        return pick(key), 0.95, rest, printed
            # OCR may merge a label with its value when the rule between them is
            # lost: a long label at the start of the text, without a colon
            n = tries[0][0]
            for lab in sorted(self.keys, key=len, reverse=True):
                if len(lab) >= 4 and n.startswith(lab) and len(n) > len(lab):
                    return pick(lab), 0.9, _cut_prefix(t, len(lab)), t[:len(lab)]
        if fuzzy and self.keys:
            for keys, rest, printed in cleaned:
                for key in keys:
                    best = fuzzy_pick(key, self.keys)
                    if best:
                        return pick(best[0]), best[1] / 100, rest, printed
        return None


def _ocr_year_line(text: str) -> str | None:
    """A short line that is only a year in brackets, as OCR may break it:
    its four digits once the stray marks between them are dropped."""
    t = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))
    if len(t) > 12 or "年" not in t or re.search(r"[\u4e00-\u9fff]", t.replace("年", "").replace("度", "")):
        return None
    digits = re.sub(r"\D", "", t)
    return digits if len(digits) == 4 and 1990 <= int(digits) <= 2100 else None


def _cut_prefix(text: str, n: int) -> str:
    """text without its first n non-space characters."""
    seen = 0
    for i, ch in enumerate(text):
        if seen == n:
            return text[i:].strip()
        if not ch.isspace():
            seen += 1
    return ""


def _is_ocr(cell: Cell | TextLine) -> bool:
    return cell.method.startswith("ocr")


# ------------------------------------------------------------------ segmenting


@dataclass
class Segment:
    """One declaration's share of the document stream."""

    items: list[TextLine | Table] = field(default_factory=list)

    @property
    def pages(self) -> list[int]:
        return sorted({i.page for i in self.items})

    def texts(self) -> Iterable[str]:
        for it in self.items:
            if isinstance(it, TextLine):
                yield it.text
            else:
                for c in it.cells:
                    if c.text:
                        yield c.text


def stream(pages: Iterable[PageLayout]) -> list[TextLine | Table]:
    """Pages → one reading-order stream of free lines and tables."""
    out: list[TextLine | Table] = []
    for p in pages:
        items: list[TextLine | Table] = [*p.lines, *p.tables]
        items.sort(key=lambda i: (i.bbox[1], i.bbox[0]))
        out.extend(items)
    return out


def title_part(text: str, templates: Iterable[Template]) -> str | None:
    """If a line is a form title, which part it heads ("" when the title names
    no part); None when it is not a title. OCR'd titles may have a wrong
    character or two, so the title words are also matched fuzzily."""
    flat = normalize_label(text)
    m = TITLE_RE.search(flat)
    if m:
        tail = flat[m.end():]
    elif 6 <= len(flat) <= 40:
        al = fuzz.partial_ratio_alignment(TITLE_WORDS, flat, score_cutoff=80)
        if al is None:
            return None
        tail = flat[al.dest_end:]
    else:
        return None
    for t in templates:
        for part, words in t.parts.items():
            if any(w in tail or (len(tail) >= 3 and fuzz.partial_ratio(w, tail) >= 80)
                   for w in words):
                return part
    return ""


def split_declarations(items: list[TextLine | Table], templates) -> list[Segment]:
    """Split the stream into declarations at their titles."""
    segs: list[Segment] = [Segment()]
    seen: set[str] = set()
    for it in items:
        if isinstance(it, TextLine):
            part = title_part(it.text, templates)
            if part is not None:
                # a part printed again starts a new declaration; so does any
                # title next to the title of a one-part form ("")
                if part in seen or (seen and (part == "" or "" in seen)):
                    segs.append(Segment())
                    seen = set()
                seen.add(part)
        segs[-1].items.append(it)
    return [s for s in segs if s.items]


def detect_variant(seg: Segment, templates) -> tuple[Template, float, dict[str, float]]:
    """Score every template by the share of its identifying labels printed in
    the segment; the best wins."""
    printed = {normalize_label(t) for t in seg.texts()}
    heads = set()
    for t in printed:
        m = _COLON_RE.match(t)
        heads.add(normalize_label(m.group(1)) if m else t)
    blob = "".join(sorted(printed))
    scores = {}
    for tpl in templates:
        if not tpl.detect:
            scores[tpl.id] = 0.0
            continue
        hit = 0.0
        for lab in tpl.detect:
            n = normalize_label(lab)
            if n in heads:
                hit += 1
            elif n in blob:
                hit += 0.6
        scores[tpl.id] = hit / len(tpl.detect)
    best = max(templates, key=lambda t: scores[t.id])
    return best, scores[best.id], scores


# ------------------------------------------------------------------ the mapper


@dataclass
class _Active:
    spec: TableSpec
    columns: list[tuple[ColumnSpec, float, float]]  # spec, x0, x1
    left: float  # cells left of this only name the section


class Mapper:
    def __init__(self, template: Template):
        self.t = template
        self.out = Mapped(template=template)
        self.top = LabelIndex(template.fields + [FieldSpec(key=None, labels=[lab])
                                                 for lab in template.extra_labels])
        self.ignore = {normalize_label(x) for x in template.ignore_rows}
        self.headings = {normalize_label(h): (spec.key, h) for spec in template.tables
                         for h in spec.heading}
        self.sections = {normalize_label(s) for s in template.section_labels} | set(self.headings)
        self.heading: dict[str, Raw] = {}  # table key → the heading over the rows being read
        self.active: _Active | None = None
        self.active_page = 0
        # the field set last, and whether the row being read is the first of a
        # new page (where a value cut by the page break goes on)
        self.last_spec: FieldSpec | None = None
        self.last_group: FieldSpec | None = None
        self.group_unit: str | None = None
        self.label_cells: list[tuple[str, tuple]] = []  # (label, bbox) of labels read so far
        self.last_page = 0
        self.page_start = False

    # -- free lines ------------------------------------------------------
    def feed_line(self, line: TextLine) -> None:
        text = line.text.strip()
        if self._heading(normalize_label(text), Raw.of_line(line, text)):
            return
        part = title_part(text, [self.t])
        if part is not None:
            self.active = None
            self.out.header.setdefault("title", Raw.of_line(line, text))
            y = parse_year(text)
            if y:
                self.out.header.setdefault("year", Raw.of_line(line, str(y)))
            return
        if YEAR_LINE_RE.match(normalize_label(text) or ""):
            self.out.header.setdefault("year", Raw.of_line(line, normalize_label(text)))
            return
        year = _ocr_year_line(text) if line.method.startswith("ocr") else None
        if year:  # (20:15年): OCR broke the digits of the year line
            raw = Raw.of_line(line, year)
            raw.confidence = min(raw.confidence, 0.85)
            self.out.header.setdefault("year", raw)
            return
        for label, value in _split_labeled(text, self.t.header):
            if label == "amount_unit":
                unit = parse_amount_unit(text)
                if unit:
                    self.out.header.setdefault("amount_unit", Raw.of_line(line, unit))
            elif value or label == "filing_unit":
                self.out.header.setdefault(label, Raw.of_line(line, value))

    # -- tables ----------------------------------------------------------
    def feed_table(self, table: Table) -> None:
        r = 0
        # a table that goes on from the previous page: its first row may be the
        # rest of a row the page break cut in two
        continuing = self.active is not None and table.page != self.active_page
        while r < table.n_rows:
            cells = table.row_cells(r)
            if not cells:
                r += 1
                continue
            if len(cells) == 1 and self._free_text_cell(cells[0]):
                r += 1
                continue
            if any(normalize_label(c.text) in self.ignore for c in cells):
                r += 1  # an approval box (审核意见 …): printed, not part of the record
                self.last_spec = self.last_group = None  # nor is its rest on the next page
                continue
            for c in cells:
                self._heading(normalize_label(c.text), Raw.of([c]))
            hdr = self._header_row(cells)
            if hdr:
                if not (continuing and self.active and hdr.spec is self.active.spec):
                    continuing = False
                self.active = hdr
                self.active_page = table.page
                r += 1
                continue
            if self.active and self._is_data_row(cells):
                if not self._total_row(cells):
                    self._data_row(cells, continuing=continuing)
                continuing = False
                self.active_page = table.page
                r += 1
                continue
            continuing = False
            self.active = None
            self.page_start = r == 0 and table.page != self.last_page and self.last_spec is not None
            r = self._kv_rows(table, r)
            self.page_start = False

    def _free_text_cell(self, cell: Cell) -> bool:
        """A lone cell holding the form's title (a scan border or an underline
        closed a frame around the lines above the grid): read its lines as the
        free lines they are."""
        lines = [t for t in cell.text.split("\n") if t.strip()]
        if not lines or title_part(lines[0], [self.t]) is None:
            return False
        for t in lines:
            self.feed_line(TextLine(text=t, bbox=cell.bbox, page=cell.page,
                                    confidence=cell.confidence, method=cell.method))
        return True

    def _heading(self, norm: str, raw: Raw) -> bool:
        """A printed table heading (长期绩效指标 / 年度绩效指标): the rows that
        follow belong to it."""
        hit = self.headings.get(norm)
        if hit is None:
            return False
        raw.text = hit[1]
        self.heading[hit[0]] = raw
        return True

    # header rows start a table --------------------------------------------
    def _header_row(self, cells: list[Cell]) -> _Active | None:
        best = None
        for spec in self.t.tables:
            cols = self._align_header(spec, cells)
            need = min(3, len(spec.columns))
            if len(cols) >= need and (best is None or len(cols) > len(best.columns)):
                left = min(x0 for _, x0, _ in cols)
                best = _Active(spec, cols, left)
        return best

    def _align_header(self, spec: TableSpec, cells: list[Cell]) -> list[tuple[ColumnSpec, float, float]]:
        """Header cells left to right → the template's columns in order (so a
        label printed twice, like 依据, maps to its two columns in turn). A
        cell holding two headers (the rule between them lost in a scan) is
        shared between them in proportion to their text."""
        out = []
        j = 0
        for cell in cells:
            parts = cell.text.split() if _is_ocr(cell) else [cell.text]
            if len(parts) > 1:
                hits = self._match_columns(spec, [normalize_label(p) for p in parts], j, cell)
                if len(hits) == len(parts):
                    x0, x1 = cell.bbox[0], cell.bbox[2]
                    total = sum(len(p) for p in parts)
                    pos = x0
                    for p, k in zip(parts, hits):
                        w = (x1 - x0) * len(p) / total
                        out.append((spec.columns[k], pos, pos + w))
                        pos += w
                    j = hits[-1] + 1
                    continue
            hits = self._match_columns(spec, [normalize_label(cell.text)], j, cell)
            if hits:
                out.append((spec.columns[hits[0]], cell.bbox[0], cell.bbox[2]))
                j = hits[0] + 1
        return out

    @staticmethod
    def _match_columns(spec: TableSpec, names: list[str], j: int, cell: Cell) -> list[int]:
        """Indices of the columns (from j on, in order) that the names print."""
        hits = []
        ocr = _is_ocr(cell)
        for n in names:
            if not n:
                return []
            keys = [n] + (ocr_label_keys(n) if ocr else [])
            for k in range(j, len(spec.columns)):
                if any(key in spec.columns[k].norm_labels for key in keys):
                    break
            else:
                k = next((c for key in keys[1:] if (c := _fuzzy_column(spec, key, j)) is not None), None)
                if k is None:
                    return hits
            hits.append(k)
            j = k + 1
        return hits

    # data rows ----------------------------------------------------------
    def _data_cells(self, cells: list[Cell]) -> list[Cell]:
        a = self.active
        return [c for c in cells if (c.bbox[0] + c.bbox[2]) / 2 >= a.left - 1
                and normalize_label(c.text) not in self.sections]

    def _is_data_row(self, cells: list[Cell]) -> bool:
        """A row under the table's header, unless it starts with a field label
        (also left of the table's columns: the row after the table)."""
        if not self._data_cells(cells):
            return False
        named = [c for c in cells if c.text.strip() and normalize_label(c.text) not in self.sections]
        if not named:
            return False
        first = named[0]
        m = self.top.match(first.text, fuzzy=_is_ocr(first))
        return m is None or m[1] < 1.0 and len(first.text) > 12

    def _total_row(self, cells: list[Cell]) -> bool:
        spec = self.active.spec
        if not spec.total:
            return False
        data = self._data_cells(cells)
        labels = [normalize_label(x) for x in spec.total["labels"]]

        def is_label(c: Cell) -> bool:  # 金额合计, also with a stray glyph beside it
            n = normalize_label(c.text)
            return any(lab in n and len(n) <= len(lab) + 3 for lab in labels) \
                and not re.search(r"\d", n)

        if not any(is_label(c) for c in data[:2]):
            return False
        col = next((c for c in self.active.columns if c[0].key == spec.total["column"]), None)
        if col is None:  # the header's amount column was not read (a scan)
            self.out.findings.flag(spec.total["key"], "not_found",
                                   "its column header was not found; left empty",
                                   where=Raw.of(data))
            self.active = None
            return True
        vals = [c for c in data if _overlap(c, col[1], col[2]) > 0.5 and not is_label(c)]
        if vals:
            self.out.totals[spec.total["key"]] = Raw.of(vals)
        self.active = None  # the total closes the table
        return True

    def _data_row(self, cells: list[Cell], continuing: bool = False) -> None:
        a = self.active
        data = self._data_cells(cells)
        row: dict[str, Raw] = {}
        for col, x0, x1 in a.columns:
            mine = [c for c in data if _overlap(c, x0, x1) > 0.5]
            if col.type == "stages":
                stage_cells = [c for c in data if _overlap(c, x0, x1) > 0.5 or _center_in(c, x0, x1)]
                row.update(self._stages(col, stage_cells))
                continue
            if mine:
                row[col.key] = Raw.of(mine)
        if a.spec.key in self.heading:
            row["table"] = self.heading[a.spec.key]
        rows = self.out.rows.setdefault(a.spec.key, [])
        # the rest of a row cut by a page break, or (in a scan) by a stray rule
        # found where the paper has none
        ocr = any(_is_ocr(c) for c in data)
        if (continuing or ocr) and rows and _split_row(a.spec, row, rows[-1]):
            for key, raw in row.items():
                prev = rows[-1].get(key)
                if prev is None:
                    rows[-1][key] = raw
                elif raw.text.strip() and not key.startswith("stages."):
                    rows[-1][key] = Raw(prev.text + "\n" + raw.text, prev.page, prev.bbox,
                                        min(prev.confidence, raw.confidence), prev.method,
                                        flags=prev.flags + raw.flags)
            return
        if rows:
            for key in a.spec.carry_down:
                if not (row.get(key) and row[key].text.strip()) and key in rows[-1]:
                    row[key] = rows[-1][key]
        if a.spec.require and not any(row.get(k) and row[k].text.strip() for k in a.spec.require):
            return
        rows.append(row)

    def _stages(self, col: ColumnSpec, cells: list[Cell]) -> dict[str, Raw]:
        """Stage cells (立项和计划阶段 √ …): which stage each names, ticked or not.
        The header 保障阶段 may span the stage columns, or each may have its own."""
        out: dict[str, Raw] = {}
        idx = LabelIndex(col.stages)
        unnamed = []
        for c in cells:
            named = None
            for st in col.stages:
                for lab in st.norm_labels:
                    if lab in normalize_label(c.text):
                        named = st
                        break
                if named:
                    break
            if named is None:
                m = idx.match(c.text, fuzzy=True)
                named = m[0] if m else None
            if named is None:
                unnamed.append(c)
                continue
            out[f"stages.{named.key}"] = Raw.of([c])
        free = [st for st in col.stages if f"stages.{st.key}" not in out]
        for st, c in zip(free, unnamed):
            out[f"stages.{st.key}"] = Raw.of([c])
        return out

    # label/value rows -----------------------------------------------------
    def _kv_rows(self, table: Table, r: int) -> int:
        cells = [c for c in table.row_cells(r) if normalize_label(c.text) not in self.sections]
        if not cells:
            return r + 1
        first = cells[0]
        m = self.top.match(first.text, fuzzy=_is_ocr(first))
        group = self.last_group if self.page_start else None
        if group is not None:
            if not first.text.strip() or (m and m[0] is group and not m[2]):
                # a group cut by the page break: its label printed again, or left blank
                return self._group_rows(table, r, first, group, 1.0)
            if not m and self._has_label(cells, group):
                # the label column is not repeated at all
                self._group(group, [cells], 1.0)
                return r + 1
        if m and not m[2] and first.row == r and first.row_span > 1:
            return self._group_rows(table, r, first, m[0], m[1])
        self.last_group = None
        self._kv_row(cells, self.top)
        return r + 1

    def _group_rows(self, table: Table, r: int, first: Cell, spec: FieldSpec, score: float) -> int:
        """The rows a group label spans (from row r), without the label cell."""
        span = first.row + first.row_span - r
        inner: list[list[Cell]] = []
        seen: set[int] = {id(first)}
        for rr in range(r, r + span):
            row = [c for c in table.row_cells(rr) if id(c) not in seen
                   and normalize_label(c.text) not in self.sections]
            seen.update(id(c) for c in row)
            inner.append(row)
        self._group(spec, inner, score, unit=self._unit_of(first.text))
        return r + span

    def _unit_of(self, printed_label: str) -> str | None:
        """An amount unit printed in a label (项目资金申请（万元）); the first one
        also stands for the form's unit when no 金额单位 line is printed."""
        unit = label_unit(printed_label) if printed_label else None
        if unit and self.out.label_unit is None:
            self.out.label_unit = unit
        return unit

    @staticmethod
    def _has_label(cells: list[Cell], spec: FieldSpec) -> bool:
        index = LabelIndex(spec.subfields)
        return any(index.match(c.text, fuzzy=_is_ocr(c)) for c in cells)

    def _group(self, spec: FieldSpec, rows: list[list[Cell]], score: float,
               unit: str | None = None) -> None:
        """A label spanning several rows: its rows hold sub-fields, or the
        printed lines of one value."""
        if unit is None and self.page_start and spec is self.last_group:
            unit = self.group_unit
        self.group_unit = unit
        if not spec.subfields:
            cells = [c for row in rows for c in row if c.text.strip()]
            if spec.key and cells:
                raw = Raw.of(cells, label_score=score)
                raw.unit = unit
                self._set(spec, raw)
            return
        sub = LabelIndex(spec.subfields)
        last: FieldSpec | None = None
        self.last_group = spec
        if self.page_start and self.last_spec in spec.subfields:
            last = self.last_spec  # the group goes on from the previous page
        for row in rows:
            last = self._kv_row(row, sub, parent=spec, carry=last, unit=unit)

    def _resolver(self, cell: Cell) -> Callable[[list], object]:
        """Pick among fields sharing a printed label by the label printed above
        in the same column (`under` in the template)."""
        def resolve(cands: list):
            for cand in cands:
                under = {normalize_label(u) for u in getattr(cand, "under", [])}
                if under and any(lab in under and _x_overlap(bbox, cell.bbox) > 0.5
                                 for lab, bbox in self.label_cells if bbox[1] < cell.bbox[1]):
                    return cand
            plain = [c for c in cands if not getattr(c, "under", None)]
            return plain[0] if plain else cands[0]
        return resolve

    def _kv_row(self, cells: list[Cell], index: LabelIndex, parent: FieldSpec | None = None,
                carry: FieldSpec | None = None, unit: str | None = None) -> FieldSpec | None:
        """Pairs of (label cell, value cells) in one row. Text before any label
        continues the previous sub-field (a paragraph printed in its own row)."""
        pairs: list[tuple[object, str, list[Cell], float, str]] = []  # spec, label, cells, score, inline
        pending: list[Cell] = []
        for c in cells:
            m = index.match(c.text, fuzzy=_is_ocr(c), resolve=self._resolver(c))
            if m:
                spec, score, rest, printed = m
                self.label_cells.append((normalize_label(printed), c.bbox))
                pairs.append((spec, printed, [c] if rest else [], score, rest))
            elif parent is None and _looks_like_label(c, waiting=_waits_value(pairs)):
                pairs.append((None, c.text.strip().rstrip("：:"), [], 1.0, ""))
            elif pairs:
                pairs[-1][2].append(c)
            else:
                pending.append(c)
        if pending and carry is None and self.page_start:
            carry = self.last_spec  # the rest of a value the page break cut
        if pending and carry is not None:
            prev = self._get(carry)
            extra_cells = [c for c in pending if c.text.strip()]
            if prev is not None and extra_cells:
                prev.text += "\n" + "\n".join(c.text for c in extra_cells)
        last = carry
        for spec, printed, vcells, score, rest in pairs:
            if spec is None or (spec.key is None and not spec.subfields):
                # a label no record key has: its value goes to `extra`, under the
                # template's spelling of the label when it knows the label
                label = spec.labels[0] if spec is not None else printed
                vals = [c for c in vcells if c.text.strip()]
                if vals or rest:
                    raw = Raw.of(vals, text=rest or None)
                    raw.unit = self._unit_of(printed) or unit
                    self.out.extra.setdefault(label, raw)
                continue
            if spec.subfields and not spec.key:
                # label with its sub-fields in the value cells ("项目资金 | 一、项目总预算：…")
                self._kv_row(vcells, LabelIndex(spec.subfields), parent=spec,
                             unit=self._unit_of(printed))
                last = spec
                continue
            text = rest if rest else "\n".join(c.text for c in vcells if c.text.strip())
            if rest and len(vcells) > 1:
                text = "\n".join([rest] + [c.text for c in vcells[1:] if c.text.strip()])
            raw = Raw.of(vcells, text=text, label_score=score)
            raw.unit = self._unit_of(printed) or unit
            self._set(spec, raw)
            last = spec
        return last

    # storing ----------------------------------------------------------
    def _set(self, spec: FieldSpec, raw: Raw) -> None:
        key = spec.key
        if key is None:
            return
        cur = self.out.fields.get(key)
        if cur is not None and self.page_start and spec is self.last_spec:
            # the label printed again on the next page: the value goes on
            if raw.text.strip():
                cur.text += "\n" + raw.text
            return
        if cur is not None and cur.text.strip():
            if raw.text.strip() and normalize_label(raw.text) != normalize_label(cur.text):
                self.out.findings.flag(key, "suspect_value",
                                       f"printed twice with different values ('{cur.text.strip()[:40]}', "
                                       f"'{raw.text.strip()[:40]}'); kept the first", where=raw)
            return
        self.out.fields[key] = raw
        self.out.specs[key] = spec
        self.last_spec = spec
        self.last_page = raw.page or self.last_page

    def _get(self, spec: FieldSpec) -> Raw | None:
        return self.out.fields.get(spec.key) if spec.key else None

    def run(self, seg: Segment) -> Mapped:
        for it in seg.items:
            if isinstance(it, TextLine):
                self.feed_line(it)
            else:
                self.feed_table(it)
        self.out.pages = seg.pages
        return self.out


# ------------------------------------------------------------------ helpers


def _waits_value(pairs) -> bool:
    """The last label still has no value: the next cell is its value, even if
    it happens to end with a colon."""
    return bool(pairs) and not pairs[-1][2] and not pairs[-1][4]


def _looks_like_label(c: Cell, waiting: bool) -> bool:
    """An unknown printed label: short text ending with a colon, or (when no
    label is waiting for its value) a short text in the grid's first column."""
    t = c.text.strip()
    if not t or len(t) > 20 or "\n" in t:
        return False
    if t.endswith(("：", ":")):
        return True
    return not waiting and c.col == 0 and not re.search(r"\d", t)


def _split_labeled(text: str, header: dict[str, list[str]]) -> list[tuple[str, str]]:
    """A free line holding one or more `label：value` pairs → [(header key, value)]."""
    hits = []
    for key, labels in header.items():
        for lab in sorted(labels, key=len, reverse=True):
            i = text.find(lab)
            if i >= 0:
                hits.append((i, i + len(lab), key))
                break
    hits.sort()
    # drop hits inside another hit (单位 inside 填报单位)
    kept = []
    for h in hits:
        if kept and h[0] < kept[-1][1]:
            continue
        kept.append(h)
    out = []
    for n, (i, j, key) in enumerate(kept):
        end = kept[n + 1][0] if n + 1 < len(kept) else len(text)
        value = text[j:end].strip()
        # the seal note after 填报单位, also as OCR reads it: （盖章） （盖章 （盖1 （章》 （台章）
        m = _SEAL_NOTE.match(value)
        if m and re.search("[盖章签]", m.group(1)):
            value = value[m.end():].strip()
        value = value.lstrip("：:").strip()
        out.append((key, value))
    return out


def _split_row(spec: TableSpec, row: dict[str, Raw], prev: dict[str, Raw]) -> bool:
    """After a page break, a row lacking every value that each real row has
    (the template's `whole_row`, e.g. 明细金额) while the row before has them is
    the rest of that row, cut by the page break."""
    if not spec.whole_row:
        return False
    def filled(r, k):
        return k in r and r[k].text.strip() != ""
    return (any(filled(row, k) for k in row)
            and not any(filled(row, k) for k in spec.whole_row)
            and all(filled(prev, k) for k in spec.whole_row))


def _x_overlap(a: tuple, b: tuple) -> float:
    """Share of the narrower box's width that the two boxes share."""
    w = min(a[2] - a[0], b[2] - b[0])
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) / w if w > 0 else 0.0


def _overlap(c: Cell, x0: float, x1: float) -> float:
    """Share of the cell's width inside [x0, x1]."""
    w = c.bbox[2] - c.bbox[0]
    if w <= 0:
        return 0.0
    return max(0.0, min(c.bbox[2], x1) - max(c.bbox[0], x0)) / w


def _center_in(c: Cell, x0: float, x1: float) -> bool:
    return x0 <= (c.bbox[0] + c.bbox[2]) / 2 <= x1


def _fuzzy_column(spec: TableSpec, name: str, j: int) -> int | None:
    """The column (from j on) a recognized header names, judged against every
    column of the table (二级目标 must not pass for 三级目标)."""
    labels = [lab for col in spec.columns for lab in col.norm_labels]
    hit = fuzzy_pick(name, labels)
    if hit is None:
        return None
    for k in range(j, len(spec.columns)):
        if hit[0] in spec.columns[k].norm_labels:
            return k
    return None


def map_segment(seg: Segment, template: Template) -> Mapped:
    return Mapper(template).run(seg)
