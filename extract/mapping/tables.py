"""Pass 3b: the template's tables → rows of values.

A header row starts a table: its cells are aligned left to right to the
template's columns (a label printed twice, like 依据, maps to its columns in
turn), by exact or bracket-free spelling, by core term (`绩效目标值` → the
target column), or (scans) fuzzily. A header cell that names no column is
kept: its column's values go to `extra`, never away. Data rows fill columns
by x-position; 制度保障's stage marks are read in the stage cells or in mark
columns under a two-row header (blank = not ticked); a total row closes the
table; a row cut by a page break is joined to the row above."""

from __future__ import annotations

import re

from ..layout import Cell
from ..normalize import normalize_label
from ..review import Flag
from ..template import ColumnSpec, FieldSpec, TableSpec
from .labels import LabelIndex, core_column, fuzzy_column, label_forms, ocr_label_keys
from .model import Raw
from .state import ActiveTable, State, center_in, is_ocr, overlap

_HEADER_MAX = 24  # longer text in a header row is a value, not a column header


# ------------------------------------------------------------------ header rows


def header_row(st: State, cells: list[Cell]) -> ActiveTable | None:
    """The table this row is the header of, with its columns, or None."""
    best = None
    for spec in st.ctx.t.tables:
        cols, unknown, printed = _align(spec, cells, st)
        need = min(3, len(spec.columns))
        if len(cols) >= need and (best is None or len(cols) > len(best.columns)):
            left = min(x0 for _, x0, _ in cols)
            best = ActiveTable(spec, cols, left, unknown=unknown, printed=printed)
    if best is not None:
        best.left = min([best.left] + [x0 for _, x0, _ in best.unknown])
        for c in cells:
            if c.text.strip() and st.ledger.claimed(c) is None:
                st.ledger.claim(c, "header", best.spec.key)
    return best


def _align(spec: TableSpec, cells: list[Cell], st: State):
    """Header cells left to right → the template's columns in order, and the
    header cells (text, x0, x1) between them that name no column. A cell
    holding two headers (the rule between them lost in a scan) is shared
    between them in proportion to their text."""
    out: list[tuple[ColumnSpec, float, float]] = []
    unknown: list[tuple[str, float, float]] = []
    printed: dict[str, str] = {}  # column key → its header as printed
    j = 0
    for cell in cells:
        text = cell.text.strip()
        if not text:
            continue
        parts = text.split() if is_ocr(cell) else [text]
        if len(parts) > 1:
            hits = _match_columns(spec, [normalize_label(p) for p in parts], j, cell)
            if len(hits) == len(parts):
                x0, x1 = cell.bbox[0], cell.bbox[2]
                total = sum(len(p) for p in parts)
                pos = x0
                for p, k in zip(parts, hits):
                    w = (x1 - x0) * len(p) / total
                    out.append((spec.columns[k], pos, pos + w))
                    printed.setdefault(spec.columns[k].key, p)
                    pos += w
                j = hits[-1] + 1
                continue
        hits = _match_columns(spec, [normalize_label(text)], j, cell)
        if hits:
            out.append((spec.columns[hits[0]], cell.bbox[0], cell.bbox[2]))
            printed.setdefault(spec.columns[hits[0]].key, text)
            j = hits[0] + 1
            continue
        stage_col = _stage_header(spec, text)
        if stage_col is not None:
            out.append((stage_col, cell.bbox[0], cell.bbox[2]))
            continue
        if normalize_label(text) in st.ctx.sections:
            continue
        if len(normalize_label(text)) <= _HEADER_MAX and not st.ctx.is_boilerplate(text):
            unknown.append((text, cell.bbox[0], cell.bbox[2]))
    return _merge_stage_columns(out), unknown, printed


def _stage_header(spec: TableSpec, text: str) -> ColumnSpec | None:
    """A header cell that names one stage of a stages column (the stage
    headers printed without the 保障阶段 cell over them)."""
    n = normalize_label(text)
    for col in spec.columns:
        if col.type == "stages" and any(lab == n for st in col.stages for lab in st.norm_labels):
            return col
    return None


def _merge_stage_columns(cols):
    """Adjacent stage header cells → one stages column spanning them."""
    out = []
    for col, x0, x1 in cols:
        if out and col.type == "stages" and out[-1][0] is col:
            out[-1] = (col, out[-1][1], x1)
        else:
            out.append((col, x0, x1))
    return out


