"""Pass 3c: free lines (text outside the grids) → the form's title, year,
填报单位, 金额单位, table headings and known boilerplate."""

from __future__ import annotations

import re
import unicodedata

from ..layout import Cell, TextLine
from ..normalize import normalize_label, parse_amount_unit, parse_year
from ..review import Flag
from .model import Raw
from .segment import title_part
from .state import State

YEAR_LINE_RE = re.compile(r"^[（(]?\s*\d{4}\s*年度?\s*[)）]?$")
_SEAL_NOTE = re.compile(r"^[（(《〔【]\s*([^\s）)》】〕：:]{0,4})\s*[)）》】〕1lI|]?")


def feed_line(st: State, line: TextLine) -> None:
    text = line.text.strip()
    out, ledger = st.out, st.ledger
    if heading(st, normalize_label(text), Raw.of_line(line, text, rule="heading"), line):
        return
    part = title_part(text, [st.ctx.t])
    if part is not None:
        st.cur.active = None
        out.header.setdefault("title", Raw.of_line(line, text, rule="title"))
        y = parse_year(text)
        if y:
            out.header.setdefault("year", Raw.of_line(line, str(y), rule="title"))
        ledger.claim(line, "title")
        return
    if YEAR_LINE_RE.match(normalize_label(text) or ""):
        out.header.setdefault("year", Raw.of_line(line, normalize_label(text), rule="year-line"))
        ledger.claim(line, "title", "form.year")
        return
    year = ocr_year_line(text) if line.method.startswith("ocr") else None
    if year:  # (20:15年): OCR broke the digits of the year line
        raw = Raw.of_line(line, year, rule="year-line")
        raw.confidence = min(raw.confidence, 0.85)
        out.header.setdefault("year", raw)
        ledger.claim(line, "title", "form.year")
        return
    pairs = split_labeled(text, st.ctx.t.header, st.ctx.t.seal_words)
    stray = _stray_prefix(text, pairs, line)
    if stray is not None:  # OCR read a speck or a seal's edge before the label (财填报单位：…)
        line = TextLine(text=line.text, bbox=line.bbox, page=line.page, confidence=line.confidence,
                        method=line.method, flags=list(line.flags) + [
                            Flag("low_confidence", f"'{stray}' read before the label: check the value")])
    for label, value, printed in pairs:
        if label == "amount_unit":
            unit = parse_amount_unit(value.lstrip("：: ")) or parse_amount_unit(text)
            if unit:
                out.header.setdefault("amount_unit", Raw.of_line(line, unit, label=printed, rule="header-line"))
        elif value or label == "filing_unit":
            out.header.setdefault(label, Raw.of_line(line, value, label=printed, rule="header-line"))
    if pairs and (_covers_line(text, pairs) or stray is not None):
        ledger.claim(line, "value", "form.header")
        return
    if st.ctx.is_boilerplate(text):
        ledger.claim(line, "boilerplate")


def _stray_prefix(text: str, pairs, line: TextLine) -> str | None:
    """One or two characters before the first label of an OCR'd line (a speck,
    the edge of a seal or of the title read as text): the text, else None."""
    if not pairs or not line.method.startswith("ocr") or _covers_line(text, pairs):
        return None
    first = min(text.find(p) for _, _, p in pairs)
    head = normalize_label(text[:first])
    return head if 0 < len(head) <= 2 else None


def _covers_line(text: str, pairs) -> bool:
    """The labelled pairs found account for the whole line (nothing but marks
    printed before the first label: OCR may read a speck as ·)."""
    first = min(text.find(p) for _, _, p in pairs)
    return first >= 0 and not re.sub(r"[\W_]+", "", normalize_label(text[:first]))


