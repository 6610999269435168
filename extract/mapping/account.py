"""Pass 4: account for everything.

Every span of printed text ends in exactly one place: a field value, a label,
the template's known boilerplate, `extra` (a label with a value), or a review
entry `unread_text` with its page and box. Every field the template expects
and the form did not give is a review entry `not_found`. A value that holds
another label's text is split where the split is certain, else named
`suspect_value`. The share of printed characters accounted for is the
record's `source.coverage`."""

from __future__ import annotations

import re

from ..normalize import clean_text, normalize_label
from ..layout import TextLine
from .kv import ENUMERATION
from .model import Raw
from .state import State

_PAIR = re.compile(r"([^\s：:，,。；;]{2,16}?)\s*[：:]\s*")
_UNREAD_SHOWN = 80  # characters of unread text quoted in the review entry


def account(st: State) -> None:
    _header_in_extra(st)
    _leftover_spans(st)
    _embedded_labels(st)
    _suspect_values(st)
    _shared_spans(st)
    _tables_to_extra(st)
    _extra_columns(st)
    _expected(st)
    _expected_header(st)
    _tables(st)
    st.out.coverage = st.ledger.coverage()


def _header_in_extra(st: State) -> None:
    """A form header item (填报单位) printed as a label cell of a table instead
    of a free line went to extra as an unknown label: it is the header item."""
    labels = {normalize_label(lab): key for key, labs in st.ctx.t.header.items() for lab in labs}
    for label in list(st.out.extra):
        raw = st.out.extra[label]
        key = labels.get(normalize_label(label))
        if isinstance(raw, Raw) and key == "filing_unit" and key not in st.out.header:
            st.out.header[key] = raw
            del st.out.extra[label]


def _names_of_the_form(st: State) -> None:
    """Free lines that together print a section label, a heading or a total
    label (`项目构成` over `分解`: a side label whose cell's rules were lost)."""
    known = set(st.ctx.sections) | {normalize_label(x) for t in st.ctx.t.tables if t.total
                                    for x in t.total.labels}
    lines = sorted((s for s in st.ledger.unclaimed() if isinstance(s, TextLine)),
                   key=lambda s: (s.page, s.bbox[1]))
    i = 0
    while i < len(lines):
        group = [lines[i]]
        while i + len(group) < len(lines) and _stacked(group[-1], lines[i + len(group)]) and len(group) < 4:
            group.append(lines[i + len(group)])
        for n in range(len(group), 0, -1):
            if normalize_label("".join(s.text for s in group[:n])) in known:
                st.ledger.claim_all(group[:n], "section")
                i += n - 1
                break
        i += 1


def _stacked(a: TextLine, b: TextLine) -> bool:
    h = max(a.bbox[3] - a.bbox[1], 1.0)
    return a.page == b.page and 0 <= b.bbox[1] - a.bbox[3] < h * 1.5 and \
        min(a.bbox[2], b.bbox[2]) > max(a.bbox[0], b.bbox[0])


def _leftover_spans(st: State) -> None:
    _names_of_the_form(st)
    for span in st.ledger.unclaimed():
        text = span.text.strip()
        if st.ctx.is_boilerplate(text):
            st.ledger.claim(span, "boilerplate")
            continue
        pairs = labeled_pairs(text)
        if pairs:
            for label, value in pairs:
                m = st.ctx.top.match(label, fuzzy=span.method.startswith("ocr"))
                raw = Raw(value, span.page, span.bbox, span.confidence, span.method,
                          flags=list(span.flags), label=label, rule="leftover", sources=[span])
                if m is not None and m.spec.key and m.score >= 1.0 and not m.spec.subfields:
                    if m.spec.key not in st.out.fields:
                        st.set(m.spec, raw)
                        continue
                known = normalize_label(label) in st.ctx.extra_labels or (m is not None and not m.spec.key)
                st.extra(label, raw, known=known)
            continue
        shown = re.sub(r"\s+", " ", text)
        if len(shown) > _UNREAD_SHOWN:
            shown = shown[:_UNREAD_SHOWN - 1] + "…"
        st.out.findings.flag(None, "unread_text", shown, where=span,
                             warning=f"page {span.page}: printed text read into no field: {shown}")


def labeled_pairs(text: str) -> list[tuple[str, str]]:
    """`填表人：张敏  填报日期：2016年11月20日` → [(填表人, 张敏), (填报日期, 2016年11月20日)];
    [] when the text does not start with a label and a colon."""
    t = text.strip()
    ms = list(_PAIR.finditer(t))
    if not ms or ms[0].start() != 0:
        return []
    out = []
    for n, m in enumerate(ms):
        end = ms[n + 1].start() if n + 1 < len(ms) else len(t)
        value = t[m.end():end].strip()
        out.append((m.group(1), value))
    # a colon inside a value (a time 10:30) is not a new pair: keep pairs whose label is no number
    return [(lab, v) for lab, v in out if not re.fullmatch(r"[\d.]+", lab)]