def _match_columns(spec: TableSpec, names: list[str], j: int, cell: Cell) -> list[int]:
    """Indices of the columns (from j on, in order) that the names print."""
    hits = []
    ocr = is_ocr(cell)
    for n in names:
        if not n:
            return []
        keys = [f for f, _ in label_forms(n)] + (ocr_label_keys(n) if ocr else [])
        for k in range(j, len(spec.columns)):
            if any(key in spec.columns[k].norm_labels for key in keys):
                break
        else:
            k = core_column(spec.columns, n, j) if len(n) <= _HEADER_MAX else None
            if k is None and ocr:
                k = next((c for key in keys[1:] if (c := fuzzy_column(spec.columns, key, j)) is not None), None)
            if k is None and ocr and j < len(spec.columns) and len(n) >= 2 \
                    and any(n in lab for lab in spec.columns[j].norm_labels):
                k = j  # OCR lost a character of the header the order expects next (级目标 for 一级目标)
            if k is None:
                return hits
        hits.append(k)
        j = k + 1
    return hits


def stage_subheader(st: State, cells: list[Cell]) -> bool:
    """The second row of a two-row header: the stage names under 保障阶段.
    Records where each stage's marks are printed; True when the row is one."""
    a = st.cur.active
    if a is None:
        return False
    col = next(((c, x0, x1) for c, x0, x1 in a.columns if c.type == "stages"), None)
    if col is None:
        return False
    spec, x0, x1 = col
    named = []
    for c in cells:
        if not center_in(c, x0, x1):
            continue
        n = normalize_label(c.text)
        stage = next((s for s in spec.stages if any(lab == n or lab in n for lab in s.norm_labels)), None)
        if stage is not None:
            named.append((stage, c))
    if len(named) < 2 or any(c.text.strip() and not any(c is n[1] for n in named)
                             for c in cells if center_in(c, x0, x1)):
        return False
    others = [c for c in cells if not center_in(c, x0, x1) and c.text.strip()]
    if others and not all(_is_header_text(st, a.spec, c) for c in others):
        return False
    a.stage_ranges = {stage.key: (c.bbox[0], c.bbox[2]) for stage, c in named}
    st.ledger.claim_all(cells, "header", a.spec.key)
    return True


def _is_header_text(st: State, spec: TableSpec, c: Cell) -> bool:
    n = normalize_label(c.text)
    return any(n in col.norm_labels for col in spec.columns) or n in st.ctx.sections


# ------------------------------------------------------------------ data rows


def fit(a: ActiveTable, cells: list[Cell]) -> float:
    """How well a row's cells stand in the header's columns: the share of its
    cells (with text, starting in this row) that lie alone inside one column."""
    cs = [c for c in cells if c.text.strip() and (c.bbox[0] + c.bbox[2]) / 2 >= a.left - 1]
    if not cs:
        return 1.0
    bounds = [(x0, x1) for _, x0, x1 in a.columns] + [(x0, x1) for _, x0, x1 in a.unknown]
    where = []
    for c in cs:
        inside = [k for k, (x0, x1) in enumerate(bounds) if c.bbox[0] >= x0 - 3 and c.bbox[2] <= x1 + 3]
        where.append(inside[0] if inside else None)
    alone = sum(1 for k in where if k is not None and where.count(k) == 1)
    return alone / len(cs)


def better_table(st: State, cells: list[Cell]) -> ActiveTable | None:
    """The table whose header the row fits when it does not fit the active one
    (a spreadsheet repeats one table's header rows on every printed page, over
    the rows of another table that goes on)."""
    a = st.cur.active
    mine = fit(a, cells)
    if mine >= 0.8:
        return None
    best, score = None, mine
    for other in st.cur.headers.values():
        if other is a or other.spec is a.spec:
            continue
        f = fit(other, cells)
        if f >= 0.8 and f > score:
            best, score = other, f
    return best


def deinterleave(text: str, label: str) -> str | None:
    """A cell where a repeated header row was printed over a merged value cell
    (`一效级益指目标标` = 一级目标 over 效益指标): the value, once the header's
    characters are taken out in order; None when the label is not in it."""
    t = re.sub(r"\s+", "", text)
    out, k = [], 0
    for ch in t:
        if k < len(label) and ch == label[k]:
            k += 1
        else:
            out.append(ch)
    return "".join(out) if k == len(label) and out else None


