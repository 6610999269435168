"""Pass 3: the regions of a declaration, read row by row.

Each grid row is one of: a lone title cell (the form's title framed by a scan
border), an approval box (审核意见: never part of the record), a table
heading, a table's header row (or the second row of a two-row header), a row
of the table being read (a data row or its total row), or label/value pairs
(kv.py). A table that goes on from the previous page may begin with the rest
of a row the page break cut."""

from __future__ import annotations

from ..layout import Table, TextLine
from ..normalize import normalize_label
from . import kv, lines, tables
from .model import Raw
from .state import State


def walk(st: State, items) -> None:
    tables_ = [it for it in items if isinstance(it, Table)]
    inside = {id(it): t for it in items if isinstance(it, TextLine) for t in tables_ if _within(it, t)}
    for it in items:
        if isinstance(it, TextLine):
            if id(it) not in inside:
                lines.feed_line(st, it)
        else:
            feed_table(st, it, [ln for ln in items if isinstance(ln, TextLine) and inside.get(id(ln)) is it])


def _within(line: TextLine, table: Table) -> bool:
    """A free line printed inside a table's frame: the text of a merged cell
    whose rules a page break or the converter lost (a side heading, a level-1
    name)."""
    if line.page != table.page:
        return False
    cx, cy = (line.bbox[0] + line.bbox[2]) / 2, (line.bbox[1] + line.bbox[3]) / 2
    x0, t, x1, b = table.bbox
    return x0 < cx < x1 and t < cy < b


def _row_top(cells) -> float:
    return min(c.bbox[1] for c in cells)


def feed_table(st: State, table: Table, floating: list[TextLine] = ()) -> None:
    cur, ctx = st.cur, st.ctx
    r = 0
    floating = sorted(floating, key=lambda ln: ln.bbox[1])
    # a table that goes on from the previous page: its first row may be the
    # rest of a row the page break cut in two
    continuing = cur.active is not None and table.page != cur.active.page
    while r < table.n_rows:
        cells = table.row_cells(r)
        while floating and cells and (floating[0].bbox[1] + floating[0].bbox[3]) / 2 < _row_top(
                [c for c in cells if c.row == r] or cells):
            _floating_line(st, floating.pop(0))
        if not any(c.row == r and c.text.strip() for c in cells):
            r += 1  # nothing starts in this row: it only continues cells spanning from above
            continue
        if len(cells) == 1 and lines.free_text_cell(st, cells[0]):
            r += 1
            continue
        if any(normalize_label(c.text) in ctx.ignore for c in cells):
            # an approval box (审核意见 …): printed, not part of the record
            st.ledger.claim_all([c for c in cells if c.text.strip()], "ignored")
            cur.last_spec = cur.last_group = None  # nor is its rest on the next page
            r += 1
            continue
        for c in cells:
            if c.row == r:  # (a side heading spanning rows is read once, where it begins)
                lines.heading(st, normalize_label(c.text), Raw.of([c], rule="heading"), c)
        if all(normalize_label(c.text) in ctx.sections for c in cells if c.text.strip()):
            r += 1  # a heading or section row: it names what follows, nothing more
            continue
        hdr = tables.header_row(st, cells)
        if hdr:
            if not (continuing and cur.active and hdr.spec is cur.active.spec):
                continuing = False
                if cur.active is not None and cur.active.spec is hdr.spec and hdr.spec.key in cur.heading \
                        and not cur.heading_fresh:
                    # the header printed again mid-page: another printed table of the
                    # kind begins; the heading over the last one no longer holds
                    cur.block += 1
                    cur.heading.pop(hdr.spec.key)
            cur.heading_fresh = False
            hdr.block = cur.block
            hdr.first_row = len(st.out.rows.get(hdr.spec.key, []))
            hdr.page = table.page
            cur.active = cur.headers[hdr.spec.key] = hdr
            r += 1
            continue
        if cur.active and tables.stage_subheader(st, cells):
            r += 1
            continue
        if cur.active and tables.repeated_header(st, cells):
            r += 1
            continue
        if cur.active and (other := tables.better_table(st, [c for c in cells if c.row == r])):
            continuing = continuing or other.page != table.page
            cur.active = other  # the rows of another table go on under this header
        if cur.active and tables.is_data_row(st, cells):
            if not tables.total_row(st, cells):
                tables.data_row(st, cells, continuing=continuing)
            continuing = False
            if cur.active:
                cur.active.page = table.page
            r += 1
            continue
        continuing = False
        cur.active = None
        cur.page_start = r == 0 and table.page != cur.last_page and cur.last_spec is not None
        r = kv.kv_rows(st, table, r)
        cur.page_start = False
    for ln in floating:
        _floating_line(st, ln)


def _floating_line(st: State, line: TextLine) -> None:
    """A line inside a table's frame, read where it stands among the rows: a
    heading; under a merged column of the table being read, the value the
    rows below carry (flagged: its cell's rules were lost); else a free line."""
    a = st.cur.active
    if a is not None and not lines.heading(st, normalize_label(line.text), Raw.of_line(line, line.text), line):
        if tables.floating_value(st, line):
            return
    lines.feed_line(st, line)