# fields whose values are short names or numbers: another label inside one is
# text of a neighbouring cell (free text and project names may name anything)
_SHORT_FIELDS = ("project.department", "project.implementer", "project.manager", "project.contact",
                 "project.phone", "project.nature", "project.start_date", "project.end_date")


def _embedded_labels(st: State) -> None:
    """A text value with another field's label and a colon printed inside it,
    after a sentence or at a line start (`《…》。可行性：县乡村…`: two sub-fields
    that a word processor ran into one cell). When that field has no value the
    value is split there (flagged when words precede the label: 项目实施的可行性),
    else the value is suspect."""
    t = st.ctx.t
    specs = {s.key: s for f in t.fields for s in f.walk() if s.key and (s.type in (None, "text"))}
    by_label: dict[str, str] = {}  # printed label → its field
    by_norm: dict[str, str] = {}  # the same, normalized
    for key, spec in specs.items():
        for lab in spec.labels:
            if len(normalize_label(lab)) >= 2:
                by_label.setdefault(lab, key)
                by_norm.setdefault(normalize_label(lab), key)
    if not by_label:
        return
    alt = "|".join(r"\s*".join(map(re.escape, lab)) for lab in sorted(by_label, key=len, reverse=True))
    rx = re.compile(rf"(?:^|(?<=[。；;！!？?\n]))\s*{ENUMERATION}\s*([\u4e00-\u9fff]{{0,6}}?)({alt})\s*[：:]")
    todo = list(st.out.fields)
    while todo:
        key = todo.pop(0)
        raw = st.out.fields[key]
        if key not in specs or not raw.text.strip():
            continue
        for m in rx.finditer(raw.text):
            if not raw.text[:m.start()].strip():
                continue  # the value begins with a label: _suspect_values names it
            other = by_norm.get(normalize_label(m.group(2)), "")
            if not other or other == key:
                continue
            target = st.out.fields.get(other)
            if target is not None and target.text.strip():
                st.out.findings.flag(key, "suspect_value", f"the value holds the label '{m.group(2)}' and a "
                                     "colon, and that field has a value of its own", where=raw)
                break
            head, rest = raw.text[:m.start()].rstrip(), raw.text[m.end():].strip()
            printed = (m.group(1) + m.group(2)).strip()
            raw.text = head
            new = Raw(rest, raw.page, raw.bbox, raw.confidence, raw.method, label_score=raw.label_score,
                      flags=list(raw.flags), label=printed, rule="inline-split", sources=list(raw.sources))
            st.out.fields[other] = new
            st.out.specs[other] = specs[other]
            st.out.found_labels.add(other)
            if m.group(1):
                st.out.findings.flag(other, "suspect_value", f"split from {key} at '{printed}：' (words before "
                                     f"the label '{m.group(2)}')", where=new)
            todo.append(other)  # the rest may hold more
            break