def _doubt_carried_tail(st: State, spec: TableSpec, keys: list[str]) -> None:
    """A merged cell whose text is printed under a repeated header at the top of
    a page began on the page before: the rows there that carried the value
    from above may belong to it. Every row at the end of the table that carried
    its value down is flagged."""
    rows = st.out.rows.get(spec.key) or []
    for key in keys:
        i = len(rows) - 1
        while i > 0 and key in rows[i] and rows[i][key] is rows[i - 1].get(key):
            i -= 1
        for j in range(i + 1, len(rows)):
            rows[j][key] = _doubted(rows[j][key], "a merged cell cut by the page break prints its text on the "
                                                  "next page: this row may belong to it")


def _doubted(raw: Raw, why: str) -> Raw:
    out = _joined(raw, Raw("", raw.page, raw.bbox))
    out.flags = out.flags + [Flag("low_confidence", why)]
    return out


def floating_value(st: State, line) -> bool:
    """A free line standing inside a merged column of the table being read (its
    cell's rules lost): the value the next rows carry down, in doubt."""
    a = st.cur.active
    cx = (line.bbox[0] + line.bbox[2]) / 2
    col = next((c for c, x0, x1 in a.columns if x0 <= cx <= x1 and c.key in a.spec.carry_down), None)
    if col is None or not line.text.strip():
        return False
    raw = Raw.of_line(line, line.text.strip(), label=a.printed.get(col.key, col.labels[0]), rule="floating")
    raw.flags = raw.flags + [Flag("low_confidence", "read from text standing inside the table, its cell's "
                                                    "rules lost")]
    a.overprinted[col.key] = raw
    st.ledger.claim(line, "value", f"{a.spec.key}[].{col.key}")
    _doubt_carried_tail(st, a.spec, [col.key])
    return True


def repeated_header(st: State, cells: list[Cell]) -> bool:
    """A data row that is the active table's header printed again with merged
    value cells under it (the header's text interleaved with theirs): each cell's
    value is taken out of it, the rest of the row is claimed as header."""
    a = st.cur.active
    hits, values = 0, {}
    for c in cells:
        if not c.text.strip():
            continue
        for col, x0, x1 in a.columns:
            if not overlap(c, x0, x1) > 0.5:
                continue
            # the header as this table prints it first, then the template's spellings
            labels = ([normalize_label(a.printed[col.key])] if col.key in a.printed else []) + col.norm_labels
            n = normalize_label(c.text)
            if n in labels:
                hits += 1
            else:
                rests = [v for lab in labels if (v := deinterleave(n, lab))]
                vocab = a.spec.vocab.get(col.key, [])
                rest = next((v for v in rests if v in vocab), rests[0] if rests else None)
                if rest:
                    hits += 1
                    values[col.key] = (c, rest)
            break
    if hits < 2:
        return False
    st.ledger.claim_all([c for c in cells if c.text.strip()], "header", a.spec.key)
    _doubt_carried_tail(st, a.spec, list(values))
    a.overprinted = {k: Raw.of([c], text=v, rule="header-overprint") for k, (c, v) in values.items()}
    for raw in a.overprinted.values():
        raw.confidence = min(raw.confidence, 0.75)  # read out of two texts printed over each other
    return True


def data_cells(st: State, cells: list[Cell]) -> list[Cell]:
    a = st.cur.active
    out = []
    for c in cells:
        if normalize_label(c.text) in st.ctx.sections:
            st.ledger.claim(c, "section")
            continue
        if (c.bbox[0] + c.bbox[2]) / 2 >= a.left - 1:
            out.append(c)
    return out


def is_data_row(st: State, cells: list[Cell]) -> bool:
    """A row under the table's header, unless it starts with a field label
    (also left of the table's columns: the row after the table)."""
    a = st.cur.active
    inside = [c for c in cells if (c.bbox[0] + c.bbox[2]) / 2 >= a.left - 1
              and normalize_label(c.text) not in st.ctx.sections]
    if not inside:
        return False
    named = [c for c in cells if c.text.strip() and normalize_label(c.text) not in st.ctx.sections]
    if not named:
        return False
    first = named[0]
    m = st.ctx.top.match(first.text, fuzzy=is_ocr(first), core=True)
    return m is None or m.score < 1.0 and len(first.text) > 12


