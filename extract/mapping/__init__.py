"""Cells + template → raw fields, as a chain of small passes over the page model.

    segment.py   the document stream → declarations; which template fits each
    labels.py    printed text → the label it prints (exact, bracket-free, core term, OCR)
    walk.py      row by row, the regions of a declaration:
                   lines.py   free lines: title, year, 填报单位, 金额单位, headings
                   tables.py  header rows, data rows, totals, stage marks
                   kv.py      label/value rows and groups
    account.py   every printed span accounted for (field, label, boilerplate, extra,
                 or review); expected fields not found; values holding other labels
Values stay raw text here, each with where it came from (model.Raw); record.py
normalizes them. To follow one field from page to record, read walk.py, then
the pass it names, then record.py.
"""

from __future__ import annotations

from ..template import Template
from .account import account
from .labels import LabelIndex, Match, fuzzy_pick, ocr_label_keys
from .ledger import Ledger
from .lines import ocr_year_line
from .model import Mapped, Raw
from .segment import Segment, detect_variant, lookalike, split_declarations, stream, title_part
from .state import Context, State
from .walk import walk

__all__ = ["Mapped", "Raw", "Segment", "LabelIndex", "Match", "detect_variant", "lookalike", "map_segment",
           "split_declarations", "stream", "title_part", "fuzzy_pick", "ocr_label_keys", "ocr_year_line"]


def map_segment(seg: Segment, template: Template) -> Mapped:
    """One declaration's segment → its raw fields, every printed span accounted for."""
    st = State(ctx=Context.of(template), out=Mapped(template=template), ledger=Ledger(seg.items))
    walk(st, seg.items)
    account(st)
    st.out.pages = seg.pages
    return st.out
