"""`shenbao explain FILE --field PATH`: the way one value took, from the page
to the record — the cells it was read from, the label it was found under and
the template's label that matched, the rule that paired them, the printed text
and the normalized value, and the review entries that name it."""

from __future__ import annotations

import re
from pathlib import Path

from extract.compare import MISSING, lookup
from extract.pipeline import read_document, records_from

_ROW = re.compile(r"^(\w+)\[(\d+)\]\.(.+)$")


def find_raw(mapped, path: str):
    """The raw value behind a record path, or None."""
    if path in mapped.fields:
        return mapped.fields[path]
    if path in mapped.totals:
        return mapped.totals[path]
    if path.startswith("form."):
        return mapped.header.get(path[5:])
    if path.startswith("extra."):
        v = mapped.extra.get(path[6:])
        return v if not isinstance(v, list) else next((r for r in v if r is not None), None)
    m = _ROW.match(path)
    if m:
        rows = mapped.rows.get(m.group(1)) or []
        i = int(m.group(2))
        if i < len(rows):
            return rows[i].get(m.group(3))
    return None


def explain(file: str | Path, path: str, options=None, declaration: int = 1) -> list[str]:
    """Lines describing how `path` of the file's declaration got its value."""
    doc, pages = read_document(file, options)
    trace: list = []
    records = records_from(doc, pages, trace=trace)
    if not 1 <= declaration <= len(records):
        return [f"{Path(file).name} holds {len(records)} declaration(s), not {declaration}"]
    rec, (mapped, tpl) = records[declaration - 1], trace[declaration - 1]
    value = lookup(rec, path)
    out = [f"{path} of {Path(file).name} (declaration {declaration} of {len(records)}), "
           f"template {tpl.id} ({tpl.path.name if tpl.path else '?'})"]
    out.append(f"  value:      {value!r}" if value is not MISSING else "  value:      (no such field)")
    raw = find_raw(mapped, path)
    if raw is None:
        out.append("  read from:  nothing (the form gave no value for it)")
    else:
        out.append(f"  printed:    {raw.text!r}")
        if raw.label:
            out.append(f"  label:      {raw.label.strip()!r} (rule: {raw.rule or '?'}, label score {raw.label_score:.2f})")
        spec = mapped.specs.get(path)
        if spec is not None:
            out.append(f"  template:   key {spec.key}, labels {spec.labels}, type {spec.type}")
        for s in raw.sources[:6]:
            where = f"page {s.page}, bbox [{', '.join(f'{v:.1f}' for v in s.bbox)}]"
            kind = "cell" if hasattr(s, "row") else "line"
            out.append(f"  from {kind}:  {where}: {s.text.strip()[:60]!r} ({s.method}, confidence {s.confidence:.2f})")
        if raw.unit:
            out.append(f"  unit:       {raw.unit} (printed in the label)")
    prov = rec.get("provenance", {}).get(path)
    if prov:
        out.append(f"  provenance: {prov}")
    entries = [e for e in rec.get("review", []) if e.get("path") == path
               or (e.get("path") and path.startswith(e["path"] + "."))]
    for e in entries:
        out.append(f"  review:     {e['reason']}: {e['detail']}")
    if not entries:
        out.append("  review:     no entry names it")
    return out