def total_row(st: State, cells: list[Cell]) -> bool:
    a = st.cur.active
    spec = a.spec
    if not spec.total:
        return False
    data = data_cells(st, cells)
    labels = [normalize_label(x) for x in spec.total.labels]

    def is_label(c: Cell) -> bool:  # 金额合计, also with a stray glyph beside it
        n = normalize_label(c.text)
        return any(lab in n and len(n) <= len(lab) + 3 for lab in labels) and not re.search(r"\d", n)

    if not any(is_label(c) for c in data[:2]):
        return False
    for c in data:
        if is_label(c):
            st.ledger.claim(c, "label", spec.total.key)
    col = next((c for c in a.columns if c[0].key == spec.total.column), None)
    if col is None:  # the header's amount column was not read (a scan)
        st.out.findings.flag(spec.total.key, "not_found", "its column header was not found; left empty",
                             where=Raw.of(data))
        st.cur.active = None
        return True
    vals = [c for c in data if overlap(c, col[1], col[2]) > 0.5 and not is_label(c)]
    if vals:
        raw = Raw.of(vals, label=spec.total.labels[0], rule="total")
        st.out.totals[spec.total.key] = raw
        st.out.found_labels.add(spec.total.key)
        st.ledger.claim_all(vals, "value", spec.total.key)
    # the other cells of the total row (---- placeholders) are part of it
    st.ledger.claim_all([c for c in data if c.text.strip()], "boilerplate")
    st.cur.active = None  # the total closes the table
    return True


def data_row(st: State, cells: list[Cell], continuing: bool = False) -> None:
    a = st.cur.active
    spec = a.spec
    data = data_cells(st, cells)
    row: dict[str, Raw] = {}
    for col, x0, x1 in a.columns:
        if col.type == "stages":
            stage_cells = [c for c in data if overlap(c, x0, x1) > 0.5 or center_in(c, x0, x1)]
            row.update(_stages(st, col, stage_cells))
            continue
        mine = [c for c in data if overlap(c, x0, x1) > 0.5]
        if mine:
            row[col.key] = Raw.of(mine, label=a.printed.get(col.key, col.labels[0]), rule="table")
    used = {id(c) for r in row.values() for c in r.sources}
    unknown: dict[str, Raw | None] = {}
    for text, x0, x1 in a.unknown:
        mine = [c for c in data if overlap(c, x0, x1) > 0.5 and id(c) not in used]
        unknown[text] = Raw.of(mine, label=text, rule="table-extra") if mine else None
    if spec.key in st.cur.heading:
        row["table"] = st.cur.heading[spec.key]
    rows = st.out.rows.setdefault(spec.key, [])
    # the rest of a row cut by a page break, or (in a scan) by a stray rule
    # found where the paper has none
    ocr = any(is_ocr(c) for c in data)
    if (continuing or ocr) and rows and _split_row(spec, row, rows[-1], page_top=continuing):
        i = len(rows) - 1
        for key, raw in row.items():
            prev = rows[-1].get(key)
            if prev is None:
                rows[-1][key] = raw
            elif raw.text.strip() and not key.startswith("stages.") and key != "table":
                rows[-1][key] = _joined(prev, raw)
            _claim_cell_values(st, spec, i, key, raw)
        _add_unknown(st, spec.key, unknown, i, join=True)
        return
    for key, raw in list(a.overprinted.items()):  # a merged value printed under a repeated header
        if key in spec.carry_down and not (row.get(key) and row[key].text.strip()):
            row[key] = raw
    a.overprinted = {}
    if rows and st.cur.last_block.get(spec.key) == a.block:
        for key in spec.carry_down:  # merged cells, within one printed table only
            if not (row.get(key) and row[key].text.strip()) and key in rows[-1]:
                row[key] = _carried(rows[-1][key], row.get(key), page_top=continuing)
    known = any(r.text.strip() for k, r in row.items() if k != "table")
    if continuing and rows and not known and any(r is not None and r.text.strip() for r in unknown.values()):
        _add_unknown(st, spec.key, unknown, len(rows) - 1, join=True)  # the rest of a cut row's extra cells
        return
    if spec.require and not any(row.get(k) and row[k].text.strip() for k in spec.require):
        return  # no row of the table (a sub-header, a 小计 row): its text stays for the accounting pass
    rows.append(row)
    st.cur.last_block[spec.key] = a.block
    i = len(rows) - 1
    for key, raw in row.items():
        _claim_cell_values(st, spec, i, key, raw)
    _add_unknown(st, spec.key, unknown, i)


def _carried(above: Raw, own: Raw | None, page_top: bool) -> Raw:
    """The value of a merged cell carried down into a row. When the row has an
    empty cell of its own there (a separate rectangle, not the merged cell
    reaching down), or no cell at all (a hole in the grid), the merged text may
    be printed elsewhere — a spreadsheet
    prints a merged cell cut by a page break in the middle of its rows — so the
    carried value is in doubt, except in the first row of a new page, where a
    renderer leaves the rest of a cut cell empty."""
    if page_top or (own is not None and own.sources
                    and {id(c) for c in own.sources} <= {id(c) for c in above.sources}):
        return above  # the merged cell reaching down, or the empty rest of one on a new page
    return _doubted(above, "carried down over an empty cell of its own: the merged text may be printed "
                           "elsewhere")


