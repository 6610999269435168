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
    for it in items:
        if isinstance(it, TextLine):
            lines.feed_line(st, it)
        else:
            feed_table(st, it)


def feed_table(st: State, table: Table) -> None:
    cur, ctx = st.cur, st.ctx
    r = 0
    # a table that goes on from the previous page: its first row may be the
    # rest of a row the page break cut in two
    continuing = cur.active is not None and table.page != cur.active.page
    while r < table.n_rows:
        cells = table.row_cells(r)
        if not cells:
            r += 1
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
            lines.heading(st, normalize_label(c.text), Raw.of([c], rule="heading"), c)
        hdr = tables.header_row(st, cells)
        if hdr:
            if not (continuing and cur.active and hdr.spec is cur.active.spec):
                continuing = False
            hdr.block = cur.block
            hdr.page = table.page
            cur.active = hdr
            r += 1
            continue
        if cur.active and tables.stage_subheader(st, cells):
            r += 1
            continue
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