def heading(st: State, norm: str, raw: Raw, span=None) -> bool:
    """A printed table heading (长期绩效指标 / 年度绩效指标): the rows that
    follow belong to it, and merged cells do not carry over it."""
    hit = st.ctx.headings.get(norm)
    if hit is None:
        bare = re.sub(r"[（(【\[][^（）()【】\[\]]*[)）】\]]", "", norm)
        hit = st.ctx.headings.get(bare)
    if hit is None:
        return False
    cur = st.cur.heading.get(hit[0])
    if cur is not None and _heading_rank(st, hit) < _heading_rank(st, (hit[0], cur.text)):
        # an earlier table's heading after a later one's: a spreadsheet's print
        # titles repeat it at the top of every page; the rows go on under the later one
        if span is not None:
            st.ledger.claim(span, "heading")
        return True
    raw.text = hit[1]
    late = cur is None and st.cur.active is not None and st.cur.active.spec.key == hit[0]
    if cur is None or cur.text != hit[1]:
        if not late:
            st.cur.block += 1
            if st.cur.active is not None and st.cur.active.spec.key == hit[0]:
                st.cur.active.block = st.cur.block
    st.cur.heading[hit[0]] = raw
    st.cur.heading_fresh = True
    if late:  # printed after the table's first rows (a side label cut by a page break)
        for row in st.out.rows.get(hit[0], [])[st.cur.active.first_row:]:
            if "table" not in row:
                late_raw = Raw(raw.text, raw.page, raw.bbox, raw.confidence, raw.method, rule="heading-late",
                               flags=[Flag("low_confidence", "the table's heading is printed after its first rows")])
                row["table"] = late_raw
    if span is not None:
        st.ledger.claim(span, "heading")
    return True


def _heading_rank(st: State, hit: tuple[str, str]) -> int:
    spec = next((t for t in st.ctx.t.tables if t.key == hit[0]), None)
    return spec.heading.index(hit[1]) if spec and hit[1] in spec.heading else -1


def free_text_cell(st: State, cell: Cell) -> bool:
    """A lone cell holding the form's title (a scan border or an underline
    closed a frame around the lines above the grid): read its lines as the
    free lines they are."""
    lines = [t for t in cell.text.split("\n") if t.strip()]
    if not lines or title_part(lines[0], [st.ctx.t]) is None:
        return False
    st.ledger.claim(cell, "title")
    for t in lines:
        feed_line(st, TextLine(text=t, bbox=cell.bbox, page=cell.page, confidence=cell.confidence,
                               method=cell.method, flags=list(cell.flags)))
    return True


def ocr_year_line(text: str) -> str | None:
    """A short line that is only a year in brackets, as OCR may break it:
    its four digits once the stray marks between them are dropped."""
    t = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))
    if len(t) > 12 or "年" not in t or re.search(r"[\u4e00-\u9fff]", t.replace("年", "").replace("度", "")):
        return None
    digits = re.sub(r"\D", "", t)
    return digits if len(digits) == 4 and 1990 <= int(digits) <= 2100 else None


def split_labeled(text: str, header: dict[str, list[str]], seal_words: str = "盖章签") -> list[tuple[str, str, str]]:
    """A free line holding one or more `label：value` pairs → [(header key,
    value, printed label)]. Every occurrence of every label is a candidate;
    the longest wins where two overlap (单位 inside 填报单位), so
    `填报单位：某中心 单位：万元` gives both pairs."""
    hits = []
    for key, labels in header.items():
        for lab in labels:
            start = 0
            while (i := text.find(lab, start)) >= 0:
                hits.append((i, i + len(lab), key, lab))
                start = i + 1
    hits.sort(key=lambda h: (h[0], -(h[1] - h[0])))
    kept: list[tuple[int, int, str, str]] = []
    for h in hits:
        if kept and h[0] < kept[-1][1]:
            continue  # inside (or overlapping) a longer label found first
        kept.append(h)

    def values(kept):
        for n, (i, j, key, lab) in enumerate(kept):
            end = kept[n + 1][0] if n + 1 < len(kept) else len(text)
            yield key, text[j:end].strip(), lab, i

    # 单位 inside a name (某单位办公室) is not the 金额单位 label: a unit must follow
    kept = [h for h, (key, value, _, i) in zip(kept, values(kept))
            if not (key == "amount_unit" and i > 0 and not parse_amount_unit(value.lstrip("：: ")))]
    out = []
    for key, value, lab, _ in values(kept):
        # the seal note after 填报单位, also as OCR reads it: （盖章） （盖章 （盖1 （章》 （台章）
        m = _SEAL_NOTE.match(value)
        if m and re.search(f"[{re.escape(seal_words)}]", m.group(1)):
            value = value[m.end():].strip()
        out.append((key, value.lstrip("：:").strip(), lab))
    return out