def _claim_cell_values(st: State, spec: TableSpec, i: int, key: str, raw: Raw) -> None:
    if key == "table":
        return
    # a merged cell carried down stands for every row it spans: one claim for them all
    row = "[]" if key in spec.carry_down else f"[{i}]"
    st.ledger.claim_all(raw.sources, "value", f"{spec.key}{row}.{key}")


def _add_unknown(st: State, table: str, unknown: dict[str, Raw | None], i: int, join: bool = False) -> None:
    """The values of header cells that name no column: `extra[<header>]`, a list
    in the printed table's row order (a second printed table with the same
    header: `extra[<header> (2)]`); the accounting pass names it for review."""
    cur = st.cur
    block = cur.active.block if cur.active else 0
    start = cur.block_start.setdefault((table, block), i)
    i -= start
    for header, raw in unknown.items():
        key = cur.extra_keys.get((table, block, normalize_label(header)))
        if key is None:
            base = normalize_label(header)
            n = sum(1 for (t, _, h) in cur.extra_keys if t == table and h == base) + 1
            key = base if n == 1 else f"{base} ({n})"
            cur.extra_keys[(table, block, base)] = key
        col = st.out.extra_columns.setdefault(key, [])
        if raw is not None:
            st.ledger.claim_all(raw.sources, "extra", f"extra.{key}")
        if join and col:
            if raw is not None:
                col[-1] = raw if col[-1] is None else _joined(col[-1], raw)
            continue
        while len(col) < i:
            col.append(None)
        col.append(raw)


def _joined(prev: Raw, raw: Raw) -> Raw:
    out = Raw(prev.text, prev.page, prev.bbox, prev.confidence, prev.method, prev.label_score,
              prev.unit, list(prev.flags), prev.label, prev.rule, list(prev.sources))
    out.extend(raw)
    return out


def _stages(st: State, col: ColumnSpec, cells: list[Cell]) -> dict[str, Raw]:
    """Stage cells (立项和计划阶段 √ …): which stage each names, ticked or not.
    The header 保障阶段 may span the stage columns, each stage may have its own
    column, or the stage names stand in a second header row over mark columns."""
    out: dict[str, Raw] = {}
    ranges = getattr(st.cur.active, "stage_ranges", None)
    if ranges:
        for stage in col.stages:
            x = ranges.get(stage.key)
            mine = [c for c in cells if x and overlap(c, x[0], x[1]) > 0.5]
            if mine:
                out[f"stages.{stage.key}"] = Raw.of(mine, label=stage.labels[0], rule="mark-column")
        return out
    idx = LabelIndex(col.stages)
    unnamed = []
    for c in cells:
        named: FieldSpec | None = None
        n = normalize_label(c.text)
        for stage in col.stages:
            if any(lab in n for lab in stage.norm_labels):
                named = stage
                break
        if named is None:
            m = idx.match(c.text, fuzzy=True, core=True)
            named = m.spec if m else None
        if named is None:
            unnamed.append(c)
            continue
        out[f"stages.{named.key}"] = Raw.of([c], label=named.labels[0], rule="stage-cell")
    free = [stage for stage in col.stages if f"stages.{stage.key}" not in out]
    for stage, c in zip(free, unnamed):
        out[f"stages.{stage.key}"] = Raw.of([c], label=stage.labels[0], rule="stage-order")
    return out


def _split_row(spec: TableSpec, row: dict[str, Raw], prev: dict[str, Raw], page_top: bool = False) -> bool:
    """A row lacking every value that each real row has (the template's
    `whole_row`, e.g. 明细金额) while the row before has them is the rest of that
    row, cut by the page break (or, in a scan, by a stray rule). At the top of a
    page, a row lacking any of the columns every row fills itself (whole_row and
    require, but for merged columns carried down) is such a rest too: a word
    processor cuts a row mid-cell (`≥800` | `人`)."""
    if not spec.whole_row:
        return False

    def filled(r, k):
        return k in r and r[k].text.strip() != ""
    if not any(filled(row, k) for k in row if k != "table"):
        return False
    if page_top:
        own = [k for k in dict.fromkeys(spec.whole_row + spec.require) if k not in spec.carry_down]
        return not all(filled(row, k) for k in own) and all(filled(prev, k) for k in own)
    return not any(filled(row, k) for k in spec.whole_row) and all(filled(prev, k) for k in spec.whole_row)