def _suspect_values(st: State) -> None:
    """A value holding another label's text (`坝塘镇主管部门编码`): named for
    review."""
    labels = sorted({lab for lab in st.ctx.top.keys if len(lab) >= 3}, key=len, reverse=True)
    values = [(k, st.out.fields.get(k)) for k in _SHORT_FIELDS]
    values += [(f"form.{k}", st.out.header.get(k)) for k in ("filing_unit",)]
    values += [(k, raw) for k, raw in st.out.fields.items() if k.startswith("funding.")]
    flagged = set()
    for key, raw in values:
        if raw is None or not raw.text.strip():
            continue
        spec = st.out.specs.get(key)
        own = set(spec.norm_labels) if spec else set()
        flat = normalize_label(raw.text)
        for lab in labels:
            if lab not in flat or flat == lab or (lab in own and not flat.find(lab, 1) > 0):
                continue  # (its own label: only printed again inside the value)
            st.out.findings.flag(key, "suspect_value",
                                 f"the value '{raw.text.strip()[:40]}' holds the label '{lab}'", where=raw)
            flagged.add(key)
            break
    # a header value holding another header item's label and a colon (某中心 单位：万元)
    for key, raw in st.out.header.items():
        others = [lab for k, labs in st.ctx.t.header.items() if k != key for lab in labs]
        bare = re.sub(r"\s+", "", raw.text or "")
        lab = next((lab for lab in others if re.search(re.escape(lab) + r"[：:]", bare)), None)
        if lab and key in ("filing_unit", "project_name"):
            st.out.findings.flag(f"form.{key}" if key == "filing_unit" else "project.name", "suspect_value",
                                 f"the value '{raw.text.strip()[:40]}' holds the label '{lab}'", where=raw)
    # a value holding a table's column headers or stage names (无√文件名称具体措施,
    # 考评结果与运营补贴挂钩立项和计划阶段√): the text of neighbouring cells
    heads: dict[str, set[str]] = {}  # header label → the columns it heads ("" for stage names)
    for spec in st.ctx.t.tables:
        for col in spec.columns:
            for lab in col.labels:
                if len(normalize_label(lab)) >= 2:
                    heads.setdefault(normalize_label(lab), set()).add(f"{spec.key}.{col.key}")
            for stage in col.stages:
                for lab in stage.labels:
                    if len(normalize_label(lab)) >= 4:
                        heads.setdefault(normalize_label(lab), set()).add("")
    cells = [(k, raw, k) for k, raw in st.out.fields.items() if k not in flagged]
    for key, rows in st.out.rows.items():
        for i, row in enumerate(rows):
            cells += [(f"{key}[{i}].{c}", raw, f"{key}.{c}") for c, raw in row.items()
                      if c != "table" and not c.startswith("stages.") and raw is not None]
    for path, raw, column in cells:
        flat = normalize_label(raw.text)
        lab = next((lab for lab, cols in heads.items() if lab in flat and
                    (column not in cols and flat != lab and len(lab) >= 4
                     or column in cols and flat in (lab, lab * 2))), None)
        if lab:
            st.out.findings.flag(path, "suspect_value", f"the value '{raw.text.strip()[:40]}' holds the header "
                                 f"'{lab}' of a neighbouring cell", where=raw)
            flagged.add(path)
    # a value that is only a piece of a label (主体活动…和对应产出的详细描述 wrapped
    # over two lines: its second line read as the value)
    every = {normalize_label(x) for f in st.ctx.t.fields for sp in f.walk() for x in sp.labels}
    for key, raw in st.out.fields.items():
        flat = normalize_label(raw.text)
        if key in flagged or len(flat) < 3 or "[]" in key:
            continue
        lab = next((lab for lab in every if flat in lab and flat != lab), None)
        if lab:
            st.out.findings.flag(key, "suspect_value", f"the value '{raw.text.strip()[:40]}' is a piece of the "
                                 f"label '{lab}'", where=raw)
            flagged.add(key)
    # a value that begins with its own label (the scan merged label and value), or
    # with another label and a colon (a neighbour's label and value)
    long_labels = [lab for lab in labels if len(lab) >= 4]
    for key, raw in st.out.fields.items():
        spec = st.out.specs.get(key)
        if key in flagged or not raw.text.strip() or spec is None:
            continue
        flat = normalize_label(raw.text)
        bare = re.sub(r"\s+", "", raw.text)
        lab = next((lab for lab in spec.norm_labels if len(lab) >= 4 and flat.startswith(lab) and flat != lab),
                   None)
        lab = lab or next((lab for lab in long_labels if re.match(re.escape(lab) + r"[：:]", bare)), None)
        if lab:
            st.out.findings.flag(key, "suspect_value", f"the value begins with the label '{lab}'", where=raw)


def _shared_spans(st: State) -> None:
    """One printed cell read into two fields (a rule the scan lost merged two
    cells, or two rows of a table): both are in doubt."""
    for span, paths in st.ledger.shared():
        if all(getattr(st.out.fields.get(p), "rule", "") == "inline-split" for p in paths):
            continue  # sub-fields printed in one cell, each after its label: a certain split
        for path in paths:
            if "[]" in path:
                continue  # a merged cell carried down over the rows it spans
            others = [p for p in paths if p != path]
            st.out.findings.flag(path, "suspect_value",
                                 f"its text was also read into {', '.join(others[:3])}", where=span)


def _tables_to_extra(st: State) -> None:
    """A table the record has no list for (实施进度): each printed column into
    `extra` under its printed header, as the list of its values in row order."""
    for spec in st.ctx.t.tables:
        rows = st.out.rows.pop(spec.key, None) if spec.to_extra else None
        if not rows:
            continue
        for col in spec.columns:
            label = next((r[col.key].label for r in rows if col.key in r and r[col.key].label), None)
            if label is None:
                continue
            values = [r.get(col.key) for r in rows]
            st.out.extra.setdefault(normalize_label(label), values)


def _extra_columns(st: State) -> None:
    """Table columns no record key has: each into `extra` as the list of its
    values, and named for review (a column the template does not know)."""
    for key, col in st.out.extra_columns.items():
        if not any(r is not None and r.text.strip() for r in col):
            continue
        first = next(r for r in col if r is not None)
        st.out.extra.setdefault(key, col)
        st.out.findings.flag(f"extra.{key}", "low_confidence",
                             f"column '{key}' is not in the template; its values are kept in extra",
                             where=first)


