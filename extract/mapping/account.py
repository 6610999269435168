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

from ..normalize import normalize_label
from .model import Raw
from .state import State

_PAIR = re.compile(r"([^\s：:，,。；;]{2,16}?)\s*[：:]\s*")
_UNREAD_SHOWN = 80  # characters of unread text quoted in the review entry


def account(st: State) -> None:
    _leftover_spans(st)
    _suspect_values(st)
    _extra_columns(st)
    _expected(st)
    st.out.coverage = st.ledger.coverage()


def _leftover_spans(st: State) -> None:
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


def _suspect_values(st: State) -> None:
    """A value holding another label's text (`坝塘镇主管部门编码`): named for
    review."""
    labels = sorted({lab for lab in st.ctx.top.keys if len(lab) >= 3}, key=len, reverse=True)
    values = [(k, st.out.fields.get(k)) for k in _SHORT_FIELDS]
    values += [(f"form.{k}", st.out.header.get(k)) for k in ("filing_unit",)]
    values += [(k, raw) for k, raw in st.out.fields.items() if k.startswith("funding.")]
    for key, raw in values:
        if raw is None or not raw.text.strip():
            continue
        spec = st.out.specs.get(key)
        own = set(spec.norm_labels) if spec else set()
        flat = normalize_label(raw.text)
        for lab in labels:
            if lab in own or lab not in flat or flat == lab:
                continue
            st.out.findings.flag(key, "suspect_value",
                                 f"the value '{raw.text.strip()[:40]}' holds the label '{lab}'", where=raw)
            break


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
        raw = out.fields.get(path)
        spec = out.specs.get(path)
        if path in out.found_labels or raw is not None:
            if raw is not None and not raw.text.strip() and spec is not None and spec.type != "choice" \
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


def _range_end(spec, path: str) -> bool:
    return getattr(spec, "end_key", None) == path