def _expected(st: State) -> None:
    """Fields and tables the template expects that the form did not give."""
    out, t = st.out, st.ctx.t
    for path in t.expected_paths():
        if path.startswith("extra."):
            if path[6:] not in out.extra:
                out.findings.flag(path, "not_found", "the template expects this label; the form gave nothing")
            continue
        raw = out.fields.get(path)
        spec = out.specs.get(path)
        if path in out.found_labels or raw is not None:
            if raw is not None and not raw.text.strip() and spec is not None \
                    and (spec.type != "choice" or raw.method.startswith("ocr")) \
                    and path != getattr(spec, "end_key", None):
                out.findings.flag(path, "not_found", "its label is printed, but no value was read", where=raw)
            continue
        if any(_range_end(s, path) for s in out.specs.values()):
            continue  # the end date of a range printed under the start's label
        out.findings.flag(path, "not_found", "the template expects this field; the form gave nothing")
    for spec in t.tables:
        if spec.optional or out.rows.get(spec.key):
            continue
        out.findings.flag(spec.key, "not_found", "table not found", warning=f"{spec.key}: table not found")
    if "year" not in out.header:
        out.findings.flag("form.year", "not_found", "the form's year line was not found")


def _expected_header(st: State) -> None:
    out = st.out
    for key in st.ctx.t.expect_header:
        if key == "amount_unit":
            if "amount_unit" not in out.header and out.label_unit is None:
                out.findings.flag("form.amount_unit", "not_found", "no 金额单位 was found (line or label)")
        elif key not in out.header:
            out.findings.flag(f"form.{key}", "not_found", f"the {key} line was not found")
        elif not clean_text(out.header[key].text) and out.header[key].method.startswith("ocr"):
            # 填报单位（盖章）： read off a scan, the unit's name (under the
            # seal) not; a text layer's empty line is an empty line (many
            # forms leave the unit to the stamp)
            out.findings.flag(f"form.{key}", "not_found", f"the {key} line was read, but no value on it",
                              where=out.header[key])


def _tables(st: State) -> None:
    """Per table read: every row has the columns the template expects, the
    heading over it where the form prints several tables, and its total row."""
    out, t = st.out, st.ctx.t
    for spec in t.tables:
        rows = out.rows.get(spec.key) or []
        if not rows:
            if spec.total and not spec.optional and spec.total.key not in out.totals:
                out.findings.flag(spec.total.key, "not_found", "neither the table nor its total row was found",
                                  warning=False)
            continue
        ocr = any(r.method.startswith("ocr") for row in rows for r in row.values())
        for col in spec.columns:
            if col.optional or col.type == "stages":
                continue
            # a cell under the column read empty: in a scan, or where merged cells
            # should have carried a value down, it is a value lost
            empty_is_lost = ocr or col.key in spec.carry_down
            missing = [i for i, row in enumerate(rows) if col.key not in row
                       or (empty_is_lost and not row[col.key].text.strip())]
            for i in missing:
                where = next(iter(rows[i].values()), None)
                out.findings.flag(f"{spec.key}[{i}].{col.key}", "not_found",
                                  f"no {col.labels[0]} was read in this row", where=where,
                                  warning=False)
            if missing:
                out.findings.warn(f"{spec.key}: {len(missing)} row(s) without {col.labels[0]}")
        if spec.heading:
            for i, row in enumerate(rows):
                if "table" not in row:
                    out.findings.flag(f"{spec.key}[{i}].table", "not_found",
                                      "no table heading was read over this row", warning=False)
            # each printed table the form has (长期 / 年度绩效指标) gave rows: a table
            # whose rows are all lost names its list (the rows the record lacks)
            order = [normalize_label(h) for h in spec.heading]  # as printed
            # the headings (by their place in `order`) each row's heading text matches
            under = [{k for k, h in enumerate(order) if x and (h in x or x in h)}
                     for x in (normalize_label(row["table"].text) if "table" in row else "" for row in rows)]
            headed = any("table" in row for row in rows)
            for m, heading in enumerate(spec.heading):
                if headed and not any(m in u for u in under):
                    out.findings.flag(spec.key, "not_found", f"no rows under the heading {heading}: that "
                                      "table was not read", warning=f"{spec.key}: no rows under {heading}")
                    # the rows of a table printed after the lost one stand in
                    # the list where the lost rows should be: each is named
                    for i, row in enumerate(rows):
                        if under[i] and min(under[i]) > m:
                            out.findings.flag(f"{spec.key}[{i}]", "not_found",
                                              f"the rows under {heading}, printed before this one, were "
                                              "not read: its place in the list is shifted",
                                              where=next(iter(row.values()), None), warning=False)
        if spec.total and spec.total.key not in out.totals:
            out.findings.flag(spec.total.key, "not_found", "the table's total row was not found")
            out.findings.flag(spec.key, "not_found", "the table ends without its total row: rows may be "
                                                     "missing", warning=False)


def _range_end(spec, path: str) -> bool:
    return getattr(spec, "end_key", None) == path
